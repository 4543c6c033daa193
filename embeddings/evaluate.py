"""Score retrieval on a QA file: one document a line with its questions and accepted answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from embeddings.encoder import Embedder
from embeddings.errors import EvalFileError
from embeddings.excerpts import present
from embeddings.reranker import Reranker
from embeddings.retrieval import Answer, RetrievalSettings, Verdict, answer_question
from embeddings.store import Document, Index, IndexSettings, build_index, sha256_text
from embeddings.text import count_words

K = 5
LEAD_CHARS = 150
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})


@dataclass(frozen=True)
class EvalReport:
    """Retrieval quality over a QA file; rates are fractions of the questions they count."""

    documents: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr_at_5: float
    highlight_hit_at_1: float
    mean_passage_words: float
    abstained_answerable: float
    abstained_unanswerable: float
    verbatim_errors: int
    # Shown hedged (Verdict.UNCERTAIN): the quote, not marked as the answer. "Abstained" is Verdict.NOT_IN_TEXT.
    hedged_answerable: float = 0.0
    hedged_unanswerable: float = 0.0
    # What a reader sees (Engine.present, k = 3): the share of answers whose best sentence starts within
    # the first LEAD_CHARS characters of the quote shown, and the sentences emphasised per answer.
    answer_leads: float = 0.0
    emphasised_per_answer: float = 0.0


def normalize(text: str) -> str:
    """Fold case, curly quotes and white space, as the QA files' answers are compared."""
    return re.sub(r"\s+", " ", text.translate(_QUOTES).casefold()).strip()


def read_qa_file(path: Path) -> Iterator[dict]:
    """Yield the documents of a QA file, checked for the fields evaluation needs.

    Raises:
        EvalFileError: the file cannot be read, is not UTF-8, holds a line that is not a QA record, or none.
    """
    found = False
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    record["text"], record["questions"]
                    if not all(isinstance(q["q"], str) and isinstance(q["answers"], list)
                               for q in record["questions"]):
                        raise TypeError("each question needs a string q and a list of answers")
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise EvalFileError(f"{path}:{number}: not a QA record ({error})") from error
                found = True
                yield record
    except OSError as error:
        raise EvalFileError(f"{path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise EvalFileError(f"{path}: is not UTF-8 ({error.reason})") from error
    if not found:
        raise EvalFileError(f"{path}: holds no QA records (JSON lines: doc_id, text, questions with q and answers)")


def index_record(record: dict, embedder: Embedder, settings: IndexSettings) -> Index:
    """Index the text of one QA record on its own, in memory, named by its doc_id."""
    text = record["text"]
    return build_index([Document(str(record.get("doc_id", "")), sha256_text(text), text)], embedder, settings)


def evaluate(
    path: Path,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings | None = None,
    on_result: Callable[[dict], None] = lambda result: None,
    reranker: Reranker | None = None,
    through: Callable[[Index], Index] | None = None,
) -> EvalReport:
    """Index each document of path on its own, ask its questions and score the answers.

    Args:
        path: the QA file (JSON lines: doc_id, text, questions with q and answers).
        embedder: the embedding model.
        index_settings: chunking settings for the per-document indexes.
        retrieval: scoring settings (default: index_settings.model's own).
        on_result: called with each question's result, the answer's JSON plus doc_id, q and hit_rank.
        through: stores each document's index and gives it back as read from the store (Milvus), so that
            the figures are the store's; by default the in-memory FAISS index is asked.
    """
    retrieval = retrieval or RetrievalSettings.for_model(index_settings.model)
    ranks, highlight_hits, words, leads, emphasised = [], [], [], [], []
    verdicts: dict[bool, list[Verdict]] = {True: [], False: []}  # by whether the question has an answer
    documents = verbatim_errors = 0
    for record in read_qa_file(path):
        documents += 1
        text = record["text"]
        index = index_record(record, embedder, index_settings)
        if through is not None:
            index = through(index)
        for question in record["questions"]:
            answer = answer_question(index, embedder, question["q"], K, retrieval, reranker)
            answers = [normalize(a) for a in question["answers"]]
            rank = hit_rank([p.text for p in answer.passages], answers)
            verbatim_errors += sum(text[p.start : p.end] != p.text for p in answer.passages)
            shown = present(index, answer, 3)
            if shown.lead:
                leads.append(shown.emphasis.start - shown.lead[0].start <= LEAD_CHARS)
                emphasised.append(sum(q.highlight == shown.emphasis for q in shown.lead[:1]))
            words.extend(count_words(p.text) for p in answer.passages)
            if answers:
                ranks.append(rank)
                highlight_hits.append(bool(answer.passages) and _highlight_hit(text, answer, answers))
            verdicts[bool(answers)].append(answer.verdict)
            on_result({"doc_id": record.get("doc_id"), "q": question["q"], **answer.to_dict(), "hit_rank": rank})
    return EvalReport(
        documents=documents,
        answerable=len(ranks),
        unanswerable=len(verdicts[False]),
        hit_at_1=_mean([r == 1 for r in ranks]),
        hit_at_3=_mean([r is not None and r <= 3 for r in ranks]),
        hit_at_5=_mean([r is not None for r in ranks]),
        mrr_at_5=_mean([1 / r if r else 0.0 for r in ranks]),
        highlight_hit_at_1=_mean(highlight_hits),
        mean_passage_words=_mean(words),
        abstained_answerable=_mean([v is Verdict.NOT_IN_TEXT for v in verdicts[True]]),
        abstained_unanswerable=_mean([v is Verdict.NOT_IN_TEXT for v in verdicts[False]]),
        verbatim_errors=verbatim_errors,
        hedged_answerable=_mean([v is Verdict.UNCERTAIN for v in verdicts[True]]),
        hedged_unanswerable=_mean([v is Verdict.UNCERTAIN for v in verdicts[False]]),
        answer_leads=_mean(leads),
        emphasised_per_answer=_mean(emphasised),
    )


def hit_rank(passages: list[str], answers: list[str]) -> int | None:
    """The 1-based rank of the first passage holding one of the answers (already normalised), else None."""
    for rank, text in enumerate(passages, start=1):
        if any(a in normalize(text) for a in answers):
            return rank
    return None


def _highlight_hit(text: str, answer: Answer, answers: list[str]) -> bool:
    span = answer.passages[0].highlight
    return any(a in normalize(text[span.start : span.end]) for a in answers)


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else 0.0
