"""The one API the front ends call: build the index from files, open it, answer questions."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from embeddings import excerpts
from embeddings.encoder import MULTILINGUAL_MODELS, Embedder, Progress, load_embedder
from embeddings.errors import (
    IndexNotFoundError,
    IndexReplacedError,
    IndexStoreError,
    SourceError,
    StaleIndexError,
    StoreUnavailableError,
)
from embeddings.excerpts import Location, Presentation
from embeddings.readers import Source, current_sha256, display_name, expand_paths, is_address, read_document
from embeddings.reranker import Reranker, load_reranker
from embeddings.retrieval import Answer, Quote, RetrievalSettings, answer_question
from embeddings.store import Document, Index, IndexSettings, stale_reasons, update_index
from embeddings.stores import REFRESH_SECONDS, DirectoryStore, IndexStore
from embeddings.text import main_name

if TYPE_CHECKING:
    from embeddings.evaluate import EvalReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What `Engine.build` did."""

    built: bool
    documents: int
    passages: int
    reasons: list[str]
    embedded: int = 0
    removed: int = 0
    skipped: tuple[str, ...] = ()  # files found in folders that could not be read, each with why


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as a reader would name it, and where it came from."""

    name: str
    chars: int
    paragraphs: int
    opening: str
    source: str
    sha256: str


@dataclass(frozen=True)
class CorpusInfo:
    """What an index holds, for a front end's welcome and about texts."""

    documents: list[DocumentInfo]
    passages: int
    model: str
    sample_question: str | None


