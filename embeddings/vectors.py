"""The FAISS index of sentence vectors: flat (exact) or HNSW, built on every core, described in the manifest."""

from __future__ import annotations

import contextlib
import os

import faiss
import numpy as np

VECTOR_INDEXES = ("auto", "flat", "hnsw")
# "auto" searches exactly up to this many sentences (about 3 ms a search here) and builds HNSW above it.
FLAT_LIMIT = 20_000
# HNSW: links per vector, candidates kept while building and while searching; bench/run.py (section 4) measured
# recall@10 and latency at 10k to 1M vectors for these.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def vector_index(vectors: np.ndarray, kind: str = "auto") -> faiss.Index:
    """A FAISS index of vectors: flat (exact) or HNSW; "auto" picks by their number."""
    if kind not in VECTOR_INDEXES:
        raise ValueError(f"unknown vector index {kind!r}: use one of {', '.join(VECTOR_INDEXES)}")
    if kind == "auto":
        kind = "flat" if len(vectors) <= FLAT_LIMIT else "hnsw"
    # Vectors are L2-normalised, so inner product is cosine similarity.
    if kind == "flat":
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    with _all_cores():
        index.add(vectors)
    return index


@contextlib.contextmanager
def _all_cores():
    """Let FAISS use every core while building, then go back to one thread for searching."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


def describe_vector_index(index: faiss.Index) -> dict:
    """The manifest's record of a vector index: its kind and parameters."""
    if isinstance(index, faiss.IndexHNSW):
        hnsw = index.hnsw
        return {"type": "hnsw", "metric": "inner product", "M": HNSW_M,
                "ef_construction": hnsw.efConstruction, "ef_search": hnsw.efSearch}
    return {"type": "flat", "metric": "inner product"}
