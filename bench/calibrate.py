"""Calibrate the verdicts: where answerable and unanswerable questions fall in the scores that decide them.

The thresholds are read off questions nothing was trained on: bench/data/squad2_calibration.jsonl, the
fifth paragraphs of the seven SQuAD 2.0 dev articles whose other paragraphs trained the reranker's "no
answer" (bench/train_answerability.py), as written and reworded the chat way (answerable ones only), and
each answerable question asked of the next article (cross-article: unanswerable by construction). The
rule: the highest abstain_logit at which at most ABSTAIN_BUDGET of the answerable questions (both
wordings) are abstained on, and the highest hedge_logit at which at most NOT_ANSWERED_BUDGET are hedged or
abstained on; and the highest min_confidence at which none of them is abstained on (what the first stage's
confidence, moved by the logit, calls "not in the text" on either path). The same table is printed for the
development sets, for reference only.

Last, for a model whose scale differs across languages (multilingual-e5), where its first-stage confidence
falls for questions in the text's language and in another (squad2_calibration_translated.jsonl: 42 of
its questions put into Russian, French, Japanese and Arabic, each also asked of the next article), the
verdicts at the thresholds citebot uses there, and how its cosines run in each language of
languages_probe.json (ten sentences with questions they answer and questions they do not, translated).

    make calibrate      (or: .venv/bin/python bench/calibrate.py [QA.jsonl ...] for other reference sets)
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from train_reranker import chat_style  # noqa: E402

from bot.config import load_settings  # noqa: E402
from embeddings.encoder import load_embedder  # noqa: E402
from embeddings.evaluate import index_record, read_qa_file  # noqa: E402
from embeddings.languages import writing  # noqa: E402
from embeddings.reranker import load_reranker  # noqa: E402
from embeddings.retrieval import RetrievalSettings, answer_question  # noqa: E402
from embeddings.verdicts import judge  # noqa: E402

DATA = Path(__file__).parent / "data"
CALIBRATION = DATA / "squad2_calibration.jsonl"
TRANSLATED = DATA / "squad2_calibration_translated.jsonl"
PROBE = DATA / "languages_probe.json"
REFERENCE = [DATA / "squad_dev_20x30.jsonl", DATA / "chat_dev.jsonl", DATA / "article_dev.jsonl",
             DATA / "squad2_heldout_6x60.jsonl"]
ABSTAIN_BUDGET = 0.01
NOT_ANSWERED_BUDGET = 0.04


def measure(path: Path, settings: RetrievalSettings, reworded: bool = False, cross: bool = False) -> dict:
    """Per kind of question ("answerable", "unanswerable", "cross-article"): rows of the first stage's
    confidence, the reranker's logit (0 without it) and whether a name or number of it is absent."""
    config = load_settings()
    embedder = load_embedder(config.model, config.backend, config.cache_dir)
    reranker = load_reranker() if settings.rerank else None
    rng = random.Random(7)
    rows: dict[str, list] = {"answerable": [], "unanswerable": [], "cross-article": []}
    records = list(read_qa_file(path))
    indexes = [index_record(record, embedder, config.index_settings()) for record in records]
    for i, record in enumerate(records):
        for question in record["questions"]:
            asked = question["q"]
            if reworded:
                if not question["answers"]:
                    continue
                asked = chat_style(asked, question["answers"][0], rng)
            answer = answer_question(indexes[i], embedder, asked, 3, settings, reranker)
            rows["answerable" if question["answers"] else "unanswerable"].append(_row(answer, settings))
            if cross and question["answers"] and len(records) > 1:
                other = answer_question(indexes[(i + 1) % len(records)], embedder, asked, 3, settings, reranker)
                rows["cross-article"].append(_row(other, settings))
    return {kind: np.array(r, dtype=np.float64).reshape(-1, 4) for kind, r in rows.items() if r}


