"""The chunker: sentences and passages are verbatim spans that never cut a sentence."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.text import (
    MAX_SENTENCE_CHARS,
    chunk,
    count_words,
    footer_paragraphs,
    main_name,
    split_paragraphs,
    split_sentences,
)


def sentences_of(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_abbreviations_decimals_and_initials_do_not_end_sentences():
    text = "Dr. Smith met J. R. Tolkien in the U.S. Senate at 3.5 p.m. sharp. Prices rose 2.5%. Then it rained."
    assert sentences_of(text) == [
        "Dr. Smith met J. R. Tolkien in the U.S. Senate at 3.5 p.m. sharp.",
        "Prices rose 2.5%.",
        "Then it rained.",
    ]


def test_a_number_ends_a_sentence():
    assert sentences_of("The rate was 3.5. The next year it fell.") == ["The rate was 3.5.", "The next year it fell."]


def test_closing_quotes_stay_with_their_sentence():
    text = "He remarked, “We acknowledge it.” He also noted it! “Is it?” she asked."
    assert sentences_of(text) == ["He remarked, “We acknowledge it.”", "He also noted it!", "“Is it?” she asked."]


def test_lower_case_after_a_period_does_not_split():
    assert sentences_of("See fig. 3 and cf. the notes. It is done.") == ["See fig. 3 and cf. the notes.", "It is done."]


def test_a_sentence_of_one_or_two_words_is_read_with_the_next_or_the_last_with_the_one_before():
    text = "Yes. Touch and hold the top to dim it. It works. Well done."
    assert sentences_of(text) == ["Yes. Touch and hold the top to dim it.", "It works. Well done."]
    assert sentences_of("No.") == ["No."]


def test_paragraphs_one_a_line_or_separated_by_blank_lines():
    assert split_paragraphs("One.\nTwo.\n\n") == [(0, 4), (5, 9)]
    text = "First line\nof one paragraph.\n\n  Second.  \n\n\nThird."
    assert [text[s:e] for s, e in split_paragraphs(text)] == ["First line\nof one paragraph.", "Second.", "Third."]


def test_passages_stay_within_paragraphs_and_word_limit(article_text):
    sentences, passages = chunk(article_text, 80)
    assert len({s.paragraph for s in sentences}) == 7  # 9 paragraphs, the last 2 a newsletter footer
    for p in passages:
        assert sentences[p.first].paragraph == sentences[p.last].paragraph == p.paragraph
        assert count_words(article_text[p.start : p.end]) <= 80 or p.first == p.last


def test_a_sentence_longer_than_the_limit_is_kept_whole():
    long = "word " * 100 + "end."
    sentences, passages = chunk(long + " A short one.", 80)
    assert [(p.first, p.last) for p in passages] == [(0, 0), (1, 1)]
    assert passages[0].end == sentences[0].end


@pytest.mark.parametrize("syllable", [
    "นี่",  # Thai: a consonant with a vowel mark and a tone mark
    "กา",  # Thai: sara aa, a letter written after its consonant
    "เก",  # Thai: sara e, a letter written before its consonant
    "ក្ង",  # Khmer: coeng stacks the second consonant under the first
])
def test_text_without_spaces_is_cut_between_syllables_never_inside_one(syllable):
    # 2,000 syllables with no space, after one letter so that the limit falls inside a syllable.
    text = "ก" + syllable * 2000
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text and len(spans) > 1
    assert all(e - s <= MAX_SENTENCE_CHARS for s, e in spans)
    assert all((s - 1) % len(syllable) == 0 for s, _ in spans[1:]), [s for s, _ in spans]


def test_passages_start_at_every_sentence_unless_contained_in_the_previous():
    text = " ".join(f"Sentence number {i} has five words." for i in range(6))  # 6 words each
    _, passages = chunk(text, 18)
    assert [(p.first, p.last) for p in passages] == [(0, 2), (1, 3), (2, 4), (3, 5)]


def test_a_byte_order_mark_is_not_quoted():
    sentences, _ = chunk("\ufeffHello there. Bye.", 80)
    assert sentences[0].start == 1


text_pieces = st.sampled_from(
    ["Mr. Smith", "U.S.", "3.14", "“Quoted.”", "Why?", "Yes!", "…", "\n", "\n\n", "  ", "\t", "word", "Émile",
     "日本語。", "x.", ".", "'", "”", "(a)", "\u200b", "\u202e", "e\u0301", "🙂", "\r\n", "A. B."]
)
documents = st.one_of(st.text(max_size=400), st.lists(st.one_of(text_pieces, st.text(max_size=8)), max_size=60).map(" ".join))


@settings(max_examples=300, deadline=None)
@given(documents, st.integers(min_value=1, max_value=90))
def test_chunker_invariants(text, max_words):
    sentences, passages = chunk(text, max_words)
    for s in sentences:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip() and not piece[0].isspace()
    # Sentences are in order and do not overlap.
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:]))
    # Every non-blank character is in some sentence, but for a footer at the end (not searched).
    covered = set()
    for s in sentences:
        covered.update(range(s.start, s.end))
    paragraphs = split_paragraphs(text)
    footer = footer_paragraphs(text, paragraphs)
    searched = paragraphs[-footer][0] if footer else len(text)
    assert all(i in covered for i, c in enumerate(text[:searched]) if not c.isspace() and c != "\ufeff")
    # Every sentence is in some passage; a passage is whole sentences of one paragraph.
    assert {i for p in passages for i in range(p.first, p.last + 1)} == set(range(len(sentences)))
    boundaries = {s.start for s in sentences}, {s.end for s in sentences}
    for p in passages:
        assert p.start in boundaries[0] and p.end in boundaries[1]
        assert (p.start, p.end) == (sentences[p.first].start, sentences[p.last].end)
        assert len({sentences[i].paragraph for i in range(p.first, p.last + 1)}) == 1
        words = count_words(text[p.start : p.end])
        assert words <= max_words or p.first == p.last
    # Retrieval finds the passages holding a sentence by binary search: both ends must be sorted.
    assert all(a.first < b.first and a.last <= b.last for a, b in zip(passages, passages[1:]))


def test_main_name_is_the_most_mentioned_name_inside_sentences():
    text = "Alice met Bob. Then Bob left with the Security Council. Bob is here. The end."
    assert main_name(text) == "Bob"
    assert main_name("no names here at all. none.") is None


def test_a_100000_character_document_chunks_verbatim():
    text = ("Sentence with emoji 😀 and Arabic مرحبا. " * 3000)[:100_000]
    sentences, passages = chunk(text, 80)
    assert sentences and passages and all(text[s.start : s.end].strip() for s in sentences)
    assert passages[-1].end <= len(text)
