"""The readers' old home, kept so that `from embeddings.sources import ...` still works: they are
embeddings.readers now."""

from embeddings.errors import SourceError
from embeddings.readers import (
    SUFFIXES,
    current_sha256,
    decode,
    docx_text,
    expand_paths,
    html_text,
    pdf_text,
    read_document,
)

__all__ = ["SUFFIXES", "SourceError", "current_sha256", "decode", "docx_text", "expand_paths", "html_text",
           "pdf_text", "read_document"]
