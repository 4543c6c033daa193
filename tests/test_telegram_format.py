"""Telegram HTML: escaped, well-formed, within the length limit, and quoting the text whole."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Message

from bot.telegram_bot import QuestionLimiter, TokenRedactor, addressed_question
from bot.telegram_format import card_html, shown_length
from embeddings.retrieval import Highlight, Quote
from tests.fake_bot_api import BOT, parse_html, user_message


def quote(text: str, highlight: tuple[int, int] | None = None, start: int = 100, source: str = "a.txt") -> Quote:
    h_start, h_end = highlight or (0, len(text))
    return Quote(text, start, start + len(text), 3, 1.0, Highlight(start + h_start, start + h_end), source)


def card(excerpt: list[Quote], limit: int = 4096, **options) -> str:
    """A card, checked as Telegram checks it (bad HTML raises, a longer text fails)."""
    html = card_html(excerpt, limit=limit, **options)
    assert shown_length(parse_html(html).text) <= limit
    return html


def test_a_card_quotes_the_passage_with_its_sentence_in_bold_and_its_place():
    text = "First sentence. The answer is 42. Last one."
    html = card([quote(text, (16, 33))])
    assert html == (
        "<blockquote expandable>First sentence. <b>The answer is 42.</b> Last one.</blockquote>\n"
        "<i>¶ 3 · chars 100–143</i>"
    )


def test_nearby_quotes_are_joined_in_text_order_with_a_mark_where_text_is_skipped():
    one = quote("One is here.", start=0)
    two = Quote("Two follows.", 13, 25, 3, 0.5, Highlight(13, 25), "a.txt")  # one space after the first
    three = Quote("Three is later.", 300, 315, 5, 0.9, Highlight(300, 315), "a.txt")
    shown = parse_html(card([one, two, three]))
    assert shown.quotes == ["One is here. Two follows. … Three is later."]
    assert shown.text.endswith("¶ 3 · chars 0–25 … ¶ 5 · chars 300–315")
    assert shown.bold == ["One is here."]  # the excerpt leads with its answer; the rest is context


def test_markup_in_the_text_and_the_question_is_escaped():
    text = "Use <b>&</b> & *stars* <script>x</script>"
    html = card([quote(text)], heading="“<i>why</i> & how”", lead="Not <b>sure</b>:")
    shown = parse_html(html)
    assert shown.quotes == [text] and shown.text.startswith("“<i>why</i> & how”\nNot <b>sure</b>:")
    assert "&lt;b&gt;&amp;&lt;/b&gt; &amp; *stars*" in html


def test_the_source_is_named_when_asked():
    assert "· b.txt" in parse_html(card([quote("Two.", source="/x/b.txt")], show_source=True)).text
    assert "b.txt" not in parse_html(card([quote("Two.", source="/x/b.txt")])).text


# Markup characters, emoji (two UTF-16 units), right-to-left text, combining marks, zero-width and control
# characters: what a document may hold (it is valid UTF-8, so never a lone surrogate or a NUL).
words = st.text(
    alphabet=st.sampled_from(list("ab <>&\"'*_😀é\nשלום\u0301\u200b\u200f\u202e\x07\t")), min_size=1, max_size=400
)


@settings(max_examples=200, deadline=None)
@given(words, st.integers(0, 400), st.integers(0, 400), st.integers(120, 300))
def test_a_card_fits_the_limit_and_keeps_the_answering_sentence_in_view(text, a, b, limit):
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    shown = parse_html(card([quote(text, (start, end))], limit, heading="“q”", lead="lead"))
    [quoted] = shown.quotes
    inner = quoted.removeprefix("…").removesuffix("…")
    assert inner in text  # a verbatim slice, cut only at its ends
    sentence = text[start:end]
    assert inner == text or sentence[:20] in inner or inner in sentence


def test_a_sentence_longer_than_a_message_is_cut_without_splitting_characters():
    shown = parse_html(card([quote("😀" * 5000)]))
    [quoted] = shown.quotes
    assert quoted.endswith("😀…") and set(quoted[:-1]) == {"😀"}


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


def test_a_100000_character_passage_with_markup_is_cut_around_its_answering_sentence():
    text = ("Tom & Jerry <b>run</b> 😀 שלום e\u0301 \u200b. " * 3000)[:100_000]
    shown = parse_html(card([quote(text, (50_000, 50_300))]))
    [quoted] = shown.quotes
    assert quoted.startswith("…") and quoted.endswith("…") and quoted[1:-1] in text
    assert shown.bold == [text[50_000:50_300]] and len(quoted) > 3000
