"""An index kept in Milvus: Milvus Lite (a local .db file, or its gRPC server), Milvus Standalone or a
cluster, chosen by URI alone. Readers need only the collection: the vectors are searched in Milvus, and
what a quote needs (the documents' text, sentence and passage rows, the manifest) is stored beside them.

For a collection name C:
    C             an alias; a build moves it atomically to the generation it wrote
    C__gN         generation N's vectors: id (the sentence row), vector (HNSW, inner product)
    C__gN__rows   generation N's manifest, documents and rows, as numbered chunks of text
A build writes generation N+1 whole, then moves the alias, then drops what is older than N. Readers ask
where the alias points at most every REFRESH_SECONDS and load the new generation when it moved; one that
finds its generation dropped (builds came faster than that) reads the question again from the newest.

Word search (BM25) stays citebot's own, built from the passages when a reader loads the index, rather
than Milvus's BM25 function, by measurement (bench/milvus_bm25.py, words alone, per-document indexes):
SQuAD dev hit@1 0.843 with citebot's against 0.810 with Milvus's standard analyzer, chat_dev 0.383 against
0.417 (60 questions), the article 9 against 8 of 10; 0.15 ms a question against 9 ms in Milvus Lite. And
the two stores then score every question exactly alike. The cost is the reader's memory and load time
for the BM25 index, which is what bounds a reader at tens of millions of passages.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from embeddings.errors import (
    CorruptIndexError,
    IndexNotFoundError,
    IndexReplacedError,
    IndexWriteError,
    StoreUnavailableError,
)
from embeddings.redact import shown_url
from embeddings.store import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    Document,
    Index,
    checked_manifest,
    lexical_index,
    manifest_of,
    settings_of,
)
from embeddings.structure import Layout

logger = logging.getLogger(__name__)
# The longest any one call to Milvus may take, by default.
TIMEOUT_SECONDS = 10.0
# Rows a call inserts or fetches at most, and characters a text chunk holds (a VARCHAR holds 65,535 bytes).
BATCH = 1000
CHUNK_CHARS = 16_000
# Vectors a reader keeps after fetching them (about 150 MB at 384 dimensions).
CACHED_VECTORS = 100_000
# What Milvus Lite makes in its .db folder (2.5): a folder holding both is taken to be one of its databases.
LITE_PARTS = frozenset({"collections", "databases"})
# A property of every collection citebot writes: the proof it needs before it drops one.
OWN = {"citebot": "index generation"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
_GENERATION = re.compile(r"__g(\d+)$")


def _milvus_errors() -> tuple[type[BaseException], ...]:
    from pymilvus.exceptions import MilvusException

    return (MilvusException, ConnectionError, TimeoutError, OSError)


class MilvusVectors:
    """A generation's vectors in Milvus, searched and fetched the way the FAISS index is (same calls).

    A generation never changes, so the vectors fetched are kept, up to CACHED_VECTORS of them, the least
    recently used dropped first: fetching is most of a question's cost (the fused first stage reads the
    vectors of every candidate passage's sentences), and questions about one text share candidates.
    """

    def __init__(self, store: MilvusStore, collection: str, dimension: int, count: int) -> None:
        self.store, self.collection, self.d, self.ntotal = store, collection, dimension, count
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest sentence rows of each query and their inner products (-1 where there are fewer)."""
        hits = self.store.call(
            "search", self.collection, data=np.asarray(queries, np.float32).tolist(), limit=k, anns_field="vector",
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, k)}},
        )
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, found in enumerate(hits):
            for column, hit in enumerate(found[:k]):
                ids[row, column], scores[row, column] = hit["id"], hit["distance"]
        return scores, ids

    def reconstruct_batch(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of sentence rows ids, in that order."""
        wanted = [int(i) for i in ids]
        with self._cache_lock:
            found = {i: self._cache[i] for i in wanted if i in self._cache}
            for i in found:
                self._cache.move_to_end(i)
        fetch = [i for i in dict.fromkeys(wanted) if i not in found]
        for start in range(0, len(fetch), BATCH):
            rows = self.store.call("query", self.collection, ids=fetch[start : start + BATCH],
                                   output_fields=["vector"])
            found.update((int(row["id"]), np.asarray(row["vector"], dtype=np.float32)) for row in rows)
        missing = [i for i in wanted if i not in found]
        if missing:
            raise CorruptIndexError(f"{self.store.location} lacks the vectors of rows {missing[:5]}; rebuild it")
        with self._cache_lock:
            for i in fetch:
                self._cache[i] = found[i]
            while len(self._cache) > CACHED_VECTORS:
                self._cache.popitem(last=False)
        return np.array([found[i] for i in wanted], dtype=np.float32).reshape(len(wanted), self.d)

    def reconstruct_n(self, first: int, count: int) -> np.ndarray:
        """The vectors of rows first..first + count - 1."""
        return self.reconstruct_batch(np.arange(first, first + count))


class MilvusStore:
    """The index in Milvus collection name at uri (a .db path: Milvus Lite in this process; http(s)://host:
    port: a Milvus Lite server, Standalone or a cluster)."""

    def __init__(self, uri: str, collection: str = "citebot", token: str = "", timeout: float = TIMEOUT_SECONDS,
                 own: dict[str, str] | None = None):
        if not _NAME.fullmatch(collection) or "__" in collection:
            raise ValueError(
                f"the Milvus collection name {collection!r} must be letters, digits and single underscores"
            )
        self.uri, self.collection, self.timeout = uri, collection, timeout
        self._token = token
        # The properties this store writes on its collections, and must find on one before it drops it.
        self._own = own or OWN
        self.shown_uri = shown_url(uri)
        self.location = f"Milvus collection {collection} at {self.shown_uri}"
        self.update_command = "citebot index (with CITEBOT_STORE=milvus)"
        self._client = None
        self._lock = threading.Lock()

    # -- the connection ------------------------------------------------------------------------------

    def client(self):
        """The client, connected on first use.

        Raises:
            StoreUnavailableError: Milvus cannot be reached or refused the token.
        """
        with self._lock:
            if self._client is None:
                try:
                    from pymilvus import MilvusClient
                except ImportError as error:
                    raise StoreUnavailableError(
                        "CITEBOT_STORE=milvus needs pymilvus and milvus-lite: pip install 'citebot[milvus]'"
                    ) from error
                if self.uri.endswith(".db"):
                    _check_lite_path(Path(self.uri))
                try:
                    self._client = MilvusClient(uri=self.uri, token=self._token, timeout=self.timeout)
                except _milvus_errors() as error:
                    raise StoreUnavailableError(f"cannot reach Milvus at {self.shown_uri}: {_reason(error)}") from error
            return self._client

    def call(self, method: str, *args, **kwargs):
        """client.method(*args, **kwargs) within the timeout; an outage becomes StoreUnavailableError."""
        client = self.client()
        try:
            try:
                return getattr(client, method)(*args, timeout=self.timeout, **kwargs)
            except _milvus_errors() as error:
                if not _not_loaded(error) or not args:
                    raise
                # A server that restarted may hold the collection released (Milvus Lite does): load it again.
                client.load_collection(args[0], timeout=self.timeout)
                return getattr(client, method)(*args, timeout=self.timeout, **kwargs)
        except _milvus_errors() as error:
            if _is_missing(error):  # a generation dropped by a build while this process still read it
                raise IndexReplacedError(f"{self.location} was rebuilt meanwhile ({_reason(error)})") from error
            raise StoreUnavailableError(f"Milvus at {self.shown_uri} did not answer ({_reason(error)})") from error

    def check(self) -> None:
        """Reach Milvus now (one call), so that a bad URI is one clear line at start.

        Raises:
            StoreUnavailableError: it cannot be reached.
        """
        self.call("list_collections")

    # -- IndexStore ----------------------------------------------------------------------------------

    def writing(self) -> AbstractContextManager[None]:
        # Builds of one process take turns (the engine's lock); builds from two machines are not serialised
        # by Milvus: the last alias switch wins, each generation whole. Run one writer per collection.
        return contextlib.nullcontext()

    def check_writable(self, inputs: tuple[str, ...]) -> None:
        self.check()

    def generation(self) -> str | None:
        # Asked first, so that a missing alias is an answer rather than an error pymilvus logs.
        if self.collection not in self.call("list_aliases")["aliases"]:
            return None
        return self.call("describe_alias", self.collection)["collection_name"]

    def read_manifest(self) -> dict:
        current = self._current()
        # Loaded first: a query on a released collection (a reopened Milvus Lite holds them so) is retried
        # by call(), but pymilvus has already logged it with a traceback.
        self.call("load_collection", f"{current}__rows")
        return self._manifest(current)

    def load(self, generation: str | None = None) -> Index:
        current = generation or self._current()
        for name in (current, f"{current}__rows"):  # a restarted server may hold them released
            self.call("load_collection", name)
        manifest = self._manifest(current)
        documents = [Document(**json.loads(line)) for line in self._blob(current, "documents").splitlines()]
        sentences = _array(self._blob(current, "sentences"), 4)
        passages = _array(self._blob(current, "passages"), 6)
        count, dimension = manifest["counts"]["sentences"], manifest["model"]["dimension"]
        stored = int(self.call("get_collection_stats", current)["row_count"])
        if len(sentences) != count or stored != count or len(passages) != manifest["counts"]["passages"]:
            raise CorruptIndexError(f"{self.location} ({current}) does not agree with itself; rebuild it")
        vectors = MilvusVectors(self, current, dimension, count)
        layouts = [Layout(d.text, d.format) for d in documents]  # parsed once: for BM25, then for questions
        lexical = lexical_index(layouts, passages)
        inputs = tuple(manifest.get("inputs", ()))
        index = Index(settings_of(manifest), dimension, documents, sentences, passages, vectors, lexical, inputs)
        return index.keep_layouts(layouts)

    def save(self, index: Index) -> str:
        from pymilvus import DataType

        client = self.client()
        current = self.generation()
        number = int(_GENERATION.search(current).group(1)) + 1 if current and _GENERATION.search(current) else 1
        target = f"{self.collection}__g{number}"
        for stale in (target, f"{target}__rows"):  # left by a build that died before moving the alias
            if self.call("has_collection", stale) and not self._drop_own(stale):
                raise IndexWriteError(
                    f"Milvus collection {stale} is not one citebot wrote; citebot will not replace it: rename "
                    "it, or set CITEBOT_MILVUS_COLLECTION to another name"
                )
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=index.dimension)
        params = client.prepare_index_params()
        params.add_index("vector", index_type="HNSW", metric_type="IP",
                         params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
        self.call("create_collection", target, schema=schema, index_params=params, properties=self._own)
        vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal) if index.vectors.ntotal else []
        for start in range(0, len(vectors), BATCH):
            rows = [{"id": start + i, "vector": v.tolist()} for i, v in enumerate(vectors[start : start + BATCH])]
            self.call("insert", target, rows)
        record = {"type": "hnsw", "metric": "inner product", "M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION,
                  "ef_search": HNSW_EF_SEARCH, "store": "milvus"}
        blobs = {
            "manifest": json.dumps(manifest_of(index, record, {}), ensure_ascii=False),
            "documents": "".join(json.dumps(d.__dict__, ensure_ascii=False) + "\n" for d in index.documents),
            "sentences": _encode(index.sentences),
            "passages": _encode(index.passages),
        }
        self._write_rows(f"{target}__rows", blobs)
        self.call("flush", target)
        # The switch readers see: one call, atomic in Milvus.
        self.call("alter_alias" if current else "create_alias", target, self.collection)
        self._drop_older_than(current)
        return target

    def tidy(self) -> None:
        """Nothing to do: a build that died before moving the alias is overwritten by the next."""

    def scratch(self) -> MilvusStore:
        """A collection of this run's own beside this one, for indexes that must not replace C's.

        Its name is new (no collection or alias holds it) and its collections carry this run's token, so
        that dropping it afterwards can never reach a user's collection, even one named like it.
        """
        taken = set(self.call("list_collections")) | set(self.call("list_aliases")["aliases"])
        while True:
            run = secrets.token_hex(6)
            name = f"{self.collection}_scratch_{run}"
            if not taken & {name, f"{name}__g1", f"{name}__g1__rows"}:
                break
        return MilvusStore(self.uri, name, self._token, self.timeout, own={"citebot": "scratch", "citebot_run": run})

    def drop(self) -> None:
        """Remove the alias and every generation of this collection that this store's properties prove its own."""
        current = self.generation()
        if current is not None and self._is_own(current):
            self.call("drop_alias", self.collection)
        for name in self.call("list_collections"):
            if re.fullmatch(rf"{re.escape(self.collection)}__g\d+(__rows)?", name):
                self._drop_own(name)

    # -- the parts -----------------------------------------------------------------------------------

    def _current(self) -> str:
        current = self.generation()
        if current is None:
            raise IndexNotFoundError(
                f"no index in {self.location}: build one with `citebot index FILE...` (CITEBOT_STORE=milvus)"
            )
        return current

    def _manifest(self, current: str) -> dict:
        try:
            manifest = json.loads(self._blob(current, "manifest"))
        except ValueError as error:
            raise CorruptIndexError(f"the manifest in {self.location} cannot be read ({error}); rebuild it") from error
        return checked_manifest(manifest, f"{self.location} ({current})", "rebuild it with `citebot index`")

    def _write_rows(self, name: str, blobs: dict[str, str]) -> None:
        from pymilvus import DataType

        client = self.client()
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("name", DataType.VARCHAR, max_length=32)
        schema.add_field("body", DataType.VARCHAR, max_length=65_535)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
        params = client.prepare_index_params()
        params.add_index("unused", index_type="FLAT", metric_type="L2")
        self.call("create_collection", name, schema=schema, index_params=params, properties=self._own)
        # Row 0 says where each text's chunks are (first row id, count), so that a reader fetches them by id
        # in batches, however many there are (a query by filter returns at most 16,384 rows).
        rows, where = [], {}
        for blob_name, text in blobs.items():
            chunks = [text[start : start + CHUNK_CHARS] for start in range(0, max(len(text), 1), CHUNK_CHARS)]
            where[blob_name] = [len(rows) + 1, len(chunks)]
            rows += [{"id": len(rows) + 1 + part, "name": blob_name, "body": body, "unused": [0.0, 0.0]}
                     for part, body in enumerate(chunks)]
        rows.insert(0, {"id": 0, "name": "", "body": json.dumps(where), "unused": [0.0, 0.0]})
        for start in range(0, len(rows), BATCH):
            self.call("insert", name, rows[start : start + BATCH])
        self.call("flush", name)

    def _blob(self, current: str, name: str) -> str:
        table = f"{current}__rows"
        directory = self.call("query", table, ids=[0], output_fields=["body"])
        try:
            first, count = json.loads(directory[0]["body"])[name]
        except (IndexError, KeyError, ValueError) as error:
            raise CorruptIndexError(f"{self.location} ({current}) lacks its {name}; rebuild it") from error
        bodies: dict[int, str] = {}
        for start in range(first, first + count, BATCH):
            ids = list(range(start, min(start + BATCH, first + count)))
            rows = self.call("query", table, ids=ids, output_fields=["body"])
            bodies.update((row["id"], row["body"]) for row in rows)
        if len(bodies) != count:
            raise CorruptIndexError(f"{self.location} ({current}) lacks part of its {name}; rebuild it")
        return "".join(bodies[i] for i in range(first, first + count))

    def _drop_older_than(self, previous: str | None) -> None:
        """Drop every generation before previous (readers may still be on previous itself)."""
        match = _GENERATION.search(previous or "")
        if not match:
            return
        keep = int(match.group(1))
        for name in self.call("list_collections"):
            found = re.fullmatch(rf"{re.escape(self.collection)}__g(\d+)(__rows)?", name)
            if found and int(found.group(1)) < keep:
                self._drop_own(name)

    def _drop_own(self, name: str) -> bool:
        """Drop collection name if this store wrote it (its properties say so); else leave it and say so."""
        if not self._is_own(name):
            logger.warning("Milvus collection %s is named like citebot's but is not its own; it is left alone", name)
            return False
        self.call("drop_collection", name)
        return True

    def _is_own(self, name: str) -> bool:
        properties = self.call("describe_collection", name).get("properties", {})
        return all(properties.get(key) == value for key, value in self._own.items())



def _encode(rows: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(rows, dtype=np.int64), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _array(text: str, columns: int) -> np.ndarray:
    array = np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
    return array.reshape(-1, columns)


def _is_missing(error: BaseException) -> bool:
    """Whether Milvus answered that a collection or alias does not exist (not an outage)."""
    text = str(error).lower()
    return "not exist" in text or "not found" in text or "can't find" in text


def _not_loaded(error: BaseException) -> bool:
    """Whether Milvus answered that the collection is not loaded for searching."""
    text = str(error).lower()
    return "released" in text or "not loaded" in text or "call load()" in text


def _check_lite_path(path: Path) -> None:
    """Refuse a path Milvus Lite would write its database into that holds something else: Milvus Lite makes
    the .db a folder of its own and adds to whatever folder is there, and fails on a file.

    Raises:
        StoreUnavailableError: path is a file, or a folder without Milvus Lite's own parts.
    """
    if path.is_dir():
        entries = {entry.name for entry in path.iterdir()}
        if entries and not LITE_PARTS <= entries:
            raise StoreUnavailableError(f"{path} is a folder of other files, not a Milvus Lite database: "
                                        "set CITEBOT_MILVUS_URI to a new path")
    elif path.exists() or path.is_symlink():
        raise StoreUnavailableError(f"{path} is a file, not a Milvus Lite database (a folder it makes): "
                                    "set CITEBOT_MILVUS_URI to a new path")


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())[:200]
