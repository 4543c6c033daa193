"""Calibrate abstention: where answerable and off-topic questions fall in the scores that decide it.

Answerable: each question asked of its own document. Cross-article: each question asked of the next
document in its file (unanswerable by construction, and hard: same kind of text). Off-topic: questions
marked unanswerable (chat_dev's are related-sounding). Prints, for each way of scoring, how often each kind
would be abstained on at each threshold, so a threshold can be read off the table.

    make calibrate      (or: .venv/bin/python bench/calibrate.py [QA.jsonl ...])
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bot.config import load_settings
from embeddings.encoder import load_embedder
from embeddings.evaluate import index_record, read_qa_file
from embeddings.reranker import load_reranker
from embeddings.retrieval import RetrievalSettings, answer_question

DATA = Path(__file__).parent / "data"
KINDS = ("answerable", "cross-article", "off-topic")


def measure(paths: list[Path], settings: RetrievalSettings) -> dict[str, dict[str, np.ndarray]]:
    """For each file and each kind of question, rows of (confidence, similarity, coverage)."""
    config = load_settings()  # the backend and cache of the user's settings (default: onnx)
    embedder = load_embedder(config.model, config.backend, config.cache_dir)
    reranker = load_reranker() if settings.rerank else None
    found = {}
    for path in paths:
        rows: dict[str, list] = {kind: [] for kind in KINDS}
        records = list(read_qa_file(path))
        indexes = [index_record(record, embedder, config.index_settings()) for record in records]
        for i, record in enumerate(records):
            for question in record["questions"]:
                own = answer_question(indexes[i], embedder, question["q"], 3, settings, reranker)
                rows["answerable" if question["answers"] else "off-topic"].append(
                    (own.confidence, own.similarity, own.coverage)
                )
                if len(records) > 1 and question["answers"]:
                    other = answer_question(indexes[(i + 1) % len(records)], embedder, question["q"], 3, settings,
                                            reranker)
                    rows["cross-article"].append((other.confidence, other.similarity, other.coverage))
        found[path.name] = {kind: np.array(r).reshape(-1, 3) for kind, r in rows.items()}
    return found


def table(found: dict[str, dict[str, np.ndarray]], score, thresholds) -> None:
    header = "threshold  " + "  ".join(f"{f[:14]:>14s} {k[:5]:>5s}" for f in found for k in KINDS if len(found[f][k]))
    print(header)
    for threshold in thresholds:
        cells = [f"{np.mean(score(found[f][k]) < threshold):20.3f}" for f in found for k in KINDS if len(found[f][k])]
        print(f"{threshold:9.2f}  " + "".join(cells))


def main(paths: list[Path]) -> None:
    chosen = RetrievalSettings()
    print("Share of each kind of question that would be abstained on (the answerable should be ~0).\n")
    print("With the reranker: confidence = the answering sentence's logit; "
          f"citebot uses {chosen.min_rerank_confidence}")
    reranked = measure(paths, RetrievalSettings(rerank=True))
    table(reranked, lambda rows: rows[:, 0], np.arange(-4.0, 2.01, 0.5))
    print(f"\nWithout it: confidence = best cosine + {chosen.coverage_weight} x coverage; citebot uses "
          f"{chosen.min_confidence}")
    fused = measure(paths, RetrievalSettings(rerank=False))
    table(fused, lambda rows: rows[:, 0], np.arange(0.25, 0.551, 0.05))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]]
         or [DATA / "article_dev.jsonl", DATA / "squad_dev_20x30.jsonl", DATA / "chat_dev.jsonl"])
