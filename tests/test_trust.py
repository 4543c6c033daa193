"""Three verdicts wherever an answer is shown: answered (the sentence in bold), hedged ("the text may not
answer this", nothing in bold), and not in the text (the abstention, with the nearest passage, nothing in
bold)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.render import MAY_NOT_ANSWER, NOT_ANSWERED
from embeddings import Engine, Verdict
from tests.conftest import ENGLISH

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]
EVERYDAY = Path(__file__).parent / "data" / "everyday"
# Of the bundled article: one it answers, one it is about but does not answer, one about something else.
ASKED = {
    Verdict.ANSWERED: "When does the New START treaty expire?",
    Verdict.UNCERTAIN: "What did Zelensky say about Trump?",  # a name the text never uses, a passage the reranker likes
    Verdict.NOT_IN_TEXT: "What is the boiling point of water on Mars?",
}
# Questions about things no indexed file names (the article and six everyday documents).
NAMED_ELSEWHERE = [
    "What is the boiling point of water on Mars?",
    "How tall is Mount Everest?",
    "Who painted the Mona Lisa?",
    "What's the weather like in Oslo today?",
    "Who won the 2014 World Cup?",
]


@pytest.fixture(scope="module")
def everything(tmp_path_factory, real_embedder) -> Engine:
    """The bundled article and the everyday documents in one index."""
    texts = tmp_path_factory.mktemp("texts")
    shutil.copy(ROOT / "data" / "article.txt", texts)
    shutil.copytree(EVERYDAY, texts / "everyday")
    engine = Engine(tmp_path_factory.mktemp("everything") / "index", ENGLISH,
                    embedder=real_embedder)
    engine.build([texts])
    return engine


def test_the_engine_gives_each_verdict(article_engine):
    for verdict, question in ASKED.items():
        answer = article_engine.ask(question, 3)
        assert answer.verdict is verdict, question
        assert answer.answered == (verdict is Verdict.ANSWERED) and answer.passages


def test_a_question_about_what_no_file_names_is_never_answered(everything):
    for question in NAMED_ELSEWHERE:
        answer = everything.ask(question, 3)
        assert answer.verdict is not Verdict.ANSWERED and answer.absent, question
    mars = everything.ask(NAMED_ELSEWHERE[0], 3)
    assert mars.verdict is Verdict.NOT_IN_TEXT and mars.absent == ("Mars",)
    # The same index still answers what its files say.
    assert everything.ask("How long should the banana bread bake?", 3).verdict is Verdict.ANSWERED
    assert everything.ask("When does the New START treaty expire?", 3).verdict is Verdict.ANSWERED


def test_a_name_only_a_title_or_a_file_name_holds_is_in_the_text(tmp_path, real_embedder):
    manual = tmp_path / "texts" / "aquapure-300.md"
    manual.parent.mkdir()
    manual.write_text("# AquaPure 300 water filter pitcher: user manual\n\n## Warranty\n\nThe pitcher is covered by a "
                      "two-year limited warranty from the date of purchase. Filter cartridges are covered for 90 "
                      "days.\n\n## Cleaning\n\nWash the lid and the reservoir by hand in warm water.\n",
                      encoding="utf-8")
    (tmp_path / "texts" / "notes.txt").write_text("Kettle X2\n\nThe Kettle X2 boils 1.7 litres in four minutes.\n",
                                                   encoding="utf-8")
    engine = Engine(tmp_path / "index", ENGLISH, embedder=real_embedder)
    engine.build([tmp_path / "texts"])
    # Word search reads a passage with the heading right above it only, so the title's "AquaPure" was a name
    # no text holds, and the answer was hedged under a place line that names it.
    answer = engine.ask("How long is the warranty on the AquaPure pitcher?", 3)
    assert answer.verdict is Verdict.ANSWERED and not answer.absent, (answer.verdict, answer.absent)
    assert "two-year" in answer.passages[0].text
    assert engine.ask("How long is the warranty on the Brita pitcher?", 3).absent == ("Brita",)


@pytest.fixture
def run(real_embedder, monkeypatch, tmp_path, article_index_dir):
    """citebot with args, over a copy of the article's index, in an empty directory without .env."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(article_index_dir, tmp_path / "index")

    def invoke(*args):
        return CliRunner().invoke(cli, [*map(str, args), "--index", str(tmp_path / "index")], catch_exceptions=False)

    return invoke


