"""Split a document into paragraphs, sentences and quotable passages, keeping exact offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Words that end with a period without ending the sentence. Dotted forms ("U.S.", "e.g.") are
# caught by their inner periods, single capitals ("J. Smith") by their length.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft vs no nos vol fig gen gov sen rep col lt sgt capt cmdr adm"
    " inc ltd co corp bros dept univ approx est jan feb mar apr jun jul aug sep sept oct nov dec"
    " op cf ca al".split()
)
_CLOSERS = "\"'”’)]»"
_OPENERS = "\"'“‘([«¿¡"
# A candidate boundary: terminal punctuation, any closing quotes or brackets, then white space; Chinese,
# Japanese (with the full- and halfwidth forms "．" and "｡", but not a fullwidth decimal point), Myanmar
# and Khmer full stops need no space after them (their writing often has none);
# Devanagari's danda, Arabic's question mark and Urdu's full stop end a sentence before a space or the end.
# Thai and Lao have no full stop: a space between two of their letters ends a sentence or a clause.
_BOUNDARY = re.compile(
    r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*(?=\s)"
    r"|(?:[。！？။។៕｡]|．(?![0-9０-９]))+[" + re.escape(_CLOSERS) + r"」』]*"
    r"|[।॥؟۔]+[" + re.escape(_CLOSERS) + r"]*(?=\s|$)"
    r"|(?<=[\u0e00-\u0eff])[ \t]+(?=[\u0e00-\u0eff])"
)
# Scripts written without spaces between words: Han and kana (IDEOGRAPHS), and Thai, Lao, Khmer, Myanmar
# (SYLLABLES); and what \\w leaves out inside a word: Indic vowel signs and Arabic vowel marks.
IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
SYLLABLES = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
UNSPACED = IDEOGRAPHS + SYLLABLES
SPACED_WORD = rf"(?:[^\W{UNSPACED}]|[\u0900-\u0dff\u064b-\u065f])+"
# Two ideographs (a Chinese word's usual length) or a short run of syllables count as a word, so a sentence
# of theirs is not one "word" that is joined to the next.
_WORD = re.compile(rf"[{IDEOGRAPHS}]{{1,2}}|[{SYLLABLES}]{{1,4}}|{SPACED_WORD}")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
# A closing paragraph of a page rather than of its text: newsletter, sharing, copyright and "more from" boxes.
_FOOTER = re.compile(
    r"subscribe|newsletter|sign up|posts sent to your (e-?mail|inbox)|discover more from|share (this|on)|"
    r"follow us|all rights reserved|©|copyright|related (posts|articles)|read more|cookies?\b|^tags?:",
    re.IGNORECASE,
)
# Only short paragraphs, and only a few at the end, can be such a footer.
FOOTER_WORDS = 25
FOOTER_PARAGRAPHS = 4
# A sentence of at most this many words is read with the one after it.
SHORT_SENTENCE = 2
# A "sentence" longer than this is cut at white space (or, without any, anywhere): a text without sentence
# ends would otherwise be one sentence that every question reaching it tokenizes whole. It is more than the
# models read of a sentence (the embedder 256 tokens, the reranker 64), so no real sentence loses words.
MAX_SENTENCE_CHARS = 1500
# Thai and Lao vowels that are letters, not marks, yet belong to a consonant: after it (sara a, aa, am,
# lakkhangyao) or before it (sara e, ae, o, ai).
_VOWELS_AFTER = frozenset("\u0e30\u0e32\u0e33\u0e45\u0eb0\u0eb2\u0eb3")
_VOWELS_BEFORE = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44\u0ec0\u0ec1\u0ec2\u0ec3\u0ec4")
_NEWLINE = re.compile(r"\n")


@dataclass(frozen=True)
class Sentence:
    """A sentence as a [start, end) span of its document."""

    start: int
    end: int
    paragraph: int


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences, sentences[first:last + 1], within one paragraph."""

    start: int
    end: int
    paragraph: int
    first: int
    last: int


