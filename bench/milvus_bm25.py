"""Word search in Milvus or in citebot: which finds the answering passage more often, on the dev sets.

    PYTHONPATH=. .venv/bin/python bench/milvus_bm25.py

Each document's passages (as citebot cuts them and as word search reads them) go into a Milvus Lite
collection with Milvus's BM25 function (its standard analyzer) and into citebot's own BM25 (bm25s, its
tokenizer and stemmer); each question is asked of both by words alone. Prints hit@1 and hit@5 of each:
the measurement behind keeping BM25 in citebot for the Milvus store (embeddings/milvus_store.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import CACHE, DATA, table  # noqa: E402
from bot.config import Settings  # noqa: E402
from embeddings import DEFAULT_MODEL, IndexSettings  # noqa: E402
from embeddings.encoder import load_embedder  # noqa: E402
from embeddings.evaluate import hit_rank, index_record, normalize, read_qa_file  # noqa: E402
from embeddings.structure import WORD_SEARCH_HEADINGS  # noqa: E402


def main() -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    embedder = load_embedder(DEFAULT_MODEL, "onnx", CACHE)
    client = MilvusClient(str(Path(tempfile.mkdtemp()) / "bm25.db"))
    rows = []
    for name in ("squad_dev_20x30.jsonl", "chat_dev.jsonl", "article_dev.jsonl"):
        ranks = {"citebot (bm25s)": [], "Milvus BM25 function": []}
        seconds = {key: 0.0 for key in ranks}
        for number, record in enumerate(read_qa_file(DATA / name)):
            index = index_record(record, embedder, IndexSettings(DEFAULT_MODEL, Settings.max_words))
            texts = [index.search_text(d, s, e, p, WORD_SEARCH_HEADINGS) for d, s, e, p, *_ in index.passages]
            quoted = [index.documents[d].text[s:e] for d, s, e, *_ in index.passages]
            collection = f"bm25_{number}"
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["text"], output_field_names=["sparse"]))
            params = client.prepare_index_params()
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            client.create_collection(collection, schema=schema, index_params=params)
            client.insert(collection, [{"id": i, "text": t} for i, t in enumerate(texts)])
            for question in record["questions"]:
                if not question["answers"]:
                    continue
                answers = [normalize(a) for a in question["answers"]]
                started = time.perf_counter()
                best = np.argsort(-index.lexical.scores(question["q"]), kind="stable")[:5]
                seconds["citebot (bm25s)"] += time.perf_counter() - started
                ranks["citebot (bm25s)"].append(hit_rank([quoted[i] for i in best], answers))
                started = time.perf_counter()
                hits = client.search(collection, data=[question["q"]], anns_field="sparse", limit=5,
                                     search_params={"metric_type": "BM25"})[0]
                seconds["Milvus BM25 function"] += time.perf_counter() - started
                ranks["Milvus BM25 function"].append(hit_rank([quoted[hit["id"]] for hit in hits], answers))
            client.drop_collection(collection)
        for key, found in ranks.items():
            rows.append([name, key, len(found), np.mean([r == 1 for r in found]),
                         np.mean([r is not None for r in found]), 1000 * seconds[key] / max(1, len(found))])
            print(rows[-1], flush=True)
    print(table("Word search alone: citebot's BM25 against Milvus's BM25 function, per-document indexes",
                ["set", "word search", "questions", "hit@1", "hit@5", "ms a question"], rows))


if __name__ == "__main__":
    main()
