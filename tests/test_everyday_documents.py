"""Documents as people write them (tests/data/everyday): answers that sit in a step, a list item, a table
cell or under a heading come first, are quoted at their place in the file, and show no raw markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from embeddings.engine import Engine
from embeddings.sources import read_document
from embeddings.structure import Layout, markdown_units, visible
from tests.conftest import ENGLISH
from tests.telegram_harness import RunningBot

EVERYDAY = Path(__file__).parent / "data" / "everyday"

# question, file, the headings it stands under, words of the sentence that answers it
ANSWERS = [
    ("How long should the banana bread bake?", "banana-bread.md", "Banana bread › Method", "Bake for 60 minutes"),
    ("What temperature should the oven be?", "banana-bread.md", "Banana bread › Method", "175 °C"),
    ("How much flour do I need?", "banana-bread.md", "Banana bread › Ingredients", "250 g plain flour"),
    ("Can I freeze the banana bread?", "banana-bread.md", "Banana bread › Keeping", "frozen for up to three months"),
    ("how much does the lamp weigh", "lamp-faq.md", "Aurora desk lamp: questions and answers › Specifications",
     "Weight | 820 g"),
    ("How long is the warranty on the lamp?", "lamp-faq.md",
     "Aurora desk lamp: questions and answers › Specifications", "Warranty | 2 years"),
    ("how do I dim the lamp", "lamp-faq.md",
     "Aurora desk lamp: questions and answers › Questions › Can I dim the lamp?", "Touch and hold the top"),
    pytest.param(
        "Is a charger included with the lamp?", "lamp-faq.md",
        "Aurora desk lamp: questions and answers › Questions › Does it come with a plug?", "no wall adapter",
        # Known weakness: the reranker emphasises the next sentence, which shares the word "charger" (the
        # right one still leads the card as its context).
        marks=pytest.mark.xfail(strict=True, reason="the reranker prefers the sentence sharing a word"),
    ),
    # A row of three cells is placed with its column names: "14 days | Still sealed" says little alone.
    ("Can I return a gift card?", "returns-policy.md",
     "Returns policy › What can be returned › Item | Return window | Condition", "Gift cards | Not returnable"),
    ("How many days do I have to send back light bulbs?", "returns-policy.md",
     "Returns policy › What can be returned › Item | Return window | Condition", "Light bulbs | 14 days"),
    ("How long does delivery take to the rest of Europe?", "shop.html", "Aurora desk lamp › Delivery",
     "rest of the European Union three to five"),
    ("Which cable comes with the lamp in the box?", "shop.html", "Aurora desk lamp › What is in the box",
     "USB-C"),
    ("How wide is the lamp shade?", "shop.html", "Aurora desk lamp › Dimensions", "Shade diameter | 18 cm"),
    ("When is the Aurora launch?", "meeting-notes.txt", "Product meeting, 3 February", "14 March"),
    ("When was the bridge built?", "history.txt", "A short history of Vila Serena", "between 1821 and 1826"),
    ("What is the old market hall used for now?", "history.txt", "A short history of Vila Serena", "now the town library"),
]


@pytest.fixture(scope="module")
def everyday_engine(tmp_path_factory, real_embedder) -> Engine:
    """The everyday documents indexed with the real model."""
    engine = Engine(tmp_path_factory.mktemp("everyday") / "index", ENGLISH,
                    embedder=real_embedder)
    engine.build([EVERYDAY])
    return engine


@pytest.mark.model
@pytest.mark.parametrize(("question", "name", "section", "words"), ANSWERS)
def test_the_answer_is_first_with_its_place_and_is_the_one_emphasised_sentence(
    everyday_engine, question, name, section, words
):
    answer = everyday_engine.ask(question, 3)
    best = answer.passages[0]
    assert answer.answered and Path(best.source).name == name
    assert best.section == section
    shown = everyday_engine.present(answer, 3)
    lead = shown.lead[0]
    sentence = lead.shown(lead.text[lead.highlight.start - lead.start : lead.highlight.end - lead.start])
    assert words in sentence
    assert lead.highlight.start - lead.start < 150
    assert read_document(Path(best.source)).text[best.start : best.end] == best.text  # offsets into the text as read


@pytest.mark.model
def test_the_cli_names_file_and_heading_and_shows_no_markup(everyday_engine):
    result = CliRunner().invoke(cli, ["ask", "How much brown sugar do I need?", "--index", str(everyday_engine.index_dir)])
    assert result.exit_code == 0, result.output
    assert "banana-bread.md · Banana bread › Ingredients · ¶ 4" in result.output
    # Unstyled output marks the answer with ** itself; the file's own ** around "soft brown sugar" are gone.
    assert "**100 g soft brown sugar**" in result.output


@pytest.mark.model
def test_a_telegram_card_names_the_heading_and_shows_no_markup(everyday_engine):
    from tests.fake_bot_api import FakeBotApi

    api = FakeBotApi().start()
    try:
        with RunningBot(api, everyday_engine):
            question = api.send(101, "how should I clean the wooden base of the lamp?")
            [reply] = api.wait_for_replies(question)
    finally:
        api.stop()
    assert "Wipe the oak base with a dry cloth." in reply.bold[0]
    assert "Questions › How do I clean it? · ¶ 9" in reply.text and "lamp-faq.md" in reply.text
    assert "hard wax oil" in reply.text and "`" not in reply.text


def test_markdown_headings_are_places_list_items_and_table_rows_are_units():
    text = (EVERYDAY / "banana-bread.md").read_text(encoding="utf-8")
    units = markdown_units(text)
    shown = [text[u.start : u.end] for u in units]
    assert "Banana bread" not in shown and "Method" not in shown  # headings are not units
    assert "Heat the oven to 175 °C and butter a loaf tin." in shown  # no "1."
    assert "250 g plain flour" in shown  # no "-"
    item = units[shown.index("100 g **soft brown sugar**")]
    assert item.section == "Banana bread › Ingredients"
    assert visible(text[item.start : item.end]) == "100 g soft brown sugar"
    assert visible("a quote\n> carried on, **bold**") == "a quote\ncarried on, bold"


def test_a_table_row_is_searched_with_its_column_names_and_quoted_as_written():
    text = (EVERYDAY / "returns-policy.md").read_text(encoding="utf-8")
    layout = Layout(text, "markdown")
    number, unit = next((n, u) for n, u in enumerate(layout.units, 1) if text[u.start : u.end].startswith("Light"))
    assert text[unit.start : unit.end] == "Light bulbs | 14 days | Still sealed"
    row = "Light bulbs: Return window: 14 days; Condition: Still sealed"
    assert layout.search_text(unit.start, unit.end, number) == f"Returns policy › What can be returned: {row}"
    assert layout.search_text(unit.start, unit.end, number, headings=1) == f"What can be returned: {row}"
    # Search reads the column names with each cell; a reader is shown them in the place (not a blank header).
    assert layout.section(number) == "Returns policy › What can be returned › Item | Return window | Condition"
    blank = Layout("# Prices\n\n|   |   |   |\n|---|---|---|\n| Tea | 2 € | hot |\n", "markdown")
    assert [u.section for u in blank.units] == ["Prices"]
    # Two columns under a header that names both: "Less than 5 | 25" says nothing without them, and every
    # row of the table is read and placed alike.
    leave = Layout("# Holidays\n\n| Years of service | Days of leave |\n|---|---|\n| Less than five | 25 |\n"
                   "| 5 or more | 30 |\n", "markdown")
    assert [u.section for u in leave.units] == ["Holidays › Years of service | Days of leave"] * 2
    assert [u.cells for u in leave.units] == ["Less than five: Days of leave: 25", "5 or more: Days of leave: 30"]
    # A spec sheet, most of whose rows are a label and its value: its header names only the two kinds.
    spec = Layout("# Specs\n\n| Spec | Value |\n|---|---|\n| Weight | 820 g |\n| Height | 45 cm |\n"
                  "| USB 3.0 ports | 2 |\n", "markdown")
    assert [u.section for u in spec.units] == ["Specs"] * 3
    assert [u.cells for u in spec.units] == ["the weight is 820 g", "the height is 45 cm", "USB 3.0 ports: 2"]


def test_a_pages_chrome_is_left_out_and_its_structure_kept():
    document = read_document(EVERYDAY / "shop.html")
    assert document.format == "markdown"
    for chrome in ("cookies", "Home", "Cart", "newsletter", "Subscribe", "All rights reserved", "analytics"):
        assert chrome not in document.text
    layout = Layout(document.text, document.format)
    units = layout.units
    sections = {u.section for u in units}
    assert {"Aurora desk lamp", "Aurora desk lamp › Delivery", "Aurora desk lamp › What is in the box",
            "Aurora desk lamp › Dimensions"} <= sections
    assert "A USB-C cable, 1.5 m long" in [layout.shown(document.text[u.start : u.end]) for u in units]
    assert [u.cells for u in units if u.cells] == ["the shade diameter is 18 cm", "the base is 14 × 14 cm"]  # a table


def test_plain_text_titles_and_headings_are_places_and_list_items_units():
    text = (EVERYDAY / "history.txt").read_text(encoding="utf-8")
    layout = Layout(text, "text")
    assert len(layout.units) == 7 and {u.section for u in layout.units} == {"A short history of Vila Serena"}
    first = layout.units[0]
    assert layout.search_text(first.start, first.end, 1).startswith("A short history of Vila Serena: Vila Serena began")
    notes = "The Tide Mill\n\nIt was built in 1776.\n\nVolunteers\n- Felix Moreau, miller\n* Mia Chen, guide\n"
    units = Layout(notes, "text").units
    assert [(notes[u.start : u.end], u.section) for u in units] == [
        ("It was built in 1776.", "The Tide Mill"), ("Felix Moreau, miller", "The Tide Mill › Volunteers"),
        ("Mia Chen, guide", "The Tide Mill › Volunteers")]


@pytest.mark.parametrize("text, place", [
    # A title right above the first heading was a unit of its own, quoted as the answer to "What time is
    # breakfast served at Hotel Playa Azul?".
    ("Normas del Hotel Playa Azul\n\nDesayuno\n\nEl desayuno se sirve de 7:30 a 10:30.\n",
     "Normas del Hotel Playa Azul › Desayuno"),
    # Prose ending in "。" read as a heading, so the heading above it was taken for prose.
    ("さくら旅館 ご利用案内\n\n駐車場\n\n駐車場は無料で、十台までご利用いただけます。\n", "さくら旅館 ご利用案内 › 駐車場"),
    ("मौसम केंद्र\n\nसमय\n\nकेंद्र सुबह नौ बजे खुलता है।\n", "मौसम केंद्र › समय"),
    ("Երևան\n\nՊատմություն\n\nԵրևանը Հայաստանի մայրաքաղաքն է։\n", "Երևան › Պատմություն"),  # Armenian "։"
])
def test_a_title_above_a_heading_and_headings_above_prose_in_other_scripts_are_places(text, place):
    units = Layout(text, "text").units
    assert [(text[u.start : u.end], u.section) for u in units] == [(text.strip().split("\n\n")[-1], place)]
