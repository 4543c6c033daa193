"""Render answers for a terminal: the answering sentence first and emphasised, wrapped under a gutter."""

from __future__ import annotations

import re
import textwrap

import click

from bot.render import (
    abstention_with_confidence,
    emphasis_runs,
    paragraphs_line,
    place_line,
    sentence,
    source_name,
)
from embeddings import Answer, Presentation, Quote

GUTTER = "  │ "


def format_answer(
    answer: Answer,
    shown: Presentation,
    threshold: float,
    styled: bool,
    show_source: bool,
    verbose: bool = False,
    width: int | None = None,
) -> str:
    """The answer as text: a hedge or abstention line when needed, the lead excerpt under its place (its
    answering sentence emphasised when it is the answer), then "also" lines.

    show_source names the file; verbose adds character offsets and scores; width wraps the quote to it.
    """
    lines = fitted(printable(abstention_with_confidence(answer, threshold)), width) if not answer.answered else []
    if not shown.lead:
        return "\n".join(lines)
    lines += [_dim(line, styled) for line in fitted(_heading(shown.lead, show_source, verbose), width)]
    # A sentence in bold is the answer: not so when the text may not hold it, nor when it does not.
    runs = [(printable(text), bold) for text, bold in emphasis_runs(shown.lead, answer.answered)]
    for paragraph in _split_lines(runs):
        for row in _wrap(paragraph, (width - len(GUTTER)) if width else None):
            lines.append(GUTTER + "".join(_emphasised(text, styled) if bold else text for text, bold in row))
    for quote in shown.also:
        where = place_line([quote]) if verbose else paragraphs_line([quote])
        if show_source:
            where = f"{source_name([quote])} · {where}"
        label = printable(f"  also {where}: ")
        also = fitted(label + printable(sentence(quote)), width, indent="    ")
        lines.append(_dim(label, styled) + also[0][len(label) :])
        lines += also[1:]
    return "\n".join(lines)


def fitted(text: str, width: int | None, indent: str = "") -> list[str]:
    """text as lines of at most width characters, broken between words (one line without a width)."""
    if not width:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _heading(excerpt: list[Quote], show_source: bool, verbose: bool) -> str:
    place = place_line(excerpt) if verbose else paragraphs_line(excerpt)
    if verbose:
        place += f" · score {excerpt[0].score:.2f}"
    if show_source:
        place = f"{source_name(excerpt)} · {place}"
    return printable(place)


def _split_lines(runs: list[tuple[str, bool]]) -> list[list[tuple[str, bool]]]:
    """The runs cut at line breaks: one list of runs a line of the quote."""
    lines: list[list[tuple[str, bool]]] = [[]]
    for text, bold in runs:
        for number, piece in enumerate(text.split("\n")):
            if number:
                lines.append([])
            if piece:
                lines[-1].append((piece, bold))
    return lines


def _wrap(runs: list[tuple[str, bool]], width: int | None) -> list[list[tuple[str, bool]]]:
    """Word-wrap a line of runs to width characters (no wrapping without a width), keeping each word's style."""
    if not width:
        return [runs]
    # A run's white space at its end is a word of its own: the space before the next run is kept.
    words = [(word, bold) for text, bold in runs for word in re.findall(r"\s*\S+|\s+", text)]
    rows: list[list[tuple[str, bool]]] = [[]]
    used = 0
    for word, bold in words:
        if used and used + len(word) > width:
            rows.append([])
            word, used = word.lstrip(), 0
        if rows[-1] and rows[-1][-1][1] == bold:
            rows[-1][-1] = (rows[-1][-1][0] + word, bold)
        else:
            rows[-1].append((word, bold))
        used += len(word)
    return rows


# Unicode's control characters (category Cc) but line breaks and tabs. One character class rather than a test
# of each character's category, which took 46 µs of an answer's formatting where the class takes 8.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """text without control characters (but line breaks and tabs): a document's escape sequences must not
    move the cursor, recolour or retitle the user's terminal, now or when a pipe's output is shown later."""
    return _CONTROL.sub("", text)


def _emphasised(text: str, styled: bool) -> str:
    """An answering sentence in bold (or between ** when styles are off); its leading space stays plain."""
    stripped = text.lstrip()
    lead = text[: len(text) - len(stripped)]
    return lead + (click.style(stripped, bold=True) if styled else f"**{stripped}**")


def _dim(text: str, styled: bool) -> str:
    return click.style(text, dim=True) if styled else text
