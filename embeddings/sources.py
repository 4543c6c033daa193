"""Read the files an index is built from: text and Markdown as they are, HTML, PDF and Word as their text."""

from __future__ import annotations

import atexit
import codecs
import hashlib
import io
import logging
import multiprocessing
import os
import re
import resource
import stat
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from embeddings.errors import SourceError
from embeddings.store import Document
from embeddings.structure import LIST_ITEM, embedding_work, heading_like

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + (".pdf", ".docx")
T = TypeVar("T")
MAX_FILE_BYTES = 50 * 1024 * 1024
# The longest any one HTML, PDF or Word file may take to read (its structure is parsed in a worker).
MAX_READ_SECONDS = 60.0
# The memory that worker may take, and the bytes a Word file's parts may unpack to: a 141 kB .docx can
# unpack to gigabytes (a zip bomb), and python-docx holds every part in memory.
MAX_READER_MEMORY = 1024 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# Characters one file may give to index (a book of 300,000 words), and what indexing them may ask of the
# embedder (see embedding_work): about 45 s of embedding on 2 cores, so that many short sentences or table
# rows cannot make one file take longer.
MAX_FILE_CHARS = 2_000_000
MAX_EMBEDDING_WORK = 3_000_000
_worker = None
_worker_lock = threading.Lock()
# charset-normalizer's measure of mess in a decoding (0: none); above this a guess is not trusted.
MAX_CHAOS = 0.1
MIN_GUESS_BYTES = 32
_WIDE = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]
# Byte-order marks of the wide encodings, the UTF-32 ones first (UTF-32-LE's starts with UTF-16-LE's).
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
_WIDE_BOMS = tuple(bom for bom, _ in _BOMS)
# A file is read as UTF-8 with its stray bytes replaced when it holds at least this many times more UTF-8
# characters beyond ASCII than bytes that are not UTF-8 (a file in another encoding has next to none).
MAX_STRAY_SHARE = 2
logger = logging.getLogger(__name__)
# Elements that never hold the document's own text.
_HIDDEN = ["script", "style", "noscript", "template", "head", "nav", "footer", "aside", "form", "svg", "button"]


def expand_paths(paths: list[Path]) -> list[Path]:
    """Resolve paths to files: a folder stands for the .txt, .md and .html files below it.

    A symbolic link inside a folder is followed only when it stays inside that folder.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
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
    return list(dict.fromkeys(p.resolve() for p in files))


def read_document(path: Path) -> Document:
    """Read one file: text and Markdown as they are (UTF-8, line endings included), HTML as its text.

    Only regular files are read (a device or a pipe could be endless or block forever), and never more
    than MAX_FILE_BYTES. The document's sha256 is the file's, so a change is seen whatever its kind.
    """
    data, info = _read_regular_file(path)
    digest = hashlib.sha256(data).hexdigest()
    kind = path.suffix.lower()
    stamp = {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
    if kind == ".pdf":
        text, _, pages = _bounded(pdf_text, data, path)
        return Document(str(path), digest, text, pages=pages, **stamp)
    if kind == ".docx":
        text, format = _bounded(docx_text, data, path)
        return Document(str(path), digest, text, format, **stamp)
    if b"\0" in data and not data.startswith(_WIDE_BOMS):
        raise SourceError(path, f"{path}: looks like a binary file (it holds NUL bytes), not text")
    if kind in HTML_SUFFIXES:
        text, format = _bounded(html_text, data, path)
        return Document(str(path), digest, text, format, **stamp)
    format = "markdown" if kind in MARKDOWN_SUFFIXES else "text"
    return Document(str(path), digest, _within_limit(decode(data, path), path, format), format, **stamp)


def current_sha256(document: Document) -> str | None:
    """The sha256 document's file has now: the indexed one when its size and modification time are as
    when it was read, else that of its bytes (never parsed); None when it cannot be read."""
    path = Path(document.source)
    try:
        info = path.stat()
        if (info.st_size, info.st_mtime_ns) == (document.size, document.mtime_ns):
            return document.sha256
        data, _ = _read_regular_file(path)
    except (OSError, SourceError):
        return None
    return hashlib.sha256(data).hexdigest()


def _within_limit(text: str, path: Path, format: str = "text") -> str:
    if len(text) > MAX_FILE_CHARS:
        raise SourceError(
            path, f"{path}: holds {len(text):,} characters, over the limit of {MAX_FILE_CHARS:,} for one file; split it"
        )
    work = embedding_work(text, format)
    if work > MAX_EMBEDDING_WORK:
        raise SourceError(path, f"{path}: is {work:,} characters to embed (short sentences and table rows cost "
                                f"more), over the limit of {MAX_EMBEDDING_WORK:,} for one file; split it")
    return text


def decode(data: bytes, path: Path) -> str:
    """A text file's text: as its byte-order mark says; UTF-8; UTF-8 with a few stray bytes replaced (and
    a warning); else the encoding charset-normalizer finds when it is sure of it (quotes are then exact in
    the decoded text, which is what the index holds).

    Raises:
        SourceError: neither; the message is a plain sentence.
    """
    data = data.removeprefix(codecs.BOM_UTF8)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as error:
                raise SourceError(path, f"{path}: starts as {encoding} but is not ({error.reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    stray = replaced.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    wide = sum(ord(c) > 0x7F for c in replaced) - stray
    if wide >= MAX_STRAY_SHARE * stray:
        # UTF-8 with a few stray bytes: a guess at another encoding would change every other quote.
        logger.warning("%s: %d byte(s) that are not UTF-8 shown as \ufffd", path, stray)
        return replaced
    from charset_normalizer import from_bytes  # only files that are not UTF-8 pay for it

    # UTF-16 and UTF-32 without a byte-order mark fit almost any bytes; and a few bytes prove nothing.
    best = from_bytes(data, cp_exclusion=_WIDE).best() if len(data) >= MIN_GUESS_BYTES else None
    if best is None or best.chaos > MAX_CHAOS:
        raise SourceError(path, f"{path}: is not UTF-8 and its encoding cannot be told for sure; save it as UTF-8")
    logger.info("%s read as %s", path, best.encoding)
    return str(best)


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


def _read_regular_file(path: Path) -> tuple[bytes, os.stat_result]:
    try:
        # Non-blocking: opening a pipe must not wait for a writer; reading a regular file is unaffected.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise SourceError(path, f"{path}: cannot be read ({error.strerror or error})") from error
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(path, f"{path}: is not a regular file (a device, a pipe or a socket); it is not read")
        try:
            data = handle.read(MAX_FILE_BYTES + 1)  # the limit holds even for a file that grows meanwhile
        except OSError as error:
            raise SourceError(path, f"{path}: cannot be read ({error.strerror or error})") from error
    if len(data) > MAX_FILE_BYTES:
        size = max(info.st_size, len(data))
        raise SourceError(path, f"{path}: {size:,} bytes is over the limit of {MAX_FILE_BYTES:,} for one file")
    return data, info


def _bounded(convert: Callable[..., T], data: bytes, path: Path) -> T:
    """convert(data, path) in a worker process that is stopped after MAX_READ_SECONDS and may take at most
    MAX_READER_MEMORY: however a file is made, reading it cannot hold a build (and the build lock) for
    longer, nor take the machine's memory."""
    global _worker
    with _worker_lock:
        if _worker is None:
            # spawn, not fork: the caller may be a bot with threads (and onnxruntime) running.
            _worker = multiprocessing.get_context("spawn").Pool(1, initializer=_start_worker)
            atexit.register(_worker.terminate)  # before the interpreter tears down what the pool needs
        pending = _worker.apply_async(_read_in_worker, (convert, data, path))
        try:
            return pending.get(timeout=MAX_READ_SECONDS)
        except multiprocessing.TimeoutError:
            _worker.terminate()
            _worker = None
            raise SourceError(path, f"{path}: took over {MAX_READ_SECONDS:.0f} s to read; it is left out") from None


