"""PDF files: the text layer by page, without running headers and footers."""

from __future__ import annotations

import io
import re
from pathlib import Path

from embeddings.errors import SourceError
from embeddings.structure import LIST_ITEM, heading_like


def pdf_text(data: bytes, path: Path) -> tuple[str, str, tuple[int, ...]]:  # runs in the worker process
    """A PDF's text layer (pypdf), a paragraph a page, its format ("text") and where each page starts.

    Lines repeated at the top or bottom of most pages (a running header or footer, its page number
    changing) are left out. Within a page the lines of a paragraph are joined; a heading or a list item
    keeps a line of its own, so that the text's layout reads it as one (see embeddings.structure).

    Raises:
        SourceError: not a PDF pypdf can read, or one without text (a scan: it needs OCR first).
    """
    from pypdf import PdfReader  # only PDFs pay for it
    from pypdf.errors import PyPdfError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise SourceError(path, f"{path}: is not a PDF that can be read ({error})") from error
    lines = [[" ".join(line.split()) for line in page.splitlines() if line.strip()] for page in pages]
    running = _running_lines(lines)
    text, starts = "", []
    for page in lines:
        kept = [line for number, line in enumerate(page) if (_page_line_key(line), _edge(number, len(page)))
                not in running]
        if kept:
            starts.append(len(text) + (2 if text else 0))
            text += ("\n\n" if text else "") + _page_text(kept)
    if not text:
        raise SourceError(path, f"{path}: has no text layer (a scan?); run it through OCR first")
    return text, "text", tuple(starts)


# A line at the top or bottom of at least this share of the pages (and of two at least) runs over them.
RUNNING_SHARE = 0.6
_EDGE_LINES = 2


def _running_lines(pages: list[list[str]]) -> set[tuple[str, str]]:
    """The (key, edge) of lines that stand at the same edge of most pages, numbers aside."""
    counts: dict[tuple[str, str], int] = {}
    for page in pages:
        seen = {(_page_line_key(line), _edge(number, len(page))) for number, line in enumerate(page)}
        for key in seen - {(k, "") for k, _ in seen}:
            counts[key] = counts.get(key, 0) + 1
    needed = max(2, RUNNING_SHARE * sum(1 for page in pages if page))
    return {key for key, count in counts.items() if count >= needed}


def _page_line_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold())


def _edge(number: int, lines: int) -> str:
    """"top" or "bottom" for the first and last _EDGE_LINES lines of a page, else ""."""
    return "top" if number < _EDGE_LINES else "bottom" if number >= lines - _EDGE_LINES else ""


def _page_text(lines: list[str]) -> str:
    """A page's lines: a paragraph's lines joined by spaces, a heading or a list item on a line of its own."""
    blocks: list[str] = []
    alone = True  # the last block is a heading or a list item: nothing joins it
    for line in lines:
        own = heading_like(line) or bool(LIST_ITEM.match(line))
        if own or alone or not blocks:
            blocks.append(line)
        else:
            blocks[-1] += " " + line
        alone = own
    return "\n".join(blocks)
