"""Answer a question from an index by quoting its passages verbatim."""

from __future__ import annotations

import heapq
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from embeddings.encoder import E5_MODEL, Embedder
from embeddings.errors import EmptyQuestionError
from embeddings.languages import looks_english, writing
from embeddings.lexical import tokenize
from embeddings.readers import display_name
from embeddings.reranker import Reranker
from embeddings.store import Index
from embeddings.structure import WORD_SEARCH_HEADINGS, visible
from embeddings.verdicts import Verdict, decide, on_the_scale_of

MAX_QUESTION_CHARS = 1000
# "What does the text say about X?" names the document, not what is asked: its words would count against
# every sentence about X (the reranker reads "say" and "text" as part of the question), so it is searched
# as "What about X?".
_ABOUT_THE_TEXT = re.compile(
    r"^(what|how)\s+(does|do|did)\s+(the|this|your)\s+(text|article|document|file|page|story|author)\s+"
    r"(say|tell( us| me)?|mention|write|report)\s+(about|of|on)\s+",
    re.IGNORECASE,
)
# A question about the whole text ("what is this article about?", "summarise the document") has no
# sentence that answers it: a text's opening says what it is about, so that is what is quoted.
_THE_TEXT = r"(the|this|these|that|your)\s+(texts?|articles?|documents?|files?|pages?|stor(y|ies)|posts?|pieces?)"
_OF_IT = rf"(\s+(of|in)\s+({_THE_TEXT}|it|this))?"
_OVERVIEW = re.compile(
    r"(please,?\s+)?("
    + "|".join([
        rf"(what(['’]s|\s+is|\s+are)?|whats)\s+({_THE_TEXT}|it|this)\s+(about|on)",
        rf"what\s+(does|do)\s+{_THE_TEXT}\s+(say|tell( us| me)?|cover)",
        rf"(summari[sz]e|sum\s+up|explain)(\s+({_THE_TEXT}|it|this))?|sum\s+(it|this)\s+up",
        rf"((can\s+you\s+)?give\s+me\s+)?(a|the)\s+(short\s+)?(summary|gist|overview){_OF_IT}",
        rf"what(['’]s|\s+is|\s+are)\s+the\s+(main\s+|key\s+)?(points?|ideas?|takeaways?|topics?|subjects?|themes?)"
        rf"{_OF_IT}",
        r"tl;?\s*dr",
    ])
    + r")(,?\s+please)?",
    re.IGNORECASE,
)
OPENING_NOTE = "asked about the whole text, so its opening is quoted"
# The reranker reads the sentences of this many of the best candidate passages, at most RERANK_SENTENCES:
# the best by the fused score, and the best by meaning alone when the fused score ranks it lower (words
# the question does not share, as "weigh" and "Weight: 820 g", otherwise keep it from the reranker).
RERANK_PASSAGES = 5
RERANK_SENTENCES = 10
# First-stage confidence is a cosine, and each model has its own scale: multilingual-e5-small's cosines of
# unrelated texts sit near 0.8. Below 0.795 is "not in the text": the highest line at which none of the 412
# answerable questions of bench/data/squad2_calibration (as written and reworded) is abstained on, the rule
# MiniLM's 0.40 was chosen by (make calibrate fits it for the model in use; it gave 0.80 until the models ran
# without onnxruntime's SkipLayerNormalization rewrite, embeddings/runtime.py). 0.78, read off
# squad_dev_20x30 before, abstained on fewer English questions the text does not answer (of the calibration
# questions asked of another article 82% instead of 87%, of SQuAD 2.0 dev's unanswerable ones 0.5% instead
# of 1.3%) and on no answerable dev question fewer. Below 0.82 is hedged (that matters only without the
# reranker, which judges English questions by its logit). A question about a sentence in another language
# is held to 0.745 and 0.785 (across_languages lowers both lines). Chinese runs higher: on ten questions and
# ten sentences written for it (bench/data/languages_probe.json), e5 put Chinese questions 0.046 closer to
# the sentences that answer them than English ones (median), and 0.076 closer to the best of the sentences
# that do not (Japanese 0.021 and 0.029, Russian 0.019 and 0.033).
MODEL_CONFIDENCE = {E5_MODEL: {"min_confidence": 0.795, "hedge_confidence": 0.82,
                               "across_languages": (0.05, 0.035), "raised_for": (("chinese", 0.04),)}}