def _row(answer, settings: RetrievalSettings) -> tuple[float, float, float, float]:
    """confidence, logit, whether a name is absent, and whether the verdict was not the thresholds' to make
    (a question sharing no word with the text is not in it whatever they say)."""
    logit = answer.rerank_logit if answer.rerank_logit is not None else 0.0
    ruled = answer.verdict == "not_in_text" and judge(
        answer.confidence, answer.rerank_logit, answer.absent, settings) != "not_in_text"
    return answer.confidence, logit, float(bool(answer.absent)), float(ruled)


def verdicts(rows: np.ndarray, settings: RetrievalSettings, rerank: bool) -> tuple[float, float]:
    """The shares of rows hedged and abstained on under settings."""
    judged = ["not_in_text" if ruled else judge(c, logit if rerank else None, ("x",) if a else (), settings)
              for c, logit, a, ruled in rows]
    return float(np.mean([v == "uncertain" for v in judged])), float(np.mean([v == "not_in_text" for v in judged]))


def table(found: dict[str, dict], grid: list[tuple[str, RetrievalSettings]], rerank: bool) -> None:
    columns = [(name, kind) for name in found for kind in found[name]]
    print("  setting        " + "".join(f"{name[:18]:>19s} {kind[:5]:>5s}" for name, kind in columns))
    print("                 " + "".join(f"{'hedged  abstained':>25s}" for _ in columns))
    for label, settings in grid:
        cells = [verdicts(found[name][kind], settings, rerank) for name, kind in columns]
        print(f"  {label:15s}" + "".join(f"{h:15.3f}{a:10.3f}" for h, a in cells))


def fit(answerable: np.ndarray, base: RetrievalSettings) -> RetrievalSettings:
    """The highest thresholds within the budgets on answerable rows (logits)."""
    candidates = np.round(np.arange(-6.0, 3.001, 0.1), 2)
    abstain = max(t for t in candidates
                  if verdicts(answerable, replace(base, abstain_logit=t, hedge_logit=t), True)[1] <= ABSTAIN_BUDGET)
    hedge = max(t for t in candidates if t >= abstain and
                sum(verdicts(answerable, replace(base, abstain_logit=abstain, hedge_logit=t), True))
                <= NOT_ANSWERED_BUDGET)
    return replace(base, abstain_logit=float(abstain), hedge_logit=float(hedge))


def fit_floor(answerable: np.ndarray, base: RetrievalSettings) -> float:
    """The highest min_confidence, in steps of 0.005, at which no answerable row is abstained on but those
    another rule abstains on whatever the thresholds (0 if even that one abstains on more)."""
    ruled = float(answerable[:, 3].mean())
    candidates = np.round(np.arange(0.0, 1.5, 0.005), 3)
    return float(max((t for t in candidates
                      if verdicts(answerable, replace(base, min_confidence=t), True)[1] <= ruled), default=0.0))


def languages(settings: RetrievalSettings, same_language: dict) -> None:
    """Where the first stage's confidence falls in the question's language (same_language: CALIBRATION
    measured without the reranker) and across languages, and the verdicts at settings' thresholds."""
    plain = replace(settings, rerank=False)
    sets = {"same language": same_language, "across languages": measure(TRANSLATED, plain)}
    print("\nWithout the reranker: first-stage confidence, percentiles (answerable; unrelated: asked of another "
          "article)")
    print(f"  {'':18s}{'answerable p1':>15s}{'p3':>7s}{'p10':>7s}{'unrelated p50':>15s}{'p90':>7s}{'p97':>7s}")
    for name, found in sets.items():
        answerable = found["answerable"][:, 0]
        unrelated = found["cross-article" if "cross-article" in found else "unanswerable"][:, 0]
        print(f"  {name:18s}" + "".join(f"{np.percentile(answerable, q):{w}.3f}" for q, w in ((1, 15), (3, 7), (10, 7)))
              + "".join(f"{np.percentile(unrelated, q):{w}.3f}" for q, w in ((50, 15), (90, 7), (97, 7))))
    across = plain.lowered(*settings.across_languages)
    print(f"\nVerdicts at min_confidence {plain.min_confidence:.3f} / hedge_confidence {plain.hedge_confidence:.3f}, "
          f"across languages {across.min_confidence:.3f} / {across.hedge_confidence:.3f}")
    table({"same language": sets["same language"]}, [("same", plain)], False)
    table({"across languages": sets["across languages"]}, [("across", across)], False)
    probe(settings)