def count_words(text: str) -> int:
    """Count the words of text as the chunker does."""
    return len(_WORD.findall(text))


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) spans of the paragraphs of text, stripped of surrounding white space.

    Paragraphs are separated by blank lines; a text without any blank line has one paragraph a line.
    """
    separator = _BLANK_LINE if _BLANK_LINE.search(text.strip()) else _NEWLINE
    spans = []
    position = 0
    for match in [*separator.finditer(text), None]:
        end = match.start() if match else len(text)
        span = _strip(text, position, end)
        if span:
            spans.append(span)
        if match:
            position = match.end()
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return the [start, end) spans of the sentences in text[start:end], stripped of white space."""
    end = len(text) if end is None else end
    spans = []
    position = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _ends_sentence(text, match.start(), match.end(), end):
            span = _strip(text, position, match.end())
            if span:
                spans.append(span)
            position = match.end()
    span = _strip(text, position, end)
    if span:
        spans.append(span)
    return [piece for span in _join_short(text, spans) for piece in _bounded(text, *span)]


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as pieces of at most MAX_SENTENCE_CHARS, cut at the last white space that leaves a piece
    at least half that long, else at the last place that parts no syllable (_parts_syllable): Thai, Lao,
    Khmer and Myanmar are often written without spaces."""
    pieces = []
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        half = start + MAX_SENTENCE_CHARS // 2
        cut = max(text.rfind(" ", half, limit), text.rfind("\n", half, limit))
        if cut <= start:
            cut = limit
            while cut > half and _parts_syllable(text, cut):
                cut -= 1
        piece = _strip(text, start, cut)
        if piece:
            pieces.append(piece)
        start = cut
    piece = _strip(text, start, end)
    return pieces + [piece] if piece else pieces


def _parts_syllable(text: str, cut: int) -> bool:
    """Whether cutting text before text[cut] parts a letter from its vowel, tone mark or stacked consonant:
    text[cut] is a mark, or a Thai or Lao vowel written after its consonant; or text[cut - 1] is a Thai or
    Lao vowel written before it, or a virama or Khmer coeng that joins the next consonant to it."""
    return (unicodedata.category(text[cut])[0] == "M" or text[cut] in _VOWELS_AFTER
            or text[cut - 1] in _VOWELS_BEFORE or unicodedata.combining(text[cut - 1]) == 9)


def _join_short(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """spans with each sentence of SHORT_SENTENCE words or fewer joined to the next one (the last to the one
    before): "Yes." and "No." open an answer rather than give it, and "Method." says nothing on its own."""
    joined: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in spans:
        if pending is not None:
            start, pending = pending, None
        if count_words(text[start:end]) <= SHORT_SENTENCE:
            pending = start
            continue
        joined.append((start, end))
    if pending is not None:  # the last sentence is short: it closes the one before
        joined[-1:] = [(joined[-1][0] if joined else pending, spans[-1][1])]
    return joined


def chunk(
    text: str, max_words: int, paragraphs: list[tuple[int, int]] | None = None
) -> tuple[list[Sentence], list[Passage]]:
    """Split text into sentences and into passages of whole sentences of at most max_words words.

    paragraphs are the spans sentences and passages keep within (by default split_paragraphs(text)).
    A passage starts at every sentence and takes the following sentences of its paragraph while it stays
    within max_words; a passage that ends where the one before it ends adds nothing and is skipped.
    A single sentence longer than max_words is a passage of its own: sentences are never cut.
    """
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    paragraphs = split_paragraphs(text) if paragraphs is None else paragraphs
    for number, (p_start, p_end) in enumerate(paragraphs[: len(paragraphs) - footer_paragraphs(text, paragraphs)], 1):
        first = len(sentences)
        sentences.extend(Sentence(s, e, number) for s, e in split_sentences(text, p_start, p_end))
        words = [count_words(text[s.start : s.end]) for s in sentences[first:]]
        previous_last = -1
        for i in range(len(words)):
            last, total = i, words[i]
            while last + 1 < len(words) and total + words[last + 1] <= max_words:
                last += 1
                total += words[last]
            if last > previous_last:
                passages.append(
                    Passage(sentences[first + i].start, sentences[first + last].end, number, first + i, first + last)
                )
                previous_last = last
    return sentences, passages


def footer_paragraphs(text: str, paragraphs: list[tuple[int, int]]) -> int:
    """How many paragraphs at the end of text are a page's footer (a newsletter box, share or copyright lines).

    They stay in the text, so every offset is the file's, but are not searchable: a footer is never an
    answer. A footer paragraph is short (at most FOOTER_WORDS words) and says what footers say; at most
    FOOTER_PARAGRAPHS count, and never the whole text.
    """
    count = 0
    for start, end in reversed(paragraphs[1:][-FOOTER_PARAGRAPHS:]):
        paragraph = text[start:end]
        if count_words(paragraph) > FOOTER_WORDS or not _FOOTER.search(paragraph):
            break
        count += 1
    return count


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and (text[start].isspace() or text[start] == "\ufeff"):  # a byte-order mark too
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _ends_sentence(text: str, mark: int, after: int, limit: int) -> bool:
    """Whether the punctuation at text[mark:after] ends a sentence."""
    following = after
    while following < limit and text[following].isspace():
        following += 1
    if following >= limit:
        return True
    nxt = text[following]
    caseless = nxt.isalpha() and nxt.lower() == nxt.upper()  # Han, Arabic, Devanagari: no capitals to look for
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or caseless):
        return False
    if text[mark] != ".":
        return True
    word_start = mark
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in _OPENERS:
        word_start -= 1
    word = text[word_start:mark]
    if "." in word:  # "U.S", "e.g": a dotted abbreviation
        return not all(part.isalpha() and len(part) <= 2 for part in word.split("."))
    if len(word) == 1 and word.isalpha():  # an initial
        return False
    return word.lower() not in ABBREVIATIONS


_NAME = re.compile(r"[A-Z][\w-]*(?:[’']s\b)?(?:[ \t]+[A-Z][\w-]*)*")


def main_name(text: str) -> str | None:
    """The capitalised name (e.g. "Security Council") that text mentions most often inside its sentences.

    Sentence-initial words are skipped since their capital says nothing. Returns None when text has no name.
    """
    counts: dict[str, int] = {}
    for start, end in split_paragraphs(text):
        for s_start, s_end in split_sentences(text, start, end):
            for match in _NAME.finditer(text, s_start, s_end):
                name = re.sub(r"[’']s$", "", match.group())
                if match.start() == s_start:
                    name = name.split(None, 1)[1] if len(name.split(None, 1)) > 1 else ""
                elif not text[match.start() - 1].isspace():
                    continue
                if name:
                    counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda name: (counts[name], len(name)), default=None)