def _start_worker() -> None:  # runs in the worker process
    # A parser's own warnings (pypdf logs each damaged object) would reach stderr through logging's last
    # resort, as bare lines beside citebot's one line about the file.
    logging.getLogger().addHandler(logging.NullHandler())
    # The data segment (heap and anonymous maps): what a parser grows, and not the libraries mapped in.
    resource.setrlimit(resource.RLIMIT_DATA, (MAX_READER_MEMORY, MAX_READER_MEMORY))


def _read_in_worker(convert: Callable[..., T], data: bytes, path: Path) -> T:  # runs in the worker process
    """convert(data, path), whose failures, however deep in a parser, become one SourceError line."""
    try:
        result = convert(data, path)
    except SourceError:
        raise
    except MemoryError:
        raise SourceError(path, f"{path}: needs more than {MAX_READER_MEMORY >> 20:,} MB of memory to read") from None
    except RecursionError:
        raise SourceError(path, f"{path}: is nested too deeply to read") from None
    except Exception as error:  # a damaged file fails inside a parser in that parser's own ways
        reason = " ".join(str(error).split())[:120] or type(error).__name__
        raise SourceError(path, f"{path}: cannot be read ({reason})") from None
    text, format = (result, "text") if isinstance(result, str) else result[:2]
    _within_limit(text, path, format)
    return result


def html_text(data: bytes, path: Path | None = None) -> tuple[str, str]:
    """The main text of an HTML page and its format: Markdown, so that its headings, lists and tables are
    read as in a Markdown file.

    trafilatura finds the page's main content and leaves out its chrome: navigation, breadcrumbs, cookie
    banners, headers, footers and newsletter boxes. Its work grows with the page (a 2 MB page takes about a
    second), unlike the tree edits this replaced. A page too small for it to judge falls back to all of its
    visible text, one paragraph a line.
    """
    import trafilatura  # only indexing HTML pays for it

    extracted = trafilatura.extract(
        data, include_comments=False, include_tables=True, include_images=False, favor_recall=True,
        deduplicate=False, include_formatting=True, include_links=False, output_format="markdown",
    )
    if extracted and extracted.strip():
        return _blocks_apart(extracted), "markdown"
    return "\n\n".join(line.strip() for line in _visible_text(data).splitlines() if line.strip()), "text"


def _blocks_apart(markdown: str) -> str:
    """trafilatura's Markdown with a blank line after every line but a table's rows: it sometimes puts
    blocks on consecutive lines, which Markdown would read as one paragraph."""
    lines = [line.rstrip() for line in markdown.splitlines() if line.strip()]
    joined = lines[:1]
    for before, line in zip(lines, lines[1:], strict=False):
        table_row = before.lstrip().startswith("|") and line.lstrip().startswith("|")
        joined.append(("\n" if table_row else "\n\n") + line)
    return "".join(joined)


def _visible_text(data: bytes) -> str:
    """All the text a browser would show, a line a block element (BeautifulSoup, in one pass)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for element in soup(_HIDDEN):
        element.decompose()
    return soup.get_text(separator="\n")
