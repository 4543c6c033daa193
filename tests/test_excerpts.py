"""Places in the text: locating quotes, wider views, merging nearby quotes, related terms, adding texts."""

from __future__ import annotations

import pytest

from embeddings.engine import Engine
from embeddings.excerpts import (
    Location,
    LocationError,
    group_nearby,
    locate,
    quote_at,
    suggest_terms,
    touching,
    whole_paragraph,
    widen,
)
from embeddings.retrieval import Highlight, Quote, answer_question
from embeddings.sources import SourceError
from embeddings.store import IndexSettings


def test_a_located_quote_reads_back_verbatim(fake_index, fake_embedder):
    answer = answer_question(fake_index, fake_embedder, "Security Council meetings on Fridays", k=3)
    for quote in answer.passages:
        location = locate(fake_index, quote)
        again = quote_at(fake_index, location)
        assert (again.text, again.start, again.end, again.highlight) == (
            quote.text, quote.start, quote.end, quote.highlight
        )


def test_widening_grows_by_sentences_and_stops_at_the_document_edges(fake_index, article_text):
    sha = fake_index.documents[0].sha256
    start = Location(sha[:8], 0, 0, 0)
    assert widen(fake_index, start, before=1) == start  # nothing before the first sentence
    wider = quote_at(fake_index, widen(fake_index, start, after=1))
    first = quote_at(fake_index, start)
    assert wider.text.startswith(first.text) and len(wider.text) > len(first.text)
    assert wider.text == article_text[wider.start : wider.end]
    last = len(fake_index.sentences) - 1
    end = Location(sha, last, last, last)
    assert widen(fake_index, end, after=3) == end


def test_whole_paragraph_covers_the_paragraph_of_the_highlight(fake_index, article_text):
    sha = fake_index.documents[0].sha256
    second_paragraph = [row for row, s in enumerate(fake_index.sentences) if s[3] == 2]
    location = Location(sha, second_paragraph[1], second_paragraph[1], second_paragraph[1])
    paragraph = quote_at(fake_index, whole_paragraph(fake_index, location))
    assert paragraph.text == article_text.split("\n")[1]


@pytest.mark.parametrize(
    "document, first, last, highlight",
    [("0000", 0, 0, 0), ("", 0, 0, 0), ("ours", 0, 10**6, 0), ("ours", 2, 1, 1), ("ours", 3, 5, 6)],
)
def test_a_location_outside_the_index_is_refused(fake_index, document, first, last, highlight):
    document = fake_index.documents[0].sha256 if document == "ours" else document
    with pytest.raises(LocationError):
        quote_at(fake_index, Location(document, first, last, highlight))


def quote(start: int, end: int, score: float = 1.0, source: str = "a.txt") -> Quote:
    return Quote("x" * (end - start), start, end, 1, score, Highlight(start, end), source)


def test_nearby_quotes_merge_in_text_order_and_far_ones_stay_apart():
    best, near, far, other = quote(500, 600, 3), quote(100, 450, 2), quote(5000, 5100, 1), quote(610, 700, 0.5, "b.txt")
    groups = group_nearby([best, near, far, other])
    assert groups == [[near, best], [far], [other]]
    assert group_nearby([best, near], max_chars=300) == [[best], [near]]  # too long together
    assert touching(quote(0, 10), quote(11, 20)) and not touching(quote(0, 10), quote(15, 20))


def test_suggested_terms_occur_in_the_text_and_not_in_the_question(fake_index, fake_embedder, article_text):
    answer = answer_question(fake_index, fake_embedder, "Putin boiling water", k=5)
    terms = suggest_terms(fake_index, fake_embedder, answer)
    assert 1 <= len(terms) <= 3 and len(set(terms)) == len(terms)
    assert all(term in article_text and "putin" not in term.lower() for term in terms)


