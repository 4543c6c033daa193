"""The index: a directory holding a manifest, FAISS sentence vectors, documents, passages and BM25.

Layout (row number is the id everywhere):
    manifest.json    format, model, chunking, sources with sha256, every other file's sha256
    documents.jsonl  one {"source", "sha256", "text"} a line
    sentences.npy    int64 rows (document, start, end, paragraph)
    passages.npy     int64 rows (document, start, end, paragraph, first sentence, last sentence)
    vectors.faiss    one vector a sentence
    bm25/            one BM25 document a passage
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from embeddings.encoder import Embedder
from embeddings.lexical import LexicalIndex
from embeddings.text import chunk

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Bump when the chunker splits differently, so that old indexes are reported stale.
CHUNKER_VERSION = 1
MANIFEST = "manifest.json"


class IndexStoreError(Exception):
    """An index directory cannot be used; the message says why and what fixes it."""


class IndexNotFoundError(IndexStoreError):
    """There is no index at the directory."""


class CorruptIndexError(IndexStoreError):
    """A file of the index is missing, truncated or altered."""


class StaleIndexError(IndexStoreError):
    """The index was built with other settings or from other versions of its sources."""


@dataclass(frozen=True)
class Document:
    """A source text as indexed; quotes are slices of text."""

    source: str
    sha256: str
    text: str


@dataclass(frozen=True)
class IndexSettings:
    """What decides the content of an index."""

    model: str
    max_words: int


@dataclass
class Index:
    """An index in memory, as built or as loaded from its directory."""

    settings: IndexSettings
    dimension: int
    documents: list[Document]
    sentences: np.ndarray
    passages: np.ndarray
    vectors: faiss.Index
    lexical: LexicalIndex


def sha256_text(text: str) -> str:
    """Hex sha256 of text encoded as UTF-8 (equal to the file's when read from UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_index(
    documents: list[Document], embedder: Embedder, settings: IndexSettings, progress: bool = False
) -> Index:
    """Chunk documents, embed their sentences and index their passages."""
    sentence_rows, passage_rows = [], []
    for doc_id, document in enumerate(documents):
        sentences, passages = chunk(document.text, settings.max_words)
        offset = len(sentence_rows)
        sentence_rows.extend((doc_id, s.start, s.end, s.paragraph) for s in sentences)
        passage_rows.extend(
            (doc_id, p.start, p.end, p.paragraph, offset + p.first, offset + p.last) for p in passages
        )
    sentences = np.array(sentence_rows, dtype=np.int64).reshape(-1, 4)
    passages = np.array(passage_rows, dtype=np.int64).reshape(-1, 6)
    texts = [documents[d].text[s:e] for d, s, e, _ in sentences]
    vectors = embedder.encode(texts, progress=progress) if texts else np.zeros((0, embedder.dimension), np.float32)
    # Vectors are L2-normalised, so inner product is cosine similarity.
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    lexical = LexicalIndex.build([documents[d].text[s:e] for d, s, e, *_ in passages])
    return Index(settings, vectors.shape[1], documents, sentences, passages, index, lexical)


def save_index(index: Index, directory: Path) -> None:
    """Write index to directory atomically: a crash leaves the previous index whole."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; an index is as readable as its files
    try:
        _write(index, staging)
        _swap_into_place(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_index(directory: Path) -> Index:
    """Read and verify the index in directory.

    Raises:
        IndexNotFoundError: no index there.
        CorruptIndexError: a file is missing, truncated or altered.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    for name, expected in manifest["files"].items():
        _verify(directory, name, expected)
    settings = IndexSettings(manifest["model"]["name"], manifest["chunking"]["max_words"])
    dimension = manifest["model"]["dimension"]
    documents = [Document(**json.loads(line)) for line in _read_text(directory, "documents.jsonl").splitlines()]
    sentences = _load_array(directory, "sentences.npy", 4)
    passages = _load_array(directory, "passages.npy", 6)
    vectors = faiss.read_index(str(directory / "vectors.faiss"))
    lexical = LexicalIndex.load(directory / "bm25")
    if vectors.ntotal != len(sentences) or vectors.d != dimension or lexical.size != len(passages):
        raise CorruptIndexError(f"the files in {directory} do not agree with each other; {_rebuild(directory)}")
    return Index(settings, dimension, documents, sentences, passages, vectors, lexical)


