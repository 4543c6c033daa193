"""Whether a question is English, the one language the reranker and the names rule were made for."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")
# Short words that are common in questions of each language and rare in the others' (a word both use, as
# "a", "en" or "die", is left out of both lists).
_ENGLISH = frozenset(
    "the is are was were what who whom whose when where why how which does did do of in on at to for from with"
    " by and or not it its this that these those there many much has have had can could would should will"
    " than into about after before during".split()
)
_OTHERS = frozenset(
    # German, Spanish, French, Italian, Portuguese, Dutch
    "der das und ist wann wer wie was welche welcher welches nicht ein eine im mit von zu auf für den dem des"
    " wurde wurden sind hat haben"
    " el la los las que qué cuál cuáles cuándo dónde quién quiénes cómo es y por para con una del fue son"
    " le les est qui quoi quand où une des du et pour avec dans sont été"
    " il che chi quando dove come sono della nel nella"
    " o os as quem onde quando foi são uma não"
    " het een wat wie waar hoe welke niet van zijn werd".split()
)


def looks_english(text: str) -> bool:
    """Whether text reads as English: its words mostly in plain Latin letters, and more of them English
    question words than another language's."""
    words = _WORD.findall(text.lower())
    if not words:
        return True
    if sum(word.isascii() for word in words) < 0.7 * len(words):
        return False
    return sum(word in _OTHERS for word in words) <= sum(word in _ENGLISH for word in words)
