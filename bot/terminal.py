"""Render answers for a terminal: verbatim quotes with the answering sentence emphasised."""

from __future__ import annotations

from pathlib import Path

import click

from embeddings.retrieval import Answer, Quote


def format_answer(answer: Answer, threshold: float, styled: bool) -> str:
    """The answer as text: an abstention line when needed, then each quote under its place in the text."""
    lines = []
    if not answer.answered:
        lines.append(
            f"The text does not seem to answer that (confidence {answer.confidence:.2f}, "
            f"below {threshold:.2f}). The nearest passage:"
        )
    quotes = answer.passages if answer.answered else answer.passages[:1]
    sources = {q.source for q in answer.passages}
    for number, quote in enumerate(quotes, start=1):
        lines.append(_heading(number, quote, show_source=len(sources) > 1, styled=styled))
        lines.extend("  │ " + line for line in _emphasised(quote, styled).split("\n"))
    return "\n".join(lines)


def _heading(number: int, quote: Quote, show_source: bool, styled: bool) -> str:
    place = f"[{number}] ¶ {quote.paragraph} · chars {quote.start:,}–{quote.end:,} · score {quote.score:.2f}"
    if show_source:
        place += f" · {Path(quote.source).name}"
    return click.style(place, dim=True) if styled else place


def _emphasised(quote: Quote, styled: bool) -> str:
    """The quote's text with its highlight in bold (or between ** when styles are off)."""
    start = quote.highlight.start - quote.start
    end = quote.highlight.end - quote.start
    before, sentence, after = quote.text[:start], quote.text[start:end], quote.text[end:]
    marked = click.style(sentence, bold=True) if styled else f"**{sentence}**"
    return before + marked + after
