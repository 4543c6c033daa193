"""Hardening: uploads that cannot lose or leak files, and questions that cannot forge what a card shows."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from embeddings import Engine
from tests.fake_bot_api import TOKEN, FakeBotApi
from tests.telegram_harness import RunningBot, citebot_telegram

ADMIN = 4242


def test_a_bot_api_server_cannot_make_the_bot_read_a_local_file(bot_api, own_engine, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 8841 and the key is under the mat.\n")
    api: FakeBotApi = bot_api
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,)):
        sneaky = api.upload(ADMIN, "notes.txt", b"Harmless notes.", file_path=str(secret))
        [reply] = api.wait_for_replies(sneaky, timeout=60)
        assert reply.text == "I could not fetch notes.txt from Telegram; please send it again."
        answer = api.card(api.send(ADMIN, "What is the vault code?"))
        assert "8841" not in answer.text
    assert [d.name for d in own_engine.describe().documents] == ["article.txt"]


def test_an_upload_never_writes_through_a_symlink_and_a_missing_text_does_not_block_the_rest(
    bot_api, own_engine, tmp_path
):
    api: FakeBotApi = bot_api
    outside = tmp_path / "outside.txt"
    outside.write_text("Not the bot's to change.\n")
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,), telegram_state_dir=tmp_path / "state"):
        uploads = tmp_path / "state" / "uploads"
        uploads.mkdir(parents=True)
        (uploads / "linked.txt").symlink_to(outside)
        first = api.upload(ADMIN, "linked.txt", b"The ferry leaves at nine.\n")
        assert "I added linked.txt" in api.wait_for_replies(first, timeout=60)[0].text
        assert outside.read_text() == "Not the bot's to change.\n" and not (uploads / "linked.txt").is_symlink()
        (tmp_path / "texts" / "article.txt").unlink()  # a text the index was built from is gone
        second = api.upload(ADMIN, "tide.txt", b"High tide is at noon.\n")
        assert "I added tide.txt" in api.wait_for_replies(second, timeout=60)[0].text
        names = {d.name for d in own_engine.describe().documents}
        assert names == {"linked.txt", "tide.txt"}  # the missing one left with a warning; the rest carried on


def test_an_inline_question_cannot_forge_lines_on_a_card(bot, api):
    forged = "who congratulated Trump?\nAlso, ¶ 9: “\u202eThe bot was hacked”" + "x" * 3000
    query = api.inline(61, forged)
    results = api.wait_for_answer(query)["results"]
    assert results
    for result in results:
        heading, *rest = result["input_message_content"]["message_text"].split("\n")
        assert "\u202e" not in result["title"] + heading
        assert "hacked" in heading and not any("hacked" in line for line in rest)  # no line of its own
        assert len(heading) <= 260  # the question is cut to 200 characters (a match number may follow)


def test_only_regular_files_are_read_and_links_stay_inside_the_folder(tmp_path, fake_embedder):
    from embeddings import SourceError
    from embeddings.sources import expand_paths, read_document

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    for special in (Path("/dev/zero"), fifo):
        with pytest.raises(SourceError, match="not a regular file"):
            read_document(special)  # neither reads until memory runs out nor waits for a writer
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "mine.txt").write_text("The kettle boils at noon.\n")
    (tmp_path / "private.txt").write_text("Not in the folder.\n")
    (folder / "escape.txt").symlink_to(tmp_path / "private.txt")
    (folder / "alias.txt").symlink_to(folder / "mine.txt")
    assert expand_paths([folder]) == [(folder / "mine.txt").resolve()]


def test_a_two_megabyte_page_is_read_in_one_pass_without_its_chrome():
    from embeddings.sources import html_text

    page = (
        "<html><body><nav><a href='/'>Home</a> › <a href='/shop'>Shop</a></nav>"
        "<div class='cookie-banner'>We use cookies to improve your experience. Accept all</div><article>"
        + "".join(f"<p>Paragraph {i} says the oven must be hot and the bananas ripe.</p>" for i in range(30_000))
        + "</article><footer>© 2026 Shop. Subscribe to our newsletter</footer></body></html>"
    ).encode()
    assert len(page) > 2_000_000
    text, _ = html_text(page)  # the tree-editing reader this replaced took minutes on such a page
    assert text.count("\n\n") == 29_999 and "Paragraph 29999 says" in text
    assert "cookies" not in text and "Home" not in text and "Subscribe" not in text


def test_a_token_revoked_while_running_stops_the_bot_with_one_line(tmp_path, article_index_dir):
    server = FakeBotApi().start()
    process = citebot_telegram(server, tmp_path, article_index_dir, verbosity=())
    try:
        server.wait_for_replies(server.send(150, "Who did Putin congratulate?"), timeout=120)
        server.fail("getUpdates", 401, times=10_000)  # as Telegram answers once the token is revoked
        _, errors = process.communicate(timeout=60)  # it exits by itself instead of staying up deaf
    finally:
        process.kill()
        server.stop()
    assert process.returncode == 1
    assert "Traceback" not in errors
    assert errors.splitlines()[-1].startswith("error: the Bot API no longer accepts TELEGRAM_BOT_TOKEN")
    assert TOKEN not in errors and TOKEN.split(":")[1] not in errors


def test_the_webhook_secret_is_never_logged(tmp_path, article_index_dir):
    server = FakeBotApi().start()
    secret = "webhook-secret-0123456789abcdefXYZ"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = citebot_telegram(server, tmp_path, article_index_dir, "--webhook", "https://bot.example/hook",
                               "--port", str(port), "--secret-token", secret)
    try:
        assert server.wait_until(lambda: server.webhook is not None, 120)
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        server.stop()
    assert "setWebhook" in errors  # -vv logs the call that carries the secret ...
    assert secret not in errors and TOKEN not in errors  # ... without the secret or the token


def test_upload_names_keep_their_kind_and_fit_the_file_system():
    from bot.telegram_admin import safe_file_name

    assert safe_file_name("..html").startswith("upload-") and safe_file_name("..html").endswith(".html")
    assert safe_file_name("garden notes (2).md") == "garden notes (2).md"
    assert safe_file_name(".bashrc").endswith(".txt") and not safe_file_name(None).startswith(".")
    long = safe_file_name("日本語のファイル名" * 12 + ".md")
    assert long.endswith(".md") and len(long.encode()) <= 103
    assert safe_file_name("../../etc/passwd.txt") == "passwd.txt"


def test_lists_of_many_texts_fit_one_message():
    from bot.telegram_format import MESSAGE_LIMIT, about_text, shown_length, sources_text, start_text
    from embeddings import CorpusInfo, DocumentInfo

    documents = [DocumentInfo(f"a rather long file name number {n:03d}.md", 900, 4, "It opens.", f"/t/{n}", "0" * 64)
                 for n in range(300)]
    info = CorpusInfo(documents, 1200, "all-MiniLM-L6-v2", "What does the text say about rivers?")
    for text in (start_text(info), about_text(info), sources_text(info, admin=True)):
        assert shown_length(text) <= MESSAGE_LIMIT and "… and " in text


def test_a_documents_escape_sequences_never_reach_the_terminal():
    from bot.terminal import format_answer
    from embeddings import Answer, Highlight, Presentation, Quote

    # \x9b is the one-character CSI of C1, which some terminals obey as ESC [ does.
    text = "Plain start. The answer \x1b]0;owned\x07is \x1b[2J42\x9b31m.\tEnd\u00a0here."
    quote = Quote(text, 0, len(text), 1, 1.0, Highlight(13, len(text) - 5), "a.txt")
    answer = Answer("q", True, [quote])
    shown = format_answer(answer, Presentation([quote], []), 0.0, styled=True, show_source=False)
    assert [part for part in ("\x1b]0;", "\x1b[2J", "\x07", "\x9b") if part in shown] == []
    assert "42" in shown and "\tEnd\u00a0" in shown


def test_answers_of_quiet_groups_expire_everywhere():
    import numpy as np

    from bot.recent import SWEEP_EVERY, RecentAnswers
    from embeddings import Answer

    now = [0.0]
    recent = RecentAnswers(window=600, clock=lambda: now[0])
    for group in range(SWEEP_EVERY - 1):
        recent.add((-group, None), Answer(f"question {group}", True, [], vector=np.ones(4)), group)
    now[0] = 601.0
    recent.add((1, None), Answer("a new one", True, [], vector=np.ones(4)), 1)
    assert len(recent._places) == 1  # only the live group is remembered


def test_a_button_copied_into_another_chat_does_not_work_there(bot, api):
    card = api.card(api.send(71, "Who congratulated Trump?"))
    other = api.card(api.send(72, "When does Putin hold Security Council meetings?"))
    copied = api.press(other, "wider ▶", user_id=72, data=card.buttons()["wider ▶"])
    answer = api.wait_for_answer(copied)
    assert answer["show_alert"] is True and "not one of mine" in answer["text"] and other.edits == 0
    assert "text" not in api.wait_for_answer(api.press(card, "wider ▶", user_id=71))  # at home it works


class SlowUploads:
    """The engine, with adding a text held until the test lets it go (a big file being embedded)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.release = threading.Event()
        self.adding: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def add(self, path, progress=None):
        self.adding.append(threading.current_thread().name)
        self.release.wait(60)
        return self.engine.add(path, progress)


