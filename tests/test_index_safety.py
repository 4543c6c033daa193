"""citebot replaces only a directory it can prove is its own index: never a user's folder."""

import os

import pytest
from click.testing import CliRunner

from bot.cli import cli
from embeddings.store import NotAnIndexError, check_replaceable, save_index


@pytest.fixture
def run(monkeypatch, tmp_path):
    """Invoke citebot in tmp_path (its working directory), without CITEBOT_ variables."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CITEBOT_") and n != "CITEBOT_MODEL"]:
        monkeypatch.delenv(name)

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


@pytest.fixture
def notes(tmp_path):
    """A user's folder of notes, with a git repository in it."""
    folder = tmp_path / "notes"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "kettle.md").write_text("The kettle boils at noon.\n")
    return folder


def test_indexing_a_folder_into_itself_is_refused_and_loses_nothing(run, notes):
    before = snapshot(notes)
    result = run("index", notes, "--index", notes)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and str(notes) in result.stderr and "Traceback" not in result.output
    assert snapshot(notes) == before


def test_a_folder_that_is_not_an_index_is_never_replaced(run, notes, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("The owl hoots at night.\n")
    before = snapshot(notes)
    result = run("index", source, "--index", notes)
    assert result.exit_code == 1 and "error: " in result.stderr and str(notes) in result.stderr
    assert "not a citebot index" in result.stderr
    assert snapshot(notes) == before


def test_an_index_dir_from_dotenv_must_pass_the_same_proof(run, notes, tmp_path):
    (tmp_path / ".env").write_text(f"CITEBOT_INDEX_DIR={notes}\n")
    source = tmp_path / "a.txt"
    source.write_text("The owl hoots at night.\n")
    before = snapshot(notes)
    result = run("index", source)
    assert result.exit_code == 1 and str(notes) in result.stderr
    assert snapshot(notes) == before


def test_an_index_inside_an_input_folder_is_refused(run, notes):
    result = run("index", notes, "--index", notes / "index")
    assert result.exit_code == 1 and "overlaps the input" in result.stderr and str(notes) in result.stderr
    assert not (notes / "index").exists()


def test_an_index_with_a_stranger_file_in_it_is_not_replaced(fake_index, tmp_path):
    directory = tmp_path / "index"
    save_index(fake_index, directory)
    (directory / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(NotAnIndexError, match=r"thesis\.docx"):
        save_index(fake_index, directory)
    assert (directory / "thesis.docx").read_bytes() == b"years of work"


def test_a_manifest_alone_does_not_prove_ownership_of_what_it_does_not_list(fake_index, tmp_path):
    directory = tmp_path / "home"
    directory.mkdir()
    (directory / "manifest.json").write_text('{"files": {}}')
    (directory / "photos").mkdir()
    with pytest.raises(NotAnIndexError, match="photos"):
        save_index(fake_index, directory)
    assert (directory / "photos").is_dir()


def test_a_file_or_a_symlink_is_not_an_index_directory(fake_index, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "plain").write_text("keep me")
    for name in ("link", "plain"):
        with pytest.raises(NotAnIndexError, match=name):
            check_replaceable(tmp_path / name)
    assert (tmp_path / "plain").read_text() == "keep me"


def test_an_empty_or_new_directory_or_our_own_index_may_be_replaced(fake_index, tmp_path):
    (tmp_path / "empty").mkdir()
    save_index(fake_index, tmp_path / "empty")
    save_index(fake_index, tmp_path / "new")
    save_index(fake_index, tmp_path / "new")  # its own index, replaced
    assert {p.name for p in tmp_path.iterdir()} == {"empty", "new"}
