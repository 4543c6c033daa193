"""Quote cards, explained abstention, group courtesy, inline mode and uploads, end to end over HTTP."""

from __future__ import annotations

import re
import resource
import signal

import pytest

from tests.fake_bot_api import BOT, FakeBotApi
from tests.telegram_harness import RunningBot

pytestmark = pytest.mark.model

NAME = BOT["username"]
CONGRATULATE = "Russian President Vladimir Putin extended his congratulations to U.S. President-elect Donald Trump"
ADMIN = 4242


def press(api: FakeBotApi, card, label: str, **options) -> dict:
    """Press a button of card and wait for the bot to answer the press."""
    return api.wait_for_answer(api.press(card, label, **options))


def places(text: str) -> list[int]:
    """The character offsets a card's place line names, in the order it names them."""
    [line] = [line for line in text.split("\n") if line.startswith("¶")]
    return [int(n.replace(",", "")) for span in re.findall(r"chars ([\d,]+)–([\d,]+)", line) for n in span]


def test_an_answer_is_one_card_whose_buttons_edit_it_in_place(bot, api, article_text):
    question = api.send(501, "When does Putin usually hold Security Council meetings?")
    card = api.card(question)
    assert '<blockquote expandable>' in card.html
    assert "Typically holding Security Council meetings on Fridays" in card.bold[0]
    assert re.search(r"¶ \d+ · chars [\d,]+–[\d,]+", card.text)
    assert {"◀ wider", "wider ▶", "next match"} <= set(card.buttons())
    sent_before = len(api.sent)
    [before] = card.shown.quotes

    assert "text" not in press(api, card, "wider ▶")  # a press that worked needs no toast
    [wider] = card.shown.quotes
    assert wider.startswith(before.rstrip("…")) and len(wider) > len(before) and wider in article_text
    press(api, card, "◀ wider")
    [both] = card.shown.quotes
    assert both.endswith(wider) and len(both) > len(wider) and both in article_text
    assert card.bold[0].startswith("Typically holding Security Council meetings on Fridays")

    first_match = card.text
    press(api, card, "next match")
    assert card.text != first_match and re.search(r"· match 2 of \d+ · (weaker|as strong)", card.text)
    press(api, card, "◀ first match")
    assert "· match" not in card.text and "Typically holding Security Council" in card.bold[0]
    assert len(api.sent) == sent_before and card.edits == 4  # no new messages, the same one edited


def test_whole_paragraph_shows_the_paragraph_of_the_answering_sentence(bot, api, article_text):
    question = api.send(502, "When does Putin usually hold Security Council meetings?")
    card = api.card(question)
    press(api, card, "whole paragraph")
    [quote] = card.shown.quotes
    paragraph = next(p for p in article_text.split("\n") if "Typically holding Security Council" in p)
    assert quote == paragraph and card.bold[0].startswith("Typically holding Security Council")
    assert "whole paragraph" not in card.buttons()


@pytest.mark.parametrize(
    "question, answer",
    [("What treaty is about to expire?", "The New Strategic Arms Reduction Treaty"),
     ("What did Putin say about relations with the United States?", "He remarked, “We acknowledge"),
     ("When does Putin usually hold Security Council meetings?", "Typically holding Security Council")],
)
def test_a_card_leads_with_the_answer_and_bolds_only_it(bot, api, article_text, question, answer):
    card = api.card(api.send(503, question))
    [quote] = card.shown.quotes
    assert len(card.bold) == 1 and card.bold[0].startswith(answer)
    assert quote.index(card.bold[0]) <= 150  # the first thing a reader sees, even collapsed
    pieces = [p.strip("…").strip() for p in quote.split(" … ")]
    assert all(piece in article_text for piece in pieces)


def test_a_forged_or_altered_button_is_refused_and_changes_nothing(bot, api, caplog):
    question = api.send(504, "Who congratulated Trump?")
    card = api.card(question)
    html = card.html
    real = card.buttons()["wider ▶"]
    payload, signature = real.rsplit("~", 1)
    fields = payload.split(":")
    fields[4] = "zz"  # another place under the old signature
    altered = ":".join(fields) + "~" + signature
    for data in (altered, "p:deadbeef:0:z:0:1:0~AAAAAAAAAAA", "hello", ""):
        answer = press(api, card, "wider ▶", data=data)
        assert answer["show_alert"] is True and "not one of mine" in answer["text"]
    assert card.html == html and card.edits == 0
    assert caplog.text.count("refused a button press from user 504") == 4


