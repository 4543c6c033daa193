"""citebot's benchmarks, one command: speed of each backend, cold start, memory, scale, and a peer.

    make bench                                   # everything (about 20 minutes here)
    PYTHONPATH=. .venv/bin/python bench/run.py --quick   # scale up to 100k vectors, no peer

Prints one markdown table a section and writes them all to bench/results/<date>.md:
1. question latency in-process (embed, search, pick the sentence, format) for the onnx and torch
   backends, beside a bare `SentenceTransformer.encode` of the same questions;
2. index build throughput of each backend on the SQuAD dev texts twice over (8,728 sentences: 4,592
   passages of at most 90 words, 5,054 of 80), beside a bare encode of the same sentences;
3. cold start of `citebot ask` as a whole process, and resident memory of a running `citebot telegram`;
4. FAISS at 10k, 100k and 1M vectors: flat against HNSW (build time, memory, search p50/p95, recall@10);
5. the common LangChain recipe on the same dev sets (run from bench/.peer-venv; `make bench-peer-env`);
6. the Telegram quote card on the onnx index of section 2: making an answer's card (8 passages, nearby
   ones merged, buttons signed), an abstention's card (with suggested terms), and a button press.
Nothing is timed in the tests; this is where speed is measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import faiss
import numpy as np

from bench.telegram_load import bot_process, rss_mb
from bot.cards import CallbackSigner, CardMaker, QuestionStore
from bot.config import Settings
from bot.terminal import format_answer
from embeddings.encoder import (
    DEFAULT_MODEL,
    E5_MODEL,
    PORTABLE_SCHEME,
    export_onnx,
    load_embedder,
    onnx_export_dir,
    resolve_model,
)
from embeddings.engine import Engine
from embeddings.evaluate import hit_rank, index_record, normalize, read_qa_file
from embeddings.retrieval import RetrievalSettings, answer_question
from embeddings.store import HNSW_EF_SEARCH, IndexSettings, load_index, vector_index
from embeddings.text import count_words
from tests.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
SQUAD = DATA / "squad_dev_20x30.jsonl"
ARTICLE_DEV = DATA / "article_dev.jsonl"
ARTICLE = ROOT / "data" / "article.txt"
CACHE = ROOT / "data" / "models"
PEER_PYTHON = ROOT / "bench" / ".peer-venv" / "bin" / "python"
CITEBOT = Path(sys.executable).parent / "citebot"
BACKENDS = ("onnx", "torch")
# What citebot's rows measure: the bundled English model on each backend, and the default multilingual model
# (onnx only). The bare SentenceTransformer rows are of the English model.
RUNS = (("onnx", DEFAULT_MODEL), ("torch", DEFAULT_MODEL), ("onnx", E5_MODEL))


def run_name(backend: str, model: str) -> str:
    return f"{backend}, multilingual-e5 (default)" if model == E5_MODEL else f"{backend}, MiniLM"


def squad_index(work: Path, backend: str = "onnx", model: str = DEFAULT_MODEL) -> Path:
    """Where section 2 builds its index of the SQuAD texts with this backend and model."""
    return work / f"squad-{backend}-{model.rsplit('/', 1)[-1]}"
# Questions no SQuAD text answers, for the abstention cards of section 6.
OFF_TOPIC = [
    "How do I bake sourdough bread?", "What is the boiling point of water on Mars?", "Who painted the Mona Lisa?",
    "How many legs does a spider have?", "What is the best way to learn the violin?", "Why is the sky blue?",
    "How do I reset my router password?", "What do koalas eat?", "When was the printing press invented?",
    "How long should I boil an egg?", "What is the capital of Mongolia?", "How do vaccines train the immune system?",
    "Which planet has the most moons?", "How do I fix a flat bicycle tyre?", "What causes hiccups?",
    "How deep is the Mariana Trench?", "What is a haiku?", "How do bees make honey?",
    "Who wrote War and Peace?", "What temperature does chocolate melt at?",
]


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 of seconds, in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def table(title: str, header: list[str], rows: list[list]) -> str:
    """A markdown table, numbers rounded for reading."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def sentence_transformer(backend: str):
    """A bare SentenceTransformer of the bundled model: fp32 torch, or the same int8 ONNX file citebot runs."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    warnings.simplefilter("ignore")
    if backend == "torch":
        return SentenceTransformer(str(resolve_model(DEFAULT_MODEL)), device="cpu")
    export = onnx_export_dir(DEFAULT_MODEL, CACHE, PORTABLE_SCHEME)
    if not (export / "citebot-onnx.json").exists():  # a fresh clone: ST needs the whole export, not the bare file
        export_onnx(DEFAULT_MODEL, export, PORTABLE_SCHEME)
    config = json.loads((export / "citebot-onnx.json").read_text())
    return SentenceTransformer(str(export), backend="onnx", model_kwargs={"file_name": config["file"]})


def build_corpus(directory: Path, copies: int = 2) -> Path:
    """The SQuAD dev texts, copies times over, one file a text."""
    directory.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        for record in read_qa_file(SQUAD):
            (directory / f"{copy}-{record['doc_id']}.txt").write_text(record["text"], encoding="utf-8")
    return directory


def all_questions() -> list[str]:
    return [q["q"] for path in (SQUAD, ARTICLE_DEV) for record in read_qa_file(path) for q in record["questions"]]


def engine(index_dir: Path, backend: str, rerank: bool = False, model: str = DEFAULT_MODEL) -> Engine:
    settings = RetrievalSettings.for_model(model, rerank=rerank)
    return Engine(index_dir, IndexSettings(model, Settings.max_words, backend), settings, cache_dir=CACHE)


def reranking(work: Path) -> str:
    """Section 7: a question without and with the reranker, on one index, one after the other in one run."""
    corpus = build_corpus(work / "corpus")
    questions = all_questions()
    rows = []
    for model in (DEFAULT_MODEL, E5_MODEL):
        directory = work / f"squad-rerank-{model.rsplit('/', 1)[-1]}"
        engine(directory, "onnx", model=model).build([corpus])
        for rerank in (False, True):
            citebot = engine(directory, "onnx", rerank, model)
            citebot.ask("warm up")
            times = []
            for question in questions:
                started = time.perf_counter()
                answer = citebot.ask(question, 3)
                format_answer(answer, citebot.present(answer), answer.threshold, styled=False, show_source=False)
                times.append(time.perf_counter() - started)
            name = f"citebot question, {run_name('onnx', model)}" + (" + reranker" if rerank else " (CITEBOT_RERANK=0)")
            rows.append([name, len(questions), *percentiles(times)])
    return table("7. Question latency with and without the reranker (ms), SQuAD dev texts x2, same run",
                 ["what", "questions", "p50 ms", "p95 ms"], rows)


def speed(work: Path) -> tuple[str, str]:
    """Sections 1 and 2: build throughput and question latency of each backend, with bare encodes beside."""
    corpus = build_corpus(work / "corpus")
    questions = all_questions()
    build_rows, latency_rows = [], []
    sentences: list[str] = []
    for backend, model in RUNS:
        engine(work / f"warm-{squad_index(work, backend, model).name}", backend, model=model).build([ARTICLE])
        citebot = engine(squad_index(work, backend, model), backend, model=model)
        started = time.perf_counter()
        report = citebot.build([corpus])
        seconds = time.perf_counter() - started
        index = citebot.open()
        sentences = [index.documents[d].text[s:e] for d, s, e, _ in index.sentences]
        build_rows.append([f"citebot index, {run_name(backend, model)}", report.passages, len(sentences), seconds,
                           report.passages / seconds, len(sentences) / seconds])
        citebot.ask("warm up")
        times = []
        for question in questions:
            started = time.perf_counter()
            answer = citebot.ask(question, 3)
            format_answer(answer, citebot.present(answer), 0.4, styled=False, show_source=False)
            times.append(time.perf_counter() - started)
        latency_rows.append([f"citebot question, {run_name(backend, model)}", len(questions), *percentiles(times)])
    for backend in BACKENDS:
        model = sentence_transformer(backend)
        model.encode(["warm up"])
        started = time.perf_counter()
        model.encode(sentences, batch_size=32)
        seconds = time.perf_counter() - started
        passages = build_rows[0][1]
        build_rows.append([f"bare SentenceTransformer.encode, {backend}", passages, len(sentences), seconds,
                           passages / seconds, len(sentences) / seconds])
        times = []
        for question in questions:
            started = time.perf_counter()
            model.encode([question])
            times.append(time.perf_counter() - started)
        latency_rows.append([f"bare SentenceTransformer.encode, {backend}", len(questions), *percentiles(times)])
    onnx_p50, torch_p50 = latency_rows[0][2], latency_rows[1][2]
    onnx_rate, torch_rate = build_rows[0][4], build_rows[1][4]
    latency_rows.append(["speed-up of citebot onnx over torch, MiniLM (p50)", "", torch_p50 / onnx_p50, ""])
    build_rows.append(["speed-up of citebot onnx over torch, MiniLM", "", "", "", onnx_rate / torch_rate, ""])
    return (
        table("1. Question latency in-process (ms; embed + search + sentence pick + format), SQuAD dev texts x2",
              ["what", "questions", "p50 ms", "p95 ms"], latency_rows),
        table("2. Index build throughput (SQuAD dev texts x2)",
              # Passages/s depends on the passage length too; sentences/s is the embedding work alone.
              ["what", "passages", "sentences embedded", "seconds", "passages/s", "sentences/s"], build_rows),
    )


def cold_start(work: Path) -> str:
    """Section 3: a whole `citebot ask` process, and the memory of a running bot, for each backend."""
    rows = []
    question = "What treaty is about to expire?"
    imports = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import bot.cli"], cwd=ROOT, check=True)
        imports.append(time.perf_counter() - started)
    rows.append(["python + citebot's imports (no model)", "", statistics.median(imports), ""])
    for backend, model in RUNS:
        index_dir = work / f"article-{backend}-{model.rsplit('/', 1)[-1]}"
        engine(index_dir, backend, model=model).build([ARTICLE])
        settings = {"CITEBOT_BACKEND": backend, "CITEBOT_MODEL": model, "CITEBOT_INDEX_DIR": str(index_dir),
                    "CITEBOT_CACHE_DIR": str(CACHE)}
        env = {**os.environ, **settings}
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([str(CITEBOT), "ask", question], env=env, check=True, capture_output=True)
            runs.append(time.perf_counter() - started)
        rows.append([f"citebot ask, {run_name(backend, model)}", "", statistics.median(runs),
                     f"{bot_memory(settings):.0f}"])
    return table("3. Cold start of `citebot ask` (median of 3) and resident memory of a running bot",
                 ["what", "", "seconds", "bot RSS MB"], rows)


def bot_memory(settings: dict[str, str]) -> float:
    """Resident memory (MB) of `citebot telegram` after it has answered one question."""
    api = FakeBotApi().start()
    try:
        with bot_process(api, **settings) as bot:
            api.wait_for_replies(api.send(1, "Who did Putin congratulate?"), timeout=120)
            return rss_mb(bot.pid)
    finally:
        api.stop()


def scale(work: Path, sizes: list[int]) -> str:
    """Section 4: flat against HNSW on vectors drawn from real passage vectors, at each size."""
    index = load_index(squad_index(work))
    half = len(index.sentences) // 2  # the corpus holds the texts twice; keep one copy
    real = index.vectors.reconstruct_n(0, half)
    queries = load_embedder(DEFAULT_MODEL, "onnx", CACHE).encode(all_questions())
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        vectors = synthetic(real, n, rng)
        built = {}
        for kind in ("flat", "hnsw"):
            started = time.perf_counter()
            built[kind] = vector_index(vectors, kind)
            seconds = time.perf_counter() - started
            memory = faiss.serialize_index(built[kind]).nbytes / 2**20
            times = []
            for query in queries[:300]:
                started = time.perf_counter()
                built[kind].search(query.reshape(1, -1), 10)
                times.append(time.perf_counter() - started)
            _, found = built[kind].search(queries, 10)
            if kind == "flat":
                truth = found
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
            rows.append([f"{n:,}", kind, seconds, f"{memory:,.0f}", *percentiles(times), recall])
        del built, vectors
    return table(
        f"4. FAISS at scale (vectors: sums of 3 real passage-sentence vectors plus noise; 300 real questions; "
        f"HNSW M 32, efConstruction 80, efSearch {HNSW_EF_SEARCH})",
        ["vectors", "index", "build s", "memory MB", "search p50 ms", "search p95 ms", "recall@10"], rows)


def synthetic(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors shaped like passage vectors: the sum of 3 random real sentence vectors, plus noise."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        rows = min(100_000, n - start)
        mixed = real[rng.integers(0, len(real), (rows, 3))].sum(axis=1)
        mixed += 0.05 * rng.standard_normal(mixed.shape).astype(np.float32)
        out[start : start + rows] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def peer(work: Path) -> str:
    """Section 5: the LangChain recipe against citebot on the dev sets, per-document indexes as in eval."""
    if not PEER_PYTHON.is_file():
        return "### 5. Peer\n\nSkipped: bench/.peer-venv is missing; create it with `make bench-peer-env`.\n"
    output = subprocess.run(
        [str(PEER_PYTHON), str(ROOT / "bench" / "peer_langchain.py"), str(ARTICLE_DEV), str(SQUAD),
         "--build", str(SQUAD), "--copies", "2"],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
    ).stdout
    result = json.loads(output)
    rows = []
    for path in (ARTICLE_DEV, SQUAD):
        mine = [q for q in result["questions"] if q["file"] == str(path) and q["answers"]]
        hits = [hit_rank(q["passages"], [normalize(a) for a in q["answers"]]) == 1 for q in mine]
        words = [count_words(p) for q in mine for p in q["passages"]]
        rows.append([f"LangChain recipe, {path.name}", len(mine), float(np.mean(hits)), float(np.mean(words)),
                     *percentiles([q["seconds"] for q in mine])])
        rows.append([f"citebot (onnx), {path.name}", *citebot_on(path)])
    build = result["build"]
    corpus_passages = load_index(squad_index(work)).passages.shape[0]
    build_rows = [["LangChain recipe: FAISS.from_texts", build["chunks"], build["seconds"]],
                  ["citebot index (onnx)", corpus_passages, "see table 2"]]
    return (table("5. Peer: the LangChain recipe (1,000/200-character chunks, FAISS, HuggingFaceEmbeddings) "
                  "against citebot, same model, same questions",
                  ["what", "answerable questions", "hit@1", "mean passage words", "query p50 ms", "query p95 ms"],
                  rows)
            + "\n" + table("5b. Peer build time on the SQuAD dev texts x2", ["what", "chunks/passages", "seconds"],
                           build_rows))


def citebot_on(path: Path) -> list:
    """hit@1, mean passage words and question latency of citebot on a QA file, each document on its own."""
    embedder = load_embedder(DEFAULT_MODEL, "onnx", CACHE)
    settings = IndexSettings(DEFAULT_MODEL, Settings.max_words, "onnx")
    hits, words, times = [], [], []
    for record in read_qa_file(path):
        index = index_record(record, embedder, settings)
        for question in record["questions"]:
            if not question["answers"]:
                continue
            started = time.perf_counter()
            answer = answer_question(index, embedder, question["q"], 5)
            times.append(time.perf_counter() - started)
            texts = [p.text for p in answer.passages]
            hits.append(hit_rank(texts, [normalize(a) for a in question["answers"]]) == 1)
            words.extend(count_words(t) for t in texts)
    return [len(hits), float(np.mean(hits)), float(np.mean(words)), *percentiles(times)]


def cards(work: Path) -> str:
    """Section 6: what a quote card costs beyond answering, on the onnx index of section 2."""
    citebot = engine(squad_index(work), "onnx")
    citebot.build([build_corpus(work / "corpus")])
    with tempfile.TemporaryDirectory() as state:
        store = QuestionStore(Path(state) / "questions.sqlite")
        maker = CardMaker(citebot, CallbackSigner("123:bench"), store, top_k=3)
        questions = all_questions() + OFF_TOPIC
        citebot.ask("warm up")
        kinds: dict[str, list[float]] = {"answer card": [], "abstention card (with suggested terms)": []}
        presses = []
        for question in questions:
            started = time.perf_counter()
            answer = maker.ask(question)
            card = maker.card(answer, "1")
            kinds["answer card" if answer.answered else "abstention card (with suggested terms)"].append(
                time.perf_counter() - started)
            press = CallbackSigner("123:bench").read(card.buttons[0][0].data, "1")
            started = time.perf_counter()
            maker.press(press, "1")
            presses.append(time.perf_counter() - started)
        asks = []
        for question in questions:
            started = time.perf_counter()
            citebot.ask(question, 3)
            asks.append(time.perf_counter() - started)
        rows = [[kind, len(times), *percentiles(times)] for kind, times in kinds.items() if len(times) > 1]
        rows.append([f"button press ({card.buttons[0][0].label}, a place)", len(presses), *percentiles(presses)])
        rows.append(["for comparison: Engine.ask, k=3, no card", len(asks), *percentiles(asks)])
        store.close()
    return table("6. Quote cards (ms), the onnx MiniLM index of section 2", ["what", "n", "p50 ms", "p95 ms"], rows)


def run_all(work: Path, sizes: list[int], sections: set[int]):
    """Each asked-for section's table as soon as it is measured (4 and 5 need the index 1 and 2 build)."""
    if sections & {1, 2, 4, 5}:
        latency, build = speed(work)
        yield from [t for n, t in ((1, latency), (2, build)) if n in sections]
    if 3 in sections:
        yield cold_start(work)
    if 4 in sections:
        yield scale(work, sizes)
    if 5 in sections:
        yield peer(work)
    if 6 in sections:
        yield cards(work)
    if 7 in sections:
        yield reranking(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale up to 100k vectors and no peer")
    parser.add_argument("--sections", default="1,2,3,4,5,6,7", help="which sections to run, e.g. 1,2")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    sections = {int(n) for n in args.sections.split(",")} - ({5} if args.quick else set())
    started = time.time()
    tables = [f"Run of {datetime.date.today()} on {os.cpu_count()} cores ({' '.join(sys.argv[1:]) or 'full'})\n"]
    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as directory:
        for table_text in run_all(Path(directory), sizes, sections):
            print(table_text, flush=True)
            tables.append(table_text)
    tables.append(f"Total run time {time.time() - started:.0f} s.\n")
    out = ROOT / "bench" / "results" / f"{datetime.datetime.now():%Y-%m-%d-%H%M}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(tables), encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
