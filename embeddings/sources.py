"""Read the text files an index is built from."""

from __future__ import annotations

from pathlib import Path

from embeddings.store import Document, sha256_text

SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 50 * 1024 * 1024


class SourceError(ValueError):
    """A source file cannot be indexed; the message names it."""


def expand_paths(paths: list[Path]) -> list[Path]:
    """Resolve paths to files: a folder stands for the .txt and .md files below it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise SourceError(f"{path}: the folder holds no {' or '.join(SUFFIXES)} file")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise SourceError(f"{path}: no such file")
    return list(dict.fromkeys(p.resolve() for p in files))


def read_document(path: Path) -> Document:
    """Read one UTF-8 text file as it is, line endings included."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{path}: {size:,} bytes is over the limit of {MAX_FILE_BYTES:,} for one file")
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error
    if b"\0" in data:
        raise SourceError(f"{path}: looks like a binary file (it holds NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}: is not UTF-8 (byte {error.start} is {data[error.start]:#04x}); convert it first") from error
    return Document(str(path), sha256_text(text), text)


def source_hashes(paths: list[Path]) -> dict[str, str]:
    """Map each file of paths to the sha256 of its content."""
    return {document.source: document.sha256 for document in map(read_document, expand_paths(paths))}
