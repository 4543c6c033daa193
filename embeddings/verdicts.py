"""Judge whether the text answers a question: the verdict on the best passage's scores, and the question's
names and numbers that no indexed text holds."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from embeddings.lexical import tokenize
from embeddings.text import count_words

if TYPE_CHECKING:
    from embeddings.retrieval import RetrievalSettings
    from embeddings.store import Index

# A name or number of the question that no indexed text holds ("Mars", "1990") is what it asks about.
_NAME_OR_NUMBER = re.compile(r"(?<=\w[\s,;:])[A-Z][\w'’-]*\w|\b\d[\d,.]*\d\b|\b\d\b")
# A word in Latin letters inside a question in another script, and a number in digits in any (Chinese and
# Japanese write "1888年" without a space); a number right after a letter, or a letter and a hyphen, is
# part of a name ("СНВ-3", "F16").
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]")
_DIGITS = re.compile(r"(?<![\d.,])\d(?:[\d,.]*\d)?(?!\d)")
_NAMED_BEFORE = re.compile(r"(?:[A-Za-z\u00c0-\u024f\u0370-\u052f]|[^\W\d_]-)$")
# Writings whose words word search reads in their own forms (a stemmer, or Chinese and Japanese pairs).
_STEMMED = frozenset({"english", "CYRILLIC", "ARABIC", "DEVANAGARI", "GREEK", "ARMENIAN", "TAMIL", "chinese",
                      "japanese"})
# A question's words, as named when none of them is in the text (those word search keeps).
_QUESTION_WORD = re.compile(r"[^\W_][\w'’-]*")
# A question of at most this many words, none of which any text holds, is at best hedged (and not in the text
# when its nearest sentence is in another language).
KEYWORDS = 2


class Verdict(StrEnum):
    """How surely the passages answer: the quote shown as the answer, hedged, or the text said not to hold it."""

    ANSWERED = "answered"
    UNCERTAIN = "uncertain"
    NOT_IN_TEXT = "not_in_text"


def decide(
    index: Index, query: str, query_terms: list[str], asked: str, answering: str, similarity: float,
    confidence: float, logit: float | None, settings: RetrievalSettings, near_own: Callable[[], bool],
    places: Sequence[str] = (),
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict on an answer to query and the words it is said for (names and numbers no text holds, or
    every word of a question that shares none with the text). asked and answering are how the question and
    its nearest sentence are written (embeddings.languages.writing); settings are on their scale
    (on_the_scale_of); near_own() says whether a sentence written as the question is among its nearest;
    places are the headings and file names of the passages quoted, whose words the text holds too."""
    short = count_words(query) <= KEYWORDS
    faint = asked == answering and similarity < settings.hedge_confidence
    # Whether none of its words is in any text (looked up only where a rule below would use it).
    unheard = (asked in _STEMMED and query_terms and (short or faint)
               and not any(_held(index, query_terms, places)))
    if unheard and (faint or (asked != answering and near_own())):
        # Not one of its words is in any text written as it is ("asdfghjkl", "lorem ipsum"): the reranker
        # gives such strings middling logits, but the text is not about them. A reworded question that shares
        # no word can still be answered when a sentence comes close enough ("Which english math guy was proud
        # his stuff was useless for war" has its sentence at 0.89), or when its nearest sentence is in
        # another language. A word or two whose nearest sentence is in another language, beside texts in its
        # own ("test" of a Thai sentence), cannot: that text would hold the word.
        # Only where word search knows a word's forms: Korean glues its particles on, and other Latin-script
        # languages are stemmed as English.
        return Verdict.NOT_IN_TEXT, _words(query)
    absent = absent_names(index, query, asked, answering, places)
    verdict = judge(confidence, logit, absent, settings)
    if unheard and short and verdict is Verdict.ANSWERED:
        # A word or two the text never uses is at best hedged: e5 puts "payday" 0.83 from "Salaries are paid on
        # the last working day", which answers it, and "test" 0.85 from "Annual health check-up", which does
        # not; nothing tells the two apart.
        return Verdict.UNCERTAIN, _words(query)
    return verdict, absent


