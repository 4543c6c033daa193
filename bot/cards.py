"""Quote cards: one message an answer, whose buttons show more of the text in the same message.

A button carries what it shows: a place in the text (a document's hash and sentence numbers), or a match
of a question. The data is signed with a key derived from the bot token, so forged data shows nothing,
and since places are read from the index, old cards keep working after a restart for as long as their
document is indexed. Questions are kept in a small SQLite file, so that "next match" can ask again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import _
from bot.render import abstention_with_closeness, names_sources, source_name
from bot.telegram_format import card_html
from embeddings import Answer, Engine, Location, Quote, Verdict

# Passages asked for when answering: the first card leads with the best one, the rest are the matches that
# "next match" walks through.
MATCHES = 8
# Terms a "not in the text" card offers to tap, at most.
TERMS = 3
# Telegram's limit for callback data.
MAX_CALLBACK_BYTES = 64
MAX_STORED_QUESTIONS = 100_000
# The scope of cards shared through inline mode, whose presses come with no chat.
INLINE = "inline"
# Questions are at most 1,000 characters; beyond this many characters in all, the oldest go too.
MAX_STORED_CHARS = 20_000_000
# Inline queries are kept apart, numbered from here, so that a flood of them never pushes out the
# questions that chats' cards need; fewer of them are kept.
INLINE_IDS = 1 << 40
MAX_STORED_INLINE = 10_000
_SIGNATURE_BYTES = 8


class ForgedCallbackError(ValueError):
    """Callback data that this bot did not sign."""


class CardGoneError(LookupError):
    """What a button asks for cannot be shown any more; the message says why, for the user."""


@dataclass(frozen=True)
class ShowPlace:
    """A button that shows location, as the rank-th match of question question_id (0: no question);
    answered: whether the card it is on answered the question (None on buttons made before it was written
    down), so that a wider view marks a sentence as the answer only where the card did."""

    location: Location
    question_id: int
    rank: int
    answered: bool | None = True


@dataclass(frozen=True)
class ShowMatch:
    """A button that shows the rank-th match of question question_id."""

    question_id: int
    rank: int


@dataclass(frozen=True)
class Button:
    """An inline button: its label and its signed callback data."""

    label: str
    data: str


@dataclass(frozen=True)
class Card:
    """A card's HTML and buttons (rows of them), and the title and description of it as an inline result."""

    html: str
    buttons: list[list[Button]]
    title: str
    description: str


