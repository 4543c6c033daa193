"""The answer reranker: the committed model is the one its manifest describes, and it changes answers
where the first stage goes by shared words rather than meaning."""

from __future__ import annotations

import hashlib
import json

import pytest

from embeddings import Engine, RetrievalSettings
from embeddings.reranker import RERANKER_DIR, load_reranker
from tests.conftest import ENGLISH

pytestmark = pytest.mark.model

# The answer shares no word with the question; a decoy shares most of them and answers nothing.
STORY = (
    "The ferry to the island leaves from the old harbour. It was painted blue last spring.\n\n"
    "Passengers who want the ferry to the island on a Sunday should ask at the harbour office about the "
    "island ferry times, which the office posts on its door.\n\n"
    "Crossing the strait takes forty minutes when the sea is calm."
)


def test_the_model_file_is_the_one_its_manifest_names():
    manifest = json.loads((RERANKER_DIR / "manifest.json").read_text(encoding="utf-8"))
    data = (RERANKER_DIR / manifest["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"] and len(data) == manifest["bytes"]
    assert "CC BY-SA 4.0" in manifest["training_data"]["license"]


@pytest.fixture(scope="module")
def story(tmp_path_factory, real_embedder):
    source = tmp_path_factory.mktemp("story") / "ferry.txt"
    source.write_text(STORY, encoding="utf-8")
    directory = source.parent / "index"
    Engine(directory, ENGLISH, embedder=real_embedder).build([source])
    return directory


def engine(directory, real_embedder, rerank: bool) -> Engine:
    return Engine(directory, ENGLISH, RetrievalSettings(rerank=rerank), real_embedder)


def test_reranking_puts_the_answer_first_where_shared_words_mislead(story, real_embedder):
    question = "How long does the ferry to the island take?"
    first_stage = engine(story, real_embedder, rerank=False).ask(question, 3)
    reranked = engine(story, real_embedder, rerank=True).ask(question, 3)
    assert "forty minutes" not in first_stage.passages[0].text  # the decoy wins on words
    assert "forty minutes" in reranked.passages[0].text
    highlight = reranked.passages[0].highlight
    assert "forty minutes" in STORY[highlight.start : highlight.end]


def test_an_off_topic_question_is_not_answered(story, real_embedder):
    answer = engine(story, real_embedder, rerank=True).ask("Who won the football world cup in 1998?", 3)
    assert not answer.answered and answer.passages  # the nearest passage is still offered


def test_with_reranking_off_the_reranker_is_never_loaded(story, real_embedder):
    assert engine(story, real_embedder, rerank=False).reranker is None
    assert engine(story, real_embedder, rerank=True).reranker is load_reranker()


def test_the_reranker_abstains_where_close_words_alone_would_answer(story, real_embedder):
    from bot.terminal import format_answer

    question = "How much does the ferry cost?"  # the text never says
    assert engine(story, real_embedder, rerank=False).ask(question, 3).answered
    reranked = engine(story, real_embedder, rerank=True)
    answer = reranked.ask(question, 3)
    assert not answer.answered and answer.passages
    shown = format_answer(answer, reranked.present(answer), answer.threshold, styled=False, show_source=False)
    assert f"below {answer.threshold:.2f}" in shown.splitlines()[0]
