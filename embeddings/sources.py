"""Read the files an index is built from: UTF-8 text and Markdown as they are, HTML as its visible text."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from embeddings.errors import SourceError
from embeddings.store import Document

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024
# Elements that never hold the document's own text.
_HIDDEN = ["script", "style", "noscript", "template", "head", "nav", "footer", "aside", "form", "svg", "button"]
# Elements that start a new paragraph.
_BLOCKS = [
    "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd",
    "blockquote", "pre", "table", "tr", "figcaption", "caption", "ul", "ol", "dl", "hr", "address", "details",
]


def expand_paths(paths: list[Path]) -> list[Path]:
    """Resolve paths to files: a folder stands for the .txt, .md and .html files below it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise SourceError(path, f"{path}: the folder holds no {' or '.join(SUFFIXES)} file")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise SourceError(path, f"{path}: no such file")
    return list(dict.fromkeys(p.resolve() for p in files))


def read_document(path: Path) -> Document:
    """Read one file: text and Markdown as they are (UTF-8, line endings included), HTML as its text.

    The document's sha256 is the file's, so a change is seen whatever its kind.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(path, f"{path}: {size:,} bytes is over the limit of {MAX_FILE_BYTES:,} for one file")
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(path, f"{path}: cannot be read ({error.strerror or error})") from error
    if b"\0" in data:
        raise SourceError(path, f"{path}: looks like a binary file (it holds NUL bytes), not text")
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in HTML_SUFFIXES:
        return Document(str(path), digest, html_text(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = f"byte {error.start} is {data[error.start]:#04x}"
        raise SourceError(path, f"{path}: is not UTF-8 ({byte}); convert it first") from error
    return Document(str(path), digest, text)


def html_text(data: bytes) -> str:
    """The visible text of an HTML page, one paragraph a block element, blank lines between them.

    Navigation, headers and footers of the page, scripts and forms are left out. BeautifulSoup finds the
    encoding from the page's declaration or its bytes.
    """
    from bs4 import BeautifulSoup  # only indexing HTML pays for it

    soup = BeautifulSoup(data, "html.parser")
    for element in soup(_HIDDEN):
        element.decompose()
    for element in soup(["br"]):
        element.replace_with(" ")
    for element in soup(_BLOCKS):
        element.insert_before("\n\n")
        element.insert_after("\n\n")
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", soup.get_text()))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)

