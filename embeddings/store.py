"""The index: a directory holding a manifest, FAISS sentence vectors, documents, passages and BM25.

Layout (row number is the id everywhere):
    manifest.json    format, model, chunking, sources with sha256, every other file's sha256
    documents.jsonl  one {"source", "sha256", "text", "format", "size", "mtime_ns", "pages"} a line
    sentences.npy    int64 rows (document, start, end, paragraph)
    passages.npy     int64 rows (document, start, end, paragraph, first sentence, last sentence)
    vectors.faiss    one vector a sentence: exact (flat) for small corpora, HNSW for large ones
    bm25/            one BM25 document a passage
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import faiss
import numpy as np
import threadpoolctl

from embeddings.atomic_dir import (  # noqa: F401  (check_replaceable: its old import path)
    MANIFEST,
    check_replaceable,
    hold,
    reading,
    remove_abandoned_staging,
    swap_into_place,
)
from embeddings.document import Document  # noqa: F401  (its old import path)
from embeddings.encoder import Embedder, Progress
from embeddings.errors import (  # noqa: F401  (their old import path)
    CorruptIndexError,
    IndexNotFoundError,
    IndexStoreError,
    IndexWriteError,
    NotAnIndexError,
    StaleIndexError,
)
from embeddings.lexical import LexicalIndex
from embeddings.structure import WORD_SEARCH_HEADINGS, Layout
from embeddings.text import chunk
from embeddings.vectors import (  # noqa: F401  (their old import path)
    FLAT_LIMIT,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    VECTOR_INDEXES,
    describe_vector_index,
    vector_index,
)

logger = logging.getLogger(__name__)

# Questions are answered on one thread each: after parallel work, idle OpenMP (FAISS) and OpenBLAS (numpy)
# threads spin, and on a small machine they starve onnxruntime (measured on 2 cores: 24 ms a question on a
# 5,000-passage index, 5 ms without them). Building an index takes every core again (see _all_cores).
faiss.omp_set_num_threads(1)
threadpoolctl.threadpool_limits(1, user_api="blas")

FORMAT_VERSION = 2
# Bump when the chunker splits differently or search reads a sentence differently, so that old indexes are
# reported stale.
CHUNKER_VERSION = 16


@dataclass(frozen=True)
class IndexSettings:
    """What decides the content of an index."""

    model: str
    max_words: int
    backend: str = "onnx"
    vector_index: str = "auto"
    chunker: int = CHUNKER_VERSION

    def same_vectors(self, other: IndexSettings) -> bool:
        """Whether other embeds with the same model and backend, so vectors of one serve the other."""
        return (self.model, self.backend) == (other.model, other.backend)

    def same_sentences(self, other: IndexSettings) -> bool:
        """Whether other also embeds the same sentences the same way, so their vectors can be kept."""
        return self.same_vectors(other) and self.chunker == other.chunker

    def same_passages(self, other: IndexSettings) -> bool:
        """Whether other also cuts the same passages, so a document's rows and vectors can be kept."""
        return self.same_sentences(other) and self.max_words == other.max_words


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
    inputs: tuple[str, ...] = ()  # the files and folders it was built from, as given
    # Each document's layout, made on first use: questions read a few documents' layouts each.
    _layouts: dict[int, Layout] = field(default_factory=dict, init=False, repr=False, compare=False)

    def sentence_range(self, doc_id: int) -> tuple[int, int]:
        """The [first, end) sentence rows of a document: rows are grouped by document in order."""
        first, end = np.searchsorted(self.sentences[:, 0], [doc_id, doc_id + 1])
        return int(first), int(end)

    def document_sentences(self, doc_id: int) -> np.ndarray:
        """A document's sentence rows (document, start, end, paragraph)."""
        first, end = self.sentence_range(doc_id)
        return self.sentences[first:end]

    def layout(self, doc_id: int) -> Layout:
        """A document's units and headings (see embeddings.structure)."""
        found = self._layouts.get(doc_id)
        if found is None:
            document = self.documents[doc_id]
            found = self._layouts[doc_id] = Layout(document.text, document.format)
        return found

    def keep_layouts(self, layouts: list[Layout]) -> Index:
        """This index, holding layouts already parsed (layouts[d] is document d's) for its questions."""
        self._layouts.update(enumerate(layouts))
        return self

    def search_text(self, doc_id: int, start: int, end: int, paragraph: int, headings: int | None = None) -> str:
        """What search reads of a span of a document (see Layout.search_text)."""
        return self.layout(int(doc_id)).search_text(int(start), int(end), int(paragraph), headings)


