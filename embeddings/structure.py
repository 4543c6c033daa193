"""How a document is laid out: its units (paragraphs; in Markdown also list items, table rows and code
blocks) with the headings they stand under, and what search and a reader see of each.

Offsets always point into the text as given. Markdown is parsed with markdown-it-py: headings are not
sentences but the place of the units below them ("Banana bread › Method"); a list item is a unit of its own
(its "1." is not part of it); a table row is a unit that search reads with its name and its column
names ("Weight: 820 g"); inline markup (emphasis, links, code) is read and shown as the words it marks.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from embeddings.text import split_paragraphs, split_sentences

FORMATS = ("text", "markdown")
SECTION_SEPARATOR = " › "
# Word search reads a unit with only the heading right above it: the outer ones, repeated over every unit
# below them (a title over the whole document), would make all those units match a question naming them
# alike. The embedder and the reranker read every heading: a table row "Weight: 820 g" means nothing
# without the "Aurora desk lamp" above it (on tests/data/everyday this alone puts the right answer first).
WORD_SEARCH_HEADINGS = 1
# What search reads of a span (its headings, a table row's cells with their column names) is at most twice
# the span's own length beyond it, and at least SEARCH_EXTRA_FLOOR, at most SEARCH_EXTRA_CHARS: repeated
# over every sentence of a row or a section, they would otherwise multiply what a build embeds (a 0.46 MB
# table once asked for 510 MB).
SEARCH_EXTRA_CHARS = 500
SEARCH_EXTRA_FLOOR = 100
# What embedding one text costs beyond its characters, in characters: with the bundled int8 MiniLM a text
# of 6 characters takes as long as one of about 35 (1,800 a second against 390 of 150 characters).
TEXT_COST_CHARS = 30
# A plain-text line that is a heading: at most this long, and not ending in closing punctuation.
HEADING_MAX_CHARS = 80
HEADING_MAX_WORDS = 10
_CLOSING = ".!?:;,…\"'”’-–—。！．；，、：」』।॥۔։؛،"
LIST_ITEM = re.compile(r"[-*•–]\s+|\d{1,3}[.)]\s+")
_LINE = re.compile(r"[^\n]+")
# A table row's name that reads as a label: up to four words, without digits ("Weight", "Shade diameter").
_LABEL = re.compile(r"[^\W\d][^\d\s]*(?: [^\d\s]+){0,3}")
_CARRIED_LINE = re.compile(r"\n[ \t]*(?:>[ \t]?)*[ \t]*")
_parser = None
_parser_lock = threading.Lock()


@dataclass(frozen=True)
class Unit:
    """A paragraph, list item, table row or code block: [start, end) of the text."""

    start: int
    end: int
    headings: tuple[str, ...] = ()
    cells: str = ""  # a table row as search reads it (see _row_words)
    columns: tuple[str, ...] = ()  # a table row's column names, as its header writes them (see _needs_names)

    @property
    def section(self) -> str:
        """The headings above the unit, outermost first, and a table row's column names: "Banana bread ›
        Method", "Travel › Expense limits › Item | Limit | Approval" ("" for none)."""
        columns = (" | ".join(self.columns),) if self.columns else ()
        return SECTION_SEPARATOR.join(self.headings + columns)


class Layout:
    """One document's units, and the text search reads for a span of one of them."""

    def __init__(self, text: str, format: str = "text") -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown document format {format!r}: use one of {', '.join(FORMATS)}")
        self.text = text
        self.markdown = format == "markdown"
        self.units = markdown_units(text) if self.markdown else text_units(text)

    def spans(self) -> list[tuple[int, int]]:
        """The units' [start, end) spans, in text order: the paragraphs sentences and passages keep within."""
        return [(unit.start, unit.end) for unit in self.units]

    def section(self, paragraph: int) -> str:
        """The headings above unit number paragraph (counted from 1)."""
        return self.units[paragraph - 1].section if 0 < paragraph <= len(self.units) else ""

    def search_text(self, start: int, end: int, paragraph: int, headings: int | None = None) -> str:
        """What search reads for text[start:end] in unit number paragraph: the headings above it (the
        innermost ones, up to headings of them; all by default), then its visible words; a table row as
        its cells with their column names."""
        unit = self.units[paragraph - 1] if 0 < paragraph <= len(self.units) else Unit(start, end)
        room = end - start + min(SEARCH_EXTRA_CHARS, max(SEARCH_EXTRA_FLOOR, 2 * (end - start)))
        body = (unit.cells or self.shown(self.text[start:end]))[:room]
        # The words themselves first, then the headings nearest them that still fit.
        above: list[str] = []
        for heading in reversed(unit.headings[-headings:] if headings else unit.headings):
            if len(body) + sum(len(h) + len(SECTION_SEPARATOR) for h in above) + len(heading) + 2 > room:
                break
            above.insert(0, heading)
        return f"{SECTION_SEPARATOR.join(above)}: {body}" if above else body

    def shown(self, text: str) -> str:
        """text (a slice of the document) as a reader sees it: inline markup gone in Markdown."""
        return visible(text) if self.markdown else text


