"""Documents as people write them: what is searchable, and what a reader is shown first."""

from __future__ import annotations

import pytest

from embeddings.text import chunk, split_paragraphs

from .conftest import ARTICLE

STORY = (
    "The lighthouse keeper lives on the rock with his dog.\n\n"
    "Every evening he lights the lamp, and ships pass safely through the strait.\n\n"
)


def searchable(text: str) -> str:
    sentences, _ = chunk(text, 80)
    return " ".join(text[s.start : s.end] for s in sentences)


def test_a_newsletter_footer_stays_in_the_text_but_is_never_searched():
    text = ARTICLE.read_text(encoding="utf-8")
    sentences, passages = chunk(text, 80)
    shown = searchable(text)
    assert "Subscribe to get the latest posts" not in shown and "Discover more from" not in shown
    assert "New START" in shown
    # Offsets are the file's: the footer is still there after the last searchable sentence.
    assert text[sentences[-1].end :].strip().endswith("Subscribe to get the latest posts sent to your email.")
    assert all(p.paragraph <= len(split_paragraphs(text)) - 2 for p in passages)


def test_footer_lines_of_a_page_are_dropped_only_at_its_end_and_only_when_short():
    footer = "Share this story on social media.\n\n© 2026 Harbour Press. All rights reserved."
    assert "rights reserved" not in searchable(STORY + footer)
    assert "ships pass safely" in searchable(STORY + footer)
    # The same words inside the text, or in a long closing paragraph, are the text's own.
    middle = "Subscribe to the harbour newsletter, the keeper said.\n\n" + STORY
    assert "harbour newsletter" in searchable(middle)
    long_end = STORY + "We subscribe to the view that " + "the sea is wide and the rock is old, " * 5 + "he said."
    assert "We subscribe to the view" in searchable(long_end)
    # A text that is nothing but such lines is still searched.
    assert "Subscribe" in searchable("Subscribe to our newsletter.")


def test_a_text_that_is_not_utf8_is_read_when_its_encoding_is_sure_and_skipped_in_a_folder_when_not(
    tmp_path, fake_embedder
):
    from embeddings import Engine, IndexSettings, SourceError
    from embeddings.sources import read_document

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "menu.txt").write_bytes("Le café est fermé le dimanche, mais la crêperie reste ouverte.\n".encode("cp1252"))
    (folder / "noise.txt").write_bytes(bytes(range(128, 256)) * 4)
    (folder / "plain.txt").write_text("The kettle boils at noon.\n", encoding="utf-8")
    assert "café est fermé" in read_document(folder / "menu.txt").text
    with pytest.raises(SourceError) as refused:
        read_document(folder / "noise.txt")
    assert refused.value.for_user() == "noise.txt: is not UTF-8 and its encoding cannot be told for sure; save it as UTF-8"
    report = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder).build([folder])
    assert report.documents == 2 and len(report.skipped) == 1 and "noise.txt" in report.skipped[0]
