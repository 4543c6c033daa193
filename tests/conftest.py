"""Shared fixtures: a fast fake embedder, the bundled article, and the real model loaded once."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from embeddings.encoder import DEFAULT_MODEL, load_embedder
from embeddings.store import Document, IndexSettings, build_index, sha256_text

ROOT = Path(__file__).resolve().parents[1]
# The settings the CLI and the bot read under english_model, so that they take the shared indexes as current.
ENGLISH = IndexSettings(DEFAULT_MODEL, Settings.max_words)
ARTICLE = ROOT / "data" / "article.txt"
ARTICLE_DEV = ROOT / "bench" / "data" / "article_dev.jsonl"


class FakeEmbedder:
    """Bag of hashed lower-case words: texts sharing words are similar. Fast and deterministic."""

    name = "fake"
    dimension = 64

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], progress: bool = False, query: bool = False) -> np.ndarray:
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


@pytest.fixture(scope="session", autouse=True)
def english_model():
    """The front ends default to multilingual-e5; most tests share indexes built once with the bundled
    MiniLM, so their CLI and bot read that model. tests/test_languages.py runs the default's own paths."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITEBOT_MODEL", DEFAULT_MODEL)
        patch.setenv("LANGUAGE", "en")  # the CLI speaks the locale's language; the tests read English
        yield


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture
def fake_index(fake_embedder, article_text):
    """The article indexed in memory with the fake embedder."""
    document = Document(str(ARTICLE), sha256_text(article_text), article_text)
    return build_index([document], fake_embedder, IndexSettings("fake", 80, "fake"))


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2 on the default (onnx) backend, shared by every test of the session."""
    return load_embedder(DEFAULT_MODEL, "onnx", ROOT / "data" / "models")


@pytest.fixture(scope="session")
def article_index_dir(tmp_path_factory, real_embedder) -> Path:
    """The article indexed on disk with the real model, once per session (tests must not change it)."""
    from embeddings.engine import Engine

    directory = tmp_path_factory.mktemp("article") / "index"
    Engine(directory, ENGLISH, embedder=real_embedder).build([ARTICLE])
    return directory


@pytest.fixture(scope="session")
def article_engine(article_index_dir, real_embedder):
    """An Engine over the article index with the real model, shared by the session."""
    from embeddings.engine import Engine

    return Engine(article_index_dir, ENGLISH, embedder=real_embedder)


@pytest.fixture
def own_engine(tmp_path, real_embedder):
    """An engine over a copy of the article in tmp_path/texts, which uploads and tests may change."""
    import shutil

    from embeddings.engine import Engine

    source = tmp_path / "texts" / "article.txt"
    source.parent.mkdir()
    shutil.copy(ARTICLE, source)
    engine = Engine(tmp_path / "index", ENGLISH, embedder=real_embedder)
    engine.build([source])
    return engine


@pytest.fixture
def bot_api():
    """A Bot API server on 127.0.0.1, stopped after the test."""
    from tests.fake_bot_api import FakeBotApi

    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def api():
    """A Bot API server on 127.0.0.1 shared by the tests of a module."""
    from tests.fake_bot_api import FakeBotApi

    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(api, article_engine):
    """The bot over the bundled article, serving api for the tests of a module."""
    from tests.telegram_harness import RunningBot

    with RunningBot(api, article_engine) as running:
        yield running
