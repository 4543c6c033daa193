"""The bot's own words in the reader's language: gettext catalogs made with Babel (bot/locale), English
where there is none. Quotes are the text's own words and are never translated.

The language is set once per update (from Telegram's language_code, in the gate) and read by whatever
formats a reply while that update is handled: a context variable, so concurrent updates never mix.
"""

from __future__ import annotations

import contextvars
import gettext
import os
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "citebot"
LANGUAGES = ("en", "ru")
# How each language groups digits (CLDR); English's comma for the rest.
_GROUP_SEPARATOR = {"ru": "\u00a0"}
_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def pick(code: str | None) -> str:
    """The language citebot speaks for a code such as "ru", "ru-RU" or "pt_BR": its own, or English."""
    return _base(code) if speaks(code) else "en"


def speaks(code: str | None) -> bool:
    """Whether citebot speaks the language of a code such as "ru-RU" ("eng" and "pt_BR" it does not)."""
    return _base(code) in LANGUAGES


def _base(code: str | None) -> str:
    return (code or "").replace("_", "-").split("-")[0].lower()


def locale_language() -> str | None:
    """The language of the locale a command runs in, as gettext reads it (LANGUAGE, LC_ALL, LC_MESSAGES,
    LANG: the first one set), e.g. "ru_RU.UTF-8"; None when none is."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(name):
            return os.environ[name].split(":")[0]
    return None


def use(code: str | None) -> str:
    """Speak the language of code while the current update (or command) is handled; returns it."""
    language = pick(code)
    _language.set(language)
    return language


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def _(message: str) -> str:
    """message in the current language."""
    return _catalog(_language.get()).gettext(message)


def translated(message: str, language: str) -> str:
    """message in language, whatever the current update speaks (the bot's command list, set at start)."""
    return _catalog(pick(language)).gettext(message)


def number(count: int) -> str:
    """count with its digits grouped as the current language writes them: "1,200", "1 200" (a no-break space)."""
    return f"{count:,}".replace(",", _GROUP_SEPARATOR.get(_language.get(), ","))


def ngettext(singular: str, plural: str, count: int) -> str:
    """singular or plural (or, in Russian, one of its three forms) for count, in the current language."""
    return _catalog(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for "mark for translation, translate later")
    """Mark message for the catalog; it is translated where it is shown, with _()."""
    return message
