"""The two index stores side by side, in one run: FAISS (a directory) and Milvus (Milvus Lite, a local
file), at about 10k and 100k passages.

    make bench-stores     (or: PYTHONPATH=. .venv/bin/python bench/stores.py [--sizes 10000,100000])

For each size: the time to write the index into the store (vectors and rows; embedding is the same for
both and measured once, in section 2 of bench/run.py), the time a reader takes to open it, and question
latency p50/p95 in-process with the first stage only (CITEBOT_RERANK=0, so that the store's share shows;
the reranker adds the same milliseconds to both). The larger indexes repeat the SQuAD dev texts' rows and
vectors (each copy a document of its own), so nothing is embedded twice; search works on all of them.

Milvus Lite is pure Python (its server runs in this process for a .db file): its figures bound what a
Milvus server does from below, not from above. A Standalone or cluster is measured the same way by
setting --uri http://host:19530.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import CACHE, all_questions, build_corpus, percentiles, table  # noqa: E402
from bot.config import Settings  # noqa: E402
from embeddings import DEFAULT_MODEL, DirectoryStore, Engine, IndexSettings, MilvusStore, RetrievalSettings  # noqa: E402
from embeddings.store import Document, Index, describe_vector_index, lexical_index, vector_index  # noqa: E402

QUESTIONS = 300


def tiled(index: Index, copies: int) -> Index:
    """index repeated copies times, each copy's documents named apart, rows and vectors alike."""
    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    documents, sentences, passages = [], [], []
    for copy in range(copies):
        documents += [Document(f"{d.source}#{copy}", d.sha256, d.text, d.format) for d in index.documents]
        offset_docs, offset_rows = copy * len(index.documents), copy * len(index.sentences)
        s = index.sentences.copy()
        s[:, 0] += offset_docs
        p = index.passages.copy()
        p[:, 0] += offset_docs
        p[:, 4:6] += offset_rows
        sentences.append(s)
        passages.append(p)
    sentences, passages = np.concatenate(sentences), np.concatenate(passages)
    layouts = [index.layout(d) for d in range(len(index.documents))] * copies
    all_vectors = np.ascontiguousarray(np.tile(vectors, (copies, 1)), dtype=np.float32)
    return Index(replace(index.settings, vector_index="auto"), index.dimension, documents, sentences, passages,
                 vector_index(all_vectors), lexical_index(layouts, passages), index.inputs)


def measure(store, index: Index, questions: list[str]) -> list:
    started = time.perf_counter()
    store.save(index)
    written = time.perf_counter() - started
    reader = Engine(store, IndexSettings(DEFAULT_MODEL, Settings.max_words), RetrievalSettings(rerank=False),
                    cache_dir=CACHE)
    started = time.perf_counter()
    reader.open()
    opened = time.perf_counter() - started
    reader.ask("warm up")
    times = []
    for question in questions:
        started = time.perf_counter()
        reader.ask(question, 3)
        times.append(time.perf_counter() - started)
    p50, p95 = percentiles(times)
    return [len(index.passages), len(index.sentences), round(written, 1), round(len(index.passages) / written),
            round(opened, 1), p50, p95]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="passages, about")
    parser.add_argument("--uri", help="a Milvus server to measure instead of a Milvus Lite file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="citebot-stores-"))
    try:
        base = Engine(work / "base", IndexSettings(DEFAULT_MODEL, Settings.max_words), cache_dir=CACHE)
        base.build([build_corpus(work / "corpus", copies=1)])
        index = base.open()
        questions = all_questions()[:QUESTIONS]
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            copies = max(1, round(size / len(index.passages)))
            big = tiled(index, copies)
            faiss_row = measure(DirectoryStore(work / f"faiss-{size}"), big, questions)
            rows.append([f"FAISS directory ({describe_vector_index(big.vectors)['type']})", *faiss_row])
            milvus = MilvusStore(args.uri or str(work / f"milvus-{size}.db"), f"bench{size}", timeout=600)
            rows.append([f"Milvus {'server' if args.uri else 'Lite file'}", *measure(milvus, big, questions)])
            if args.uri:
                milvus.drop()
            print(rows[-2], rows[-1], flush=True)
        print(table("8. Index stores, same run: write, open, question p50/p95 (first stage, ms)",
                    ["store", "passages", "sentences", "write s", "passages/s", "open s", "p50 ms", "p95 ms"],
                    rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