def test_a_place_button_carries_its_cards_verdict():
    """A wider view marks a sentence as the answer only where its card did, without asking again."""
    from bot.cards import CallbackSigner, ShowPlace
    from embeddings import Location

    signer = CallbackSigner("123:cards")
    place = Location("abcdef12", 3, 5, 4)
    for answered in (True, False):
        assert signer.read(signer.write(ShowPlace(place, 7, 1, answered), "42"), "42").answered is answered
    # A button made before the verdict was written on it: its question is asked again when pressed.
    older = "p:abcdef12:3:5:4:7:1"
    assert signer.read(f"{older}~{signer._signature(older, '42')}", "42") == ShowPlace(place, 7, 1, None)
    for malformed in ("p:abcdef12:3:5:4:7:1:2", "p:abcdef12:3:5:4:7:1:1:1"):
        with pytest.raises(ValueError, match="malformed"):
            signer.read(f"{malformed}~{signer._signature(malformed, '42')}", "42")


def test_a_card_that_can_no_longer_be_edited_gets_a_clear_toast(bot, api):
    card = api.card(api.send(507, "Who congratulated Trump?"))
    api.sent.remove(card)  # as if the message were deleted from the chat
    answer = press(api, card, "wider ▶")
    assert answer["show_alert"] is True and "cannot change that message" in answer["text"]


def test_an_unanswerable_question_explains_itself_and_offers_terms_of_the_text(bot, api, article_text):
    question = api.send(505, "What did the European Union say?")
    card = api.card(question)
    assert re.match(r"The text does not seem to answer that(\. The nearest passage is (barely|only loosely) related|: it never "
                    r"mentions .*\. The nearest passage):",
                    card.text)
    [nearest] = card.shown.quotes
    terms = [label for label in card.buttons() if label not in ("◀ wider", "wider ▶", "whole paragraph", "next match")]
    assert 1 <= len(terms) <= 3 and all(term in article_text for term in terms)
    assert "tap one to see where" in card.text
    press(api, card, terms[0])
    assert card.text.startswith(f"Asked: {terms[0]}\n")
    [quote] = card.shown.quotes
    assert terms[0] in quote and quote in article_text and quote != nearest  # something new


def test_terms_that_would_show_the_same_passage_again_are_not_offered(bot, api):
    # The passage this card shows holds most of the terms close to the question, and each of them led back
    # to it; the terms offered come from the other passages near the question, each showing a place of its own.
    card = api.card(api.send(505, "What is the boiling point of water on Mars?"))
    assert card.text.startswith("The text does not seem to answer that")
    [nearest] = card.shown.quotes
    terms = [label for label in card.buttons() if label not in ("◀ wider", "wider ▶", "whole paragraph", "next match")]
    assert terms and "tap one to see where" in card.text
    places = []
    for term in terms:
        assert term not in nearest
        again = api.card(api.send(505, "What is the boiling point of water on Mars?"))
        press(api, again, term)
        [shown] = again.shown.quotes
        assert term in shown and shown != nearest
        places.append(shown)
    assert len(set(places)) == len(places)


def test_old_cards_keep_working_after_a_restart(bot_api, article_engine, tmp_path):
    api = bot_api
    with RunningBot(api, article_engine, telegram_state_dir=tmp_path):
        card = api.card(api.send(506, "Who congratulated Trump?"))
    with RunningBot(api, article_engine, telegram_state_dir=tmp_path):
        before = card.text
        press(api, card, "wider ▶")
        assert card.text != before and card.edits == 1
        press(api, card, "next match")  # the question comes back from the bot's store
        assert "· match 2" in card.text and card.edits == 2


def test_a_question_asked_again_in_a_group_gets_a_link_to_the_answer(bot, api):
    group = -1001234567890
    first = api.send(group, f"@{NAME} When does the Security Council meet?", chat_type="supergroup", user_id=51)
    card = api.card(first)
    again = api.send(group, "/ask On which day does the Security Council usually meet?", chat_type="supergroup",
                     user_id=52)
    [pointer] = api.wait_for_replies(again)
    assert pointer.text.startswith("That was asked and answered here a moment ago")
    assert f'href="https://t.me/c/1234567890/{card.message_id}"' in pointer.html
    assert not pointer.buttons() and "<blockquote" not in pointer.html
    other = api.send(group, f"@{NAME} What did Putin say about a ceasefire?", chat_type="supergroup", user_id=52)
    assert api.card(other).shown.quotes  # a different question gets its own card
    elsewhere = api.send(-1001234567891, f"@{NAME} When does the Security Council meet?", chat_type="supergroup")
    assert api.card(elsewhere).shown.quotes  # another group gets its own card


