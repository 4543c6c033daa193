"""What reading one file may cost, and the worker process parsers run in: bytes read, characters and
embedding work given, seconds and memory taken. Every reader's result passes through here."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import resource
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from embeddings.errors import SourceError
from embeddings.structure import embedding_work

T = TypeVar("T")
MAX_FILE_BYTES = 50 * 1024 * 1024
# The longest any one HTML, PDF or Word file may take to read (its structure is parsed in a worker).
MAX_READ_SECONDS = 60.0
# The memory that worker may take: a parser's tree can be many times the file.
MAX_READER_MEMORY = 1024 * 1024 * 1024
# Characters one file may give to index (a book of 300,000 words), and what indexing them may ask of the
# embedder (see embedding_work): about 45 s of embedding on 2 cores, so that many short sentences or table
# rows cannot make one file take longer.
MAX_FILE_CHARS = 2_000_000
MAX_EMBEDDING_WORK = 3_000_000
_worker = None
_worker_lock = threading.Lock()


def read_regular_file(path: Path) -> tuple[bytes, os.stat_result]:
    """A regular file's bytes, at most MAX_FILE_BYTES, and its stat.

    Raises:
        SourceError: it cannot be read, is not a regular file (a device could be endless, a pipe block
            forever), or is larger.
    """
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


def within_limit(text: str, path: Path, format: str = "text") -> str:
    """text, when it is within what one file may give; else SourceError naming the limit."""
    if len(text) > MAX_FILE_CHARS:
        raise SourceError(
            path, f"{path}: holds {len(text):,} characters, over the limit of {MAX_FILE_CHARS:,} for one file; split it"
        )
    work = embedding_work(text, format)
    if work > MAX_EMBEDDING_WORK:
        raise SourceError(path, f"{path}: is {work:,} characters to embed (short sentences and table rows cost "
                                f"more), over the limit of {MAX_EMBEDDING_WORK:,} for one file; split it")
    return text


def bounded(convert: Callable[..., T], data: bytes, path: Path) -> T:
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
    within_limit(text, path, format)
    return result