def read_manifest(directory: Path) -> dict:
    """Return the parsed manifest of the index in directory."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(f"no index at {directory}: build one with `citebot index FILE... --index {directory}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptIndexError(f"{path} cannot be read ({error}); {_rebuild(directory)}") from error
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT_VERSION:
        raise StaleIndexError(
            f"{path} has index format {found!r}, this citebot reads format {FORMAT_VERSION}; {_rebuild(directory)}"
        )
    try:
        manifest["model"]["name"], manifest["model"]["dimension"], manifest["chunking"]["max_words"]
        {d["source"]: d["sha256"] for d in manifest["documents"]}
        {name: (f["bytes"], f["sha256"]) for name, f in manifest["files"].items()}
        manifest["counts"]["documents"], manifest["counts"]["passages"]
    except (KeyError, TypeError, AttributeError) as error:
        raise CorruptIndexError(f"{path} is malformed (no {error}); {_rebuild(directory)}") from error
    return manifest


def stale_reasons(manifest: dict, settings: IndexSettings, sources: dict[str, str]) -> list[str]:
    """Say how an index differs from what settings and sources (path to sha256) would build."""
    reasons = []
    if manifest["model"]["name"] != settings.model:
        reasons.append(f"it was built with the model {manifest['model']['name']}, the setting is {settings.model}")
    chunking = {"max_words": settings.max_words, "chunker": CHUNKER_VERSION}
    if manifest["chunking"] != chunking:
        reasons.append(f"it was chunked with {manifest['chunking']}, the settings say {chunking}")
    indexed = {d["source"]: d["sha256"] for d in manifest["documents"]}
    for source in sorted(indexed.keys() - sources.keys()):
        reasons.append(f"{source} is indexed but not among the sources")
    for source in sorted(sources.keys() - indexed.keys()):
        reasons.append(f"{source} is not indexed yet")
    for source in sorted(indexed.keys() & sources.keys()):
        if indexed[source] != sources[source]:
            reasons.append(f"{source} has changed since it was indexed")
    return reasons


def _rebuild(directory: Path) -> str:
    return f"rebuild it with `citebot index --index {directory}`"


def _write(index: Index, directory: Path) -> None:
    with open(directory / "documents.jsonl", "w", encoding="utf-8") as out:
        for document in index.documents:
            out.write(json.dumps(document.__dict__, ensure_ascii=False) + "\n")
    np.save(directory / "sentences.npy", index.sentences, allow_pickle=False)
    np.save(directory / "passages.npy", index.passages, allow_pickle=False)
    faiss.write_index(index.vectors, str(directory / "vectors.faiss"))
    (directory / "bm25").mkdir()
    index.lexical.save(directory / "bm25")
    files = {
        path.relative_to(directory).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256_file(path)}
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "format": FORMAT_VERSION,
        "model": {"name": index.settings.model, "dimension": index.dimension},
        "chunking": {"max_words": index.settings.max_words, "chunker": CHUNKER_VERSION},
        "faiss": {"type": type(index.vectors).__name__, "metric": "inner product"},
        "counts": {"documents": len(index.documents), "sentences": len(index.sentences), "passages": len(index.passages)},
        "documents": [{"source": d.source, "sha256": d.sha256, "chars": len(d.text)} for d in index.documents],
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _swap_into_place(staging: Path, directory: Path) -> None:
    """Move staging to directory; an existing directory ends up at staging."""
    if not directory.exists():
        os.rename(staging, directory)
    elif not _exchange(staging, directory):
        # No atomic exchange on this system: two renames, with a short window without an index.
        aside = staging.with_name(staging.name + "-old")
        os.rename(directory, aside)
        os.rename(staging, directory)
        os.rename(aside, staging)
    _fsync_dir(directory.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    logger.debug("renameat2 failed with errno %d", ctypes.get_errno())
    return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(directory: Path, name: str, expected: dict) -> None:
    path = directory / name
    if not path.is_file():
        raise CorruptIndexError(f"{path} is missing; {_rebuild(directory)}")
    if path.stat().st_size != expected["bytes"]:
        raise CorruptIndexError(f"{path} is truncated or altered (size differs from the manifest); {_rebuild(directory)}")
    if _sha256_file(path) != expected["sha256"]:
        raise CorruptIndexError(f"{path} is altered (checksum differs from the manifest); {_rebuild(directory)}")


def _read_text(directory: Path, name: str) -> str:
    return (directory / name).read_text(encoding="utf-8")


def _load_array(directory: Path, name: str, columns: int) -> np.ndarray:
    array = np.load(directory / name, allow_pickle=False)
    if array.ndim != 2 or array.shape[1] != columns:
        raise CorruptIndexError(f"{directory / name} has shape {array.shape}; {_rebuild(directory)}")
    return array
