"""Rate limits: how many things one user (or one chat) may ask of the bot in any minute."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    """Whether a user's question may be answered now; if not, whether to tell them and when to retry."""

    allowed: bool
    notify: bool = False
    retry_in: float = 0.0


class QuestionLimiter:
    """At most per_minute questions a user in any 60 seconds.

    The first question over the limit gets a note; the ones after it in the same minute are dropped
    silently, so a flood of questions does not become a flood of notes.
    """

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}
        self._admitted = 0

    def admit(self, user_id: int) -> Admission:
        """Count a question of user_id if the limit allows it."""
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - 60:
            asked.popleft()
        self._admitted += 1
        if self._admitted % 1000 == 0:  # users gone quiet for a minute are forgotten
            self._forget_idle(now)
        if len(asked) < self.per_minute:
            asked.append(now)
            self._told.pop(user_id, None)
            return Admission(True)
        retry_in = asked[0] + 60 - now
        told = self._told.get(user_id)
        if told is not None and told > now - 60:
            return Admission(False, notify=False, retry_in=retry_in)
        self._told[user_id] = now
        return Admission(False, notify=True, retry_in=retry_in)

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, asked in self._asked.items() if not asked or asked[-1] <= now - 60]:
            if self._told.get(user_id, now - 60) <= now - 60:
                del self._asked[user_id]
                self._told.pop(user_id, None)
