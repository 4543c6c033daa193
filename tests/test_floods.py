"""One person cannot make the bot deaf: every kind of update counts against its sender's budget before any
work or reply is queued, and what is over the budget is dropped after one note."""

from __future__ import annotations

import logging

import pytest

from tests.fake_bot_api import BOT, FakeBotApi
from tests.telegram_harness import RunningBot

NAME = BOT["username"]
FLOOD = 40
PER_MINUTE = 5


@pytest.fixture(scope="module")
def flooded(article_engine):
    api = FakeBotApi().start()
    with RunningBot(api, article_engine, telegram_questions_per_minute=PER_MINUTE) as running:
        yield api, running
    api.stop()


def others_question_is_answered(api: FakeBotApi, chat: int) -> None:
    """Another user's question in chat gets its card while the flood is being turned away."""
    chat_type = "private" if chat > 0 else "supergroup"
    asked = api.send(chat, f"@{NAME} who congratulated Trump?", chat_type=chat_type, user_id=4900 + abs(chat) % 100)
    assert "congratulations" in api.card(asked).text


def replies(api: FakeBotApi, messages: list[dict]) -> list[str]:
    return [sent.text for message in messages for sent in api.replies_to(message)]


@pytest.mark.parametrize(
    "kind, flood",
    [
        ("/help in a group", lambda api: api.send(-401, "/help", chat_type="supergroup", user_id=41)),
        ("/start in private", lambda api: api.send(42, "/start")),
        ("stickers in private", lambda api: api.send_sticker(43)),
        ("questions in a group", lambda api: api.send(-404, f"@{NAME} who is Putin?", chat_type="supergroup",
                                                      user_id=44)),
    ],
)
def test_a_flood_of_messages_gets_its_budget_and_one_note(flooded, kind, flood):
    api, _ = flooded
    messages = [flood(api) for _ in range(FLOOD)]
    others_question_is_answered(api, messages[0]["chat"]["id"] if messages[0]["chat"]["id"] < 0 else 4999)
    assert api.wait_until(lambda: len(replies(api, messages)) >= PER_MINUTE + 1, 30)
    sent = replies(api, messages)
    notes = [text for text in sent if "in the last minute, the most I answer" in text]
    assert (len(sent), len(notes)) == (PER_MINUTE + 1, 1), kind  # the other 34 were dropped unanswered


def test_a_flood_of_inline_queries_is_limited_like_questions_and_kept_apart(flooded):
    api, running = flooded
    queries = [api.inline(45, f"who congratulated Trump {n}?") for n in range(FLOOD)]
    others_question_is_answered(api, 4998)
    assert api.wait_until(lambda: sum(q in api.inline_answers for q in queries) >= PER_MINUTE, 30)
    assert sum(q in api.inline_answers for q in queries) == PER_MINUTE
    store = running.application.bot_data["citebot"].maker.store
    chats = store._db.execute("SELECT count(*) FROM questions WHERE text LIKE 'who congratulated Trump %'").fetchone()
    assert chats == (0,)  # inline queries never push out the questions chats' cards need


def test_a_flood_of_button_presses_is_dropped_after_one_toast(flooded):
    api, _ = flooded
    card = api.card(api.send(46, "When does Putin hold Security Council meetings?"))
    presses = [api.press(card, "next match") for _ in range(FLOOD)]
    others_question_is_answered(api, 4997)
    assert api.wait_until(lambda: sum(p in api.callback_answers for p in presses) >= 31, 30)
    answers = [api.callback_answers[p] for p in presses if p in api.callback_answers]
    toasts = [a for a in answers if "a lot of presses" in (a.get("text") or "")]
    assert (len(answers), len(toasts)) == (31, 1)  # 30 a minute, one toast, the rest dropped


def test_anonymous_admins_of_different_groups_do_not_share_one_budget(flooded):
    api, _ = flooded
    group = {"chat_type": "supergroup", "anonymous": True}
    flood = [api.send(-470, f"@{NAME} who is Putin?", **group) for _ in range(PER_MINUTE + 3)]
    assert api.wait_until(lambda: len(replies(api, flood)) >= PER_MINUTE + 1, 30)
    elsewhere = api.send(-471, f"@{NAME} who congratulated Trump?", **group)
    assert "congratulations" in api.card(elsewhere).text  # another group's anonymous admin is not held back


def test_the_question_store_is_bounded_by_characters_too(tmp_path, monkeypatch):
    from bot import cards

    monkeypatch.setattr(cards, "MAX_STORED_CHARS", 50_000)
    store = cards.QuestionStore(tmp_path / "questions.sqlite")
    for n in range(3000):
        store.remember(f"{n:05d} " + "why " * 249)  # 1,000 characters each
    (chars,) = store._db.execute("SELECT sum(length(text)) FROM questions").fetchone()
    assert chars <= 1000 * 1000 + 50_000  # pruned each thousandth question, never to more than the bound allows
    assert store.recall(3000) is not None  # the newest are kept
    store.close()


def test_a_flood_of_forged_presses_writes_a_bounded_number_of_log_lines(flooded, caplog):
    api, _ = flooded
    card = api.card(api.send(48, "Who congratulated Trump?"))
    with caplog.at_level(logging.WARNING, logger="bot.telegram_bot"):
        forged = [api.press(card, "wider ▶", data=f"p:dead:0:1:0:0:0~forged{n}") for n in range(FLOOD)]
        assert api.wait_until(lambda: sum(p in api.callback_answers for p in forged) >= 31, 30)
    assert caplog.text.count("refused a button press from user 48") == 30  # the press budget, then nothing


def test_two_members_pressing_within_their_limits_leave_a_groups_questions_answered(flooded):
    """Presses in a group count against the group too, so its edits never queue another member's answer."""
    api, _ = flooded
    card = api.card(api.send(-480, f"@{NAME} When does Putin hold Security Council meetings?",
                             chat_type="supergroup", user_id=61))
    presses = [api.press(card, "next match", user_id=user) for _ in range(25) for user in (62, 63)]
    assert api.wait_until(lambda: sum(p in api.callback_answers for p in presses) >= 8, 30)
    asked = api.send(-480, f"@{NAME} who congratulated Trump?", chat_type="supergroup", user_id=64)
    # Before, the 50 presses were all admitted (25 a member is within 30 a minute) and their 50 edits
    # waited in Telegram's 20-a-minute line for the group ahead of this answer: about 90 s.
    assert api.wait_until(lambda: api.replies_to(asked), 10)
    assert "congratulations" in api.card(asked).text
