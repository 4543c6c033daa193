"""What an answer shows, for every front end: the place line, the emphasised runs, the abstention
sentence and when to name the source. The terminal and Telegram only dress these in their own markup."""

from __future__ import annotations

import math
import re
import unicodedata

from bot.i18n import N_, _, number
from embeddings import Answer, Quote, Verdict, display_name, touching

NOT_ANSWERED = "The text does not seem to answer that"
MAY_NOT_ANSWER = "The text may not answer this"
# The engine's notes on an answer, in English; marked here so the catalogs hold them (shown with _()).
ENGINE_NOTES = (N_("asked about the whole text, so its opening is quoted"), N_("the index holds no text"),
                N_("the question was cut to its first 1000 characters"))
# Confidence below which the nearest passage is called barely (rather than loosely) related.
BARELY_RELATED = 0.2


def place_line(excerpt: list[Quote]) -> str:
    """Where an excerpt stands: "Method · ¶ 4 · chars 1,210–1,388" (its headings, when it has any), with
    "…" where text is skipped."""
    parts: list[list[Quote]] = []
    for quote in excerpt:
        if parts and touching(parts[-1][-1], quote):
            parts[-1].append(quote)
        else:
            parts.append([quote])
    places = []
    for part in parts:
        section = f"{part[0].section} · " if part[0].section else ""
        chars = _("chars {start}–{end}").format(start=number(part[0].start), end=number(part[-1].end))
        places.append(f"{section}{_unit(part)} · {chars}")
    return " … ".join(places)


def paragraphs_line(excerpt: list[Quote]) -> str:
    """Where an excerpt stands in words: "Banana bread › Method · ¶ 4–5", "page 3" in a PDF (its headings,
    when it has any)."""
    where = _unit(excerpt)
    return f"{excerpt[0].section} · {where}" if excerpt[0].section else where


def _unit(excerpt: list[Quote]) -> str:
    """"page 3" (or "pages 3–4") in a PDF, else "¶ 4" (or "¶ 4–5")."""
    first, last = excerpt[0], excerpt[-1]
    if first.page:
        if last.page == first.page:
            return _("page {number}").format(number=first.page)
        return _("pages {first}–{last}").format(first=first.page, last=last.page)
    return f"¶ {first.paragraph}" + (f"–{last.paragraph}" if last.paragraph != first.paragraph else "")


def emphasis_runs(excerpt: list[Quote], emphasise: bool = True) -> list[tuple[str, bool]]:
    """The excerpt as (text, emphasised) runs, "…" where text is skipped.

    Only one sentence is emphasised, the first quote's answering sentence (an excerpt leads with its
    answer and what follows is context); a quote with an empty one passes the emphasis on to the next.
    Nothing is emphasised unless emphasise (a reply that does not answer marks no sentence as the answer).
    """
    emphasised = not emphasise
    runs: list[tuple[str, bool]] = []
    for position, quote in enumerate(excerpt):
        if position:
            before = excerpt[position - 1]
            if not touching(before, quote):
                runs.append((" … ", False))
            else:
                runs.append(("\n" if before.paragraph != quote.paragraph else " ", False))
        if emphasised or quote.highlight.end <= quote.highlight.start:
            runs.append((quote.shown(quote.text), False))
            continue
        emphasised = True
        start = quote.highlight.start - quote.start
        end = quote.highlight.end - quote.start
        runs += [(quote.shown(quote.text[:start]), False), (quote.shown(quote.text[start:end]), True),
                 (quote.shown(quote.text[end:]), False)]
    return [run for run in runs if run[0]]


def sentence(quote: Quote, limit: int = 160) -> str:
    """A quote's answering sentence, shortened to limit characters with "…"."""
    text = quote.text[quote.highlight.start - quote.start : quote.highlight.end - quote.start]
    return shorten(quote.shown(text), limit)


