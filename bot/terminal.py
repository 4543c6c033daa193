"""Render answers for a terminal: verbatim quotes with the answering sentence emphasised."""

from __future__ import annotations

import click

from bot.render import abstention_with_confidence, emphasis_runs, place_line, source_name
from embeddings import Answer, Quote, group_nearby


def format_answer(answer: Answer, threshold: float, styled: bool, show_source: bool) -> str:
    """The answer as text: an abstention line when needed, then each excerpt under its place in the text.

    Passages that stand near each other are one excerpt, in the order they stand in the text; show_source
    names each excerpt's file.
    """
    lines = []
    if not answer.answered:
        lines.append(abstention_with_confidence(answer, threshold))
    quotes = answer.passages if answer.answered else answer.passages[:1]
    for number, excerpt in enumerate(group_nearby(quotes), start=1):
        lines.append(_heading(number, excerpt, show_source, styled))
        text = "".join(_emphasised(run, styled) if marked else run for run, marked in emphasis_runs(excerpt))
        lines.extend("  │ " + line for line in text.split("\n"))
    return "\n".join(lines)


def _heading(number: int, excerpt: list[Quote], show_source: bool, styled: bool) -> str:
    score = max(q.score for q in excerpt)
    place = f"[{number}] {place_line(excerpt)} · score {score:.2f}"
    if show_source:
        place += f" · {source_name(excerpt)}"
    return click.style(place, dim=True) if styled else place


def _emphasised(sentence: str, styled: bool) -> str:
    """An answering sentence in bold (or between ** when styles are off)."""
    return click.style(sentence, bold=True) if styled else f"**{sentence}**"