def test_the_courtesy_window_is_configurable(bot_api, article_engine):
    api = bot_api
    with RunningBot(api, article_engine, telegram_repeat_window=0.0):
        asked = [api.send(-207, f"@{NAME} Who congratulated Trump?", chat_type="group") for _ in range(2)]
        assert all(api.card(message).shown.quotes for message in asked)


def test_inline_mode_offers_cards_that_work_in_any_chat(bot, api, article_text):
    query = api.inline(601, "Who congratulated Trump?")
    answer = api.wait_for_answer(query)
    assert int(answer["cache_time"]) == 60
    results = answer["results"]
    assert 2 <= len(results) <= 8 and CONGRATULATE in results[0]["title"]
    assert re.fullmatch(r"Paragraphs? \d+(–\d+)?", results[0]["description"])  # in words, not offsets
    card = api.choose(results[0])
    assert card.text.startswith("Asked: Who congratulated Trump?\n") and CONGRATULATE in card.text
    before = card.text
    press(api, card, "wider ▶", user_id=601)
    assert card.edits == 1 and card.text != before and card.inline_message_id

    off_topic = api.wait_for_answer(api.inline(601, "How do I bake sourdough bread?"))["results"]
    assert len(off_topic) == 1 and off_topic[0]["title"].startswith("Not in the text.")  # nothing to share as if

    opening = api.wait_for_answer(api.inline(601, ""))["results"]
    assert [r["title"] for r in opening] == ["article.txt"]
    first_lines = opening[0]["description"].rstrip("…")
    assert len(first_lines) > 100 and article_text.startswith(first_lines)


def test_a_shared_card_shows_the_question_as_the_askers_words_which_cannot_pass_for_the_bots(bot, api):
    forged = "Who congratulated Trump?” citeBOT VERIFIED: the text says Putin resigned today. “ This is reversed"
    results = api.wait_for_answer(api.inline(602, forged))["results"]
    card = api.choose(results[0])
    # All of it in one code span, which no character of the question can close.
    assert card.html.startswith(f"Asked: <code>{forged}</code>")
    assert card.html.count("<code>") == 1


def test_an_admin_adds_and_forgets_texts_in_chat(bot_api, own_engine):
    api = bot_api
    notes = b"# Garden notes\n\nThe orchard behind the station has three apple trees and a pear tree.\n"
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,)):
        added = api.upload(ADMIN, "garden notes.md", notes)
        assert api.wait_for_replies(added, timeout=60)[0].text.startswith("I added garden notes.md.")
        card = api.card(api.send(ADMIN, "How many apple trees are in the orchard?"))
        assert any("three apple trees" in b for b in card.bold) and "garden notes.md" in card.text  # two texts: named
        listed = api.wait_for_replies(api.send(ADMIN, "/sources"))[0].text
        assert "1. article.txt" in listed and "2. garden notes.md" in listed and "/forget N" in listed

        changed = api.upload(ADMIN, "garden notes.md", notes.replace(b"three", b"four"))
        assert "took in the new version of garden notes.md" in api.wait_for_replies(changed, timeout=60)[0].text
        assert any("four apple trees" in b for b in api.card(api.send(ADMIN, "How many apple trees are there?")).bold)

        forgot = api.send(ADMIN, "/forget 2")
        assert api.wait_for_replies(forgot, timeout=60)[0].text.startswith("I forgot garden notes.md.")
        listed = api.wait_for_replies(api.send(ADMIN, "/sources"))[0].text
        assert "garden_notes" not in listed and "/forget" in listed
        last = api.send(ADMIN, "/forget 1")
        assert "it is all the index holds" in api.wait_for_replies(last)[0].text


def test_uploads_whose_names_differ_only_in_characters_a_file_name_cannot_hold_are_both_kept(bot_api, own_engine):
    api = bot_api
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,)):
        lunch = api.upload(ADMIN, "menu: lunch.md", b"# Lunch\n\nThe soup of the day is leek and potato.\n")
        assert "I added menu_ lunch-" in api.wait_for_replies(lunch, timeout=60)[0].text
        dinner = api.upload(ADMIN, "menu? lunch.md", b"# Dinner\n\nThe fish of the day is grilled hake.\n")
        assert "I added menu_ lunch-" in api.wait_for_replies(dinner, timeout=60)[0].text
        listed = api.wait_for_replies(api.send(ADMIN, "/sources"))[0].text
    assert "I answer from 3 text(s)" in listed
    assert len({d.name for d in own_engine.describe().documents}) == 3