def shorten(text: str, limit: int) -> str:
    """text cut to at most limit characters, "…" marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_name(excerpt: list[Quote]) -> str:
    """The name of the file (or the address of the page) an excerpt is quoted from."""
    return display_name(excerpt[0].source) if excerpt else ""


def names_sources(document_count: int) -> bool:
    """Whether answers name their file: whenever the index holds more than one."""
    return document_count > 1


def abstention_with_confidence(answer: Answer, threshold: float) -> str:
    """The line above an answer that is not one (hedged or not in the text), with the figures behind it,
    for a reader at a terminal; "" for an answer."""
    if answer.verdict is Verdict.ANSWERED:
        return ""
    confidence = f"{answer.confidence:.2f}"
    if answer.verdict is Verdict.UNCERTAIN and answer.absent:
        # Hedged for the names alone: the confidence, high, is not what the verdict was read from.
        return _("The text may not answer this: it never mentions {names}. The closest passage, not marked as the "
                 "answer:").format(names=_names(answer))
    if answer.verdict is Verdict.UNCERTAIN:
        return _("The text may not answer this (confidence {confidence}). The closest passage, not marked as the "
                 "answer:").format(confidence=confidence)
    if answer.absent:
        return _("The text does not seem to answer that: it never mentions {names}. The nearest passage:").format(
            names=_names(answer))
    if answer.confidence < threshold:
        # Rounded down and up, so that they never read as equal ("0.78, below 0.78") or in the wrong order.
        low, high = math.floor(round(answer.confidence * 100, 6)), math.ceil(round(threshold * 100, 6))
        return _("The text does not seem to answer that (confidence {confidence}, below {threshold}). The nearest "
                 "passage:").format(confidence=f"{low / 100:.2f}", threshold=f"{high / 100:.2f}")
    return _("The text does not seem to answer that (confidence {confidence}). The nearest passage:").format(
        confidence=confidence)


def abstention_with_closeness(answer: Answer) -> str:
    """The same line in words, for a chat."""
    if answer.verdict is Verdict.ANSWERED:
        return ""
    if answer.verdict is Verdict.UNCERTAIN and answer.absent:
        return _("The text may not answer this: it never mentions {names}. The closest passage, which may not "
                 "answer it:").format(names=_names(answer))
    if answer.verdict is Verdict.UNCERTAIN:
        return _("The text may not answer this. The closest passage, which may not answer it:")
    if answer.absent:
        return _("The text does not seem to answer that: it never mentions {names}. The nearest passage:").format(
            names=_names(answer))
    if answer.confidence < BARELY_RELATED:
        return _("The text does not seem to answer that. The nearest passage is barely related:")
    return _("The text does not seem to answer that. The nearest passage is only loosely related:")


def _names(answer: Answer) -> str:
    """The names and numbers of the question that no text holds, quoted, at most three."""
    return ", ".join(f"“{shorten(name, 40)}”" for name in answer.absent[:3])


# English first, then the languages the multilingual model reads most often here (a greeting asked as a
# question was answered with a quote: e5 finds some sentence near "привет").
_GREETING = re.compile(
    r"(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening|day))( there| all| everyone| bot)?"
    r"|привет|здравствуй(те)?|добр(ый день|ое утро|ый вечер)|hola|buen(os días|as tardes|as noches)|hallo"
    r"|guten (tag|morgen|abend)|bonjour|bonsoir|salut|ciao|olá|oi|merhaba|你好|您好|こんにちは|مرحبا|नमस्ते",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"(many )?(thanks?|thank you|thx|ty|cheers)( a lot| so much| very much| again)?( bot)?"
    r"|(большое )?спасибо( большое)?|благодарю|(muchas )?gracias|danke( schön| sehr)?|merci( beaucoup)?|grazie"
    r"|obrigad[oa]|teşekkürler|谢谢|ありがとう(ございます)?|شكرا|धन्यवाद",
    re.IGNORECASE,
)


def small_talk(text: str, multilingual: bool = False) -> str | None:
    """What a message is when it is not a question to search for: "greeting", "thanks" or, unless the
    index's model reads many languages, "not English"; None for a question."""
    # Letters, marks and digits: Python's \w leaves out Devanagari's vowel signs ("नमस्ते").
    words = " ".join("".join(c if unicodedata.category(c)[0] in "LMN" or c == "'" else " " for c in text).split())
    if _GREETING.fullmatch(words):
        return "greeting"
    if _THANKS.fullmatch(words):
        return "thanks"
    letters = [c for c in text if c.isalpha()]
    if not multilingual and len(letters) >= 3 and sum(c.isascii() for c in letters) < 0.5 * len(letters):
        return "not English"
    return None


def small_talk_reply(kind: str, sample_question: str | None) -> str:
    """The one short line for small talk."""
    if kind == "greeting":
        if sample_question:
            return _("Hello! Ask me a question about the text, for example: {example}").format(example=sample_question)
        return _("Hello! Ask me a question about the text.")
    if kind == "thanks":
        return _("You're welcome!")
    return ("I can only read questions in English (the language of the model I search with). Please ask in "
            "English, or ask whoever runs me to index with the multilingual model.")