def visible(text: str) -> str:
    """Markdown inline text as a reader sees it: **bold**, [a link](url) and `code` become their words,
    and a line carried on inside a quote block or a list item loses its "> " and its indent."""
    text = _CARRIED_LINE.sub("\n", text)
    if not any(mark in text for mark in "*_[`<\\&!"):
        return text
    tokens = _markdown().parseInline(text)
    words = []
    for token in tokens[0].children or []:
        if token.type in ("text", "code_inline"):
            words.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            words.append("\n")
        elif token.type == "image":
            words.append(token.content)
    return "".join(words)


def text_units(text: str) -> list[Unit]:
    """The units of a plain text in order: its paragraphs (see split_paragraphs), a paragraph's list items
    each a unit of its own (without its "-", "•" or "1."), and its headings not units but the place of
    those below them.

    A heading is a short line without closing punctuation followed by prose: "The Tide Mill" above a
    paragraph. A first line that is one, or that stands above one, is the title, kept above every later
    heading."""
    lines = [line for start, end in split_paragraphs(text) for line in _lines(text, start, end)]
    headings = [_heads(text, line, lines[number + 1] if number + 1 < len(lines) else None)
                for number, line in enumerate(lines)]
    if len(headings) > 1 and headings[1] and heading_like(text[lines[0][0] : lines[0][1]]):
        headings[0] = not LIST_ITEM.match(text, lines[0][0], lines[0][1])
    units: list[Unit] = []
    title: tuple[str, ...] = ()
    section: tuple[str, ...] = ()
    block: tuple[int, int] | None = None  # prose lines not yet a unit: they join until a paragraph ends
    for number, (start, end, first, last) in enumerate(lines):
        item = LIST_ITEM.match(text, start, end)
        heading = headings[number]
        if heading or item or first:
            if block:
                units.append(Unit(*block, title + section))
            block = None
        if heading:
            if number == 0 and not item:  # "1. Safety" opens a section, not the document
                title = (text[start:end].strip(),)
            else:
                section = (text[start:end].strip(),)
            continue
        if item:
            start = item.end()
        if item or block is None:
            block = (start, end)
        else:
            block = (block[0], end)
        if last:
            units.append(Unit(*block, title + section))
            block = None
    if block:
        units.append(Unit(*block, title + section))
    return units


def _heads(text: str, line: tuple[int, int, bool, bool], following: tuple[int, int, bool, bool] | None) -> bool:
    """Whether a line of text is a heading, as the line after it says: one above prose, or above a list
    ("5. Servicing" only above prose; "- Milk" never)."""
    start, end = line[0], line[1]
    if following is None or not heading_like(text[start:end]):
        return False
    item = LIST_ITEM.match(text, start, end)
    next_item = LIST_ITEM.match(text, following[0], following[1])
    next_prose = not next_item and not heading_like(text[following[0] : following[1]])
    heading = next_prose if item else next_prose or bool(next_item)
    return heading and not (item and text[start] in "-*•–")


def _lines(text: str, start: int, end: int) -> list[tuple[int, int, bool, bool]]:
    """The non-blank lines of text[start:end] stripped, each with whether it opens and closes that span."""
    spans = []
    for match in _LINE.finditer(text, start, end):
        if match.group().strip():
            left = match.start() + len(match.group()) - len(match.group().lstrip())
            spans.append((left, match.start() + len(match.group().rstrip())))
    return [(s, e, i == 0, i == len(spans) - 1) for i, (s, e) in enumerate(spans)]


def heading_like(line: str) -> bool:
    """A short line with a letter and without closing punctuation: "The Tide Mill", "5. Servicing"; or a
    short question, which is the place of the answer below it in notes and FAQs ("Is it still working?")."""
    line = line.strip()
    return (len(line) <= HEADING_MAX_CHARS and len(line.split()) <= HEADING_MAX_WORDS
            and any(c.isalpha() for c in line) and (line[-1] not in _CLOSING or line[-1] == "?"))