class Engine:
    """An index (a directory, or a Milvus collection) with the settings and the model to build and search it."""

    def __init__(
        self,
        index_dir: Path | IndexStore,
        index_settings: IndexSettings,
        retrieval: RetrievalSettings | None = None,
        embedder: Embedder | None = None,
        cache_dir: Path | None = None,
        allow_private_addresses: bool = False,
    ) -> None:
        """index_dir is a directory (the FAISS store) or any IndexStore, such as a MilvusStore. cache_dir
        holds the onnx backend's model export (default: models/ beside index_dir). allow_private_addresses
        lets web pages on this machine or its network be indexed. retrieval defaults to the settings of
        index_settings.model (RetrievalSettings.for_model)."""
        if isinstance(index_dir, (str, Path)):
            self.store: IndexStore = DirectoryStore(Path(index_dir))
            self.index_dir: Path | None = Path(index_dir)
        else:
            self.store, self.index_dir = index_dir, None
        if cache_dir is None and self.index_dir is None:
            raise ValueError("an engine over a store other than a directory needs a cache_dir for the model")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.index_dir.parent / "models"
        self.index_settings = index_settings
        self.retrieval = retrieval or RetrievalSettings.for_model(index_settings.model)
        self.allow_private_addresses = allow_private_addresses
        self._embedder = embedder
        self._index: Index | None = None
        self._generation: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # one build at a time; questions go on meanwhile

    @property
    def embedder(self) -> Embedder:
        """The embedding model (its weights load on first use)."""
        if self._embedder is None:
            settings = self.index_settings
            self._embedder = load_embedder(settings.model, settings.backend, self.cache_dir)
        return self._embedder

    @property
    def reranker(self) -> Reranker | None:
        """The cross-encoder that reorders candidates, when the settings use one (it loads on first use)."""
        return load_reranker() if self.retrieval.rerank else None

    def build(self, paths: list[Source], force: bool = False, progress: Progress | None = None) -> BuildReport:
        """Index the files at paths (folders stand for the files below them, a web address for its page),
        embedding only what changed.

        Files the index holds unchanged keep their vectors, changed and new ones are embedded, files no
        longer among paths drop out. Nothing happens when the index already holds exactly these files
        with these settings; force rebuilds and re-embeds everything.

        progress is called with (sentences embedded, sentences to embed) as the embedding goes on.

        Raises:
            NotAnIndexError: the index directory holds something other than an index, or overlaps an input.
            SourceError: a file is missing, binary, not UTF-8 or too large.
        """
        with self._writing():
            return self._build(paths, force, progress)

    def update(
        self, paths: list[Source], prune: bool = False, force: bool = False, progress: Progress | None = None
    ) -> tuple[BuildReport, list[Source]]:
        """Add paths to the files the index holds (or take in their new versions) and bring it up to date.

        Nothing leaves the index unless asked: with prune, held files that are gone are dropped, and given
        paths, the index holds exactly those.

        Returns:
            What was built, and the held files that were gone (dropped, as prune asked).

        Raises:
            SourceError: a held file is gone and prune was not asked for; or a file cannot be read.
        """
        with self._writing():
            try:
                held = self.inputs()
            except IndexStoreError:  # none yet, or too old or damaged to say what it holds: start anew
                held = []
            gone = [p for p in held if not _exists(p)]
            if gone and not prune:
                names = ", ".join(str(p) for p in gone)
                verb = "exists" if len(gone) == 1 else "exist"
                raise SourceError(gone[0], f"{names} no longer {verb}: put it back, or drop it with --prune")
            if prune and paths:
                wanted = list(paths)
            else:
                given = {_key(p) for p in paths}
                wanted = [p for p in held if _exists(p) and _key(p) not in given] + list(paths)
            if not wanted:
                raise SourceError("", "none of the files the index was built from exists any more: name the files")
            return self._build(wanted, force, progress), gone

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time: the threads of this process, and other processes on the same index."""
        with self._build_lock, self.store.writing():
            yield

    def _build(self, paths: list[Source], force: bool, progress: Progress | None) -> BuildReport:
        inputs = tuple(str(_key(path)) for path in paths)
        self.store.check_writable(inputs)  # before any work: refused builds cost nothing
        documents, skipped = self._read(paths)
        if not any(d.text.strip() for d in documents):
            more = f" and {len(documents) - 1} more" if len(documents) > 1 else ""
            raise SourceError(documents[0].source, f"{documents[0].source}{more}: nothing to index, only white space")
        sources = {d.source: d.sha256 for d in documents}
        try:
            manifest = self.store.read_manifest()
            reasons = stale_reasons(manifest, self.index_settings, sources)
        except IndexNotFoundError:
            reasons = ["there is no index yet"]
        except StaleIndexError as error:
            reasons = [str(error)]
        if not reasons and not force:
            # A build killed after putting its index in place leaves the old one aside: clear it now too.
            self.store.tidy()
            counts = manifest["counts"]
            return BuildReport(False, counts["documents"], counts["passages"], [], skipped=skipped)
        previous = None if force else self._previous()
        held = {(d.source, d.sha256) for d in previous.documents} if previous else set()
        index, embedded = update_index(documents, self.embedder, self.index_settings, previous, progress)
        index = replace(index, inputs=inputs)
        generation = self.store.save(index)
        with self._lock:
            self._index, self._generation = index, generation
        removed = len({source for source, _ in held} - sources.keys())
        why = reasons or ["rebuild asked for"]
        return BuildReport(True, len(documents), len(index.passages), why, embedded, removed, skipped)

    def _read(self, paths: list[Source]) -> tuple[list[Document], tuple[str, ...]]:
        """The documents at paths. A file named itself must be readable; one found in a folder that is not
        is left out with the reason, so that one bad file never blocks the others."""
        named = {_key(p) for p in paths if is_address(p) or not Path(p).is_dir()}
        documents, skipped = [], []
        for path in expand_paths(paths):
            try:
                documents.append(read_document(path, self.allow_private_addresses))
            except SourceError as error:
                if path in named:
                    raise
                logger.info("left out: %s", error)  # the report says it, once, to whoever asked
                skipped.append(str(error))
        if not documents:
            raise SourceError(paths[0], f"{paths[0]}: nothing could be read ({'; '.join(skipped)})")
        return documents, tuple(skipped)

    def add(self, source: Source, progress: Progress | None = None) -> BuildReport:
        """Add a file or a web page to what the index is built from (or take in its new version) and update
        the index.

        Raises:
            SourceError: the file or page, or one the index already holds, cannot be read.
        """
        with self._writing():
            inputs = _existing(self.inputs())
            given = source if is_address(source) else Path(source)
            wanted = [p for p in inputs if _key(p) != _key(given)] + [given]
            return self._build(wanted, False, progress)

    def forget(self, source: Source) -> BuildReport:
        """Drop a document from the index; it must have been given as a file, not found in a folder.

        Raises:
            SourceError: the document was not given as a file, is also in a folder given, or the index would be
                left empty.
        """
        with self._writing():
            manifest = self.store.read_manifest()
            inputs = self.inputs(manifest)
            kept = [p for p in inputs if _key(p) != _key(source)]
            name = display_name(str(source))
            if len(kept) == len(inputs):
                why = _why_not_an_input(source, inputs, manifest, self.store.update_command)
                raise SourceError(source, f"cannot forget {name}: {why}")
            if not kept:
                raise SourceError(source, f"cannot forget {name}: it is all the index holds, and the index would "
                                          "be empty")
            present = _existing(kept)
            if not present:
                raise SourceError(source, f"cannot forget {name}: what else the index holds is gone, and the index "
                                          "would be empty")
            within = next((p for p in kept if isinstance(p, Path) and not is_address(source) and Path(source).exists()
                           and p.is_dir() and _key(source).is_relative_to(p.resolve())), None)
            if within is not None:
                raise SourceError(source, f"cannot forget {name}: it is also in the folder {within}; remove it there")
            return self._build(present, False, None)


    def _previous(self) -> Index | None:
        """The index already open, else the one on disk if it is sound: where unchanged documents come from."""
        with self._lock:
            if self._index is not None:
                return self._index
        try:
            return self.store.load()
        except StoreUnavailableError:
            raise
        except IndexStoreError as error:
            logger.info("not reusing the index in %s: %s", self.store.location, error)
            return None

    @property
    def multilingual(self) -> bool:
        """Whether the index's model reads questions and texts in many languages, not English alone."""
        return self.index_settings.model in MULTILINGUAL_MODELS

    def inputs(self, manifest: dict | None = None) -> list[Source]:
        """The files, folders and web addresses the index was last built from (as manifest, the store's
        manifest if already read, records them)."""
        manifest = manifest or self.store.read_manifest()
        held = manifest.get("inputs") or [d["source"] for d in manifest["documents"]]
        return [p if is_address(p) else Path(p) for p in held]

    def open(self) -> Index:
        """Load the index once; a store that other processes update (Milvus) is asked at most every
        REFRESH_SECONDS whether a newer build is in place, which is then loaded instead.

        Raises:
            IndexNotFoundError, CorruptIndexError: as `load_index`.
            StaleIndexError: the index was built with another model.
            StoreUnavailableError: Milvus cannot be reached (and nothing was loaded from it yet).
        """
        with self._lock:
            if self._index is not None and time.monotonic() - self._checked >= REFRESH_SECONDS:
                self._checked = time.monotonic()
                try:
                    newer = self.store.generation()
                except StoreUnavailableError as error:
                    newer = self._generation  # answer from what is loaded; the vectors' calls will say more
                    logger.warning("cannot ask %s for a newer build: %s", self.store.location, error)
                if newer != self._generation:
                    logger.info("%s holds a newer build (%s): loading it", self.store.location, newer)
                    self._index = None
            if self._index is None:
                generation = self.store.generation()
                index = self.store.load(generation)  # the generation asked about, even if another came since
                built, wanted = index.settings, self.index_settings
                if not built.same_vectors(wanted):
                    raise StaleIndexError(
                        f"the index in {self.store.location} was built with the model {built.model} "
                        f"({built.backend} backend), the settings say {wanted.model} ({wanted.backend} backend): "
                        f"rebuild it with `{self.store.update_command}`, or set CITEBOT_MODEL={built.model} "
                        f"(and CITEBOT_BACKEND={built.backend}) to ask it as it is"
                    )
                self._index, self._generation, self._checked = index, generation, time.monotonic()
            return self._index

    def describe(self) -> CorpusInfo:
        """Name the indexed documents, their opening sentences and a question the text can answer."""
        index = self.open()
        documents = []
        # The index's sentence rows already say where each document opens and how many paragraphs it has.
        for doc_id, document in enumerate(index.documents):
            rows = index.document_sentences(doc_id)
            opening = document.text[rows[0][1] : rows[0][2]] if len(rows) else ""
            paragraphs = int(rows[:, 3].max()) if len(rows) else 0
            name = display_name(document.source)
            documents.append(
                DocumentInfo(name, len(document.text), paragraphs, opening, document.source, document.sha256)
            )
        name = main_name(index.documents[0].text) if index.documents else None
        sample = f"What does the text say about {name}?" if name else None
        return CorpusInfo(documents, len(index.passages), index.settings.model, sample)

    def document_count(self) -> int:
        """How many documents the index holds."""
        return len(self.open().documents)

    def warm_up(self) -> None:
        """Open the index and load the model now rather than on the first question."""
        self.open()
        self.embedder.encode(["warm up"])

    def warnings(self) -> list[str]:
        """Ways the index differs from its source files on disk (it still answers from what it holds)."""
        manifest = self.store.read_manifest()
        sources, unreadable, gone = {}, [], []
        for document in self.open().documents:
            if is_address(document.source) or Path(document.source).is_file():
                digest = current_sha256(document)
                if digest is None:
                    unreadable.append(f"{document.source} can no longer be read; the index answers from what it holds")
                sources[document.source] = digest or document.sha256
            else:
                gone.append(document.source)
                sources[document.source] = document.sha256  # said on a line of its own
        # A file found in a folder that is still there leaves with a plain update; one named, or whose folder
        # is gone too, stops it (nothing leaves the index unasked): --prune is needed.
        inputs = self.inputs(manifest)
        named = {_key(p) for p in inputs}
        folders = [p.resolve() for p in inputs if isinstance(p, Path) and p.is_dir()]
        left = [s for s in gone if _key(s) not in named and any(_key(s).is_relative_to(f) for f in folders)]
        command = _pruning(self.store.update_command) if len(left) < len(gone) else self.store.update_command
        notes = [f"{source} is gone; the index answers from what it holds: put it back, or drop it with `{command}`"
                 for source in gone]
        reasons = stale_reasons(manifest, self.index_settings, sources)
        return unreadable + notes + [f"the index is stale: {r}; update it with `{command}`" for r in reasons]

    def locate(self, quote: Quote) -> Location:
        """Where a quote of this index stands, in terms that survive rebuilds keeping its document."""
        return excerpts.locate(self.open(), quote)

    def quote_at(self, location: Location) -> Quote:
        """The verbatim text at location.

        Raises:
            LocationError: the location's document is no longer indexed.
        """
        return excerpts.quote_at(self.open(), location)

    def quotes_at(self, location: Location) -> list[Quote]:
        """The verbatim text at location, a quote a paragraph (LocationError as quote_at)."""
        return excerpts.quotes_at(self.open(), location)

    def widen(self, location: Location, before: int = 0, after: int = 0) -> Location:
        """location grown by sentences on either side, within its document (LocationError as quote_at)."""
        return excerpts.widen(self.open(), location, before, after)

    def whole_paragraph(self, location: Location) -> Location:
        """The paragraph holding location's highlight (LocationError as quote_at)."""
        return excerpts.whole_paragraph(self.open(), location)

    def present(self, answer: Answer, k: int = 3) -> Presentation:
        """What a reader sees of answer: its best sentence first, then the other relevant passages."""
        return excerpts.present(self.open(), answer, k)

    def suggest_terms(self, answer: Answer, n: int = 3, shown: Sequence[Quote] = ()) -> list[str]:
        """Up to n terms of the text near answer's passages, close in meaning to its question and not in the
        quotes shown."""
        return excerpts.suggest_terms(self.open(), self.embedder, answer, n, shown)

    def evaluate(self, path: Path, on_result: Callable[[dict], None] | None = None) -> EvalReport:
        """Score retrieval on a QA file with this engine's model and settings (see `evaluate.evaluate`).

        Raises:
            EvalFileError: the file is not in the expected format.
        """
        from embeddings.evaluate import evaluate, read_qa_file  # only eval pays for it

        for _ in read_qa_file(path):  # a file that is not one is said so before the models load
            pass
        write = on_result or (lambda result: None)
        if isinstance(self.store, DirectoryStore):
            return evaluate(path, self.embedder, self.index_settings, self.retrieval, write, self.reranker)
        scratch = self.store.scratch()  # each document goes through the store, never into the index asked

        def through(index: Index) -> Index:
            scratch.save(index)
            return scratch.load()

        try:
            return evaluate(path, self.embedder, self.index_settings, self.retrieval, write, self.reranker, through)
        finally:
            scratch.drop()

    def ask(self, question: str, k: int = 3) -> Answer:
        """Answer question with up to k passages quoted from the index.

        Raises:
            EmptyQuestionError: the question has nothing to search for.
            StoreUnavailableError: Milvus cannot be reached.
        """
        try:
            return answer_question(self.open(), self.embedder, question, k, self.retrieval, self.reranker)
        except IndexReplacedError:
            with self._lock:
                self._index = None  # the build it read was replaced and dropped: read the newest
            return answer_question(self.open(), self.embedder, question, k, self.retrieval, self.reranker)