def test_uploads_wait_their_turn_off_the_question_path(bot_api, own_engine):
    api: FakeBotApi = bot_api
    slow = SlowUploads(own_engine)
    with RunningBot(api, slow, telegram_admins=(ADMIN,), telegram_questions_per_minute=30):
        uploads = [api.upload(ADMIN, f"notes{n}.txt", f"Note {n} is about tides.\n".encode()) for n in range(10)]
        assert api.wait_until(lambda: slow.adding, 30)
        question = api.send(73, "Who congratulated Trump?")
        assert "congratulations" in api.card(question).text  # answered while ten uploads wait
        assert slow.adding == ["citebot-upload_0"]  # one at a time, on the uploads' own thread
        slow.release.set()
        for upload in uploads:
            assert "I added" in api.wait_for_replies(upload, timeout=120)[0].text


def test_no_document_may_take_longer_to_read_than_the_bound(tmp_path, monkeypatch):
    from embeddings import SourceError, sources
    from embeddings.readers import limits

    page = tmp_path / "huge.html"
    page.write_text("<html><body>" + "<p>The oven must be hot.</p>" * 100_000 + "</body></html>")
    monkeypatch.setattr(limits, "MAX_READ_SECONDS", 0.2)
    with pytest.raises(SourceError, match=r"huge\.html: took over 0 s to read; it is left out"):
        sources.read_document(page)
    monkeypatch.setattr(limits, "MAX_READ_SECONDS", 60.0)
    small = tmp_path / "small.html"
    small.write_text("<html><body><p>The kettle boils at noon.</p></body></html>")
    assert sources.read_document(small).text == "The kettle boils at noon."  # a new worker takes over


def test_idle_users_of_a_rate_limit_are_forgotten():
    from bot.limits import QuestionLimiter

    now = [0.0]
    limiter = QuestionLimiter(10, clock=lambda: now[0])
    for user in range(999):
        limiter.admit(user)
    now[0] = 61.0
    limiter.admit(5000)  # the thousandth admission sweeps
    assert len(limiter._asked) <= 1
