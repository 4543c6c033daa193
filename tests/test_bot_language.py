"""The bot's own words in its reader's language (Russian and English for now), from Telegram's
language_code, over real HTTP; the quotes stay the text's own words. And the Russian catalog is whole."""

from __future__ import annotations

import contextvars
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALE_DIR, number, pick, use

pytestmark = pytest.mark.model


def ask(api, user: int, text: str, language: str | None) -> dict:
    """A private message from a user whose Telegram speaks language."""
    message = api.message(user, text)
    if language:
        message["from"]["language_code"] = language
    api.push({"message": message})
    return message


def test_a_russian_reader_gets_the_bots_words_in_russian_and_the_quotes_as_written(bot, api):
    [help_ru] = api.wait_for_replies(ask(api, 901, "/help", "ru"))
    assert help_ru.text.startswith("В этом чате отправьте вопрос сообщением.")
    [help_en] = api.wait_for_replies(ask(api, 902, "/help", "en-GB"))
    assert help_en.text.startswith("In this chat, send a question as a message.")
    [unknown] = api.wait_for_replies(ask(api, 903, "/frobnicate", "pt-BR"))  # no catalog: English
    assert unknown.text == "I don't know that command. /help shows how to ask."
    [mars] = api.wait_for_replies(ask(api, 901, "What is the boiling point of water on Mars?", "ru"))
    assert mars.text.startswith("Похоже, в тексте нет ответа")
    card = api.card(ask(api, 901, "Who congratulated Trump?", "ru"))
    assert any("Putin" in bold for bold in card.bold)  # the article's own words, not translated
    assert {"шире ▶", "следующее совпадение"} <= set(card.buttons())
    assert "симв. " in card.text and "chars" not in card.text  # the place line: "¶ 1 · симв. 0–279"
    overview = api.card(ask(api, 901, "What is this article about?", "ru"))
    assert "Примечание: вопрос обо всём тексте, поэтому приведено его начало." in overview.text
    [thanks] = api.wait_for_replies(ask(api, 901, "thanks!", "ru"))
    assert thanks.text == "Пожалуйста!"
    [sources] = api.wait_for_replies(ask(api, 901, "/sources", "ru"))
    assert re.search(r"article\.txt: \d+ абзац\w*, \d\u00a0\d{3} символ", sources.text), sources.text


def test_numbers_are_grouped_as_the_reader_writes_them():
    def grouped(language: str) -> str:
        use(language)
        return number(1234567)

    assert contextvars.copy_context().run(grouped, "ru") == "1\u00a0234\u00a0567"
    assert contextvars.copy_context().run(grouped, "en") == "1,234,567"


def test_every_message_has_its_russian_translation_and_the_compiled_catalog_is_current():
    with open(LOCALE_DIR / "citebot.pot", "rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    with open(LOCALE_DIR / "ru" / "LC_MESSAGES" / "citebot.po", "rb") as handle:
        russian = {m.id: m.string for m in read_po(handle, locale="ru") if m.id}
    assert set(russian) == template
    compiled = gettext.translation(DOMAIN, LOCALE_DIR, languages=["ru"])
    for message, translation in russian.items():
        assert all(translation), message
        if isinstance(message, tuple):
            assert compiled.ngettext(*message, 5) == translation[2]
        else:
            assert compiled.gettext(message) == translation, message


def test_the_engines_notes_are_the_ones_the_catalog_holds():
    from bot.render import ENGINE_NOTES
    from embeddings.retrieval import MAX_QUESTION_CHARS, OPENING_NOTE

    assert set(ENGINE_NOTES) == {OPENING_NOTE, "the index holds no text",
                                 f"the question was cut to its first {MAX_QUESTION_CHARS} characters"}


def test_the_template_holds_every_string_the_bot_marks():
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]
    marked = {message for _, _, message, *_ in extract_from_dir(
        str(root), method_map=[("bot/**.py", "python")], keywords={"_": None, "N_": None, "ngettext": (1, 2)})}
    with open(LOCALE_DIR / "citebot.pot", "rb") as handle:
        assert marked == {m.id for m in read_po(handle) if m.id}, "run `make translations`"


@pytest.mark.parametrize("code, language", [("ru", "ru"), ("ru-RU", "ru"), ("en", "en"), ("pt_BR", "en"), (None, "en")])
def test_the_language_is_picked_from_telegrams_code(code, language):
    assert pick(code) == language
