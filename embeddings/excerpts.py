"""Quotes as places in the text: stable locations, wider views, nearby quotes merged, related terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from embeddings.encoder import Embedder
from embeddings.errors import LocationError
from embeddings.lexical import tokenize
from embeddings.retrieval import Answer, Highlight, Quote, clean_question, quote_of
from embeddings.store import Index

# Quotes of one document at most this many characters apart (about a sentence) are shown as one excerpt,
# of at most MAX_EXCERPT characters of quoted text.
MAX_GAP = 200
MAX_EXCERPT = 1200
# A reader sees the answering sentence within the first 150 characters of a quote: the sentence before it
# is kept as context only when it is at most this long.
LEAD_CONTEXT = 140
# Candidate terms (the rarest of the nearest passages) weighed by the model when suggesting what to ask.
MAX_TERM_CANDIDATES = 16
# Nearest passages, of those not already shown, whose words and names are candidates.
TERM_PASSAGES = 3
_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}")
_WORD = re.compile(r"\b[^\W\d_]{4,}\b")


@dataclass(frozen=True)
class Location:
    """Where a quote stands, in terms that survive rebuilds which keep its document.

    document is the document's sha256 (or a prefix of it); first, last and highlight are sentence numbers
    counted from the document's first sentence.
    """

    document: str
    first: int
    last: int
    highlight: int


@dataclass(frozen=True)
class Presentation:
    """What a reader sees of an answer, in order.

    lead is one excerpt in text order whose first quote starts with the answering sentence (or one short
    sentence before it); that sentence, lead[0].highlight, is the only one to emphasise. Passages that
    follow it without a gap and are relevant join it. also holds the other relevant passages, best first,
    to be shown as secondary.
    """

    lead: list[Quote]
    also: list[Quote]

    @property
    def emphasis(self) -> Highlight | None:
        """The one sentence to emphasise."""
        return self.lead[0].highlight if self.lead else None


def present(index: Index, answer: Answer, k: int = 3) -> Presentation:
    """Decide what a reader sees of answer with k passages at most: the best sentence first, then the rest."""
    if not answer.passages:
        return Presentation([], [])
    lead = [lead_quote(index, answer.passages[0])]
    related = answer.related()[: max(0, k - 1)]
    joined = set()
    for quote in sorted(related, key=lambda q: q.start):
        if touching(lead[-1], quote) and sum(len(q.text) for q in lead) + len(quote.text) <= MAX_EXCERPT:
            lead.append(quote)
            joined.add(quote)
    return Presentation(lead, [quote for quote in related if quote not in joined])


def lead_quote(index: Index, quote: Quote) -> Quote:
    """quote cut to start at its answering sentence, or at the sentence before it when that is short."""
    location = locate(index, quote)
    _, rows = _resolve(index, location)
    first = location.highlight
    if first > location.first and rows[first - 1][2] - rows[first - 1][1] <= LEAD_CONTEXT:
        first -= 1
    cut = quote_at(index, Location(location.document, first, location.last, location.highlight))
    return replace(cut, score=quote.score)


def locate(index: Index, quote: Quote) -> Location:
    """The location of a quote taken from index."""
    doc_id = next((i for i, d in enumerate(index.documents) if d.source == quote.source), None)
    if doc_id is None:
        raise LocationError(f"{quote.source} is not indexed")
    rows = index.document_sentences(doc_id)
    starts, ends = rows[:, 1], rows[:, 2]
    first = int(np.searchsorted(starts, quote.start))
    last = int(np.searchsorted(ends, quote.end))
    highlight = int(np.searchsorted(starts, quote.highlight.start))
    return Location(index.documents[doc_id].sha256, first, last, highlight)


def quote_at(index: Index, location: Location) -> Quote:
    """The verbatim quote of a location's sentences, its highlight marked.

    Raises:
        LocationError: the document is not in index, or has no such sentences.
    """
    doc_id, rows = _resolve(index, location)
    _, start, _, paragraph = rows[location.first]
    end = rows[location.last][2]
    highlight = Highlight(int(rows[location.highlight][1]), int(rows[location.highlight][2]))
    return quote_of(index, doc_id, start, end, paragraph, 0.0, highlight)


def quotes_at(index: Index, location: Location) -> list[Quote]:
    """The location's text as one quote a paragraph, in order, so that each names its own paragraph; only
    the quote holding the highlight has one (the others' is empty, at their start).

    Raises:
        LocationError: as `quote_at`.
    """
    doc_id, rows = _resolve(index, location)
    quotes = []
    first = location.first
    for last in range(location.first, location.last + 1):
        if last < location.last and rows[last + 1][3] == rows[last][3]:
            continue  # the paragraph goes on
        start, end, paragraph = int(rows[first][1]), int(rows[last][2]), int(rows[first][3])
        held = first <= location.highlight <= last
        span = (int(rows[location.highlight][1]), int(rows[location.highlight][2])) if held else (start, start)
        quotes.append(quote_of(index, doc_id, start, end, paragraph, 0.0, Highlight(*span)))
        first = last + 1
    return quotes


def widen(index: Index, location: Location, before: int = 0, after: int = 0) -> Location:
    """The location grown by sentences before and after it, within its document.

    Raises:
        LocationError: as `quote_at`.
    """
    _, rows = _resolve(index, location)
    first = max(0, location.first - before)
    last = min(len(rows) - 1, location.last + after)
    return Location(location.document, first, last, location.highlight)


def whole_paragraph(index: Index, location: Location) -> Location:
    """The location of the whole paragraph that holds the highlight.

    Raises:
        LocationError: as `quote_at`.
    """
    _, rows = _resolve(index, location)
    paragraph = rows[location.highlight][3]
    members = np.flatnonzero(rows[:, 3] == paragraph)
    return Location(location.document, int(members[0]), int(members[-1]), location.highlight)


def group_nearby(quotes: list[Quote], max_gap: int = MAX_GAP, max_chars: int = MAX_EXCERPT) -> list[list[Quote]]:
    """Gather quotes that stand near each other in one document into excerpts.

    Each quote, best first, joins the first excerpt of its document that has a quote at most max_gap
    characters from it and stays within max_chars of quoted text; otherwise it starts an excerpt.

    Returns:
        The excerpts, each in the order its quotes stand in the text, in the order of their best quote.
    """
    groups: list[list[Quote]] = []
    for quote in quotes:
        for group in groups:
            near = any(other.source == quote.source and _gap(quote, other) <= max_gap for other in group)
            if near and sum(len(q.text) for q in group) + len(quote.text) <= max_chars:
                group.append(quote)
                group.sort(key=lambda q: q.start)
                break
        else:
            groups.append([quote])
    return groups


def touching(before: Quote, after: Quote) -> bool:
    """Whether after follows before in the text with at most a line break between them (nothing skipped)."""
    return before.source == after.source and 0 <= after.start - before.end <= 2


def suggest_terms(
    index: Index, embedder: Embedder, answer: Answer, n: int = 3, shown: Sequence[Quote] = ()
) -> list[str]:
    """Distinctive terms of the passages nearest to a question that are close to it in meaning, and not in it.

    Names (capitalised runs of up to three words) and words of four letters or more of the nearest
    passages are weighed by their cosine similarity to the question times their rarity in the index (idf,
    scaled to at most 1), so that a rare name beats a common word. Each suggestion occurs verbatim in the
    text, and no two share a stemmed word. Terms of the quotes already shown are left out: the reader sees
    them, and where one leads is mostly back to them (with passages as long as a short text's paragraphs,
    9 of 10 off-topic questions tried on the bundled article were left with no term that led elsewhere).
    """
    query, _ = clean_question(answer.question)
    asked = set(tokenize(query))
    seen = {stem for quote in shown for stem in tokenize(quote.text)}
    unshown = [quote for quote in answer.passages
               if not any(other.source == quote.source and _gap(quote, other) < 0 for other in shown)]
    candidates: dict[str, str] = {}  # stemmed key -> the term as written
    for quote in unshown[:TERM_PASSAGES]:
        for match in [*_NAME.finditer(quote.text), *_WORD.finditer(quote.text)]:
            term = match.group().strip("'’-")
            stems = set(tokenize(term))
            if stems and not asked & stems and not stems <= seen:
                candidates.setdefault(" ".join(sorted(stems)), term)
    if not candidates:
        return []
    terms = list(candidates.values())
    stems = sorted({stem for term in terms for stem in tokenize(term)})
    idf = index.lexical.idf(stems)
    rarity = dict(zip(stems, idf / max(float(idf.max()), 1e-9)))
    weight = np.array([max(rarity[stem] for stem in tokenize(term)) for term in terms])
    # Only the rarest candidates are worth the model's time: embedding is most of this function's cost.
    rarest = np.argsort(-weight, kind="stable")[:MAX_TERM_CANDIDATES]
    terms, weight = [terms[i] for i in rarest], weight[rarest]
    vectors = embedder.encode([query, *terms], query=True)
    closeness = (vectors[1:] @ vectors[0]) * weight
    chosen: list[str] = []
    used: set[str] = set()
    for row in np.argsort(-closeness, kind="stable"):
        term_stems = set(tokenize(terms[row]))
        if term_stems & used:
            continue
        chosen.append(terms[row])
        used |= term_stems
        if len(chosen) == n:
            break
    return chosen


def _gap(a: Quote, b: Quote) -> int:
    """Characters between two quotes of one document (negative when they overlap)."""
    return max(a.start, b.start) - min(a.end, b.end)


def _resolve(index: Index, location: Location) -> tuple[int, np.ndarray]:
    """The document id and sentence rows of a location, checked."""
    doc_id = next((i for i, d in enumerate(index.documents) if d.sha256.startswith(location.document)), None)
    if doc_id is None or not location.document:
        raise LocationError("that text is no longer indexed")
    rows = index.document_sentences(doc_id)
    if not 0 <= location.first <= location.highlight <= location.last < len(rows):
        raise LocationError("those sentences are not in the text")
    return doc_id, rows
