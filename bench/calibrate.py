"""Calibrate abstention: where answerable and off-topic questions fall in similarity and confidence.

Answerable: each question asked of its own document. Off-topic: each SQuAD question asked of the next
document in the file (unanswerable by construction, and hard: it shares words with the text), plus the
questions marked unanswerable. For a few coverage weights, prints how often each kind would be abstained
on at each threshold (confidence = best sentence cosine + weight * coverage of the answering sentence).

    .venv/bin/python bench/calibrate.py [QA.jsonl ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bot.config import load_settings
from embeddings.encoder import load_embedder
from embeddings.evaluate import index_record, read_qa_file
from embeddings.retrieval import RetrievalSettings, answer_question

DATA = Path(__file__).parent / "data"


def measure(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(similarity, coverage) rows for answerable and for off-topic questions."""
    config = load_settings()  # the backend and cache of the user's settings (default: onnx)
    embedder = load_embedder(config.model, config.backend, config.cache_dir)
    settings = config.index_settings()
    answerable, off_topic = [], []
    for path in paths:
        records = list(read_qa_file(path))
        indexes = [index_record(record, embedder, settings) for record in records]
        for i, record in enumerate(records):
            for question in record["questions"]:
                own = answer_question(indexes[i], embedder, question["q"])
                (answerable if question["answers"] else off_topic).append((own.similarity, own.coverage))
                if len(records) > 1 and question["answers"]:
                    other = answer_question(indexes[(i + 1) % len(records)], embedder, question["q"])
                    off_topic.append((other.similarity, other.coverage))
    return np.array(answerable), np.array(off_topic)


def main(paths: list[Path]) -> None:
    answerable, off_topic = measure(paths)
    chosen = RetrievalSettings()
    print(f"{len(answerable)} answerable and {len(off_topic)} off-topic questions; "
          f"citebot uses weight {chosen.coverage_weight} and threshold {chosen.min_confidence}")
    for weight in (0.0, 0.2, 0.3):
        yes = answerable[:, 0] + weight * answerable[:, 1]
        no = off_topic[:, 0] + weight * off_topic[:, 1]
        print(f"\ncoverage weight {weight}: lowest answerable confidence {yes.min():.3f}")
        print("threshold  abstains on answerable  abstains on off-topic")
        for threshold in np.arange(0.25, 0.551, 0.05):
            print(f"{threshold:9.2f}  {np.mean(yes < threshold):22.3f}  {np.mean(no < threshold):21.3f}")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or [DATA / "article_dev.jsonl", DATA / "squad_dev_20x30.jsonl"])