# How many of the sentences nearest a question are looked at for one in its own language.
NEAR_OWN = 50
# Corpora up to this many passages are scored whole; larger ones first take candidates from each side.
CANDIDATES = 512
# Nearest sentences asked of FAISS for a large corpus (HNSW explores at least this many).
DENSE_CANDIDATES = 128


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are scored and when the text is judged not to hold the answer.

    Attributes:
        dense_weight: weight of the z-scored best-sentence cosine in the fused score.
        lexical_weight: weight of the z-scored BM25 score in the fused score.
        highlight_lexical_weight: weight of query-term coverage beside cosine when picking the sentence.
        coverage_weight: weight of the answering sentence's query-term coverage in the confidence.
        min_confidence: without the reranker, below this confidence (best sentence cosine +
            coverage_weight * coverage of the answering sentence) the question is taken as not answered.
            Calibrated by bench/calibrate.py with all-MiniLM-L6-v2: at 0.40 none of 610 answerable dev
            questions abstain, and 92.2% of 603 questions asked of an unrelated article do.
        rerank: reorder the best candidates by the cross-encoder (embeddings/reranker.py) and pick the
            highlight with it; off, answering is the fused first stage alone (fastest).
        rerank_fused_weight: weight of the first stage's fused score beside the reranker's logit.
        rerank_logit_weight, rerank_neutral_logit: with the reranker, the confidence also moves by
            rerank_logit_weight for each unit the reranker's logit for the answering sentence stands above or
            below rerank_neutral_logit, so that min_confidence keeps its meaning on either path. Closeness
            of words and meaning and the reranker's judgement each fail on their own kind of question
            (make calibrate prints the table these were chosen from).
        related_margin, rerank_related_margin: passages scoring within this of the best are relevant in
            their own right (fused and reranked scores have different scales).
        hedge_logit, abstain_logit: with the reranker, an answering sentence whose logit is below
            hedge_logit is shown hedged (Verdict.UNCERTAIN), below abstain_logit not at all
            (Verdict.NOT_IN_TEXT). The reranker learnt "no answer" from SQuAD 2.0 (make calibrate prints
            the table these come from).
        hedge_confidence: without the reranker, a confidence from min_confidence up to this is hedged.
        across_languages: how much lower min_confidence and hedge_confidence are for a question in one
            language about a sentence in another (embeddings.languages.writing): e5 puts such pairs about
            0.06 lower than pairs in one language, answerable or not. Measured on 42 SQuAD questions of
            bench/data/squad2_calibration put into Russian, French, Japanese and Arabic, each also asked of
            the next text: answerable ones' best cosines have their 1st percentile at 0.766 and 3rd at
            0.776, the unrelated ones their 90th at 0.797; e5's lines there are 0.745 and 0.785.
        raised_for: (writing, by) pairs: a question and sentence both written so have both thresholds raised
            by by (the model's cosines run higher in that language).
    """

    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    highlight_lexical_weight: float = 1.0
    coverage_weight: float = 0.2
    min_confidence: float = 0.40
    rerank: bool = True
    rerank_fused_weight: float = 0.5
    rerank_logit_weight: float = 0.05
    rerank_neutral_logit: float = -2.0
    related_margin: float = 1.0
    rerank_related_margin: float = 2.0
    hedge_logit: float = -4.0
    abstain_logit: float = -99.0
    hedge_confidence: float = 0.45
    across_languages: tuple[float, float] = (0.0, 0.0)
    raised_for: tuple[tuple[str, float], ...] = ()

    @classmethod
    def for_model(cls, model: str, min_confidence: float | None = None, rerank: bool = True) -> RetrievalSettings:
        """The settings for an index of model: its own cosine scale sets where "not in the text" begins
        (min_confidence, when given, overrides it)."""
        own = MODEL_CONFIDENCE.get(model, {})
        low = own.get("min_confidence", cls.min_confidence) if min_confidence is None else min_confidence
        hedge = max(own.get("hedge_confidence", cls.hedge_confidence), low)
        return cls(min_confidence=low, hedge_confidence=hedge, rerank=rerank,
                   across_languages=own.get("across_languages", (0.0, 0.0)), raised_for=own.get("raised_for", ()))

    def lowered(self, by: float, hedge_by: float | None = None) -> RetrievalSettings:
        """These settings with min_confidence lowered by by, and hedge_confidence by hedge_by (by if None)."""
        return replace(self, min_confidence=self.min_confidence - by,
                       hedge_confidence=self.hedge_confidence - (by if hedge_by is None else hedge_by))


@dataclass(frozen=True)
class Highlight:
    """The answering sentence(s): a [start, end) span of the document, inside its passage."""

    start: int
    end: int


@dataclass(frozen=True)
class Quote:
    """A passage quoted verbatim: text == document[start:end].

    section names the headings it stands under ("Banana bread › Method", "" for none), and a table row's
    column names after them (embeddings.structure.Unit.section); format is its
    document's ("markdown": show its text through embeddings.visible, which drops inline markup); page
    is where it starts in a PDF.
    """

    text: str
    start: int
    end: int
    paragraph: int
    score: float
    highlight: Highlight
    source: str
    section: str = ""
    format: str = "text"
    page: int = 0  # the page it starts on, in a paged source (a PDF); 0 otherwise

    def shown(self, text: str) -> str:
        """text, a slice of this quote, as a reader sees it: without Markdown's inline markup."""
        return visible(text) if self.format == "markdown" else text


def quote_of(
    index: Index, doc_id: int, start: int, end: int, paragraph: int, score: float, highlight: Highlight
) -> Quote:
    """The quote of document doc_id's text[start:end], in unit number paragraph."""
    document = index.documents[int(doc_id)]
    start, end, paragraph = int(start), int(end), int(paragraph)
    section = index.layout(int(doc_id)).section(paragraph)
    return Quote(document.text[start:end], start, end, paragraph, score, highlight, document.source, section,
                 document.format, document.page(start))


@dataclass(frozen=True)
class Answer:
    """The passages that answer a question, best first, or the nearest ones when answered is False.

    verdict says how they are to be shown: as the answer (answered is True only then), hedged, or as the
    nearest passages of a text that does not hold the answer. similarity is the best sentence's cosine,
    coverage the idf-weighted share of the question's terms in the top passage's answering sentence,
    confidence their weighted sum (with the reranker, moved by its logit for that sentence). absent names
    the question's names and numbers that no indexed text holds. vector is the question's embedding, for
    comparing questions with each other.
    """

    question: str
    answered: bool
    passages: list[Quote]
    similarity: float = 0.0
    coverage: float = 0.0
    confidence: float = 0.0
    notes: list[str] = field(default_factory=list)
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    # Passages scoring within this of the best are relevant in their own right (scores' scale differs by scorer).
    related_margin: float = field(default=1.0, compare=False, repr=False)
    threshold: float = field(default=0.0, compare=False, repr=False)
    # The question as searched: control and bidi characters gone, white space folded, cut to 1,000 characters.
    query: str = field(default="", compare=False, repr=False)
    # The reranker's logit for the answering sentence (None when answering without it).
    rerank_logit: float | None = field(default=None, compare=False, repr=False)
    verdict: Verdict | None = None
    absent: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict is None:  # an answer made without a verdict is as answered says
            object.__setattr__(self, "verdict", Verdict.ANSWERED if self.answered else Verdict.NOT_IN_TEXT)
        elif self.answered != (self.verdict is Verdict.ANSWERED):
            raise ValueError(f"answered={self.answered} disagrees with verdict {self.verdict}")

    def related(self) -> list[Quote]:
        """The passages after the best that answer nearly as well, best first; none when not answered."""
        if not self.answered or not self.passages:
            return []
        floor = self.passages[0].score - self.related_margin
        return [quote for quote in self.passages[1:] if quote.score >= floor]

    def to_dict(self) -> dict:
        """The JSON contract: question, verdict, answered (verdict is "answered"), confidence and passages."""
        return {"question": self.question, "verdict": str(self.verdict), "answered": self.answered,
                "confidence": round(self.confidence, 4), "passages": [asdict(q) for q in self.passages]}


def clean_question(question: str) -> tuple[str, list[str]]:
    """Normalise a question and cut it to MAX_QUESTION_CHARS.

    Returns:
        The question to search for and notes on what was changed.

    Raises:
        EmptyQuestionError: nothing to search for.
    """
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in question)
    text = _ABOUT_THE_TEXT.sub("What about ", " ".join(text.split()))
    if not any(c.isalnum() for c in text):
        raise EmptyQuestionError("the question is empty: ask something about the text")
    notes = []
    if len(text) > MAX_QUESTION_CHARS:
        text = text[:MAX_QUESTION_CHARS]
        notes.append(f"the question was cut to its first {MAX_QUESTION_CHARS} characters")
        # What is kept is what is searched and asked again by "next match": it must hold a word itself.
        if not any(c.isalnum() for c in text):
            raise EmptyQuestionError(f"the question's first {MAX_QUESTION_CHARS} characters hold no words: "
                                     "ask something about the text")
    return text, notes


