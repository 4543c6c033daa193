"""Every error citebot raises for a person to read, under one root that front ends catch once.

    CitebotError
    ├── ConfigError                 a setting has a value citebot cannot use
    ├── IndexStoreError             an index (directory or Milvus collection) cannot be used; the message says
    │   │                           what fixes it
    │   ├── IndexNotFoundError      there is no index at the directory
    │   ├── StoreUnavailableError   Milvus cannot be reached or did not answer in time
    │   ├── IndexReplacedError      the build being read was replaced and removed meanwhile (read again)
    │   ├── CorruptIndexError       a file of the index is missing, truncated or altered
    │   ├── StaleIndexError         built with other settings or from other versions of its sources
    │   └── IndexWriteError         could not be written (full disk, no permission); the old index is whole
    │       └── NotAnIndexError     the directory holds something else, so citebot refuses to replace it
    ├── SourceError                 a source file cannot be indexed; .path names it
    ├── EmptyQuestionError          the question has no words to search for
    ├── ModelError                  the embedding model cannot be used
    │   ├── ModelNotFoundError      not on this machine (citebot never downloads one)
    │   └── UnsupportedModelError   built in a way the onnx backend does not reproduce
    ├── LocationError               a place's document is no longer indexed, or lacks those sentences
    └── EvalFileError               a QA file is not in the expected format

Each also derives from the built-in exception it was before the tree existed (ValueError, RuntimeError,
LookupError), so code written against those keeps working.
"""

from __future__ import annotations

from pathlib import Path


class CitebotError(Exception):
    """The root: an error whose message is meant for the person using citebot."""

    def for_user(self) -> str:
        """The message without this machine's folders, for people who do not run citebot (a chat)."""
        return str(self)


class ConfigError(CitebotError, ValueError):
    """A setting has a value citebot cannot use."""


class IndexStoreError(CitebotError):
    """An index directory cannot be used; the message says why and what fixes it."""

    def for_user(self) -> str:
        return "the index could not be updated on the server; its log says why"


class IndexNotFoundError(IndexStoreError):
    """There is no index at the directory."""


class StoreUnavailableError(IndexStoreError, ConnectionError):
    """Milvus cannot be reached, refused the connection or did not answer within the timeout."""

    def for_user(self) -> str:
        return "the texts cannot be reached just now; try again in a minute"


class IndexReplacedError(IndexStoreError):
    """The build being read was replaced by a newer one and removed meanwhile; reading again finds the newer."""


class CorruptIndexError(IndexStoreError):
    """A file of the index is missing, truncated or altered."""


class StaleIndexError(IndexStoreError):
    """The index was built with other settings or from other versions of its sources."""


class IndexWriteError(IndexStoreError):
    """The index could not be written (a full disk, no permission); the previous one is untouched."""


class NotAnIndexError(IndexWriteError):
    """The directory named for the index holds something else; citebot refuses to replace it."""


class SourceError(CitebotError, ValueError):
    """A source file cannot be indexed; the message names it and path is where it is."""

    def __init__(self, path: str | Path, message: str) -> None:
        """message is the whole sentence, path as it names it."""
        super().__init__(message)
        self.path = str(path)

    def __reduce__(self):  # it crosses from the process that reads a file
        return type(self), (self.path, str(self))

    def for_user(self) -> str:
        if "://" in self.path:  # a web page: its address is the user's own, not this machine's folder
            return str(self)
        return str(self).replace(self.path, Path(self.path).name)


class EmptyQuestionError(CitebotError, ValueError):
    """The question has no words to search for."""


class ModelError(CitebotError, RuntimeError):
    """The embedding model cannot be used."""


class ModelNotFoundError(ModelError):
    """The embedding model is not on this machine (citebot never downloads one)."""


class UnsupportedModelError(ModelError):
    """The model is built in a way the onnx backend does not reproduce; the torch backend runs it."""


class LocationError(CitebotError, LookupError):
    """A location's document is no longer indexed, or its sentences are not in it."""


class EvalFileError(CitebotError, ValueError):
    """The QA file is not in the expected format."""
