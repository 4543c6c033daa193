"""Plain text and Markdown files: their bytes decoded as their encoding says, or as can be told for sure."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from embeddings.errors import SourceError

# charset-normalizer's measure of mess in a decoding (0: none); above this a guess is not trusted.
MAX_CHAOS = 0.1
MIN_GUESS_BYTES = 32
_WIDE = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]
# Byte-order marks of the wide encodings, the UTF-32 ones first (UTF-32-LE's starts with UTF-16-LE's).
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
WIDE_BOMS = tuple(bom for bom, _ in _BOMS)
# A file is read as UTF-8 with its stray bytes replaced when it holds at least this many times more UTF-8
# characters beyond ASCII than bytes that are not UTF-8 (a file in another encoding has next to none).
MAX_STRAY_SHARE = 2
_SIGN_IN_WORD = re.compile(r"(?<=[^\W\d_])[^\w\s'’‘\-‐.·](?=[^\W\d_])")
logger = logging.getLogger(__name__)


def decode(data: bytes, path: Path) -> str:
    """A text file's text: as its byte-order mark says; UTF-8; UTF-8 with a few stray bytes replaced (and
    a warning); else the encoding charset-normalizer finds when it is sure of it (quotes are then exact in
    the decoded text, which is what the index holds).

    Raises:
        SourceError: neither; the message is a plain sentence.
    """
    data = data.removeprefix(codecs.BOM_UTF8)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as error:
                raise SourceError(path, f"{path}: starts as {encoding} but is not ({error.reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    stray = replaced.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    wide = sum(ord(c) > 0x7F for c in replaced) - stray
    if wide >= MAX_STRAY_SHARE * stray:
        # UTF-8 with a few stray bytes: a guess at another encoding would change every other quote.
        logger.warning("%s: %d byte(s) that are not UTF-8 shown as \ufffd", path, stray)
        return replaced
    from charset_normalizer import from_bytes  # only files that are not UTF-8 pay for it

    # UTF-16 and UTF-32 without a byte-order mark fit almost any bytes; and a few bytes prove nothing.
    found = list(from_bytes(data, cp_exclusion=_WIDE)) if len(data) >= MIN_GUESS_BYTES else []
    best = found[0] if found else None
    # Another encoding that reads the bytes as cleanly and as much like a language, but as other letters,
    # leaves the guess to chance: "crème" was read as cp1250's "crčme" from a short Latin-1 file.
    # So does one that reads as a letter what the first pick reads as a sign inside a word ("ni˝o", "nińo").
    text = str(best) if best else ""
    rivals = [m for m in found[1:] if m.chaos <= best.chaos and _other_letters(text, str(m))
              and (m.coherence >= best.coherence or _broken_words(str(m)) < _broken_words(text))]
    if best is None or best.chaos > MAX_CHAOS or rivals:
        raise SourceError(path, f"{path}: is not UTF-8 and its encoding cannot be told for sure; save it as UTF-8")
    logger.info("%s read as %s", path, best.encoding)
    return text


def _broken_words(text: str) -> int:
    """How many signs stand between two letters, as no word is spelt ("ni˝o"; not "don't" or "co-op")."""
    return len(_SIGN_IN_WORD.findall(text))


def _other_letters(text: str, other: str) -> bool:
    """Whether two decodings of the same bytes differ in a letter ("è" and "č"), not only in punctuation
    ("–" and "¢": the words, and so every quote's words, are the same)."""
    if len(text) != len(other):
        return True
    return any(a != b and (a.isalpha() or b.isalpha()) for a, b in zip(text, other))