def _why_not_an_input(source: Source, inputs: list[Source], manifest: dict, update_command: str) -> str:
    """Why source, which is not one of inputs (of the index manifest describes), cannot be forgotten: where
    it comes from, if anywhere."""
    if is_address(source):
        return "it is not indexed"
    held = any(_key(d["source"]) == _key(source) for d in manifest["documents"])
    # A file that is neither held nor there was not found in a folder, whatever its path says.
    folder = next((p for p in inputs if isinstance(p, Path) and (held or Path(source).exists())
                   and _key(source).is_relative_to(p.resolve())), None)
    if folder is None:
        return "it is not indexed"
    if not Path(source).exists():
        command = update_command if folder.is_dir() else _pruning(update_command)
        return f"it came from the folder {folder} and is gone from it; `{command}` drops it"
    return f"it comes from the folder {folder}; remove it there"


def _pruning(update_command: str) -> str:
    """The update command that also drops the files and folders the index was built from that are gone."""
    return update_command.replace("citebot index", "citebot index --prune")


def _existing(inputs: list[Source]) -> list[Source]:
    """The inputs that still exist: one that is gone leaves the index with a warning, and the rest go on."""
    for gone in [p for p in inputs if not _exists(p)]:
        logger.warning("%s no longer exists; it leaves the index", gone)
    return [p for p in inputs if _exists(p)]


def _key(source: Source) -> Source:
    """What tells inputs apart: a file's resolved path, a web page's address as given."""
    return source if is_address(source) else Path(source).resolve()


def _exists(source: Source) -> bool:
    """Whether an input is still there (a web address is asked only when the index is updated)."""
    return is_address(source) or Path(source).exists()