def _words(query: str) -> tuple[str, ...]:
    """The words of query that word search keeps, as written, each once."""
    words = _QUESTION_WORD.findall(unicodedata.normalize("NFKC", query))
    return tuple(dict.fromkeys(word for word in words if tokenize(word)))


def on_the_scale_of(settings: RetrievalSettings, asked: str, answering: str) -> RetrievalSettings:
    """settings with the thresholds for a question written as asked about a sentence written as answering
    (embeddings.languages.writing; a text without letters, as "2026?", is on either's scale)."""
    if asked and answering and asked != answering:
        return settings.lowered(*settings.across_languages)
    return settings.lowered(-dict(settings.raised_for).get(asked, 0.0))


def absent_names(
    index: Index, query: str, asked: str = "english", answering: str = "english", places: Sequence[str] = ()
) -> tuple[str, ...]:
    """The names and numbers of query that no indexed passage holds, nor the headings and file names of
    places (a title, "AquaPure 300 Water Filter Pitcher", names what every passage below it is about): what
    the question is about is not in the text. asked and answering are how the question and its nearest
    sentence are written (embeddings.languages.writing): names are looked for only where the text would
    spell them as the question does.

    In an English question a name is a word capitalised after its first, and a number one in digits (about
    a text in any writing: digits are the same in most). Another language's question is checked only about
    a text in another language, where word search finds nothing else in common: its numbers in digits
    standing alone ("СНВ-3" is a name, not the number 3), and, in another script, its words in Latin
    letters ("Biden", "iPhone"). German capitalises every noun, other languages inflect names, and a number
    such as "Super Bowl 50" is often the question's context rather than what the text repeats (XQuAD: 2.5
    to 6.5% of answerable questions hedged when checked in their own language). Latin names are looked for
    only in a text in Latin letters: another script transliterates them."""
    query = unicodedata.normalize("NFKC", query)  # fullwidth "Ｂｉｄｅｎ" and "７" as the letters they stand for
    latin_text = answering in ("english", "latin", "")
    if asked == "english":
        found = [m.group() for m in _NAME_OR_NUMBER.finditer(query)
                 if latin_text or not m.group()[0].isalpha()]  # its numbers whatever the text's writing
        if sum(c.isupper() for c in query) > sum(c.islower() for c in query):
            return ()  # in capitals throughout, every word looks like a name
    elif asked != answering:
        found = _LATIN_WORD.findall(query) if latin_text and asked not in ("latin", "") else []
        found += [m.group() for m in _DIGITS.finditer(query) if not _NAMED_BEFORE.search(query, 0, m.start())]
    else:
        found = []
    if not found:
        return ()
    held = _held(index, [" ".join(tokenize(name)) for name in found], places)
    return tuple(name for name, there in zip(found, held) if not there)


def _held(index: Index, phrases: list[str], places: Sequence[str]) -> list[bool]:
    """Whether each phrase (stemmed terms, space-separated) is held by word search, which reads a passage
    with only the heading right above it, or by the words of places."""
    named = set(tokenize(" ".join(places)))
    return [there or all(term in named for term in phrase.split())
            for phrase, there in zip(phrases, index.lexical.holds(phrases))]


def judge(confidence: float, logit: float | None, absent: tuple[str, ...], settings: RetrievalSettings) -> Verdict:
    """The verdict on an answer from its confidence, the reranker's logit (None without it) and the
    question's names and numbers that no text holds.

    A name or number no text holds makes a doubtful answer "not in the text" and a sure one only hedged:
    it is also what a typo ("Primier League") or an abbreviation the text spells out looks like.
    """
    if confidence < settings.min_confidence:
        return Verdict.NOT_IN_TEXT
    if logit is None:
        sure = confidence >= settings.hedge_confidence
    elif logit < settings.abstain_logit:
        return Verdict.NOT_IN_TEXT
    else:
        sure = logit >= settings.hedge_logit
    if sure:
        return Verdict.UNCERTAIN if absent else Verdict.ANSWERED
    return Verdict.NOT_IN_TEXT if absent else Verdict.UNCERTAIN