def answer_question(
    index: Index,
    embedder: Embedder,
    question: str,
    k: int = 3,
    settings: RetrievalSettings = RetrievalSettings(),
    reranker: Reranker | None = None,
) -> Answer:
    """Quote the k passages of index that best answer question.

    Args:
        index: the index to search.
        embedder: the model the index was built with.
        question: the question as the user typed it.
        k: how many passages to return at most.
        settings: scoring weights and the abstention threshold.
        reranker: the cross-encoder that reorders the best candidates when settings.rerank is on.

    Raises:
        EmptyQuestionError: the question has nothing to search for.
    """
    query, notes = clean_question(question)
    if len(index.passages) == 0:
        return Answer(question, False, [], notes=notes + ["the index holds no text"], query=query)
    query_vector = embedder.encode([query], query=True)[0]
    if _OVERVIEW.fullmatch(query.strip(" ?!.")):
        return _openings(index, question, query, notes, query_vector, k, settings)
    query_terms = sorted(set(tokenize(query)))
    lexical = index.lexical.scores(query)
    pool = _candidates(index, query_vector, lexical)
    passages = index.passages[pool]
    # Each passage's sentences, one run after another; a passage's dense score is its best sentence's.
    members, starts = _spans(passages[:, 4], passages[:, 5] + 1)
    ids, inverse = np.unique(members, return_inverse=True)
    cosines = index.vectors.reconstruct_batch(ids) @ query_vector
    dense = np.maximum.reduceat(cosines[inverse], starts) if len(members) else np.zeros(0)
    sentence_cosine = dict(zip(ids.tolist(), cosines.tolist()))
    fused = settings.dense_weight * _zscore(dense) + settings.lexical_weight * _zscore(lexical[pool])
    # The reranker read English only: another language's question, or a question about a text in another
    # language, is answered from the first stage (XQuAD Russian hit@1 0.856 reranked, 0.894 not).
    english = looks_english(query)
    reranking = (settings.rerank and reranker is not None and english
                 and _reads_english(index, passages[np.argmax(fused)]))
    logits: dict[int, float] = {}
    scores = fused
    if reranking:
        logits = _rerank(index, reranker, query, passages, fused, dense)
        # A passage's best logit, as its dense score above: sentences the reranker did not read rank lowest.
        read = np.full(len(ids), min(logits.values()) - 1.0)
        read[np.searchsorted(ids, list(logits))] = list(logits.values())
        scores = np.maximum.reduceat(read[inverse], starts) + settings.rerank_fused_weight * fused
    term_idf = index.lexical.idf(query_terms)
    picked: list[tuple[int, int, float]] = []  # (first sentence, last sentence, score)
    for row in np.argsort(-scores, kind="stable"):
        *_, first, last = passages[row]
        if any(first <= shown_last and shown_first <= last for shown_first, shown_last, _ in picked):
            continue  # overlaps a better passage: its text is already shown
        picked.append((int(first), int(last), float(scores[row])))
        if len(picked) == k:
            break
    quoted = [
        _quote(index, first, last, score, sentence_cosine, logits, query_terms, term_idf, settings)
        for first, last, score in picked
    ]
    quotes = [quote for quote, *_ in quoted]
    similarity = float(max(sentence_cosine.values()))
    _, coverage, highlight_row = quoted[0]
    confidence = float(similarity + settings.coverage_weight * coverage)
    logit = None
    margin = settings.related_margin
    if reranking:
        logit = float(logits.get(highlight_row, min(logits.values())))
        confidence += settings.rerank_logit_weight * (logit - settings.rerank_neutral_logit)
        margin = settings.rerank_related_margin
    # The question's language and that of the sentence that gave similarity, on whose scale the thresholds are.
    asked = writing(query)
    answering = writing(_shown(index, index.sentences[max(sentence_cosine, key=sentence_cosine.__getitem__)]))
    settings = on_the_scale_of(settings, asked, answering)
    places = [f"{quote.section} {display_name(quote.source)}" for quote in quotes]
    verdict, absent = decide(index, query, query_terms, asked, answering, similarity, confidence, logit,
                             settings, lambda: _near_own(index, sentence_cosine, asked), places)
    return Answer(question, verdict is Verdict.ANSWERED, quotes, similarity, coverage, confidence, notes,
                  query_vector, margin, settings.min_confidence, query, logit, verdict, absent)


