"""Render answers for a terminal: verbatim quotes with the answering sentence emphasised."""

from __future__ import annotations

from pathlib import Path

import click

from embeddings.excerpts import excerpt_place, excerpt_runs, group_nearby
from embeddings.retrieval import Answer, Quote


def format_answer(answer: Answer, threshold: float, styled: bool) -> str:
    """The answer as text: an abstention line when needed, then each excerpt under its place in the text.

    Passages that stand near each other are one excerpt, in the order they stand in the text.
    """
    lines = []
    if not answer.answered:
        lines.append(
            f"The text does not seem to answer that (confidence {answer.confidence:.2f}, "
            f"below {threshold:.2f}). The nearest passage:"
        )
    quotes = answer.passages if answer.answered else answer.passages[:1]
    show_source = len({q.source for q in answer.passages}) > 1
    for number, excerpt in enumerate(group_nearby(quotes), start=1):
        lines.append(_heading(number, excerpt, show_source, styled))
        text = "".join(_emphasised(run, styled) if marked else run for run, marked in excerpt_runs(excerpt))
        lines.extend("  │ " + line for line in text.split("\n"))
    return "\n".join(lines)


def _heading(number: int, excerpt: list[Quote], show_source: bool, styled: bool) -> str:
    score = max(q.score for q in excerpt)
    place = f"[{number}] {excerpt_place(excerpt)} · score {score:.2f}"
    if show_source:
        place += f" · {Path(excerpt[0].source).name}"
    return click.style(place, dim=True) if styled else place


def _emphasised(sentence: str, styled: bool) -> str:
    """An answering sentence in bold (or between ** when styles are off)."""
    return click.style(sentence, bold=True) if styled else f"**{sentence}**"
