"""Calibrate the abstention threshold (the best sentence's cosine) on the dev sets.

Answerable: each question asked of its own document. Unanswerable: each SQuAD question asked of the
next document in the file (off-topic by construction), plus the questions marked unanswerable.
Prints both distributions and, for candidate thresholds, how often each kind would be abstained on.

    .venv/bin/python bench/calibrate.py [QA.jsonl ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from embeddings.encoder import DEFAULT_MODEL, load_embedder
from embeddings.evaluate import read_qa_file
from embeddings.retrieval import answer_question
from embeddings.store import Document, IndexSettings, build_index, sha256_text

DATA = Path(__file__).parent / "data"


def main(paths: list[Path]) -> None:
    embedder = load_embedder(DEFAULT_MODEL)
    settings = IndexSettings(DEFAULT_MODEL, 80)
    answerable, unanswerable = [], []
    for path in paths:
        records = list(read_qa_file(path))
        indexes = [build_index([Document(r["doc_id"], sha256_text(r["text"]), r["text"])], embedder, settings) for r in records]
        for i, record in enumerate(records):
            for question in record["questions"]:
                own = answer_question(indexes[i], embedder, question["q"]).similarity
                (answerable if question["answers"] else unanswerable).append(own)
                if len(records) > 1 and question["answers"]:
                    other = indexes[(i + 1) % len(records)]
                    unanswerable.append(answer_question(other, embedder, question["q"]).similarity)
    answerable, unanswerable = np.array(answerable), np.array(unanswerable)
    for name, values in (("answerable", answerable), ("unanswerable", unanswerable)):
        q = np.percentile(values, [1, 5, 25, 50, 75, 95, 99])
        print(f"{name:13s} n={len(values):4d} percentiles 1/5/25/50/75/95/99: " + " ".join(f"{v:.3f}" for v in q))
    print("threshold  abstains on answerable  abstains on unanswerable")
    for threshold in np.arange(0.10, 0.41, 0.025):
        print(f"{threshold:9.3f}  {np.mean(answerable < threshold):22.3f}  {np.mean(unanswerable < threshold):24.3f}")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or [DATA / "article_dev.jsonl", DATA / "squad_dev_20x30.jsonl"])
