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
    menu = ("Le café est une boisson préparée à partir des grains torréfiés du caféier. Très apprécié en Europe, il "
            "se boit chaud ou glacé, avec ou sans crème, et fait partie de la culture française depuis le XVIIe siècle.\n")
    (folder / "menu.txt").write_bytes(menu.encode("cp1252"))
    # Short, it reads as cleanly in cp1250 ("cręperie") and cp1257 ("crźperie"): a guess would change quotes.
    (folder / "short.txt").write_bytes("Le café est fermé le dimanche, mais la crêperie reste ouverte.\n".encode("cp1252"))
    (folder / "noise.txt").write_bytes(bytes(range(128, 256)) * 4)
    (folder / "plain.txt").write_text("The kettle boils at noon.\n", encoding="utf-8")
    assert read_document(folder / "menu.txt").text == menu
    for name in ("short.txt", "noise.txt"):
        with pytest.raises(SourceError) as refused:
            read_document(folder / name)
        assert refused.value.for_user() == f"{name}: is not UTF-8 and its encoding cannot be told for sure; save it as UTF-8"
    report = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder).build([folder])
    assert report.documents == 2 and len(report.skipped) == 2


@pytest.mark.parametrize("text, read", [
    # cp1250 and cp775 read the dash as "–" and "¢": the words are the same, so are the quotes.
    ("The kettle boils at noon – the owl hoots at night.\n", True),
    # cp852 reads "ni˝o", cp1250 "nińo": a sign inside a word where another encoding reads a letter.
    ("El niño come mañana en la montaña con su señora.\n", False),
])
def test_a_short_windows_1252_text_is_read_exactly_or_refused(tmp_path, text, read):
    from embeddings import SourceError
    from embeddings.sources import read_document

    (tmp_path / "note.txt").write_bytes(text.encode("cp1252"))
    if read:
        assert read_document(tmp_path / "note.txt").text == text
    else:
        with pytest.raises(SourceError, match="cannot be told for sure"):
            read_document(tmp_path / "note.txt")


def tiny_pdf(pages: list[str]) -> bytes:
    """A PDF with one line of text a page ('' for a page without any), written by hand."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_pages_and_word_paragraphs_are_read_and_a_scan_is_named(tmp_path):
    import docx

    from embeddings import SourceError
    from embeddings.sources import read_document

    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(tiny_pdf(["The pump starts when the tank is full.", "Clean the filter every month."]))
    text = read_document(pdf).text
    assert text == "The pump starts when the tank is full.\n\nClean the filter every month."  # a page a paragraph
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(tiny_pdf(["", ""]))
    with pytest.raises(SourceError, match="has no text layer"):
        read_document(scan)
    word = docx.Document()
    word.add_paragraph("Returns are accepted within 30 days.")
    table = word.add_table(rows=2, cols=2)
    for row, (item, weight) in enumerate([("Item", "Weight"), ("Kettle", "820 g")]):
        table.cell(row, 0).text, table.cell(row, 1).text = item, weight
    word.add_heading("Refunds", 1)
    word.add_paragraph("Refunds reach your card within 5 days.")
    word.save(tmp_path / "policy.docx")
    read = read_document(tmp_path / "policy.docx")
    # In the order written (the table before the heading after it), as Markdown: its layout reads the
    # heading as a place and the table's rows as units.
    assert (read.format, read.text) == ("markdown", "Returns are accepted within 30 days.\n\n| Item | Weight |\n"
                                        "|---|---|\n| Kettle | 820 g |\n\n## Refunds\n\nRefunds reach your card within 5 days.")
