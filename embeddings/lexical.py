"""BM25 over passages (bm25s), with stemming and a full English stop-word list."""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_RUSSIAN

from embeddings.text import SPACED_WORD, UNSPACED

# bm25s sets its own logger to DEBUG on import, which would print under any root configuration.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

# A word, or a run of a script written without spaces (Chinese, Japanese, Thai...), read as its character
# pairs: the usual way to search such text without a dictionary of its words.
_TOKEN = re.compile(rf"([{UNSPACED}]+)|{SPACED_WORD}")
# Two stems sharing this many first letters, one the start of the other, are taken as forms of one word.
HELD_PREFIX = 5
# English's, and Russian's (no Latin word is in it); bm25s has none for the other scripts stemmed here.
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_RUSSIAN)


# A word is stemmed in the language its script says (the first letter's): a Cyrillic word as Russian, an
# Arabic one as Arabic, Devanagari as Hindi; Latin and the rest as English, since a Latin word does not
# say which language it is. Snowball's stemmers, through PyStemmer.
_SCRIPTS = (("\u0400", "\u04ff", "russian"), ("\u0600", "\u06ff", "arabic"), ("\u0900", "\u097f", "hindi"),
            ("\u0370", "\u03ff", "greek"), ("\u0530", "\u058f", "armenian"), ("\u0b80", "\u0bff", "tamil"))


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def _language(word: str) -> str:
    for low, high, language in _SCRIPTS:
        if low <= word[0] <= high:
            return language
    return "english"


def tokenize(text: str) -> list[str]:
    """Lower-case, drop stop words and one-letter tokens, and stem; runs of scripts without spaces become
    their character pairs. Full- and halfwidth forms count as the letters and digits they stand for
    (NFKC: "５００" is "500")."""
    words: dict[str, list[str]] = {}
    pairs = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower()):
        run = match.group(1)
        if run:
            pairs += [run[i : i + 2] for i in range(max(1, len(run) - 1))]
        elif len(match.group()) > 1 and match.group() not in _STOPWORDS:
            words.setdefault(_language(match.group()), []).append(match.group())
    return [stem for language, group in words.items() for stem in _stemmer(language).stemWords(group)] + pairs


class LexicalIndex:
    """A BM25 index whose row numbers are passage ids."""

    def __init__(self, retriever: bm25s.BM25, size: int | None = None) -> None:
        self._retriever = retriever
        self._sorted_vocab: list[str] | None = None
        self.size = int(retriever.scores["num_docs"]) if size is None else size

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts, one BM25 document each."""
        retriever = bm25s.BM25()
        # An empty token keeps bm25s working when every text is empty of words, or there is no text at all.
        retriever.index([tokenize(t) or [""] for t in texts] or [[""]], show_progress=False)
        return cls(retriever, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for query (zeros when no query word is in the index)."""
        ids = self._retriever.get_tokens_ids(tokenize(query))
        if not ids or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return self._retriever.get_scores_from_ids(ids).astype(np.float32)

    def idf(self, terms: list[str]) -> np.ndarray:
        """Inverse document frequency of each stemmed term; a term the index lacks has the highest."""
        indptr = self._retriever.scores["indptr"]
        vocab = self._retriever.vocab_dict
        n = self.size
        df = np.array([indptr[vocab[t] + 1] - indptr[vocab[t]] if t in vocab else 0 for t in terms], dtype=np.float64)
        return np.log1p((n - df + 0.5) / (df + 0.5))

    def holds(self, phrases: list[str]) -> list[bool]:
        """Whether every term of each phrase (stemmed terms as tokenize gives them, space-separated) is in the
        index, as itself or as a longer or shorter form of at least HELD_PREFIX letters ("russian" is held
        by "russia"); a phrase with no term (only stop words) counts as held."""
        return [all(self._held(t) for t in phrase.split()) for phrase in phrases]

    def _held(self, term: str) -> bool:
        if term in self._retriever.vocab_dict:
            return True
        if len(term) < HELD_PREFIX:
            return False
        if self._sorted_vocab is None:
            self._sorted_vocab = sorted(self._retriever.vocab_dict)
        keys = self._sorted_vocab
        for i in range(bisect.bisect_left(keys, term[:HELD_PREFIX]), len(keys)):
            if not keys[i].startswith(term[:HELD_PREFIX]):
                break
            if keys[i].startswith(term) or (term.startswith(keys[i]) and len(keys[i]) >= HELD_PREFIX):
                return True
        return False

    def save(self, directory: Path) -> None:
        """Write the index into directory (numpy arrays and JSON, no pickle)."""
        self._retriever.save(str(directory), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read an index written by save."""
        return cls(bm25s.BM25.load(str(directory), allow_pickle=False))
