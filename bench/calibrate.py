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
    """For each file and each kind of question, rows of (the first stage's confidence, reranker logit or 0)."""
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
                rows["answerable" if question["answers"] else "off-topic"].append(features(own, settings))
                if len(records) > 1 and question["answers"]:
                    other = answer_question(indexes[(i + 1) % len(records)], embedder, question["q"], 3, settings,
                                            reranker)
                    rows["cross-article"].append(features(other, settings))
        found[path.name] = {kind: np.array(r).reshape(-1, 2) for kind, r in rows.items()}
    return found


def features(answer, settings: RetrievalSettings) -> tuple[float, float]:
    """The first stage's confidence (best cosine + weighted coverage) and the reranker's logit."""
    return answer.similarity + settings.coverage_weight * answer.coverage, answer.rerank_logit or 0.0


def table(found: dict[str, dict[str, np.ndarray]], abstains, settings) -> None:
    kinds = [(f, k) for f in found for k in KINDS if len(found[f][k])]
    print("setting    " + "".join(f"{f[:13]:>14s} {k[:5]:>5s}" for f, k in kinds))
    for label, setting in settings:
        print(f"{label:>9s}  " + "".join(f"{np.mean(abstains(found[f][k], setting)):20.3f}" for f, k in kinds))


def main(paths: list[Path]) -> None:
    chosen = RetrievalSettings()
    print("Share of each kind of question that would be abstained on (the answerable should be ~0).")
    reranked = measure(paths, RetrievalSettings(rerank=True))

    def combined(rows: np.ndarray, weight: float) -> np.ndarray:
        return rows[:, 0] + weight * (rows[:, 1] - chosen.rerank_neutral_logit)

    print(f"\nWith the reranker: confidence = first stage's + weight x (logit - ({chosen.rerank_neutral_logit})), "
          f"under the threshold (citebot uses weight {chosen.rerank_logit_weight} and threshold "
          f"{chosen.min_confidence}):")
    grid = [(f"{w:.2f}/{c:.3f}", (w, c)) for w in (0.0, 0.03, 0.05, 0.08) for c in np.arange(0.325, 0.476, 0.025)]
    table(reranked, lambda rows, wc: combined(rows, wc[0]) < wc[1], grid)
    print(f"\nThe same at weight {chosen.rerank_logit_weight} and threshold {chosen.min_confidence}, if a veto were "
          "added (the logit under it abstains, whatever the confidence):")
    table(reranked, lambda rows, veto: (combined(rows, chosen.rerank_logit_weight) < chosen.min_confidence)
          | (rows[:, 1] < veto), [(f"{veto:.1f}", veto) for veto in (-99.0, -6.0, -5.0, -4.0, -3.0)])
    print("\nThe reranker's logit alone as the confidence:")
    table(reranked, lambda rows, threshold: rows[:, 1] < threshold,
          [(f"{t:.1f}", t) for t in np.arange(-4.0, 2.01, 1.0)])
    print(f"\nWithout it: confidence = best cosine + {chosen.coverage_weight} x coverage; citebot uses "
          f"{chosen.min_confidence}")
    fused = measure(paths, RetrievalSettings(rerank=False))
    table(fused, lambda rows, threshold: rows[:, 0] < threshold,
          [(f"{t:.2f}", t) for t in np.arange(0.30, 0.501, 0.05)])


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]]
         or [DATA / "article_dev.jsonl", DATA / "squad_dev_20x30.jsonl", DATA / "chat_dev.jsonl"])