def _near_own(index: Index, sentence_cosine: dict[int, float], asked: str) -> bool:
    """Whether a sentence written as asked is among the NEAR_OWN sentences nearest the question."""
    nearest = heapq.nlargest(NEAR_OWN, sentence_cosine, key=sentence_cosine.__getitem__)
    return any(writing(_shown(index, index.sentences[row])) == asked for row in nearest)


def _reads_english(index: Index, passage: np.ndarray) -> bool:
    """Whether a passage (a row of index.passages) reads as English."""
    return looks_english(_shown(index, passage))


def _shown(index: Index, row: np.ndarray) -> str:
    """The text of a span (a row of index.passages or index.sentences) as a reader sees it: a Markdown
    link's words without its address, which would otherwise read as English."""
    doc, start, end = (int(v) for v in row[:3])
    return index.layout(doc).shown(index.documents[doc].text[start:end])


def _openings(
    index: Index, question: str, query: str, notes: list[str], query_vector: np.ndarray, k: int,
    settings: RetrievalSettings,
) -> Answer:
    """The first passage of each of the first k documents, its first sentence emphasised."""
    _, firsts = np.unique(index.passages[:, 0], return_index=True)
    quotes = []
    for row in firsts[:k]:  # documents in index order
        doc, start, end, paragraph, first, _ = index.passages[row]
        highlight = Highlight(int(index.sentences[first][1]), int(index.sentences[first][2]))
        quotes.append(quote_of(index, doc, start, end, paragraph, 0.0, highlight))
    return Answer(question, True, quotes, notes=notes + [OPENING_NOTE], vector=query_vector,
                  threshold=settings.min_confidence, query=query)


