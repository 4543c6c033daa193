"""A source as read and as indexed: its text, what kind of text it is, and how to tell it changed."""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """A source text as indexed; quotes are slices of text.

    format says how its units and headings are found (see embeddings.structure): "markdown" for Markdown
    files and for HTML, whose main content is extracted as Markdown; "text" for everything else.
    """

    source: str
    sha256: str
    text: str
    format: str = "text"
    # The file's size and modification time when it was read (-1: not from a file, or an older index), so
    # that staleness is seen without reading it again.
    size: int = -1
    mtime_ns: int = -1
    # Where each page starts in text, for a paged source (a PDF): quotes name the page, not the paragraph.
    pages: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", tuple(self.pages))  # a list when read back from JSON

    def page(self, offset: int) -> int:
        """The page (from 1) holding text[offset], or 0 for a source without pages."""
        return bisect.bisect_right(self.pages, offset) if self.pages else 0
