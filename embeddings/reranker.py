"""The answer reranker: a cross-encoder that reads a question with one sentence and scores whether the
sentence answers it. Trained here on SQuAD v1.1 (CC BY-SA 4.0) by `make reranker`; run with onnxruntime
and the model's own tokenizer, so answering never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from embeddings.encoder import CHARS_PER_TOKEN
from embeddings.errors import ModelNotFoundError
from embeddings.runtime import open_session

RERANKER_DIR = Path(__file__).resolve().parent / "models" / "reranker"
MANIFEST = "manifest.json"
# A question and a sentence are read up to this many tokens together (the model trained on 96): the cost
# grows with every token, and on the dev sets 64 lost 0.4 point of SQuAD hit@1 for a fifth less time.
MAX_TOKENS = 64
MAX_CHARS = MAX_TOKENS * CHARS_PER_TOKEN


class Reranker:
    """The cross-encoder in directory, loaded on first use."""

    def __init__(self, directory: Path = RERANKER_DIR) -> None:
        self.directory = Path(directory)
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def manifest(self) -> dict:
        """The model's manifest: its file, checksum, training data and recipe.

        Raises:
            ModelNotFoundError: the reranker is not there.
        """
        path = self.directory / MANIFEST
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(
                f"the reranker is missing or damaged at {self.directory} ({error}): restore embeddings/models/reranker "
                "from the repository, rebuild it with `make reranker`, or set CITEBOT_RERANK=0"
            ) from error

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        """One logit a sentence: how surely it answers question (above 0: more likely than not)."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        session, tokenizer = self._load()
        question = question[:MAX_CHARS]
        encodings = tokenizer.encode_batch([(question, sentence[:MAX_CHARS]) for sentence in sentences])
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return session.run(None, feeds)[0].reshape(-1).astype(np.float32)

    def _load(self):
        with self._lock:
            if self._session is None:
                from tokenizers import Tokenizer

                manifest = self.manifest()
                model = self._checked_model(manifest)
                tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
                # Longest first: the sentence is cut, unless the question is longer (a 1,000-character one).
                tokenizer.enable_truncation(min(MAX_TOKENS, int(manifest["max_length"])), strategy="longest_first")
                tokenizer.enable_padding()
                try:
                    session = open_session(model)
                except Exception as error:  # onnxruntime raises its own untyped errors for a bad file
                    raise ModelNotFoundError(
                        f"the reranker at {self.directory} cannot be loaded ({error}): restore "
                        "embeddings/models/reranker, rebuild it with `make reranker`, or set CITEBOT_RERANK=0"
                    ) from error
                self._tokenizer, self._session = tokenizer, session
            return self._session, self._tokenizer


    def _checked_model(self, manifest: dict) -> bytes:
        """The model file's bytes, if they are the ones the manifest names (a file in this directory)."""
        name = str(manifest.get("file", ""))
        path = self.directory / name
        if not name or Path(name).name != name or not path.is_file():
            raise ModelNotFoundError(
                f"the reranker's manifest at {self.directory} names no model file in its directory ({name!r}): "
                "restore embeddings/models/reranker from the repository, or set CITEBOT_RERANK=0"
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
            raise ModelNotFoundError(
                f"the reranker {path} is not the file its manifest describes (its sha256 differs): restore "
                "embeddings/models/reranker from the repository, rebuild it with `make reranker`, or set "
                "CITEBOT_RERANK=0"
            )
        return data


_shared: Reranker | None = None
_shared_lock = threading.Lock()


def load_reranker() -> Reranker:
    """The process-wide reranker (its weights load on first score)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reranker()
        return _shared
