"""The engine's public API is what `embeddings.__all__` says, and every name in it resolves."""

import embeddings

PUBLIC = {
    "Engine", "BuildReport", "CorpusInfo", "DocumentInfo", "EvalReport",
    "Answer", "Verdict", "Quote", "Highlight", "Location", "Presentation", "Document", "group_nearby", "touching",
    "IndexSettings", "RetrievalSettings", "Progress", "IndexStore", "DirectoryStore", "MilvusStore",
    "DEFAULT_MODEL", "E5_MODEL", "BACKENDS", "VECTOR_INDEXES", "SUFFIXES", "MAX_QUESTION_CHARS", "shown_url", "is_address", "display_name",
    "CitebotError", "ConfigError", "IndexStoreError", "IndexNotFoundError", "StoreUnavailableError", "IndexReplacedError",
    "CorruptIndexError",
    "StaleIndexError", "IndexWriteError", "NotAnIndexError", "SourceError", "EmptyQuestionError",
    "ModelError", "ModelNotFoundError", "UnsupportedModelError", "LocationError", "EvalFileError",
}


def test_all_is_the_public_api():
    assert set(embeddings.__all__) == PUBLIC
    for name in embeddings.__all__:
        assert getattr(embeddings, name) is not None


def test_every_error_is_a_citebot_error_and_old_paths_still_work():
    from embeddings.encoder import ModelNotFoundError
    from embeddings.evaluate import EvalFileError
    from embeddings.excerpts import LocationError
    from embeddings.retrieval import EmptyQuestionError
    from embeddings.sources import SourceError
    from embeddings.store import IndexStoreError, IndexWriteError

    errors = [getattr(embeddings, n) for n in embeddings.__all__ if n.endswith("Error")]
    assert all(issubclass(e, embeddings.CitebotError) for e in errors)
    assert {ModelNotFoundError, EvalFileError, LocationError, EmptyQuestionError, SourceError} <= set(errors)
    assert issubclass(IndexWriteError, IndexStoreError) and issubclass(SourceError, ValueError)
