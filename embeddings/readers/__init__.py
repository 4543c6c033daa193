"""Readers: each kind of source turned into the text citebot indexes and quotes, and its format (how its
units and headings are found; see embeddings.structure).

One entry point, read_document(source), picks the reader by the file's suffix (or a web page's type):
plain text and Markdown (embeddings.readers.plain), HTML (.html), PDF (.pdf), Word (.word); a web
address is fetched first (.web). What they share, the limits on a file and the worker process parsers
run in, is embeddings.readers.limits.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
from pathlib import Path

from embeddings.document import Document
from embeddings.errors import SourceError
from embeddings.readers.html import html_text
from embeddings.readers.limits import bounded, read_regular_file, within_limit
from embeddings.readers.pdf import pdf_text
from embeddings.readers.plain import WIDE_BOMS, decode
from embeddings.readers.web import fetch, is_address
from embeddings.readers.word import docx_text
from embeddings.redact import shown_url

__all__ = ["SUFFIXES", "Source", "current_sha256", "decode", "display_name", "docx_text", "expand_paths",
           "html_text", "is_address", "pdf_text", "read_document"]
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + (".pdf", ".docx")
logger = logging.getLogger(__name__)
Source = Path | str  # a file, or a web page's address (http:// or https://)


def display_name(source: Source) -> str:
    """How a source is named to a reader: a file by its name, a web page by its address (no password)."""
    return shown_url(source) if is_address(source) else Path(source).name


def expand_paths(paths: list[Source]) -> list[Source]:
    """Resolve paths to files: a folder stands for the .txt, .md and .html files below it; a web address
    stands for itself.

    A symbolic link inside a folder is followed only when it stays inside that folder.
    """
    files: list[Source] = []
    for path in paths:
        if is_address(path):
            files.append(path)
        elif path.is_dir():
            root = path.resolve()
            found = []
            for candidate in sorted(path.rglob("*")):
                if candidate.suffix.lower() not in SUFFIXES or not candidate.is_file():
                    continue
                if candidate.is_symlink() and not candidate.resolve().is_relative_to(root):
                    logger.warning("%s links outside %s; it is left out", candidate, path)
                    continue
                found.append(candidate)
            if not found:
                raise SourceError(path, f"{path}: the folder holds no {' or '.join(SUFFIXES)} file")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise SourceError(path, f"{path}: no such file")
    return list(dict.fromkeys(p if is_address(p) else p.resolve() for p in files))


def read_document(source: Source, allow_private: bool = False) -> Document:
    """Read one file, or the page at a web address (see embeddings.readers.web; allow_private lets it be on
    this machine or its network): text and Markdown as they are (UTF-8, line endings included), HTML as
    its main content, PDF and Word as their text.

    Only regular files are read (a device or a pipe could be endless or block forever), and never more
    than MAX_FILE_BYTES. The document's sha256 is the file's, so a change is seen whatever its kind.
    """
    if is_address(source):
        data, kind = fetch(source, allow_private)
        return _document(data, kind, source)
    data, info = read_regular_file(source)
    return _document(data, source.suffix.lower(), source, size=info.st_size, mtime_ns=info.st_mtime_ns)


def _document(data: bytes, kind: str, source: Source, **stamp: int) -> Document:
    """The document of data, read as a file with suffix kind."""
    digest = hashlib.sha256(data).hexdigest()
    if kind == ".pdf":
        text, _, pages = bounded(pdf_text, data, source)
        return Document(str(source), digest, text, pages=pages, **stamp)
    if kind == ".docx":
        text, format = bounded(docx_text, data, source)
        return Document(str(source), digest, text, format, **stamp)
    if b"\0" in data and not data.startswith(WIDE_BOMS):
        raise SourceError(source, f"{source}: looks like a binary file (it holds NUL bytes), not text")
    # RTF is plain ASCII (a byte-order mark at most before it), so it would be read as text, control words and all.
    if data.removeprefix(codecs.BOM_UTF8).lstrip()[:5] == b"{\\rtf":
        raise SourceError(source, f"{source}: an RTF document, which citebot does not read: save it as .docx, "
                                  ".pdf or .txt")
    if kind in HTML_SUFFIXES:
        text, format = bounded(html_text, data, source)
        return Document(str(source), digest, text, format, **stamp)
    format = "markdown" if kind in MARKDOWN_SUFFIXES else "text"
    return Document(str(source), digest, within_limit(decode(data, source), source, format), format, **stamp)


def current_sha256(document: Document) -> str | None:
    """The sha256 document's file has now: the indexed one when its size and modification time are as
    when it was read, else that of its bytes (never parsed); None when it cannot be read. A web page is
    taken to be as it was (fetching it is for `citebot index`, not for every question)."""
    if is_address(document.source):
        return document.sha256
    path = Path(document.source)
    try:
        info = path.stat()
        if (info.st_size, info.st_mtime_ns) == (document.size, document.mtime_ns):
            return document.sha256
        data, _ = read_regular_file(path)
    except (OSError, SourceError):
        return None
    return hashlib.sha256(data).hexdigest()
