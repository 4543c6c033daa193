"""What the bot answered lately in each group, so that a question asked again gets a pointer, not a repeat."""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from embeddings import E5_MODEL, Answer

# Questions whose embeddings are at least this close are taken as the same question; each model has its
# own scale. all-MiniLM-L6-v2, measured on the bundled article: rewordings scored 0.88 to 0.96 ("When does
# the Security Council meet?" and "On which day does the Security Council usually meet?": 0.935),
# different questions about the same thing 0.40 to 0.82 ("... meet?" and "Who is on the Security
# Council?": 0.82). multilingual-e5 puts both higher and closer: rewordings 0.94 to 0.996, different
# questions up to 0.937 (that same pair), so with it only a near-identical wording counts; a repeat it
# misses is only answered again.
SAME_MEANING = 0.85
SAME_MEANING_BY_MODEL = {E5_MODEL: 0.96}


def same_meaning(model: str) -> float:
    """The closeness at which two questions embedded by model are taken as one."""
    return SAME_MEANING_BY_MODEL.get(model, SAME_MEANING)
# Answers remembered per group; older ones are forgotten first.
PER_PLACE = 50
# Every this many answers, expired ones are dropped everywhere, not only where a group asks again.
SWEEP_EVERY = 1000


@dataclass(frozen=True)
class Earlier:
    """An earlier answer to the same question: the message holding it and when it was sent (clock time)."""

    message_id: int
    at: float


@dataclass(frozen=True)
class _Asked:
    words: str
    vector: np.ndarray | None
    earlier: Earlier


class RecentAnswers:
    """The answers of the last window seconds, by place (a chat, or a topic of a forum)."""

    def __init__(self, window: float, same_meaning: float = SAME_MEANING, clock=time.monotonic) -> None:
        self.window = window
        self.same_meaning = same_meaning
        self._clock = clock
        self._places: dict[tuple[int, int | None], deque[_Asked]] = {}
        self._added = 0

    def find(self, place: tuple[int, int | None], answer: Answer) -> Earlier | None:
        """The latest answer in place to the same question as answer's, if it is recent enough."""
        asked = self._recent(place)
        words = _words(answer.question)
        for item in reversed(asked):
            same_words = item.words == words
            close = (
                answer.vector is not None
                and item.vector is not None
                and float(answer.vector @ item.vector) >= self.same_meaning
            )
            if same_words or close:
                return item.earlier
        return None

    def add(self, place: tuple[int, int | None], answer: Answer, message_id: int) -> None:
        """Remember that message_id answered answer's question in place."""
        asked = self._recent(place)
        asked.append(_Asked(_words(answer.question), answer.vector, Earlier(message_id, self._clock())))
        self._added += 1
        if self._added % SWEEP_EVERY == 0:  # answers of groups that went quiet expire too
            for key in list(self._places):
                if not self._recent(key):
                    del self._places[key]

    def now(self) -> float:
        """The clock the answers' times are read from."""
        return self._clock()

    def _recent(self, place: tuple[int, int | None]) -> deque[_Asked]:
        asked = self._places.setdefault(place, deque(maxlen=PER_PLACE))
        while asked and asked[0].earlier.at <= self._clock() - self.window:
            asked.popleft()
        return asked


def _words(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.casefold()))