def markdown_units(text: str) -> list[Unit]:
    """The units of a Markdown text in order, each with the headings above it (headings are not units)."""
    tokens = _markdown().parse(text)
    starts = _line_starts(text)
    headings: list[tuple[int, str]] = []
    units: list[Unit] = []
    columns: list[str] = []
    row: list[str] = []
    row_line: int | None = None
    body: list[tuple[tuple[int, int], list[str]]] = []  # a table's rows below its header, with their spans
    in_head = False
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1:])
            headings = [h for h in headings if h[0] < level] + [(level, visible(tokens[i + 1].content).strip())]
        elif kind == "inline" and tokens[i - 1].type == "paragraph_open" and token.map:
            span = _content_span(text, starts, token.map, token.content)
            if span:
                units.append(Unit(*span, tuple(h for _, h in headings)))
        elif kind in ("fence", "code_block") and token.map and token.content.strip():
            span = _content_span(text, starts, token.map, token.content)
            if span:
                units.append(Unit(*span, tuple(h for _, h in headings)))
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row, row_line = [], token.map[0] if token.map else None
        elif kind == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(visible(token.content).strip())
            if row_line is None and token.map:
                row_line = token.map[0]
        elif kind == "tr_close" and in_head:
            columns = row
            # A name and a value with a digit ("Dimensions | 24 × 18 × 6 cm") is a key/value table's first row,
            # which Markdown can only write as the header: it is a unit like the rows below it.
            span = _row_span(text, starts, row_line) if row_line is not None and len(row) == 2 else None
            if span and any(c.isdigit() for c in row[1]):
                columns = []
                units.append(Unit(*span, tuple(h for _, h in headings), _row_words(columns, row)))
        elif kind == "tr_close" and tokens[i - 1].type != "tr_open" and row_line is not None:
            span = _row_span(text, starts, row_line)
            if span:
                body.append((span, row))
        elif kind == "table_close":
            names = columns if _needs_names(columns, [cells for _, cells in body]) else []
            units += [Unit(*span, tuple(h for _, h in headings), _row_words(names, cells), tuple(names))
                      for span, cells in body]
            columns, body = [], []
    return units


def embedding_work(text: str, format: str = "text") -> int:
    """What indexing text asks of the embedder, in characters: each sentence as search reads it, plus
    TEXT_COST_CHARS for each. Embedding time grows with it, whatever the text is made of."""
    layout = Layout(text, format)
    return sum(
        len(layout.search_text(start, end, number)) + TEXT_COST_CHARS
        for number, (p_start, p_end) in enumerate(layout.spans(), 1)
        for start, end in split_sentences(text, p_start, p_end)
    )


def _needs_names(columns: list[str], rows: list[list[str]]) -> bool:
    """Whether a table's rows are read and placed with its column names: with three columns or more, when
    the header names any; with two, when it names both and at most half its rows are a label and its
    value. A spec sheet's "Weight | 820 g" explains itself (and its header is "Property | Value"); "Less
    than 5 | 25" needs "Years of service | Days of leave", and so does "Less than five | 25" beside it."""
    if len(columns) > 2:
        return any(columns)
    labelled = sum(_labelled(row) for row in rows)
    return len(columns) == 2 and all(columns) and 2 * labelled <= len(rows)


def _labelled(row: list[str]) -> bool:
    """Whether a row of two cells is a label of a few words and its value."""
    return len(row) == 2 and bool(row[1]) and _LABEL.fullmatch(row[0]) is not None


def _row_words(columns: list[str], row: list[str]) -> str:
    """A table row as search reads it. The first cell names the row, and each cell after it keeps its
    column's name when columns names them ("Light bulbs: Return window: 14 days; Condition: Still sealed",
    "Less than 5: Days of leave: 25"); without names, a label of a few words and its value read as a
    sentence ("the weight is 820 g"), other cells as they are ("Up to 7 years: 25 days")."""
    name, rest = (row[0], row[1:]) if row else ("", [])
    if not columns and _labelled(row):
        # As a sentence: the reranker, trained on prose, reads "the weight is 820 g" as the answer to "how
        # heavy is it?" and "Weight: 820 g" not much better than any sentence with a number.
        lead = name[0].lower() + name[1:] if name[1:2].islower() else name
        return f"the {lead} {'are' if re.search(r'[^s]s$', name) else 'is'} {rest[0]}"
    named = zip(columns[1:] + [""] * len(rest), rest, strict=False)
    values = "; ".join(f"{column}: {cell}" if column else cell for column, cell in named if cell)
    return f"{name}: {values}" if name and values else name or values


def _markdown():
    global _parser
    with _parser_lock:
        if _parser is None:
            from markdown_it import MarkdownIt  # only Markdown documents pay for it

            _parser = MarkdownIt("commonmark").enable("table")
        return _parser


def _line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    starts.append(len(text))
    return starts


def _content_span(text: str, starts: list[int], lines: list[int], content: str) -> tuple[int, int] | None:
    """The span of a block from its first word to its last, markers before it (list numbers, "> ") left out."""
    begin, end = starts[min(lines[0], len(starts) - 1)], starts[min(lines[1], len(starts) - 1)]
    first_line = content.strip().split("\n", 1)[0].strip()
    found = text.find(first_line, begin, end) if first_line else -1
    start = found if found != -1 else begin
    last_line = content.rstrip().rsplit("\n", 1)[-1].strip()
    found_last = text.rfind(last_line, start, end) if last_line else -1
    stop = found_last + len(last_line) if found_last != -1 else len(text[:end].rstrip())
    return (start, stop) if stop > start else None


def _row_span(text: str, starts: list[int], line: int) -> tuple[int, int] | None:
    """A table row's line without its outer pipes and white space."""
    start, end = starts[min(line, len(starts) - 1)], starts[min(line + 1, len(starts) - 1)]
    while start < end and text[start] in " \t|":
        start += 1
    while end > start and text[end - 1] in " \t|\r\n":
        end -= 1
    return (start, end) if end > start else None
