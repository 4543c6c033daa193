"""Long fuzz runs (`make fuzz`, FUZZ_EXAMPLES examples each); not part of `make test`.

What they find becomes a regular test: the short property tests beside each module.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.telegram_format import card_html, shown_length
from embeddings.excerpts import group_nearby
from embeddings.retrieval import EmptyQuestionError
from embeddings.text import chunk
from tests.fake_bot_api import parse_html

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=2000)


@fuzz
@given(any_text, st.integers(1, 5))
def test_the_question_path(article_engine, article_text, question, k):
    try:
        answer = article_engine.ask(question, k=k)
    except EmptyQuestionError:
        return
    for quote in answer.passages:
        assert article_text[quote.start : quote.end] == quote.text
    for excerpt in group_nearby(answer.passages):
        shown = parse_html(card_html(excerpt, heading=question))  # raises where Telegram would refuse the HTML
        assert shown_length(shown.text) <= 4096


@fuzz
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5000), st.integers(1, 200))
def test_chunking_and_cards_of_any_document(fake_embedder, text, max_words):
    from embeddings.retrieval import answer_question
    from embeddings.store import Document, IndexSettings, build_index, sha256_text

    sentences, passages = chunk(text, max_words)
    assert all(text[s.start : s.end].strip() for s in sentences)
    document = Document("fuzz.txt", sha256_text(text), text)
    index = build_index([document], fake_embedder, IndexSettings("fake", max_words, "fake"))
    try:
        answer = answer_question(index, fake_embedder, text[:50] or "x", k=3)
    except EmptyQuestionError:
        return
    for excerpt in group_nearby(answer.passages):
        assert shown_length(parse_html(card_html(excerpt)).text) <= 4096
