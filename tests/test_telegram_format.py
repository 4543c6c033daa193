"""Telegram HTML: escaped, well-formed, within the length limit, and quoting the text whole."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Message

from bot.telegram_bot import QuestionLimiter, TokenRedactor, addressed_question
from bot.telegram_format import answer_messages, shown_length
from embeddings.retrieval import Answer, Highlight, Quote
from tests.fake_bot_api import BOT, parse_html, user_message


def quote(text: str, highlight: tuple[int, int] | None = None, start: int = 100, source: str = "a.txt") -> Quote:
    h_start, h_end = highlight or (0, len(text))
    return Quote(text, start, start + len(text), 3, 1.0, Highlight(start + h_start, start + h_end), source)


def quoted(messages: list[str], limit: int = 4096) -> str:
    """The blockquoted text of messages, each checked as Telegram checks it (bad HTML raises)."""
    shown = [parse_html(m) for m in messages]
    assert all(shown_length(s.text) <= limit for s in shown)
    return "".join(q for s in shown for q in s.quotes)


def test_the_best_passage_is_quoted_whole_with_its_sentence_in_bold():
    text = "First sentence. The answer is 42. Last one."
    answer = Answer("q", True, [quote(text, (16, 33)), quote("Another sentence here. More.", (0, 22), 500)])
    [message] = answer_messages(answer)
    assert message.startswith("<blockquote>First sentence. <b>The answer is 42.</b> Last one.</blockquote>\n")
    assert "<i>¶ 3 · characters 100–143</i>" in message
    # The next passages show only their answering sentence, placed by its own offsets.
    assert "<blockquote>Another sentence here.</blockquote>\n<i>¶ 3 · characters 500–522</i>" in message
    assert "More." not in message


def test_markup_in_the_text_is_escaped():
    text = "Use <b>&</b> & *stars* <script>x</script>"
    [message] = answer_messages(Answer("q", True, [quote(text)]))
    assert parse_html(message).quotes == [text]
    assert "&lt;b&gt;&amp;&lt;/b&gt; &amp; *stars*" in message


def test_an_unanswered_question_says_so_and_offers_one_passage():
    answer = Answer("q", False, [quote("Near but not it."), quote("Further away.", start=400)])
    [message] = answer_messages(answer)
    assert message.startswith("The text does not seem to answer that.")
    assert "Near but not it." in message and "Further away." not in message


def test_sources_are_named_when_there_are_several():
    answer = Answer("q", True, [quote("One.", source="/x/a.txt"), quote("Two.", start=9, source="/x/b.txt")])
    [message] = answer_messages(answer)
    assert "· a.txt" in message and "· b.txt" in message


# Markup characters, emoji (two UTF-16 units), right-to-left text, combining marks, zero-width and control
# characters: what a document may hold (it is valid UTF-8, so never a lone surrogate or a NUL).
words = st.text(
    alphabet=st.sampled_from(list("ab <>&\"'*_😀é\nשלום\u0301\u200b\u200f\u202e\x07\t")), min_size=1, max_size=400
)


@settings(max_examples=200, deadline=None)
@given(words, st.integers(0, 400), st.integers(0, 400), st.integers(60, 160))
def test_messages_fit_the_limit_and_quote_the_passage_whole(text, a, b, limit):
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    messages = answer_messages(Answer("q", True, [quote(text, (start, end))]), limit=limit)
    assert quoted(messages, limit) == text


def test_a_word_longer_than_a_message_is_cut_without_splitting_characters():
    text = "😀" * 5000
    messages = answer_messages(Answer("q", True, [quote(text)]))
    assert len(messages) == 3 and quoted(messages) == text


def test_the_question_limiter_notes_the_first_refusal_only():
    now = [0.0]
    limiter = QuestionLimiter(2, clock=lambda: now[0])
    verdicts = [limiter.admit(1) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, False, False]
    assert [v.notify for v in verdicts[2:]] == [True, False] and verdicts[2].retry_in == 60
    assert limiter.admit(2).allowed  # other users are not affected
    now[0] = 60.5
    assert limiter.admit(1).allowed


def group_message(text: str, **extra) -> Message:
    data = user_message(60, -5, text, chat_type="supergroup", user_id=9)
    data.update(extra)
    return Message.de_json(data, None)


@pytest.mark.parametrize(
    "text, question",
    [
        (f"@{BOT['username']} who won?", "who won?"),
        (f"hey @{BOT['username'].upper()}, who won?", "hey who won?"),
        ("@someone_else who won?", None),
        ("who won?", None),
    ],
)
def test_a_group_message_is_for_the_bot_when_it_mentions_it(text, question):
    assert addressed_question(group_message(text), BOT["username"], BOT["id"]) == question


def test_a_reply_to_the_bot_is_a_question_but_a_forum_topic_root_is_not():
    to_bot = {"message_id": 50, "date": 0, "chat": {"id": -5, "type": "supergroup"}, "from": BOT, "text": "answer"}
    reply = group_message("and why?", reply_to_message=to_bot)
    assert addressed_question(reply, BOT["username"], BOT["id"]) == "and why?"
    topic = group_message("hello all", reply_to_message=to_bot, message_thread_id=50, is_topic_message=True)
    assert addressed_question(topic, BOT["username"], BOT["id"]) is None


def test_the_token_is_redacted_from_messages_and_tracebacks():
    token = "123456789:AAsecretsecretsecretsecretsecret_xx"
    try:
        raise ValueError(f"The token `{token}` was rejected")
    except ValueError as error:
        exc_info = (type(error), error, None)
        record = logging.LogRecord("x", logging.ERROR, "f", 1, "url %s", (f"/bot{token}/getMe",), exc_info)
    TokenRedactor(token).filter(record)
    formatted = logging.Formatter().format(record)
    assert token not in formatted and "<token>" in formatted


def test_a_100000_character_passage_with_markup_splits_into_valid_messages():
    text = ("Tom & Jerry <b>run</b> 😀 שלום e\u0301 \u200b. " * 3000)[:100_000]
    messages = answer_messages(Answer("q", True, [quote(text, (10, 500))]))
    assert len(text) == 100_000 and quoted(messages) == text and len(messages) >= 25
