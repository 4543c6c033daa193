"""The Telegram bot end to end: the real Application, polling a Bot API server on 127.0.0.1 over HTTP."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from bot.cli import cli
from embeddings.engine import Engine
from embeddings.text import MAX_SENTENCE_CHARS
from tests.conftest import ENGLISH
from tests.fake_bot_api import BOT, TOKEN, FakeBotApi
from tests.telegram_harness import RunningBot, citebot_telegram

pytestmark = pytest.mark.model

NAME = BOT["username"]
CONGRATULATE = "Russian President Vladimir Putin extended his congratulations to U.S. President-elect Donald Trump"


@pytest.fixture(scope="module")
def odd_engine(tmp_path_factory, real_embedder):
    """An index of a text with markup characters in it and a paragraph far longer than a message."""
    source = tmp_path_factory.mktemp("odd") / "odd.txt"
    long_sentence = "The long paragraph keeps going " + " ".join(f"word{n} and more" for n in range(1500)) + "."
    source.write_text(
        "Markup test: the formula reads <b>&</b> and *stars* stay as written.\n\n"
        f"{long_sentence}\n\nThe garden has three apple trees.\n",
        encoding="utf-8",
    )
    engine = Engine(source.parent / "index", ENGLISH, embedder=real_embedder)
    engine.build([source])
    return engine


class FaultyEngine:
    """The article engine, slowed down, and failing on "boom" as a bug inside retrieval would."""

    def __init__(self, engine: Engine, delay: float = 0.0) -> None:
        self.engine = engine
        self.delay = delay

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def ask(self, question: str, k: int = 3):
        time.sleep(self.delay)
        if question == "boom":
            raise RuntimeError("retrieval broke")
        return self.engine.ask(question, k)


def test_a_private_question_is_answered_with_the_verbatim_quote(bot, api, article_text):
    question = api.send(101, "Who did Putin congratulate before the inauguration?")
    [reply] = api.wait_for_replies(question)
    assert reply.chat_id == 101 and reply.reply_to == question["message_id"]
    assert CONGRATULATE in reply.text
    assert reply.bold[0] in article_text and CONGRATULATE in reply.bold[0]
    assert "¶ 1 · chars 0–278" in reply.text


def test_in_a_group_only_questions_meant_for_the_bot_are_answered(bot, api):
    group = {"chat_type": "supergroup", "user_id": 7}
    chatter = api.send(-201, "what a day, who wants coffee?", **group)
    other_bot = api.send(-201, "/ask@some_other_bot who won?", **group)
    asks = [
        api.send(-201, "/ask When does Putin hold Security Council meetings?", **group),
        api.send(-201, f"/ask@{NAME} What did Putin say about a ceasefire?", **group),
        api.send(-201, f"@{NAME} when are Security Council meetings held?", **group),
    ]
    first_answer = api.wait_for_replies(asks[0])[0]
    asks.append(api.send(-201, "And what about nuclear arms?", reply_to=first_answer, **group))
    for ask in asks:
        replies = api.wait_for_replies(ask)
        assert len(replies) == 1 and replies[0].chat_id == -201
    # Updates run concurrently; a sentinel answered after the chatter shows the chatter was seen and skipped.
    sentinel = api.send(-201, f"/ask@{NAME} Who congratulated Trump?", **group)
    api.wait_for_replies(sentinel)
    assert api.replies_to(chatter) == [] and api.replies_to(other_bot) == []


def test_a_question_in_a_forum_topic_is_answered_in_that_topic(bot, api):
    question = api.send(-202, f"@{NAME} who congratulated Trump?", chat_type="supergroup", user_id=8, thread_id=77)
    [reply] = api.wait_for_replies(question)
    assert reply.thread_id == 77


def test_an_unanswerable_question_gets_an_honest_reply_and_the_nearest_passage(bot, api):
    question = api.send(102, "What is the boiling point of water on Mars?")
    [reply] = api.wait_for_replies(question)
    assert reply.text.startswith("The text does not seem to answer that: it never mentions “Mars”.")
    assert "<blockquote expandable>" in reply.html


def test_a_question_about_the_whole_text_gets_its_opening(bot, api, article_text):
    question = api.send(103, "what's this article about?")
    [reply] = api.wait_for_replies(question)
    assert not reply.text.startswith("The text does not seem to answer that")
    assert CONGRATULATE in reply.bold[0] and article_text.startswith(reply.bold[0])
    assert "Note: asked about the whole text, so its opening is quoted." in reply.text


def test_commands_are_listed_in_each_language_the_bot_speaks(bot, api):
    for scope in ("all_private_chats", "all_group_chats"):
        assert api.commands[scope, None]["ask"] == "Ask a question about the text"
        assert api.commands[scope, "ru"]["ask"] == "Задать вопрос о тексте"
        assert api.commands[scope, None].keys() == api.commands[scope, "ru"].keys() == {
            "ask", "help", "about", "sources", "start"}


def test_commands_and_non_text_messages(bot, api):
    start = api.send(103, "/start")
    assert "article.txt" in api.wait_for_replies(start)[0].text
    assert "Try: What does the text say about" in api.replies_to(start)[0].text
    help_ = api.send(103, "/help")
    assert f"@{NAME}" in api.wait_for_replies(help_)[0].text
    about = api.send(103, "/about")
    assert "all-MiniLM-L6-v2" in api.wait_for_replies(about)[0].text
    unknown = api.send(103, "/frobnicate")
    assert "/help" in api.wait_for_replies(unknown)[0].text
    empty_ask = api.send(103, "/ask")
    assert "Please write a question" in api.wait_for_replies(empty_ask)[0].text
    # Cut to its first 1,000 characters, nothing is left to search for, or for "next match" to ask again.
    no_words_kept = api.send(103, "!" * 1_000 + " Who congratulated Trump?")
    kept = api.wait_for_replies(no_words_kept)[0]
    assert "Please write a question" in kept.text and not kept.markup
    sticker = api.send_sticker(103)
    assert "only read text" in api.wait_for_replies(sticker)[0].text
    group_sticker = api.send_sticker(-203, chat_type="group")
    sentinel = api.send(-203, f"/ask@{NAME} Who congratulated Trump?", chat_type="group")
    api.wait_for_replies(sentinel)
    assert api.replies_to(group_sticker) == []


def test_a_429_is_waited_out_and_the_answer_delivered_once(bot, api):
    api.fail("sendMessage", 429, retry_after=1)
    question = api.send(104, "Who did Putin congratulate?")
    [reply] = api.wait_for_replies(question)
    refused, delivered = [t for m, t in api.timed_calls if m == "sendMessage"][-2:]
    assert delivered - refused >= 1.0
    assert len(api.replies_to(question)) == 1 and CONGRATULATE in reply.text


def test_server_errors_are_retried_and_a_lost_answer_does_not_stop_the_bot(bot, api):
    api.fail("sendMessage", 500, times=2)
    retried = api.send(105, "Who did Putin congratulate?")
    assert CONGRATULATE in api.wait_for_replies(retried)[0].text
    api.fail("sendMessage", 502, times=4)  # more than the three retries: this answer is lost, and logged
    lost = api.send(105, "When are Security Council meetings held?")
    assert api.wait_until(lambda: api.faults_left("sendMessage") == 0, timeout=30)
    after = api.send(105, "Who did Putin congratulate?")
    assert CONGRATULATE in api.wait_for_replies(after)[0].text
    assert api.replies_to(lost) == []


def test_polling_survives_server_errors_and_stalls(bot, api):
    api.fail("getUpdates", 500, times=2)
    api.stall("getUpdates", seconds=4)
    question = api.send(106, "Who did Putin congratulate?")
    assert CONGRATULATE in api.wait_for_replies(question, timeout=60)[0].text


def test_a_stalled_send_times_out_and_is_retried(bot, api):
    api.stall("sendMessage", seconds=3)
    question = api.send(107, "Who did Putin congratulate?")
    [reply] = api.wait_for_replies(question)
    assert CONGRATULATE in reply.text


def test_fifty_chats_asking_five_questions_each_get_every_answer_once(bot, api):
    questions = [
        "Who did Putin congratulate?",
        "When does the Security Council meet?",
        "What did Putin say about a ceasefire?",
        "What is the boiling point of water on Mars?",
        "Which crisis is mentioned?",
    ]
    asked = [api.send(1000 + chat, text) for text in questions for chat in range(50)]
    assert api.wait_until(lambda: all(api.replies_to(m) for m in asked), timeout=120)
    for message in asked:
        [reply] = api.replies_to(message)
        assert reply.chat_id == message["chat"]["id"]
    assert len([s for s in api.sent if 1000 <= s.chat_id < 1050]) == 250


def test_long_answers_are_cut_to_one_message_and_markup_is_escaped(bot_api, odd_engine):
    api = bot_api
    with RunningBot(api, odd_engine, top_k=1):
        markup = api.send(110, "What does the formula read?")
        [reply] = api.wait_for_replies(markup)
        assert "the formula reads <b>&</b> and *stars* stay as written." in reply.text
        assert "&lt;b&gt;&amp;&lt;/b&gt;" in reply.html
        long = api.send(110, "Does the long paragraph keep going with more words?")
        card = api.card(long)  # a longer one would get a 400
        [quoted] = card.shown.quotes
        # A 27,000-character sentence is indexed as pieces of at most MAX_SENTENCE_CHARS: the card quotes one.
        assert "¶ 2 · chars 70–" in card.text and 1000 < len(quoted) <= MAX_SENTENCE_CHARS
        assert quoted.startswith("The long paragraph keeps going word0 and more")


def test_a_users_questions_over_the_limit_get_one_note(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine, telegram_questions_per_minute=3):
        asked = [api.send(111, "Who did Putin congratulate?") for _ in range(6)]
        assert api.wait_until(lambda: len([s for s in api.sent if s.chat_id == 111]) >= 4)
        sentinel = api.send(112, "Who did Putin congratulate?")
        api.wait_for_replies(sentinel)
        replies = [api.replies_to(m) for m in asked]
        notes = [r for r in replies if r and "questions in the last minute" in r[0].text]
        answers = [r for r in replies if r and CONGRATULATE in r[0].text]
        assert (len(answers), len(notes), replies.count([])) == (3, 1, 2)


def test_chats_off_the_allow_list_are_ignored(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine, telegram_allowed_chats=(120,)):
        outsiders = [
            api.send(121, "Who did Putin congratulate?"),
            api.send(121, "/start"),
            api.send(121, "/ask@citebot_test_bot Who did Putin congratulate?"),
            api.send_sticker(121),
            api.send(-122, f"@{NAME} who congratulated Trump?", chat_type="supergroup"),
        ]
        member = api.send(120, "Who did Putin congratulate?")
        api.wait_for_replies(member)
        later = api.send(120, "Who did Putin congratulate?")
        api.wait_for_replies(later)
        assert all(api.replies_to(m) == [] for m in outsiders)
        assert {s.chat_id for s in api.sent} == {120}


def test_missing_chat_action_and_commands_do_not_stop_answers(bot_api, article_engine):
    api = bot_api
    api.unsupported("sendChatAction")
    api.unsupported("setMyCommands")
    # Slow enough that "typing" goes out: an answer ready sooner cancels it, and it is never sent.
    with RunningBot(api, FaultyEngine(article_engine, delay=0.5)):
        question = api.send(130, "Who did Putin congratulate?")
        assert CONGRATULATE in api.wait_for_replies(question)[0].text
    assert "setMyCommands" in api.calls and "sendChatAction" in api.calls


def test_a_scope_whose_commands_are_refused_does_not_keep_the_next_from_its_menu(bot_api, article_engine):
    api = bot_api
    api.fail("setMyCommands", 400)  # the first call: private chats, in English
    with RunningBot(api, article_engine):
        pass
    assert not any(scope == "all_private_chats" for scope, _ in api.commands)
    assert {("all_group_chats", None), ("all_group_chats", "ru")} <= set(api.commands)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_the_webhook_checks_its_secret_token(bot_api, article_engine):
    api = bot_api
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    overrides = dict(
        telegram_webhook_url="https://bot.example.org/citebot-hook",
        telegram_webhook_port=port,
        telegram_webhook_secret="s3cret-token",
    )
    # python-telegram-bot sets the webhook before its server listens: ready once both are done.
    with RunningBot(api, article_engine, ready=lambda: api.webhook is not None and listening(port), **overrides):
        assert api.webhook["url"] == "https://bot.example.org/citebot-hook"
        assert api.webhook["secret_token"] == "s3cret-token"
        update = {"update_id": 1, "message": api.message(140, "Who did Putin congratulate?")}

        def post(secret: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/citebot-hook",
                data=json.dumps(update).encode(),
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        assert post("wrong") == 403
        assert post("s3cret-token") == 200
        assert CONGRATULATE in api.wait_for_replies(update["message"])[0].text


@pytest.fixture
def cli_env(monkeypatch, tmp_path, article_index_dir):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("CITEBOT_", "TELEGRAM_")) and n != "CITEBOT_MODEL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(article_index_dir))


@pytest.mark.parametrize(
    "token, message",
    [(None, "TELEGRAM_BOT_TOKEN is not set"), ("12345:short", "TELEGRAM_BOT_TOKEN is malformed")],
)
def test_a_missing_or_malformed_token_stops_start_up(cli_env, monkeypatch, token, message):
    if token:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    result = CliRunner().invoke(cli, ["telegram"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {message}") and result.output.count("\n") == 1
    assert token is None or token not in result.output


def test_a_token_the_server_refuses_stops_start_up(cli_env, monkeypatch, api):
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken_xyz"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.base_url)
    result = CliRunner().invoke(cli, ["telegram"])
    assert result.exit_code == 1
    assert "refused TELEGRAM_BOT_TOKEN" in result.output and result.output.count("\n") == 1
    assert wrong not in result.output


def test_a_password_in_the_bot_api_address_is_never_printed(cli_env, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing answers there
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://bob:s3cret-pw@127.0.0.1:{port}/")
    result = CliRunner().invoke(cli, ["telegram"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot reach the Bot API at http://***@127.0.0.1:{port}/bot")
    assert "s3cret" not in result.output


def test_citebot_telegram_runs_and_never_logs_the_token(tmp_path, article_index_dir):
    server = FakeBotApi().start()
    process = citebot_telegram(server, tmp_path, article_index_dir)
    try:
        question = server.send(150, "Who did Putin congratulate?")
        server.wait_for_replies(question, timeout=120)
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        server.stop()
    assert process.returncode == 0, errors
    assert "answers on Telegram as @citebot_test_bot" in errors
    assert "sendMessage" in errors  # -vv logs every call ...
    assert TOKEN not in errors and TOKEN.split(":")[1] not in errors  # ... and never the token


def test_a_failure_inside_is_logged_with_its_chat_and_the_bot_carries_on(bot_api, article_engine, caplog):
    api = bot_api
    with caplog.at_level(logging.ERROR, logger="bot.telegram_bot"), RunningBot(api, FaultyEngine(article_engine)):
        broken = api.send(160, "boom")
        assert "something went wrong on my side" in api.wait_for_replies(broken)[0].text
        after = api.send(160, "Who did Putin congratulate?")
        assert CONGRATULATE in api.wait_for_replies(after)[0].text
    [record] = [r for r in caplog.records if r.name == "bot.telegram_bot"]
    assert "chat 160" in record.getMessage() and "retrieval broke" in str(record.exc_info[1])


def test_one_user_flooding_does_not_starve_another(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine):  # the default limit: 10 questions a user a minute
        flood = [api.send(170, "Who did Putin congratulate?", user_id=170) for _ in range(40)]
        other = api.send(171, "When does the Security Council meet?", user_id=171)
        [answer] = api.wait_for_replies(other)
        assert api.wait_until(lambda: sum(len(api.replies_to(m)) for m in flood) >= 11)
        sentinel = api.send(172, "Who did Putin congratulate?")
        api.wait_for_replies(sentinel)
    replies = [api.replies_to(m) for m in flood]
    assert sum(len(r) for r in replies) == 11  # 10 answers and one note; the other 29 are dropped, not queued
    # Only the flooder's 10 answers and its note can come before the other user's answer.
    assert [s.message_id for s in api.sent].index(answer.message_id) <= 11


def test_the_bot_reconnects_after_the_bot_api_goes_away(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine):
        api.fail("getUpdates", 502, times=4)  # about 8 s of backing off: 1, 1.5, 2.25 and 3.4 s
        meanwhile = [api.send(180 + n, "Who did Putin congratulate?") for n in range(5)]
        for message in meanwhile:
            assert CONGRATULATE in api.wait_for_replies(message, timeout=60)[0].text
        sentinel = api.send(190, "Who did Putin congratulate?")
        api.wait_for_replies(sentinel)
    assert api.faults_left("getUpdates") == 0
    assert all(len(api.replies_to(m)) == 1 for m in meanwhile)  # each answered once


def test_the_token_is_not_in_help_or_error_output(cli_env, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")  # nothing listens there
    for args in (["--help"], ["telegram", "--help"], ["telegram"], ["telegram", "--webhook", "http://x"]):
        result = CliRunner().invoke(cli, args)
        assert TOKEN not in result.output and TOKEN.split(":")[1] not in result.output, args
    assert "cannot reach the Bot API" in CliRunner().invoke(cli, ["telegram"]).output


def test_a_busy_group_is_limited_as_a_whole(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine, telegram_group_questions_per_minute=4):
        group = {"chat_type": "supergroup"}
        asked = [api.send(-300, f"@{NAME} who congratulated Trump?", user_id=user, **group)
                 for user in (31, 32, 33) for _ in range(3)]
        assert api.wait_until(lambda: len([s for s in api.sent if s.chat_id == -300]) >= 5)
        elsewhere = api.send(-301, f"@{NAME} who congratulated Trump?", user_id=34, **group)
        api.wait_for_replies(elsewhere)  # another group is not held back
    texts = [r[0].text for r in (api.replies_to(m) for m in asked) if r]
    assert len(texts) == 5 and sum("This chat has asked 4 questions" in t for t in texts) == 1
