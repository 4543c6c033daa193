"""Word (.docx) files: as Markdown, in the order they are written."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from embeddings.errors import SourceError

# What a Word file's parts may unpack to: a 141 kB .docx can unpack to gigabytes (a zip bomb), and
# python-docx holds every part in memory.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def docx_text(data: bytes, path: Path) -> tuple[str, str]:  # runs in the worker process
    """A Word document as Markdown, in the order it is written (python-docx): its headings as headings, so
    they are the place of what follows, list paragraphs as list items, tables as Markdown tables (a row a
    unit, read with its column names)."""
    from docx import Document as Word  # only DOCX files pay for it
    from docx.table import Table

    try:
        unpacked = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise SourceError(path, f"{path}: is not a Word (.docx) document that can be read") from error
    # zipfile never unpacks an entry beyond the size it declares, so the sum bounds what python-docx holds.
    if unpacked > MAX_UNPACKED_BYTES:
        raise SourceError(path, f"{path}: unpacks to {unpacked:,} bytes, over the limit of {MAX_UNPACKED_BYTES:,}")
    try:
        word = Word(io.BytesIO(data))
    except Exception as error:  # python-docx raises zipfile, lxml and its own errors for a damaged file
        raise SourceError(path, f"{path}: is not a Word (.docx) document that can be read") from error
    blocks = []
    for block in word.iter_inner_content():
        if isinstance(block, Table):
            rows = [[" ".join(cell.text.split()).replace("|", "\\|") for cell in row.cells] for row in block.rows]
            rows = [row for row in rows if any(row)]
            if rows:
                lines = ["| " + " | ".join(row) + " |" for row in rows]
                blocks.append("\n".join([lines[0], "|" + "---|" * len(rows[0]), *lines[1:]]))
            continue
        text = " ".join(block.text.split())
        if text:
            blocks.append(_word_paragraph(text, block.style.name if block.style is not None else "",
                                          block._p.pPr is not None and block._p.pPr.numPr is not None))
    return "\n\n".join(blocks), "markdown"


def _word_paragraph(text: str, style: str, numbered: bool) -> str:
    """A Word paragraph as a Markdown block: "Title" as "# …", "Heading 1" as "## …" (below the title), a
    list paragraph as "- …"; any other paragraph as its text, with what Markdown would take for a marker
    at its start escaped."""
    level = re.fullmatch(r"Heading ([1-5])", style)
    if level or style == "Title":
        return "#" * (int(level.group(1)) + 1 if level else 1) + " " + text
    if numbered or style.startswith("List"):
        return "- " + text
    return re.sub(r"^(#|>|[-*+](?=\s)|\d+(?=[.)]\s))", r"\\\1", text)