def sha256_text(text: str) -> str:
    """Hex sha256 of text encoded as UTF-8 (equal to the file's when read from UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_index(
    documents: list[Document], embedder: Embedder, settings: IndexSettings, progress: Progress | None = None
) -> Index:
    """Chunk documents, embed their sentences and index their passages."""
    return update_index(documents, embedder, settings, None, progress)[0]


def update_index(
    documents: list[Document],
    embedder: Embedder,
    settings: IndexSettings,
    previous: Index | None,
    progress: Progress | None = None,
) -> tuple[Index, int]:
    """The index of documents, and how many of them were embedded.

    Documents that previous holds unchanged (same source and sha256, same model and chunker) keep their
    sentences and vectors, and their passages unless max_words changed; only the others are embedded.
    """
    kept = _kept_documents(previous, settings)
    same_passages = previous is not None and previous.settings.same_passages(settings)
    layouts = [Layout(document.text, document.format) for document in documents]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []  # sentences, passages, vectors
    for document, layout in zip(documents, layouts):
        old = kept.get((document.source, document.sha256))
        if old is not None and same_passages:
            parts.append(_document_rows(previous, old))
            continue
        sentences, passages = chunk(document.text, settings.max_words, layout.spans())
        passage_rows = [(0, p.start, p.end, p.paragraph, p.first, p.last) for p in passages]
        passage_rows = np.array(passage_rows, dtype=np.int64).reshape(-1, 6)
        sentence_rows = np.array([(0, s.start, s.end, s.paragraph) for s in sentences], dtype=np.int64).reshape(-1, 4)
        if old is not None:
            # Only max_words changed, which does not move sentences; their vectors are kept if the sentences
            # are indeed the same (a passage points at its sentences by row).
            old_rows, _, vectors = _document_rows(previous, old)
            if np.array_equal(old_rows[:, 1:], sentence_rows[:, 1:]):
                parts.append((sentence_rows, passage_rows, vectors))
                continue
        parts.append((sentence_rows, passage_rows, None))
    texts = [
        layouts[d].search_text(s, e, p)
        for d, (rows, _, vecs) in enumerate(parts)
        if vecs is None
        for _, s, e, p in rows
    ]
    fresh = embedder.encode(texts, progress=progress) if texts else np.zeros((0, embedder.dimension), np.float32)
    sentence_blocks, passage_blocks, vector_blocks = [], [], []
    offset = used = 0
    for doc_id, (sentences, passages, vectors) in enumerate(parts):
        if vectors is None:
            vectors, used = fresh[used : used + len(sentences)], used + len(sentences)
        sentences, passages = sentences.copy(), passages.copy()
        sentences[:, 0] = doc_id
        passages[:, 0] = doc_id
        passages[:, 4:6] += offset
        offset += len(sentences)
        sentence_blocks.append(sentences)
        passage_blocks.append(passages)
        vector_blocks.append(vectors)
    sentences = np.concatenate(sentence_blocks) if parts else np.zeros((0, 4), np.int64)
    passages = np.concatenate(passage_blocks) if parts else np.zeros((0, 6), np.int64)
    dimension = fresh.shape[1] if texts else (previous.dimension if kept else embedder.dimension)
    vectors = np.concatenate(vector_blocks) if parts else np.zeros((0, dimension), np.float32)
    index = vector_index(np.ascontiguousarray(vectors, dtype=np.float32), settings.vector_index)
    lexical = lexical_index(layouts, passages)
    built = replace(settings, vector_index=describe_vector_index(index)["type"])
    built_index = Index(built, vectors.shape[1], documents, sentences, passages, index, lexical)
    return built_index.keep_layouts(layouts), sum(vecs is None for _, _, vecs in parts)


def lexical_index(layouts: list[Layout], passages: np.ndarray) -> LexicalIndex:
    """BM25 over the passages as word search reads them (see Layout.search_text); layouts[d] is document
    d's."""
    return LexicalIndex.build(
        [layouts[d].search_text(s, e, p, WORD_SEARCH_HEADINGS) for d, s, e, p, *_ in passages]
    )


