"""Where an index is kept: the IndexStore interface the engine writes and reads through, and its directory
implementation (FAISS files on disk). The Milvus implementation is in embeddings/milvus_store.py.

Both hold the same Index (embeddings/store.py), so chunking, fusion, the reranker, abstention and quotes
are written once, whichever store is used.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from embeddings.atomic_dir import check_replaceable, writers_turn
from embeddings.store import Index, load_index, read_manifest, remove_abandoned_staging, save_index

# How often a reader asks a store that others update whether a newer build is in place: the longest it
# answers from the previous one.
REFRESH_SECONDS = 5.0


class IndexStore(Protocol):
    """What the engine needs of the place an index is kept."""

    location: str  # how messages name it: a directory, or "milvus collection NAME at URI"
    update_command: str  # the command that brings it up to date

    def writing(self) -> AbstractContextManager[None]:
        """One writer at a time, across processes."""

    def check_writable(self, inputs: tuple[str, ...]) -> None:
        """Refuse, before any work, a build that may not replace what the store holds."""

    def read_manifest(self) -> dict:
        """The manifest of the index it holds.

        Raises:
            IndexNotFoundError: none yet.
            CorruptIndexError, StaleIndexError: one that cannot be read.
        """

    def load(self, generation: str | None = None) -> Index:
        """The index it holds, whole and of one build (of that generation, when one is named)."""

    def save(self, index: Index) -> str | None:
        """Put index in place atomically (readers see the previous index or this one, never a mix); the
        generation it now holds."""

    def tidy(self) -> None:
        """Remove what an interrupted build left behind."""

    def generation(self) -> str | None:
        """A name for the build it holds now, cheap to ask, for readers that follow updates; None when
        readers load once."""


class DirectoryStore:
    """An index in a directory of files: manifest, FAISS vectors, BM25, rows (see embeddings/store.py)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.location = str(self.directory)
        self.update_command = f"citebot index --index {self.directory}"

    def writing(self) -> AbstractContextManager[None]:
        return writers_turn(self.directory)

    def check_writable(self, inputs: tuple[str, ...]) -> None:
        check_replaceable(self.directory, inputs)

    def read_manifest(self) -> dict:
        return read_manifest(self.directory)

    def load(self, generation: str | None = None) -> Index:
        return load_index(self.directory)

    def save(self, index: Index) -> str | None:
        save_index(index, self.directory)
        return None

    def tidy(self) -> None:
        remove_abandoned_staging(self.directory)

    def generation(self) -> str | None:
        return None  # a process reads its directory once; its own builds replace what it holds
