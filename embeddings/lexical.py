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
from bm25s.stopwords import (
    STOPWORDS_DUTCH,
    STOPWORDS_EN_PLUS,
    STOPWORDS_FRENCH,
    STOPWORDS_GERMAN,
    STOPWORDS_ITALIAN,
    STOPWORDS_PORTUGUESE,
    STOPWORDS_RUSSIAN,
    STOPWORDS_SPANISH,
)

from embeddings.languages import looks_english
from embeddings.text import SPACED_WORD, UNSPACED

# bm25s sets its own logger to DEBUG on import, which would print under any root configuration.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

# A word, or a run of a script written without spaces (Chinese, Japanese, Thai...), read as its character
# pairs: the usual way to search such text without a dictionary of its words.
_TOKEN = re.compile(rf"([{UNSPACED}]+)|({SPACED_WORD})")
# Two stems sharing this many first letters, one the start of the other, are taken as forms of one word.
HELD_PREFIX = 5
# English's, and Russian's (no Latin word is in it); bm25s has none for the other scripts stemmed here.
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_RUSSIAN)
# The function words of Latin-script languages whose words are stemmed as English. A text keeps them (a
# Spanish "con" or a German "war" is an English word too); a question drops its own language's, known by
# holding at least two of them and more than it holds of English's.
_LATIN_STOPWORDS = [frozenset(words) - _STOPWORDS for words in (
    STOPWORDS_SPANISH, STOPWORDS_FRENCH, STOPWORDS_GERMAN, STOPWORDS_ITALIAN, STOPWORDS_PORTUGUESE, STOPWORDS_DUTCH)]
_ENGLISH_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
# Letters only Vietnamese, of the languages written in Latin letters, uses.
_VIETNAMESE = re.compile("[ăđơư\u1ea0-\u1ef9]")


# A word is stemmed in the language its script says (the first letter's): a Cyrillic word as Russian, an
# Arabic one as Arabic, Devanagari as Hindi; Latin and the rest as English, since a Latin word does not
# say which language it is. Snowball's stemmers, through PyStemmer.
_SCRIPTS = (("\u0400", "\u04ff", "russian"), ("\u0600", "\u06ff", "arabic"), ("\u0900", "\u097f", "hindi"),
            ("\u0370", "\u03ff", "greek"), ("\u0530", "\u058f", "armenian"), ("\u0b80", "\u0bff", "tamil"))
_FIRST_STEMMED = min(low for low, _, _ in _SCRIPTS)


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def _language(word: str) -> str:
    if word[0] < _FIRST_STEMMED:  # Latin words, most of them: no range to look through
        return "english"
    for low, high, language in _SCRIPTS:
        if low <= word[0] <= high:
            return language
    return "english"


def tokenize(text: str, question: bool = False) -> list[str]:
    """Lower-case, drop stop words and one-letter tokens, and stem; runs of scripts without spaces become
    their character pairs. Full- and halfwidth forms count as the letters and digits they stand for
    (NFKC: "５００" is "500"). A question in Spanish, French, German, Italian, Portuguese or Dutch also
    loses that language's function words: "los" and "de" would otherwise match every text in it alike,
    and only those, whichever text answers ("¿Cuántos días de vacaciones...?" of an English handbook)."""
    # findall's (run, word) pairs rather than match objects: this runs on every sentence a question's quotes
    # hold, and it takes a quarter less time so (with _language's shortcut for Latin words).
    tokens = _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())
    dropped = _question_stopwords([word for _, word in tokens if word]) if question else frozenset()
    if dropped and looks_english(text):  # "AI era", "Why men die" hold two Italian or Dutch ones
        dropped = frozenset()
    words: dict[str, list[str]] = {}
    pairs = []
    for run, word in tokens:
        if run:
            pairs += [run[i : i + 2] for i in range(max(1, len(run) - 1))]
        elif len(word) > 1 and word not in _STOPWORDS and word not in dropped:
            words.setdefault(_language(word), []).append(word)
    return [stem for language, group in words.items() for stem in _stemmer(language).stemWords(group)] + pairs


def _question_stopwords(tokens: list[str]) -> frozenset[str]:
    """The function words of the Latin-script language tokens are in, if it is one of _LATIN_STOPWORDS."""
    if any(_VIETNAMESE.search(token) for token in tokens):
        return frozenset()  # "ai" (who) and "hai" (two) are Italian function words
    english = sum(token in _ENGLISH_STOPWORDS for token in tokens)
    hits, words = max(((sum(token in words for token in tokens), words) for words in _LATIN_STOPWORDS),
                      key=lambda pair: pair[0])
    return words if hits >= 2 and hits > english else frozenset()


class LexicalIndex:
    """A BM25 index whose row numbers are passage ids."""

    def __init__(self, retriever: bm25s.BM25, size: int | None = None) -> None:
        self._retriever = retriever
        self._sorted_vocab: list[str] | None = None
        self._letters: set[str] | None = None
        self.size = int(retriever.scores["num_docs"]) if size is None else size

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts, one BM25 document each."""
        retriever = bm25s.BM25()
        # An empty token keeps bm25s working when every text is empty of words, or there is no text at all.
        retriever.index([tokenize(t) or [""] for t in texts] or [[""]], show_progress=False)
        return cls(retriever, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for query, a question (zeros when no query word is in the index)."""
        ids = self._retriever.get_tokens_ids(tokenize(query, question=True))
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
        if len(term) == 1:  # a lone ideograph or syllable ("猫"): the index holds the pairs it stands in
            if self._letters is None:
                self._letters = {letter for key in self._retriever.vocab_dict if len(key) == 2 for letter in key}
            return term in self._letters
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
