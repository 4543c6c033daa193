"""Answering: verbatim quotes, highlights inside them, no repeated text, and honest abstention."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.evaluate import normalize
from embeddings.retrieval import (
    MAX_QUESTION_CHARS,
    OPENING_NOTE,
    EmptyQuestionError,
    answer_question,
    clean_question,
)


def test_quotes_are_verbatim_with_the_highlight_inside(fake_index, fake_embedder):
    answer = answer_question(fake_index, fake_embedder, "When does the New START treaty expire?", k=5)
    text = fake_index.documents[0].text
    assert answer.passages and "New START" in answer.passages[0].text
    for quote in answer.passages:
        assert text[quote.start : quote.end] == quote.text
        assert quote.start <= quote.highlight.start < quote.highlight.end <= quote.end
    assert [q.score for q in answer.passages] == sorted((q.score for q in answer.passages), reverse=True)


def test_returned_passages_never_overlap(fake_index, fake_embedder):
    answer = answer_question(fake_index, fake_embedder, "Putin Ukraine Russia Trump", k=10)
    spans = sorted((q.start, q.end) for q in answer.passages)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


@pytest.mark.parametrize("question", ["", "   ", "?!", "\x00\x01", "\u200b\u200b"])
def test_a_question_without_words_is_refused(fake_index, fake_embedder, question):
    with pytest.raises(EmptyQuestionError):
        answer_question(fake_index, fake_embedder, question)


def test_a_huge_question_is_cut_with_a_note(fake_index, fake_embedder):
    answer = answer_question(fake_index, fake_embedder, "treaty " * 20_000)
    assert answer.notes == [f"the question was cut to its first {MAX_QUESTION_CHARS} characters"]
    assert len(fake_embedder.encoded[-1]) == MAX_QUESTION_CHARS
    assert answer.passages


def test_control_characters_and_odd_spacing_are_cleaned():
    assert clean_question("\tWho\x00  won?\n") == ("Who won?", [])


def test_a_question_about_the_text_is_searched_for_its_subject():
    assert clean_question("what does the article say about  Ukraine?") == ("What about Ukraine?", [])
    assert clean_question("What does the text say?") == ("What does the text say?", [])


@pytest.mark.parametrize(
    "question",
    [
        "What is this article about?",
        "What’s this story about",
        "Summarise the document, please.",
        "give me a summary",
        "what are the main points",
        "What's the topic of this text?",
        "tl;dr",
    ],
)
def test_a_question_about_the_whole_text_quotes_its_opening(fake_index, fake_embedder, question):
    answer = answer_question(fake_index, fake_embedder, question, k=3)
    opening = answer.passages[0]
    first_sentence = "Russian President Vladimir Putin extended his congratulations"
    assert answer.answered and answer.notes == [OPENING_NOTE] and len(answer.passages) == 1
    assert opening.start == 0 and opening.paragraph == 1
    assert opening.text[: opening.highlight.end].startswith(first_sentence)


@pytest.mark.parametrize(
    "question",
    ["What does the article say about Ukraine?", "Is the text about Ukraine?", "Explain the treaty",
     "What is the point of the treaty?"],
)
def test_a_question_about_a_subject_of_the_text_is_searched(fake_index, fake_embedder, question):
    assert OPENING_NOTE not in answer_question(fake_index, fake_embedder, question).notes


def test_a_question_about_several_texts_quotes_each_opening(fake_embedder):
    from embeddings.store import Document, IndexSettings, build_index, sha256_text

    texts = {"a.txt": "Bees make honey. They live in hives.", "b.txt": "Owls hunt at night.\n\nThey eat mice."}
    documents = [Document(name, sha256_text(text), text) for name, text in texts.items()]
    index = build_index(documents, fake_embedder, IndexSettings("fake", 80, "fake"))
    answer = answer_question(index, fake_embedder, "What are these files about?", k=3)
    assert [(q.source, q.start, q.paragraph) for q in answer.passages] == [("a.txt", 0, 1), ("b.txt", 0, 1)]
    assert [q.text[q.highlight.start - q.start : q.highlight.end - q.start] for q in answer.passages] == [
        "Bees make honey.", "Owls hunt at night."
    ]


def test_answer_json_contract(fake_index, fake_embedder):
    data = json.loads(json.dumps(answer_question(fake_index, fake_embedder, "nuclear arms").to_dict()))
    assert set(data) == {"question", "verdict", "answered", "confidence", "passages"}
    keys = {"text", "start", "end", "paragraph", "score", "highlight", "source", "section", "format", "page"}
    assert set(data["passages"][0]) == keys
    assert set(data["passages"][0]["highlight"]) == {"start", "end"}


@pytest.mark.model
def test_the_real_model_answers_the_article_dev_set(article_index_dir, real_embedder):
    from embeddings.store import load_index

    from .conftest import ARTICLE_DEV

    index = load_index(article_index_dir)
    record = json.loads(ARTICLE_DEV.read_text().splitlines()[0])
    for question in record["questions"]:
        answer = answer_question(index, real_embedder, question["q"], k=3)
        if question["answers"]:
            assert answer.answered, question["q"]
            top = answer.passages[0]
            highlighted = index.documents[0].text[top.highlight.start : top.highlight.end]
            assert any(normalize(a) in normalize(highlighted) for a in question["answers"]), question["q"]
        else:
            assert not answer.answered, question["q"]
            assert answer.passages, "an abstention still offers the nearest passage"


@pytest.mark.model
@pytest.mark.parametrize(
    "question, answered",
    [
        ("Who rejected the condition?", True),  # worded like the text, low cosine
        ("Who is the president of France?", False),  # "president" is in the text, "France" is not
        ("What is the weather today?", False),
    ],
)
def test_abstention_weighs_the_question_words_the_text_lacks(article_index_dir, real_embedder, question, answered):
    from embeddings.store import load_index

    assert answer_question(load_index(article_index_dir), real_embedder, question).answered is answered


def test_a_large_corpus_is_searched_through_candidates(fake_embedder):
    from embeddings.retrieval import CANDIDATES
    from embeddings.store import Document, IndexSettings, build_index, sha256_text

    paragraphs = [f"Paragraph {i} talks about item{i} and the weather. It has a second sentence." for i in range(800)]
    paragraphs[613] = "The lighthouse keeper polished the brass lamp every evening. Ships passed safely."
    text = "\n".join(paragraphs)
    document = Document("big.txt", sha256_text(text), text)
    index = build_index([document], fake_embedder, IndexSettings("fake", 80, "fake"))
    assert len(index.passages) > CANDIDATES
    answer = answer_question(index, fake_embedder, "Who polished the brass lamp?", k=3)
    assert answer.passages[0].paragraph == 614
    assert answer.passages[0].text.startswith("The lighthouse keeper")
    assert answer.passages[0].highlight.end - answer.passages[0].highlight.start == len(
        "The lighthouse keeper polished the brass lamp every evening."
    )


@pytest.mark.model
def test_describe_names_the_article_and_a_question_it_answers(article_engine):
    info = article_engine.describe()
    assert [d.name for d in info.documents] == ["article.txt"] and info.passages > 5
    assert info.documents[0].opening.startswith("Russian President Vladimir Putin extended")
    assert article_engine.ask(info.sample_question).answered


def test_candidates_are_every_passage_holding_a_near_sentence(fake_embedder):
    from embeddings.retrieval import CANDIDATES, DENSE_CANDIDATES, _candidates
    from embeddings.store import Document, IndexSettings, build_index, sha256_text

    paragraphs = [" ".join(f"Item {i}-{j} is short." for j in range(1 + i % 7)) for i in range(700)]
    text = "\n".join(paragraphs)
    document = Document("many.txt", sha256_text(text), text)
    index = build_index([document], fake_embedder, IndexSettings("fake", 12, "fake"))
    query = fake_embedder.encode(["item 5 short"])[0]
    lexical = index.lexical.scores("item 5 short")
    _, nearest = index.vectors.search(query.reshape(1, -1), DENSE_CANDIDATES)
    first, last = index.passages[:, 4], index.passages[:, 5]
    holding = {row for s in nearest[0] for row in range(len(first)) if first[row] <= s <= last[row]}
    pool = set(_candidates(index, query, lexical).tolist())
    assert holding <= pool and len(holding) > DENSE_CANDIDATES // 2
    assert len(pool - holding) <= CANDIDATES  # the rest are BM25's best


@pytest.mark.model
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=300))
def test_any_question_gets_verbatim_quotes_or_a_clear_refusal(article_engine, article_text, question):
    # Any code point: emoji, right-to-left, combining marks, zero-width, controls, NUL, lone surrogates.
    try:
        answer = article_engine.ask(question, k=3)
    except EmptyQuestionError:
        return
    assert answer.passages
    for quote in answer.passages:
        assert article_text[quote.start : quote.end] == quote.text
        assert quote.start <= quote.highlight.start < quote.highlight.end <= quote.end
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8", "surrogatepass")
