"""Documents of every kind in one index, asked through `citebot ask --json`: the first passage's answering
sentence holds the answer, and no running header or footer, and no heading, is ever that sentence.

The documents: a product page with a key/value spec table (HTML), a staff handbook with a title,
headings, a table in the middle and a list (Word), a 3-page boiler manual with a running header and a
footer (PDF) and a mill's notes with a title, headings, a bulleted and a numbered list (plain text).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.make_documents import MANUAL_FOOTER, MANUAL_HEADER, MANUAL_PAGES, handbook_docx, manual_pdf

pytestmark = pytest.mark.model
KINDS = Path(__file__).parent / "data" / "kinds"
CITEBOT = Path(sys.executable).with_name("citebot")
HEADINGS = ["Router X5", "Specifications", "Resetting the router", "Warranty", "Staff handbook", "Annual leave",
            "Sick leave", "Expenses", "The Tide Mill", "Volunteers this season", "Starting the mill",
            *[page.split("\n")[0] for page in MANUAL_PAGES], *[page.split("\n")[2] for page in MANUAL_PAGES[:2]]]
QUESTIONS = [
    ("What are the router's dimensions?", "router.html", "24 × 18 × 6 cm"),
    ("What is the weight of the Router X5?", "router.html", "820 g"),
    ("How much does the Router X5 cost?", "router.html", "129 euros"),
    ("How many LAN ports does the router have?", "router.html", "4 gigabit LAN ports"),
    ("How do I reset the router to factory settings?", "router.html", "hold the reset button"),
    ("How long is the router's warranty?", "router.html", "two years"),
    ("How much annual leave does someone with less than 7 years of service get?", "handbook.docx", "25 days"),
    ("How far ahead must leave be booked?", "handbook.docx", "two weeks ahead"),
    ("When should I call my manager if I am ill?", "handbook.docx", "before 9 am"),
    ("When do I need a doctor's note?", "handbook.docx", "more than three days"),
    ("When are travel expenses paid back?", "handbook.docx", "with the next salary"),
    ("How often must the boiler be serviced?", "manual.pdf", "once a year"),
    ("What does fault E119 mean?", "manual.pdf", "water pressure is too low"),
    ("What pressure should the gauge show when filling the boiler?", "manual.pdf", "1.5 bar"),
    ("How do I switch the boiler between heating and hot water?", "manual.pdf", "mode button"),
    ("How long is the boiler's warranty?", "manual.pdf", "five years"),
    ("Who may install the boiler?", "manual.pdf", "qualified engineer"),
    ("When was the tide mill built?", "mill-notes.txt", "1776"),
    ("Is the tide mill still working?", "mill-notes.txt", "the wheel turns every Sunday"),
    ("Who is the miller?", "mill-notes.txt", "Felix Moreau"),
    ("Who guides school visits?", "mill-notes.txt", "Mia Chen"),
    ("What is the first step to start the mill?", "mill-notes.txt", "Fill the pond at high tide"),
]


@pytest.fixture(scope="module")
def kinds_index(tmp_path_factory) -> Path:
    """An index of the four documents, built by `citebot index FOLDER`."""
    work = tmp_path_factory.mktemp("kinds")
    folder = work / "texts"
    folder.mkdir()
    for name in ("router.html", "mill-notes.txt"):
        shutil.copy(KINDS / name, folder / name)
    (folder / "handbook.docx").write_bytes(handbook_docx())
    (folder / "manual.pdf").write_bytes(manual_pdf())
    built = citebot(work, "index", folder)
    assert built.returncode == 0 and "Indexed 4 file(s)" in built.stdout, built.stderr
    return work


def citebot(work: Path, *args: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CITEBOT_") and k != "CITEBOT_MODEL")}
    env["CITEBOT_INDEX_DIR"] = str(work / "index")
    return subprocess.run([str(CITEBOT), *map(str, args)], capture_output=True, text=True, env=env, cwd=work,
                          timeout=120, stdin=subprocess.DEVNULL)


def answer(work: Path, question: str) -> dict:
    asked = citebot(work, "ask", "--json", question)
    assert asked.returncode == 0, asked.stderr
    return json.loads(asked.stdout)


def highlight(passage: dict) -> str:
    """The answering sentence of a passage, as the JSON gives it (offsets into its document)."""
    return passage["text"][passage["highlight"]["start"] - passage["start"] : passage["highlight"]["end"]
                           - passage["start"]]


@pytest.mark.parametrize("question, name, expected", QUESTIONS, ids=[q for q, _, _ in QUESTIONS])
def test_the_first_passage_of_each_kind_answers_with_its_own_sentence(kinds_index, question, name, expected):
    found = answer(kinds_index, question)
    first = found["passages"][0]
    assert Path(first["source"]).name == name
    assert expected in highlight(first), highlight(first)


def test_no_running_header_footer_or_heading_is_ever_quoted_as_an_answer(kinds_index):
    runners = [MANUAL_HEADER, *(MANUAL_FOOTER.format(n) for n in (1, 2, 3)), "Page ", "www.vesta.example"]
    for question, _, _ in QUESTIONS:
        for passage in answer(kinds_index, question)["passages"]:
            assert not any(runner in passage["text"] for runner in runners), passage["text"]
            assert highlight(passage).strip() not in HEADINGS
            # The highlight is never a heading glued to what follows it.
            assert not any(highlight(passage).startswith(heading + "\n") for heading in HEADINGS)


def test_a_pdf_quote_names_its_page_and_section(kinds_index):
    first = answer(kinds_index, "What does fault E119 mean?")["passages"][0]
    assert (first["page"], first["section"]) == (2, "4. Faults")
    shown = citebot(kinds_index, "ask", "What does fault E119 mean?")
    assert shown.stdout.startswith("manual.pdf · 4. Faults · page 2\n")


GUIDE = """Router X5 quick guide

Resetting the router

If the router stops responding, the lights keep flashing, or you have forgotten the admin password, a factory reset restores every setting. Press and hold the reset button on the back with a paper clip for ten seconds, then release it. The router restarts and its lights blink twice.
"""
BREAD = """Banana bread

Pour the batter into a buttered loaf tin and smooth the top. A fan oven runs hotter, so set it to 150 °C rather than 170 °C. Bake for 50 to 60 minutes, until a skewer pushed into the middle comes out clean. Leave it in the tin for ten minutes before turning it out.
"""


@pytest.mark.parametrize("question, expected", [
    ("How do I reset the router?", "Press and hold the reset button"),
    ("How long do I bake the banana bread?", "Bake for 50 to 60 minutes"),
])
def test_the_bold_sentence_in_a_passage_of_notes_is_the_instruction_that_answers(tmp_path, question, expected):
    (tmp_path / "guide.txt").write_text(GUIDE, encoding="utf-8")
    (tmp_path / "bread.txt").write_text(BREAD, encoding="utf-8")
    assert citebot(tmp_path, "index", tmp_path / "guide.txt", tmp_path / "bread.txt").returncode == 0
    assert highlight(answer(tmp_path, question)["passages"][0]).startswith(expected)
