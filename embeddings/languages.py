"""Which language a text is written in, as far as answering needs to know: whether it is English (the one
language the reranker and the names rule were made for), and whether a question and a sentence share one."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

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
    " het een wat wie waar hoe welke niet van zijn werd"
    # Polish, Czech, Romanian, Turkish, Indonesian and Malay, Tagalog, Swedish, Danish and Norwegian, Finnish:
    # their question words are plain Latin letters too, so they would otherwise pass for English
    " kto gdzie kiedy jak jaki jaka jakie ile czy dlaczego jest się kdo kde kdy proč cine unde când cum care"
    " este și kim nerede hangi nasıl neden kaç ve siapa apa kapan bagaimana mengapa berapa yang dan adalah"
    " sino ano saan kailan bakit paano ang ng mga vem vad när hur vilken hvem hvad hvor hvornår hvordan hvilken"
    " kuka mikä missä milloin miten miksi".split()
)
_KANA = ("HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA")
_IDEOGRAPHIC = ("CJK", "FULLWIDTH", "HALFWIDTH", *_KANA)


def looks_english(text: str) -> bool:
    """Whether text reads as English: its words mostly in plain Latin letters, and more of them English
    question words than another language's."""
    words = _WORD.findall(text.lower())
    if not words:
        return True
    if sum(word.isascii() for word in words) < 0.7 * len(words):
        return False
    return sum(word in _OTHERS for word in words) <= sum(word in _ENGLISH for word in words)


def writing(text: str) -> str:
    """The language a text reads as, as far as its letters tell: "english", "latin" for another language in
    Latin letters, "japanese" (ideographs with kana), "chinese" (without), else its main script ("CYRILLIC",
    "ARABIC", "DEVANAGARI", "HANGUL"...)."""
    scripts = Counter(unicodedata.name(c, "?").split()[0] for c in text if c.isalpha())
    if not scripts:
        return "english"
    script = scripts.most_common(1)[0][0]
    if script == "LATIN":
        return "english" if looks_english(text) else "latin"
    if script in _IDEOGRAPHIC:
        return "japanese" if any(kana in scripts for kana in _KANA) else "chinese"
    return script