def test_suggested_terms_leave_out_the_quotes_shown(fake_index, fake_embedder):
    answer = answer_question(fake_index, fake_embedder, "Putin boiling water", k=5)
    shown = answer.passages[:1]
    terms = suggest_terms(fake_index, fake_embedder, answer, shown=shown)
    assert terms and not any(term in shown[0].text for term in terms)


def test_suggested_terms_leave_out_words_of_the_quotes_shown_in_any_form_and_only_those(tmp_path, fake_embedder):
    texts = {"shown.txt": "The alarms rang during the negotiations in Geneva.",
             "talks.txt": "Negotiations resumed after the arms talks stalled.",
             "vienna.txt": "Disarmament experts met in Vienna."}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    engine.build([tmp_path / name for name in texts])
    answer = engine.ask("Which bells rang?", 3)
    shown = [quote for quote in answer.passages if quote.source.endswith("shown.txt")]
    assert len(shown) == 1 and len(answer.passages) == 3
    terms = engine.suggest_terms(answer, 10, shown=shown)
    # "Negotiations" is the shown quote's "negotiations"; "arms" is not its "alarms".
    assert "arms" in terms and "Vienna" in terms and not {"Negotiations", "negotiations"} & set(terms)


def test_texts_are_added_replaced_and_forgotten(tmp_path, fake_embedder):
    first, second = tmp_path / "one.txt", tmp_path / "two.md"
    first.write_text("The lighthouse keeper counts ships every night.", encoding="utf-8")
    second.write_text("The baker sells rye bread on Tuesdays.", encoding="utf-8")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    engine.build([first])
    report = engine.add(second)
    assert (report.documents, report.embedded) == (2, 1)
    assert "rye bread" in engine.ask("Who sells rye bread?").passages[0].text
    second.write_text("The baker sells spelt bread on Tuesdays.", encoding="utf-8")
    assert engine.add(second).embedded == 1 and len(engine.inputs()) == 2
    assert "spelt" in engine.ask("Who sells spelt bread?").passages[0].text
    assert engine.forget(str(second)).removed == 1
    assert [d.name for d in engine.describe().documents] == ["one.txt"]
    with pytest.raises(SourceError, match="all the index holds"):
        engine.forget(str(first))
    with pytest.raises(SourceError, match="not indexed"):
        engine.forget(str(second))


def test_a_text_found_in_a_folder_cannot_be_forgotten_alone(tmp_path, fake_embedder):
    folder = tmp_path / "texts"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"Text {name} has words.", encoding="utf-8")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    engine.build([folder])
    with pytest.raises(SourceError, match="comes from the folder"):
        engine.forget(str(folder / "a.txt"))
    # A path inside the folder that names no file is not "from the folder".
    with pytest.raises(SourceError, match="not indexed"):
        engine.forget(str(folder / "sub" / "missing.txt"))
    # Gone from the folder since the index was built, it is still held: an update drops it, as it says.
    (folder / "b.txt").unlink()
    with pytest.raises(SourceError, match=r"came from the folder .* is gone from it; `citebot index( --index \S+)?` "):
        engine.forget(str(folder / "b.txt"))
    assert [w for w in engine.warnings() if "b.txt is gone" in w and "--prune" not in w]
    with pytest.raises(SourceError, match="texts: it is all the index holds"):
        engine.forget(str(folder))


def test_forget_refuses_what_would_change_nothing_or_empty_the_index(tmp_path, fake_embedder):
    folder, other = tmp_path / "texts", tmp_path / "other.txt"
    folder.mkdir()
    (folder / "a.txt").write_text("The kettle boils at noon.", encoding="utf-8")
    other.write_text("The owl hoots at night.", encoding="utf-8")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    engine.build([folder, folder / "a.txt", other])
    # Named, and in a folder named too: forgetting the name would leave it held.
    with pytest.raises(SourceError, match="a.txt: it is also in the folder"):
        engine.forget(str(folder / "a.txt"))
    (folder / "a.txt").unlink()
    folder.rmdir()
    with pytest.raises(SourceError, match="other.txt: what else the index holds is gone"):
        engine.forget(str(other))