def probe(settings: RetrievalSettings) -> None:
    """How the model's cosines run in each language of the probe: a question's with the sentence answering
    it, and an unrelated question's with the closest sentence (medians), beside the thresholds raised."""
    config = load_settings()
    embedder = load_embedder(config.model, config.backend, config.cache_dir)
    print(f"\nCosines by language ({PROBE.name}; medians): answered, unrelated's best, thresholds raised by")
    for language, texts in json.loads(PROBE.read_text(encoding="utf-8"))["languages"].items():
        sentences = embedder.encode(texts["sentences"])
        unrelated = (embedder.encode(texts["unrelated"], query=True) @ sentences.T).max(axis=1)
        answered = ((embedder.encode(texts["answered"], query=True) * sentences).sum(axis=1)
                    if texts["answered"] else np.array([np.nan]))
        raised = dict(settings.raised_for).get(writing(texts["sentences"][0]), 0.0)
        print(f"  {language}: {np.median(answered):.3f}  {np.median(unrelated):.3f}  {raised:+.3f}")


def main(reference: list[Path]) -> None:
    config = load_settings()
    base = config.retrieval_settings()
    print(f"Fitting on {CALIBRATION.name}: at most {ABSTAIN_BUDGET:.0%} of its answerable questions abstained on, "
          f"at most {NOT_ANSWERED_BUDGET:.0%} not answered (hedged or abstained), as written and reworded.")
    found = {CALIBRATION.stem: measure(CALIBRATION, base, cross=True),
             CALIBRATION.stem + " chat": measure(CALIBRATION, base, reworded=True)}
    answerable = np.concatenate([found[name]["answerable"] for name in found])
    chosen = fit(answerable, base)
    print(f"\nChosen: abstain_logit {chosen.abstain_logit:.1f}, hedge_logit {chosen.hedge_logit:.1f} "
          f"(citebot uses {base.abstain_logit:.1f} and {base.hedge_logit:.1f}); min_confidence "
          f"{fit_floor(answerable, base):.3f}, the highest at which none is abstained on (citebot uses "
          f"{base.min_confidence:.3f})")
    grid = [(f"{a:.1f} / {h:.1f}", replace(base, abstain_logit=a, hedge_logit=h))
            for a, h in sorted({(chosen.abstain_logit, chosen.hedge_logit), (base.abstain_logit, base.hedge_logit),
                                (chosen.abstain_logit - 0.5, chosen.hedge_logit - 0.5),
                                (chosen.abstain_logit + 0.5, chosen.hedge_logit + 0.5),
                                (chosen.abstain_logit, chosen.abstain_logit)})]
    print("\nWith the reranker, abstain_logit / hedge_logit: the share hedged and abstained on, calibration set")
    table(found, grid, True)
    print("\nThe same on the development sets (reference only: not fitted on)")
    table({p.stem: measure(p, base) for p in reference}, grid, True)
    print(f"\nWithout the reranker, hedge_confidence (min_confidence {base.min_confidence:.3f}):")
    plain = {CALIBRATION.stem: measure(CALIBRATION, replace(base, rerank=False), cross=True)}
    # From min_confidence to as far past citebot's hedge_confidence: each model's cosines run on a scale of its own.
    hedges = np.linspace(base.min_confidence, 2 * base.hedge_confidence - base.min_confidence, 5)
    table(plain, [(f"{h:.3f}", replace(base, hedge_confidence=h)) for h in hedges], False)
    if any(base.across_languages):
        languages(base, plain[CALIBRATION.stem])


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or REFERENCE)
