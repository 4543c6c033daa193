"""citebot's engine: index texts, answer questions by quoting them. Front ends import only from here.

    from embeddings import Engine, IndexSettings, CitebotError

Names load on first use, so that `import embeddings` costs nothing a command does not need (answering
never imports the evaluation code, building never imports torch on the onnx backend).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    # the engine and what it reports
    "Engine": "embeddings.engine",
    "BuildReport": "embeddings.engine",
    "CorpusInfo": "embeddings.engine",
    "DocumentInfo": "embeddings.engine",
    "EvalReport": "embeddings.evaluate",
    # answers and places
    "Answer": "embeddings.retrieval",
    "Verdict": "embeddings.verdicts",
    "Quote": "embeddings.retrieval",
    "Highlight": "embeddings.retrieval",
    "Location": "embeddings.excerpts",
    "Presentation": "embeddings.excerpts",
    "Document": "embeddings.document",
    "group_nearby": "embeddings.excerpts",
    "touching": "embeddings.excerpts",
    # settings and the constants front ends check them against
    "IndexSettings": "embeddings.store",
    "RetrievalSettings": "embeddings.retrieval",
    "IndexStore": "embeddings.stores",
    "DirectoryStore": "embeddings.stores",
    "MilvusStore": "embeddings.milvus_store",
    "Progress": "embeddings.encoder",
    "DEFAULT_MODEL": "embeddings.encoder",
    "E5_MODEL": "embeddings.encoder",
    "BACKENDS": "embeddings.encoder",
    "VECTOR_INDEXES": "embeddings.vectors",
    "SUFFIXES": "embeddings.readers",
    "is_address": "embeddings.readers",
    "display_name": "embeddings.readers",
    "MAX_QUESTION_CHARS": "embeddings.retrieval",
    "shown_url": "embeddings.redact",
    # errors (the tree is drawn in embeddings/errors.py)
    "CitebotError": "embeddings.errors",
    "ConfigError": "embeddings.errors",
    "IndexStoreError": "embeddings.errors",
    "IndexNotFoundError": "embeddings.errors",
    "StoreUnavailableError": "embeddings.errors",
    "IndexReplacedError": "embeddings.errors",
    "CorruptIndexError": "embeddings.errors",
    "StaleIndexError": "embeddings.errors",
    "IndexWriteError": "embeddings.errors",
    "NotAnIndexError": "embeddings.errors",
    "SourceError": "embeddings.errors",
    "EmptyQuestionError": "embeddings.errors",
    "ModelError": "embeddings.errors",
    "ModelNotFoundError": "embeddings.errors",
    "UnsupportedModelError": "embeddings.errors",
    "LocationError": "embeddings.errors",
    "EvalFileError": "embeddings.errors",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from embeddings.document import Document
    from embeddings.encoder import BACKENDS, DEFAULT_MODEL, E5_MODEL, Progress
    from embeddings.engine import BuildReport, CorpusInfo, DocumentInfo, Engine
    from embeddings.errors import (
        CitebotError,
        ConfigError,
        CorruptIndexError,
        EmptyQuestionError,
        EvalFileError,
        IndexNotFoundError,
        IndexReplacedError,
        IndexStoreError,
        IndexWriteError,
        LocationError,
        ModelError,
        ModelNotFoundError,
        NotAnIndexError,
        SourceError,
        StaleIndexError,
        StoreUnavailableError,
        UnsupportedModelError,
    )
    from embeddings.evaluate import EvalReport
    from embeddings.excerpts import Location, Presentation, group_nearby, touching
    from embeddings.milvus_store import MilvusStore
    from embeddings.readers import SUFFIXES, display_name, is_address
    from embeddings.redact import shown_url
    from embeddings.retrieval import MAX_QUESTION_CHARS, Answer, Highlight, Quote, RetrievalSettings
    from embeddings.store import IndexSettings
    from embeddings.stores import DirectoryStore, IndexStore
    from embeddings.vectors import VECTOR_INDEXES
    from embeddings.verdicts import Verdict


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'embeddings' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
