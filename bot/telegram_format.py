"""Telegram HTML for answers and help texts, split into messages Telegram accepts.

Every piece of document or user text goes through `html.escape`; tags come only from here, and a
message is never cut inside one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from embeddings.engine import CorpusInfo
from embeddings.retrieval import Answer, Quote

# Telegram's limit is 4,096 characters of text after entity parsing; counting UTF-16 code units is never
# less than what Telegram counts.
MESSAGE_LIMIT = 4096


@dataclass(frozen=True)
class Block:
    """A piece of a message: well-formed HTML, the length of the text it shows, and what goes before it."""

    html: str
    shown: int
    joiner: str = "\n\n"


def shown_length(text: str) -> int:
    """Length of text as Telegram measures it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def answer_messages(answer: Answer, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The answer as Telegram HTML messages of at most limit characters each.

    The best passage is quoted whole with its answering sentence in bold; the next ones show only
    their answering sentence. When the text does not hold the answer, the reply says so and quotes
    the nearest passage.
    """
    blocks = [_text_block(f"Note: {note}.", tag="i") for note in answer.notes]
    show_source = len({quote.source for quote in answer.passages}) > 1
    if not answer.answered:
        blocks.append(_text_block("The text does not seem to answer that. The nearest passage is this one:"))
    if answer.passages:
        best = answer.passages[0]
        blocks.extend(_quote_blocks(_marked(best), limit))
        blocks.append(_text_block(_place(best.paragraph, best.start, best.end, best.source, show_source), "\n", "i"))
    if answer.answered and len(answer.passages) > 1:
        blocks.append(_text_block("Also in the text:", tag="b"))
        for quote in answer.passages[1:]:
            start, end = quote.highlight.start, quote.highlight.end
            sentence = quote.text[start - quote.start : end - quote.start]
            blocks.extend(_quote_blocks([(sentence, False)], limit, joiner="\n"))
            blocks.append(_text_block(_place(quote.paragraph, start, end, quote.source, show_source), "\n", "i"))
    return pack(blocks, limit)


def start_text(info: CorpusInfo) -> str:
    """The welcome: what the bot knows, how it answers, a question to try."""
    names = ", ".join(f"<b>{html.escape(d.name, quote=False)}</b>" for d in info.documents)
    lines = [
        f"Hello! I answer questions about {names} by quoting the text word for word, "
        "and I say so when it does not hold the answer.",
    ]
    if info.documents and info.documents[0].opening:
        lines.append(f"It begins:\n<blockquote>{html.escape(info.documents[0].opening, quote=False)}</blockquote>")
    if info.sample_question:
        lines.append(f"Try: <code>{html.escape(info.sample_question, quote=False)}</code>")
    lines.append("/help shows how to ask, /about where the answers come from.")
    return "\n\n".join(lines)


def help_text(username: str) -> str:
    """How to ask, in private chats and in groups."""
    name = html.escape(username, quote=False)
    return (
        "<b>In this chat</b>, send a question as a message.\n"
        f"<b>In a group</b>, write <code>/ask your question</code>, mention @{name} in a message, "
        "or reply to one of my answers.\n\n"
        "Each answer quotes the passage that answers best, with the answering sentence in bold and its "
        "paragraph and character offsets below it; shorter quotes of the next best passages follow. "
        "If the text does not hold the answer I say so and show the nearest passage. "
        "I never add words of my own."
    )


def about_text(info: CorpusInfo) -> str:
    """The source texts and the index the answers come from."""
    lines = ["I answer only from:"]
    for d in info.documents:
        lines.append(
            f"• <b>{html.escape(d.name, quote=False)}</b>: {d.paragraphs:,} paragraph(s), {d.chars:,} characters"
        )
    lines.append(
        f"\nIts {info.passages:,} passages are searched by meaning (the sentence-transformers model "
        f"<code>{html.escape(Path(info.model).name, quote=False)}</code>, with a FAISS index) and by words (BM25)."
    )
    return "\n".join(lines)


def plain(text: str) -> str:
    """Escape text for a message of its own."""
    return html.escape(text, quote=False)


def pack(blocks: list[Block], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks, each after its joiner, into as few messages as fit the limit."""
    messages: list[list[Block]] = [[]]
    used = 0
    for block in blocks:
        extra = block.shown + (len(block.joiner) if messages[-1] else 0)
        if messages[-1] and used + extra > limit:
            messages.append([])
            extra = block.shown
            used = 0
        messages[-1].append(block)
        used += extra
    return ["".join((b.joiner if i else "") + b.html for i, b in enumerate(message)) for message in messages if message]


def _text_block(text: str, joiner: str = "\n\n", tag: str | None = None) -> Block:
    """Text escaped, inside tag when one is given."""
    body = html.escape(text, quote=False)
    return Block(f"<{tag}>{body}</{tag}>" if tag else body, shown_length(text), joiner)


def _place(paragraph: int, start: int, end: int, source: str, show_source: bool) -> str:
    place = f"¶ {paragraph} · characters {start:,}–{end:,}"
    return f"{place} · {Path(source).name}" if show_source else place


def _marked(quote: Quote) -> list[tuple[str, bool]]:
    """The quote's text as (text, bold) runs, the answering sentence bold."""
    start = quote.highlight.start - quote.start
    end = quote.highlight.end - quote.start
    runs = [(quote.text[:start], False), (quote.text[start:end], True), (quote.text[end:], False)]
    return [run for run in runs if run[0]]


def _quote_blocks(runs: list[tuple[str, bool]], limit: int, joiner: str = "\n\n") -> list[Block]:
    """Blockquotes of the runs, split between words into pieces that each fit a message."""
    blocks: list[Block] = []
    current: list[tuple[str, bool]] = []
    used = 0
    for text, bold in runs:
        for piece in re.findall(r"\S+\s*|\s+", text):
            while piece:
                size = shown_length(piece)
                if used + size <= limit:
                    current.append((piece, bold))
                    used += size
                    break
                if current and size <= limit:
                    blocks.append(_blockquote(current))
                    current, used = [], 0
                    continue
                # A "word" longer than a whole message: cut it where the message is full.
                part = _prefix(piece, limit - used)
                if part:
                    current.append((part, bold))
                blocks.append(_blockquote(current))
                current, used = [], 0
                piece = piece[len(part) :]
    if current:
        blocks.append(_blockquote(current))
    return [Block(b.html, b.shown, joiner) for b in blocks]


def _prefix(text: str, units: int) -> str:
    """The longest prefix of text that is at most units UTF-16 code units and splits no character."""
    used = 0
    for position, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:position]
    return text


def _blockquote(runs: list[tuple[str, bool]]) -> Block:
    parts = []
    for text, bold in runs:
        body = html.escape(text, quote=False)
        parts.append(f"<b>{body}</b>" if bold else body)
    merged = "".join(parts).replace("</b><b>", "")
    return Block(f"<blockquote>{merged}</blockquote>", sum(shown_length(t) for t, _ in runs))
