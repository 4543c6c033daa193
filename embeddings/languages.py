"""Which language a text is written in, as far as answering needs to know: whether it is English (the one
language the reranker and the names rule were made for), and whether a question and a sentence share one."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import groupby

_WORD = re.compile(r"[^\W\d_]+")
_MODIFIERS = re.compile("[\u02b0-\u02ff]")
# Short words that are common in questions of each language and rare in the others' (a word both use, as
# "a", "en" or "die", is left out of both lists; German "was" is in both, and so counts for neither).
_ENGLISH = frozenset(
    "the is are was were what who whom whose when where why how which does did do of in on at to for from with"
    " by and or not it its this that these those there many much has have had can could would should will"
    " than into about after before during".split()
)
_OTHERS = frozenset(
    # German, Spanish, French, Italian, Portuguese, Dutch
    "der das und ist wann wer wie was wo wem wen wozu warum welche welcher welches nicht ein eine"
    " im mit von zu auf für den dem des wurde wurden sind hat haben"
    " el la los las que qué cuál cuáles cuándo dónde quién quiénes cómo es y por para con una del fue"
    " le les est qui quoi quand où une des du et pour avec dans sont été"
    " il che chi quando sono della nel nella si cosa perché qual quale quali quanto quanti"
    " os quem onde quando foi são uma não"
    " het een wat wie waar welke niet zijn werd"
    # Polish, Czech, Romanian, Turkish, Indonesian and Malay, Tagalog, Swedish, Danish and Norwegian, Finnish:
    # their question words are plain Latin letters too, so they would otherwise pass for English
    " kto gdzie kiedy jak jaki jaka jakie ile czy dlaczego jest się kdo kde kdy proč cine unde când"
    " este și kim nerede hangi nasıl neden kaç ve bir bu için ile olarak siapa apa kapan bagaimana mengapa"
    " berapa yang dan adalah itu akan pada ini dengan untuk dari tidak dalam oleh juga telah"
    " sino ano saan kailan bakit paano ang ng mga vem vad när hur vilken hvem hvad hvor hvornår hvordan hvilken"
    " kuka mikä missä milloin miten miksi".split()
)
# Words of _OTHERS that are as often names in English questions ("Kim Jong Un?", "Dan"); see _a_name.
_NAMES_TOO = frozenset("kim yang dan ang sino wat".split())
_KANA = frozenset({"HIRAGANA", "KATAKANA"})
# Chinese and Japanese write a word in a character or two, so each ideograph or kana weighs as a word.
_BY_CHARACTER = frozenset({"CJK", *_KANA})


def looks_english(text: str) -> bool:
    """Whether text reads as English: its words mostly in plain Latin letters, and more of them English
    question words than another language's."""
    # Modifier letters (ʻ in "Hawaiʻi", ʼ) are part of a Latin word, not a sign of another alphabet.
    words = _WORD.findall(_MODIFIERS.sub("", unicodedata.normalize("NFKC", text)))
    if not words:
        return True
    if sum(word.isascii() for word in words) < 0.7 * len(words):
        return False
    others = sum(word.lower() in _OTHERS and not _a_name(words, i) for i, word in enumerate(words))
    return others <= sum(word.lower() in _ENGLISH for word in words)


def _a_name(words: list[str], i: int) -> bool:
    """Whether words[i], one of _NAMES_TOO, is a name: capitalised inside the question, or at its start with
    a capitalised word after it ("Kim Jong Un?", "Dan Brown books?", against "Kim tebrik etti?")."""
    word = words[i]
    if word.lower() not in _NAMES_TOO or not word[0].isupper():
        return False
    return i > 0 or (len(words) > 1 and words[1][0].isupper())


def writing(text: str) -> str:
    """The language a text reads as, as far as its letters tell: "english", "latin" for another language in
    Latin letters, "japanese" (ideographs with kana), "chinese" (without), its main script for the rest
    ("CYRILLIC", "ARABIC", "DEVANAGARI", "HANGUL"...), and "" for a text without letters.

    Scripts are weighed by words, and Latin words count for less than a third: names and terms in Latin
    letters ("OpenAI", "ChatGPT") run through questions in every script. A name in another script inside
    an English question is told by the English words around it (two or more, a quarter of the words)."""
    text = unicodedata.normalize("NFKC", text)  # full- and halfwidth forms as the letters they stand for
    words: Counter[str] = Counter()
    for word in _WORD.findall(text):
        for script, run in groupby(word, _script):
            words[script] += len(list(run)) if script in _BY_CHARACTER else 1
    words.pop("", None)
    if not words:
        return ""
    others = [(count, script) for script, count in words.items() if script != "LATIN"]
    # An English question with a name in its own script ("Where is 東京 Tower?") stays English.
    english = sum(word.lower() in _ENGLISH for word in _WORD.findall(text))
    if not others or 3 * sum(count for count, _ in others) < sum(words.values()) or (
            english >= 2 and 4 * english >= sum(words.values())):
        return "english" if looks_english(text) else "latin"
    script = max(others)[1]
    if script in _BY_CHARACTER:
        return "japanese" if any(kana in words for kana in _KANA) else "chinese"
    return script


@lru_cache(maxsize=4096)
def _script(letter: str) -> str:
    """The script a letter (NFKC-normalised) is written in, from its Unicode name: "LATIN", "CYRILLIC",
    "CJK" (with 々 and 〇), "HIRAGANA", "KATAKANA" (with ー)...; "" for an unnamed one."""
    name = unicodedata.name(letter, "")
    if name.startswith(("MODIFIER", "COMBINING")):
        return ""  # ʻ in "Hawaiʻi", a combining accent: part of whatever script they sit in
    if name.startswith(("CJK", "IDEOGRAPHIC")):
        return "CJK"
    if name.startswith("KATAKANA"):
        return "KATAKANA"
    return name.split()[0] if name else ""