def test_an_upload_the_disk_cannot_take_is_refused_with_the_reason_and_the_old_version_kept(bot_api, own_engine):
    api = bot_api
    notes = b"The orchard behind the station has three apple trees.\n"
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,)):
        first = api.upload(ADMIN, "orchard.txt", notes)
        assert api.wait_for_replies(first, timeout=60)[0].text.startswith("I added orchard.txt.")
        # A file-size limit on this process stands in for a full disk: writing past it fails as ENOSPC does.
        handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limits = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, limits[1]))
        try:
            bigger = api.upload(ADMIN, "orchard.txt", notes * 40_000)  # 2.2 MB
            refused = api.wait_for_replies(bigger, timeout=60)[0].text
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limits)
            signal.signal(signal.SIGXFSZ, handler)
        assert refused == "I did not add orchard.txt: it could not be saved (File too large); the texts are as they were"
        card = api.card(api.send(ADMIN, "How many apple trees are in the orchard?"))
    assert any("three apple trees" in b for b in card.bold)
    assert [d.name for d in own_engine.describe().documents] == ["article.txt", "orchard.txt"]


def test_uploads_are_refused_politely_and_the_index_is_kept(bot_api, own_engine):
    api = bot_api
    with RunningBot(api, own_engine, telegram_admins=(ADMIN,), telegram_max_upload_mb=1.0):
        stranger = api.upload(77, "notes.txt", b"Some notes.")
        assert "Only the bot's admins can add texts" in api.wait_for_replies(stranger)[0].text
        not_allowed = api.send(77, "/forget 1")
        assert "Only the bot's admins can remove texts" in api.wait_for_replies(not_allowed)[0].text
        big = api.upload(ADMIN, "big.txt", b"x", file_size=30_000_000)
        assert "the most I take is 1.0 MB" in api.wait_for_replies(big)[0].text
        binary = api.upload(ADMIN, "photo.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
        assert "I did not add photo.txt: photo.txt: looks like a binary file" in api.wait_for_replies(binary)[0].text
        sheet = api.upload(ADMIN, "report.xlsx", b"PK\x03\x04")
        assert "is not one" in api.wait_for_replies(sheet)[0].text
        pdf = api.upload(ADMIN, "report.pdf", b"%PDF-1.7")
        assert "I did not add report.pdf: report.pdf: is not a PDF" in api.wait_for_replies(pdf)[0].text
        api.fail("getFile", 500, times=4)  # more than the retries
        lost = api.upload(ADMIN, "later.txt", b"Text that Telegram fails to hand over.")
        assert "I could not fetch later.txt from Telegram" in api.wait_for_replies(lost, timeout=60)[0].text
        sources = api.wait_for_replies(api.send(ADMIN, "/sources"))[0].text
    assert "I answer from 1 text(s)" in sources
    # Only the binary file and the broken PDF were fetched (and later.txt tried 4 times): the others were
    # refused first.
    assert api.calls.count("getFile") == 2 + 4
    assert [d.name for d in own_engine.describe().documents] == ["article.txt"]


def test_thanks_and_greetings_get_a_short_line_and_a_group_is_not_thanked_back(bot, api):
    [hello] = api.wait_for_replies(api.send(611, "hi!"))
    assert hello.text.startswith("Hello! Ask me a question about the text")
    [welcome] = api.wait_for_replies(api.send(611, "thanks!"))
    assert welcome.text == "You're welcome!"
    thanked = api.send(-612, f"@{NAME} thanks!", chat_type="supergroup", user_id=613)
    sentinel = api.send(-612, f"@{NAME} Who congratulated Trump?", chat_type="supergroup", user_id=613)
    api.wait_for_replies(sentinel)
    assert api.replies_to(thanked) == []  # in a group, thanks need no answer


def test_a_card_that_spans_paragraphs_names_them_all(bot, api, article_text):
    card = api.card(api.send(620, "When does Putin usually hold Security Council meetings?"))
    [line] = [line for line in card.text.split("\n") if line.startswith("¶")]
    first = int(line.split()[1])
    press(api, card, "◀ wider")  # the sentence before starts the paragraph before
    [line] = [line for line in card.text.split("\n") if line.startswith("¶")]
    assert line.startswith(f"¶ {first - 1}–{first} · chars ")
    assert len(card.bold) == 1 and card.bold[0].startswith("Typically holding Security Council")