class CallbackSigner:
    """Writes and checks callback data: compact fields in base 36, then a truncated HMAC-SHA256."""

    def __init__(self, token: str) -> None:
        self._key = hashlib.sha256(b"citebot card buttons\0" + token.encode()).digest()

    def write(self, press: ShowPlace | ShowMatch, scope: str) -> str:
        """The callback data of a button on a card in scope (a chat's id, or "inline" for shared cards)."""
        if isinstance(press, ShowPlace):
            where = press.location
            fields = ["p", where.document[:8], *map(_b36, (where.first, where.last, where.highlight))]
            fields += [_b36(press.question_id), _b36(press.rank), "1" if press.answered else "0"]
        else:
            fields = ["m", _b36(press.question_id), _b36(press.rank)]
        payload = ":".join(fields)
        data = f"{payload}~{self._signature(payload, scope)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data of {len(data)} bytes is over Telegram's {MAX_CALLBACK_BYTES}")
        return data

    def read(self, data: str, scope: str) -> ShowPlace | ShowMatch:
        """What a button's data, pressed in scope, asks for.

        Raises:
            ForgedCallbackError: the data was not written by this signer for scope, or is malformed.
        """
        payload, _, signature = (data or "").rpartition("~")
        if not payload or not hmac.compare_digest(signature, self._signature(payload, scope)):
            raise ForgedCallbackError("the button's data is not signed by this bot")
        kind, *fields = payload.split(":")
        try:
            if kind == "p" and len(fields) in (6, 7) and fields[6:] in ([], ["0"], ["1"]):
                first, last, highlight, question_id, rank = (int(f, 36) for f in fields[1:6])
                answered = fields[6] == "1" if len(fields) == 7 else None
                return ShowPlace(Location(fields[0], first, last, highlight), question_id, rank, answered)
            if kind == "m" and len(fields) == 2:
                return ShowMatch(int(fields[0], 36), int(fields[1], 36))
        except ValueError:
            pass
        raise ForgedCallbackError("the button's data is malformed")

    def _signature(self, payload: str, scope: str) -> str:
        # The scope is signed but not sent: a button copied into another chat does not verify there.
        digest = hmac.new(self._key, f"{scope}\0{payload}".encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class QuestionStore:
    """Questions by number, in a SQLite file; the oldest are dropped beyond MAX_STORED_QUESTIONS."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the store at path.

        Raises:
            OSError: the file cannot be created.
            sqlite3.DatabaseError: the file is not a SQLite database.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # Users' questions are the bot's to read only (SQLite gives its WAL files the same mode).
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)  # one an earlier version created readable by all
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Losing the last questions in a power cut only costs their cards' "next match"; not syncing every
        # insert to disk keeps a question's answer from waiting on the disk.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for table in ("questions", "inline_questions"):
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, text TEXT UNIQUE NOT NULL)")

    def remember(self, question: str, inline: bool = False) -> int:
        """The number of question, stored now if it is new; inline queries are kept apart."""
        table, offset, keep = ("inline_questions", INLINE_IDS, MAX_STORED_INLINE) if inline else (
            "questions", 0, MAX_STORED_QUESTIONS)
        with self._lock:
            self._db.execute(f"INSERT OR IGNORE INTO {table} (text) VALUES (?)", (question,))
            (number,) = self._db.execute(f"SELECT id FROM {table} WHERE text = ?", (question,)).fetchone()
            if number % 1000 == 0:
                self._db.execute(f"DELETE FROM {table} WHERE id <= ?", (number - keep,))
                (chars,) = self._db.execute(f"SELECT coalesce(sum(length(text)), 0) FROM {table}").fetchone()
                if chars > MAX_STORED_CHARS:  # long questions: keep the newest half
                    self._db.execute(
                        f"DELETE FROM {table} WHERE id <= (SELECT (min(id) + max(id)) / 2 FROM {table})"
                    )
            return number + offset

    def recall(self, number: int) -> str | None:
        """The question stored under number, or None."""
        table, number = ("inline_questions", number - INLINE_IDS) if number >= INLINE_IDS else ("questions", number)
        with self._lock:
            row = self._db.execute(f"SELECT text FROM {table} WHERE id = ?", (number,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()


class CardMaker:
    """Makes quote cards from the engine's answers and places; every method blocks (run it in a thread)."""

    def __init__(self, engine: Engine, signer: CallbackSigner, store: QuestionStore, top_k: int) -> None:
        self.engine = engine
        self.signer = signer
        self.store = store
        self.top_k = top_k

    @property
    def show_source(self) -> bool:
        """Whether cards name their document: when the index holds more than one."""
        return names_sources(self.engine.document_count())

    def ask(self, question: str) -> Answer:
        """The engine's answer with as many passages as cards can show.

        Raises:
            EmptyQuestionError: the question has nothing to search for.
        """
        return self.engine.ask(question, MATCHES)

    def card(self, answer: Answer, scope: str, rank: int = 0, headed: bool = False) -> Card:
        """The card of the rank-th match of answer; headed puts the question above the quote, for cards that
        do not reply to it.

        Raises:
            CardGoneError: there is no rank-th match.
        """
        matches, also = self._matches(answer)
        if rank >= len(matches):
            raise CardGoneError(_("That was the last match."))
        return self._answer_card(answer, matches, also, rank, self.store.remember(answer.query), headed, scope)

    def all_matches(self, question: str) -> list[Card]:
        """A card for each match of question, each headed by it (for inline results).

        When the text may not hold the answer, or does not, there is one card, which says which: nothing
        is offered for sharing as if it answered (a lookup of a few words the text holds lists them all).
        """
        answer = self.ask(question)
        matches, also = self._matches(answer)
        question_id = self.store.remember(answer.query, inline=True)
        if matches and not (answer.answered or _mentions(answer.query, matches[0])):
            matches = matches[:1]
        return [
            self._answer_card(answer, matches, also, rank, question_id, True, INLINE) for rank in range(len(matches))
        ]

    def opening(self, document: str, name: str) -> Card:
        """A card of the first sentence of the document whose sha256 is document, headed by its name."""
        start = Location(document, 0, 0, 0)
        card = self._place_card(start, 0, 0, name, INLINE)
        return Card(card.html, card.buttons, name, _short(_sentence(self.engine.quote_at(start)), 200))

    def press(self, press: ShowPlace | ShowMatch, scope: str) -> Card:
        """The card a button asks for.

        Raises:
            CardGoneError: the question is no longer stored, the text no longer indexed, or no match is left.
        """
        question = self.store.recall(press.question_id) if press.question_id else None
        if press.question_id and question is None:
            raise CardGoneError(_("I no longer have that question; please ask it again."))
        if isinstance(press, ShowMatch):
            return self.card(self.ask(question), scope, press.rank, headed=True)
        asked = _short(question, 200) if question else None
        heading = _("match {number}").format(number=press.rank + 1) if question and press.rank else None
        # A wider view of a passage that did not answer marks no sentence as the answer either. Buttons made
        # before they said so have the question asked again, which takes as long as asking it.
        answered = press.answered
        if answered is None:
            answered = self.ask(question).answered if question else True
        return self._place_card(press.location, press.question_id, press.rank, heading, scope, asked, answered)

    def _matches(self, answer: Answer) -> tuple[list[list[Quote]], list[Quote]]:
        """The excerpts a card can show, best first, and the passages the first card lists as "also".

        The first excerpt leads with the best sentence (see `Engine.present`); every other passage is a
        match of its own, for "next match".
        """
        if not answer.passages:
            return [], []
        shown = self.engine.present(answer, self.top_k)
        joined = {(q.source, q.start) for q in shown.lead[1:]}
        rest = [[q] for q in answer.passages[1:] if (q.source, q.start) not in joined]
        return [shown.lead, *rest], shown.also

    def _answer_card(
        self, answer: Answer, matches: list[list[Quote]], also: list[Quote], rank: int, question_id: int,
        headed: bool, scope: str,
    ) -> Card:
        excerpt = matches[rank]
        best = excerpt[0]
        located = [self.engine.locate(quote) for quote in excerpt]
        location = Location(located[0].document, located[0].first, located[-1].last, located[0].highlight)
        lead = footer = None
        rows: list[list[Button]] = []
        mentioned = not answer.answered and _mentions(answer.query, excerpt)
        hedged = answer.verdict is Verdict.UNCERTAIN and not mentioned
        found = answer.answered or mentioned
        if mentioned:
            lead = _("Where the text mentions “{words}”:").format(words=_short(answer.query, 200))
        elif hedged:
            lead = abstention_with_closeness(answer)
        elif not found and rank == 0:
            lead = abstention_with_closeness(answer)
            terms = self._terms_elsewhere(answer, excerpt)
            if terms:
                footer = _("Words the text does use, close to your question: tap one to see where.")
                presses = [ShowMatch(self.store.remember(term), 0) for term in terms]
                rows.append([Button(term, self.signer.write(press, scope)) for term, press in zip(terms, presses)])
        heading = _heading(rank, len(matches), _weaker(answer, best)) if headed else None
        more = rank + 1 < len(matches)
        rows = self._place_buttons(location, question_id, rank, more, scope, answer.answered) + rows
        also_lines = tuple(also) if rank == 0 and answer.answered else ()
        html = card_html(excerpt, heading, lead, footer, tuple(answer.notes), self.show_source, also=also_lines,
                         emphasise=found, asked=_short(answer.query, 200) if headed else None)
        if found:
            title = _sentence(best)
        elif hedged:
            title = _("May not answer it. Closest: {sentence}").format(sentence=_sentence(best))
        else:
            title = _("Not in the text. Nearest: {sentence}").format(sentence=_sentence(best))
        return Card(html, rows, _short(title), self._where(excerpt))

    def _terms_elsewhere(self, answer: Answer, excerpt: list[Quote]) -> list[str]:
        """Up to TERMS suggested terms whose tap shows a passage that neither the excerpt nor an earlier term
        shows (of twice as many suggested: some lead back)."""
        terms: list[str] = []
        reached = list(excerpt)
        for term in self.engine.suggest_terms(answer, 2 * TERMS, shown=excerpt):
            found = self.engine.ask(term, 1).passages
            if found and not any(q.source == found[0].source and _overlap(q, found[0]) for q in reached):
                terms.append(term)
                reached.append(found[0])
                if len(terms) == TERMS:
                    break
        return terms

    def _place_card(
        self, location: Location, question_id: int, rank: int, heading: str | None, scope: str,
        asked: str | None = None, answered: bool = True,
    ) -> Card:
        try:
            excerpt = self.engine.quotes_at(location)  # a quote a paragraph: the place names them all
        except LookupError as error:
            raise CardGoneError(_("That text is no longer indexed; please ask again.")) from error
        rows = self._place_buttons(location, question_id, rank, question_id > 0, scope, answered)
        emphasise = answered or (asked is not None and _mentions(asked, excerpt))
        html = card_html(excerpt, heading, show_source=self.show_source, asked=asked, emphasise=emphasise)
        answering = next(q for q in excerpt if q.highlight.end > q.highlight.start)
        return Card(html, rows, _short(_sentence(answering)), self._where(excerpt))

    def _where(self, excerpt: list[Quote]) -> str:
        """Where an excerpt stands, in words: "Paragraph 4 of article.txt", "Method, paragraph 4", "Page 3"."""
        first, last = excerpt[0].paragraph, excerpt[-1].paragraph
        if excerpt[0].page:
            first, last = excerpt[0].page, excerpt[-1].page
            where = _("Page {first}") if first == last else _("Pages {first}–{last}")
        else:
            where = _("Paragraph {first}") if first == last else _("Paragraphs {first}–{last}")
        where = where.format(first=first, last=last)
        if excerpt[0].section:
            where = f"{excerpt[0].section}, {where[0].lower()}{where[1:]}"
        return where + (_(" of {name}").format(name=source_name(excerpt)) if self.show_source else "")

    def _place_buttons(
        self, location: Location, question_id: int, rank: int, more: bool, scope: str, answered: bool
    ) -> list[list[Button]]:
        """◀ wider / wider ▶ on one row, whole paragraph / next match on the next, each only when it shows more."""
        engine = self.engine

        def write(press: ShowPlace | ShowMatch) -> str:
            return self.signer.write(press, scope)

        def place(where: Location) -> str:
            return write(ShowPlace(where, question_id, rank, answered))

        wider = []
        if location.first > 0:
            wider.append(Button(_("◀ wider"), place(engine.widen(location, before=1))))
        after = engine.widen(location, after=1)
        if after != location:
            wider.append(Button(_("wider ▶"), place(after)))
        other = []
        paragraph = engine.whole_paragraph(location)
        if (paragraph.first, paragraph.last) != (location.first, location.last):
            other.append(Button(_("whole paragraph"), place(paragraph)))
        if more:
            other.append(Button(_("next match"), write(ShowMatch(question_id, rank + 1))))
        if rank and question_id:
            other.append(Button(_("◀ first match"), write(ShowMatch(question_id, 0))))
        return [row for row in (wider, other) if row]


def _heading(rank: int, matches: int, weaker: bool) -> str | None:
    """Past the first match, which match a card shows and how strong it is."""
    if not rank:
        return None
    line = _("match {number} of {count} · weaker") if weaker else _("match {number} of {count} · as strong")
    return line.format(number=rank + 1, count=matches)


def _weaker(answer: Answer, quote: Quote) -> bool:
    """Whether quote answers clearly less well than the best passage."""
    return quote not in answer.related() and quote is not answer.passages[0]


def _overlap(a: Quote, b: Quote) -> bool:
    return a.start < b.end and b.start < a.end


def _mentions(question: str, excerpt: list[Quote]) -> bool:
    """Whether a question of a few words (a term, as the suggestions are) stands verbatim in the excerpt.

    Such a question is a lookup rather than a question: the passage that holds it is what was asked for,
    however low its similarity to a few bare words.
    """
    words = question.split()
    return 0 < len(words) <= 4 and any(question.casefold() in quote.text.casefold() for quote in excerpt)


def _sentence(quote: Quote) -> str:
    """A quote's answering sentence."""
    return quote.shown(quote.text[quote.highlight.start - quote.start : quote.highlight.end - quote.start])


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if not number:
            return text