def _kept_documents(previous: Index | None, settings: IndexSettings) -> dict[tuple[str, str], int]:
    """(source, sha256) -> document id in previous, for the documents whose vectors a build with settings
    keeps (see update_index)."""
    if previous is None or not previous.settings.same_sentences(settings):
        return {}
    return {(d.source, d.sha256): doc_id for doc_id, d in enumerate(previous.documents)}


def _document_rows(index: Index, doc_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A document's sentence and passage rows (sentence numbers relative to the document) and vectors."""
    first, end = index.sentence_range(doc_id)
    p_first, p_end = np.searchsorted(index.passages[:, 0], [doc_id, doc_id + 1])
    passages = index.passages[p_first:p_end].copy()
    passages[:, 4:6] -= first
    count = end - first
    vectors = index.vectors.reconstruct_n(first, count) if count else np.zeros((0, index.dimension), np.float32)
    return index.sentences[first:end], passages, vectors


def save_index(index: Index, directory: Path) -> None:
    """Write index to directory atomically: a crash leaves the previous index whole.

    Raises:
        NotAnIndexError: directory holds something other than an index (see check_replaceable).
        IndexWriteError: the disk is full or not writable; the previous index is untouched.
    """
    directory = Path(directory)
    check_replaceable(directory, index.inputs)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_staging(directory)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-{os.getpid()}-", dir=directory.parent))
        in_use = hold(staging)
    except OSError as error:
        raise IndexWriteError(f"cannot write an index next to {directory}: {error.strerror or error}") from error
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; an index is as readable as its files
    try:
        _write(index, staging)
        swap_into_place(staging, directory)
    except OSError as error:
        raise IndexWriteError(
            f"writing the index at {directory} failed ({error.strerror or error}); the previous index is untouched"
        ) from error
    finally:
        os.close(in_use)
        shutil.rmtree(staging, ignore_errors=True)


def load_index(directory: Path) -> Index:
    """Read and verify the index in directory.

    Raises:
        IndexNotFoundError: no index there.
        CorruptIndexError: a file is missing, truncated or altered.
    """
    directory = Path(directory)
    with reading(directory):  # never half of one build and half of the next
        return _load(directory)


def _load(directory: Path) -> Index:
    manifest = read_manifest(directory)
    for name, expected in manifest["files"].items():
        _verify(directory, name, expected)
    settings, dimension, faiss_record = settings_of(manifest), manifest["model"]["dimension"], manifest["faiss"]
    documents = [Document(**json.loads(line)) for line in _read_text(directory, "documents.jsonl").splitlines()]
    sentences = _load_array(directory, "sentences.npy", 4)
    passages = _load_array(directory, "passages.npy", 6)
    vectors = faiss.read_index(str(directory / "vectors.faiss"))
    if isinstance(vectors, faiss.IndexHNSW):
        vectors.hnsw.efSearch = int(faiss_record.get("ef_search", HNSW_EF_SEARCH))
    lexical = LexicalIndex.load(directory / "bm25")
    if vectors.ntotal != len(sentences) or vectors.d != dimension or lexical.size != len(passages):
        raise CorruptIndexError(f"the files in {directory} do not agree with each other; {_rebuild(directory)}")
    inputs = tuple(manifest.get("inputs", ()))
    return Index(settings, dimension, documents, sentences, passages, vectors, lexical, inputs)


def read_manifest(directory: Path) -> dict:
    """Return the parsed manifest of the index in directory."""
    path = Path(directory) / MANIFEST
    if Path(directory).is_file():
        raise NotAnIndexError(f"{directory} is a file, not an index directory: name another with --index")
    if not path.is_file():
        raise IndexNotFoundError(f"no index at {directory}: build one with `citebot index FILE... --index {directory}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptIndexError(f"{path} cannot be read ({error}); {_rebuild(directory)}") from error
    return checked_manifest(manifest, str(path), _rebuild(directory))


def checked_manifest(manifest: object, where: str, rebuild: str) -> dict:
    """manifest, once it is known to be of this format and to hold every field an index needs.

    Raises:
        StaleIndexError: another format.
        CorruptIndexError: a field is missing.
    """
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT_VERSION:
        raise StaleIndexError(
            f"{where} has index format {found!r}, this citebot reads format {FORMAT_VERSION}; {rebuild}"
        )
    try:
        manifest["model"]["name"], manifest["model"]["dimension"], manifest["model"]["backend"]
        manifest["chunking"]["max_words"], manifest["faiss"]["type"]
        {d["source"]: d["sha256"] for d in manifest["documents"]}
        {name: (f["bytes"], f["sha256"]) for name, f in manifest["files"].items()}
        manifest["counts"]["documents"], manifest["counts"]["passages"]
    except (KeyError, TypeError, AttributeError) as error:
        raise CorruptIndexError(f"{where} is malformed (no {error}); {rebuild}") from error
    return manifest


def settings_of(manifest: dict) -> IndexSettings:
    """The settings an index was built with, from its manifest."""
    model, chunking = manifest["model"], manifest["chunking"]
    return IndexSettings(
        model["name"], chunking["max_words"], model["backend"], manifest["faiss"]["type"], chunking.get("chunker", 0)
    )


def stale_reasons(manifest: dict, settings: IndexSettings, sources: dict[str, str]) -> list[str]:
    """Say how an index differs from what settings and sources (path to sha256) would build."""
    reasons = []
    if manifest["model"]["name"] != settings.model:
        reasons.append(f"it was built with the model {manifest['model']['name']}, the setting is {settings.model}")
    if manifest["model"]["backend"] != settings.backend:
        reasons.append(
            f"it was embedded with the {manifest['model']['backend']} backend, the setting is {settings.backend}"
        )
    if settings.vector_index not in ("auto", manifest["faiss"]["type"]):
        kind = manifest["faiss"]["type"]
        reasons.append(f"its vectors are in a {kind} index, the setting is {settings.vector_index}")
    built = manifest["chunking"]
    if built["max_words"] != settings.max_words:
        reasons.append(f"its passages are of at most {built['max_words']} words, the setting is {settings.max_words}")
    if built.get("chunker", 0) != CHUNKER_VERSION:
        reasons.append(f"it was cut into sentences by chunker version {built.get('chunker', 0)}, this citebot's is "
                       f"{CHUNKER_VERSION}")
    indexed = {d["source"]: d["sha256"] for d in manifest["documents"]}
    for source in sorted(indexed.keys() - sources.keys()):
        reasons.append(f"{source} was indexed and is no longer one of the files to index")
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
    manifest = manifest_of(index, describe_vector_index(index.vectors), files)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def manifest_of(index: Index, vectors: dict, files: dict) -> dict:
    """The manifest of index, whichever store keeps it: vectors describes its vector index, files its files."""
    return {
        "format": FORMAT_VERSION,
        "model": {"name": index.settings.model, "backend": index.settings.backend, "dimension": index.dimension},
        "chunking": {"max_words": index.settings.max_words, "chunker": CHUNKER_VERSION},
        "faiss": vectors,
        "counts": {
            "documents": len(index.documents), "sentences": len(index.sentences), "passages": len(index.passages)
        },
        "inputs": list(index.inputs),
        "documents": [{"source": d.source, "sha256": d.sha256, "chars": len(d.text)} for d in index.documents],
        "files": files,
    }


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _verify(directory: Path, name: str, expected: dict) -> None:
    path = directory / name
    if not path.is_file():
        raise CorruptIndexError(f"{path} is missing; {_rebuild(directory)}")
    if path.stat().st_size != expected["bytes"]:
        raise CorruptIndexError(
            f"{path} is truncated or altered (size differs from the manifest); {_rebuild(directory)}"
        )
    if _sha256_file(path) != expected["sha256"]:
        raise CorruptIndexError(f"{path} is altered (checksum differs from the manifest); {_rebuild(directory)}")


def _read_text(directory: Path, name: str) -> str:
    return (directory / name).read_text(encoding="utf-8")


def _load_array(directory: Path, name: str, columns: int) -> np.ndarray:
    array = np.load(directory / name, allow_pickle=False)
    if array.ndim != 2 or array.shape[1] != columns:
        raise CorruptIndexError(f"{directory / name} has shape {array.shape}; {_rebuild(directory)}")
    return array