def test_the_cli_says_each_verdict_in_words(run):
    answered = run("ask", ASKED[Verdict.ANSWERED]).output
    assert not answered.startswith((MAY_NOT_ANSWER, NOT_ANSWERED))
    hedged = run("ask", ASKED[Verdict.UNCERTAIN]).output
    assert hedged.startswith(f"{MAY_NOT_ANSWER}: it never mentions “Zelensky”.") and "not marked as the answer" in hedged
    absent = run("ask", ASKED[Verdict.NOT_IN_TEXT]).output
    assert absent.startswith(f"{NOT_ANSWERED}: it never mentions “Mars”. The nearest passage:")
    # Only the answer is in bold (between ** in a pipe): not the closest sentence, nor the nearest.
    assert "**" in answered and "**" not in hedged and "**" not in absent


def test_json_gives_the_verdict_and_the_confidence(run):
    for verdict, question in ASKED.items():
        data = json.loads(run("ask", question, "--json").stdout)
        assert data["verdict"] == verdict.value and data["answered"] == (verdict is Verdict.ANSWERED)
        assert isinstance(data["confidence"], float) and data["passages"]


def test_a_card_shows_each_verdict(bot, api):
    answered = api.card(api.send(701, ASKED[Verdict.ANSWERED]))
    assert answered.bold and not answered.text.startswith((MAY_NOT_ANSWER, NOT_ANSWERED))
    hedged = api.card(api.send(702, ASKED[Verdict.UNCERTAIN]))
    assert hedged.text.startswith(MAY_NOT_ANSWER) and not hedged.bold  # the quote, not marked as the answer
    absent = api.card(api.send(703, ASKED[Verdict.NOT_IN_TEXT]))
    assert absent.text.startswith(f"{NOT_ANSWERED}: it never mentions “Mars”") and not absent.bold
    # Nor does a wider view of the nearest passage.
    api.wait_for_answer(api.press(absent, "wider ▶"))
    assert absent.edits and not absent.bold


def test_inline_mode_offers_one_result_for_a_doubtful_answer_and_says_which(bot, api):
    answered = api.wait_for_answer(api.inline(704, ASKED[Verdict.ANSWERED]))["results"]
    assert len(answered) > 1 and not answered[0]["title"].startswith(("May not", "Not in"))
    hedged = api.wait_for_answer(api.inline(704, ASKED[Verdict.UNCERTAIN]))["results"]
    assert len(hedged) == 1 and hedged[0]["title"].startswith("May not answer it. Closest: ")
    card = api.choose(hedged[0])
    assert MAY_NOT_ANSWER in card.text and not card.bold
    absent = api.wait_for_answer(api.inline(704, ASKED[Verdict.NOT_IN_TEXT]))["results"]
    assert len(absent) == 1 and absent[0]["title"].startswith("Not in the text. Nearest: ")


@pytest.mark.parametrize("confidence, threshold, shown", [
    (0.7799, 0.78, "0.77, below 0.78"), (0.771, 0.78, "0.77, below 0.78"),
    (0.742, 0.745, "0.74, below 0.75"), (0.7449, 0.745, "0.74, below 0.75"),  # across languages
])
def test_a_confidence_just_below_the_threshold_is_shown_apart_from_it(confidence, threshold, shown):
    from bot.render import abstention_with_confidence
    from embeddings import Answer

    # A new user read "(confidence 0.78, below 0.78)"; then "0.7449, below 0.74" was possible.
    answer = Answer("Is the handbook confidential?", False, [], confidence=confidence, verdict=Verdict.NOT_IN_TEXT)
    assert f"(confidence {shown})" in abstention_with_confidence(answer, threshold)