def _rerank(
    index: Index, reranker: Reranker, query: str, passages: np.ndarray, fused: np.ndarray, dense: np.ndarray
) -> dict[int, float]:
    """The reranker's logit for each sentence of the best candidates, by sentence row.

    Only the sentences of RERANK_PASSAGES passages are read, at most RERANK_SENTENCES of them (the cost
    grows with every pair scored): the best by the fused score, with the best by cosine in place of the
    fifth when it is not among them.
    """
    rows = [int(r) for r in np.argsort(-fused, kind="stable")[:RERANK_PASSAGES]]
    nearest = int(np.argmax(dense))
    if nearest not in rows:
        rows = rows[: RERANK_PASSAGES - 2] + [nearest] + rows[RERANK_PASSAGES - 2 :]
    chosen: list[int] = []
    for row in rows[:RERANK_PASSAGES]:
        *_, first, last = passages[row]
        chosen += [s for s in range(int(first), int(last) + 1) if s not in chosen]
    chosen = chosen[:RERANK_SENTENCES]
    texts = [index.search_text(*row) for row in index.sentences[chosen]]
    return dict(zip(chosen, reranker.score(query, texts).tolist()))


def _candidates(index: Index, query_vector: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """Passage rows worth scoring: those holding the nearest sentences and the best BM25 ones."""
    n_passages = len(index.passages)
    if n_passages <= CANDIDATES:
        return np.arange(n_passages)
    _, nearest = index.vectors.search(query_vector.reshape(1, -1), min(DENSE_CANDIDATES, index.vectors.ntotal))
    nearest = nearest[0][nearest[0] >= 0]
    # Passages are sorted by first sentence and by last (each window reaches at least as far as the one
    # before), so the passages holding sentence s are the rows from the first ending at or after s to
    # the last starting at or before it.
    lo = np.searchsorted(index.passages[:, 5], nearest, side="left")
    hi = np.searchsorted(index.passages[:, 4], nearest, side="right")
    holding, _ = _spans(lo, np.maximum(hi, lo))
    best_lexical = np.argpartition(-lexical, CANDIDATES - 1)[:CANDIDATES]
    return np.union1d(holding, best_lexical)


def _spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integers of every [start, end) run, concatenated, and where each run begins in the result."""
    lengths = np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else np.zeros(0, np.int64)
    steps = np.arange(lengths.sum()) - np.repeat(offsets, lengths)
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + steps, offsets


def _zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values, dtype=np.float64)


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """The terms word search reads in a sentence, kept for the next question: the same passages come up
    again and again, and tokenizing their sentences took 0.2 to 0.3 ms of each question's 10."""
    return frozenset(tokenize(text))


def _quote(
    index: Index,
    first: int,
    last: int,
    score: float,
    sentence_cosine: dict[int, float],
    logits: dict[int, float],
    query_terms: list[str],
    term_idf: np.ndarray,
    settings: RetrievalSettings,
) -> tuple[Quote, float, int]:
    """The quote of sentences first..last, the share of the question's terms its highlight holds, and the
    highlighted sentence's row."""
    doc, start, _, paragraph = index.sentences[first]
    end = index.sentences[last][2]
    total_idf = term_idf.sum()

    coverage = {}
    for s in range(first, last + 1):
        terms = _terms(index.search_text(*index.sentences[s], WORD_SEARCH_HEADINGS))
        held = sum(w for t, w in zip(query_terms, term_idf) if t in terms)
        coverage[s] = float(held / total_idf) if total_idf else 0.0
    read = [s for s in coverage if s in logits]
    if read:  # the reranker read these sentences: it knows best which one answers
        best = max(read, key=logits.__getitem__)
    else:
        best = max(coverage, key=lambda s: sentence_cosine[s] + settings.highlight_lexical_weight * coverage[s])
    highlight = Highlight(int(index.sentences[best][1]), int(index.sentences[best][2]))
    return quote_of(index, doc, start, end, paragraph, round(score, 4), highlight), coverage[best], best
