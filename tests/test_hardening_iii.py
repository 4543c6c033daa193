"""Hardening III: documents that cannot starve or crash a build or a question, each through the CLI in a
process under a memory limit, so that a regression fails the test instead of the machine."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ARTICLE
from .make_documents import pdf_of_streams

pytestmark = pytest.mark.model
CITEBOT = Path(sys.executable).with_name("citebot")
# The whole command, model and all, runs under this: far below what the bombs asked for before.
MEMORY_LIMIT = 2_500 * 1024 * 1024


def citebot(tmp_path: Path, *args: object) -> subprocess.CompletedProcess:
    """citebot ARGS in its own process under MEMORY_LIMIT, with its index in tmp_path."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {k: v for k, v in os.environ.items() if not (k.startswith("CITEBOT_") and k != "CITEBOT_MODEL")}
    env["CITEBOT_INDEX_DIR"] = str(tmp_path / "index")
    return subprocess.run([str(CITEBOT), *map(str, args)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          preexec_fn=limit, timeout=240, stdin=subprocess.DEVNULL)


def word_file(body: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal .docx whose document.xml holds body (WordprocessingML paragraphs), plus extra parts."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "word/document.xml":
                head, _, tail = data.decode().partition("<w:body>")
                data = (head + "<w:body>" + body + tail.partition("<w:sectPr")[1] + tail.partition("<w:sectPr")[2]).encode()
            target.writestr(entry, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def folder_with(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "article.txt").write_bytes(ARTICLE.read_bytes())
    (folder / name).write_bytes(data)
    return folder


def assert_left_out_and_the_rest_indexed(result: subprocess.CompletedProcess, name: str, reason: str) -> None:
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if name in line]
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "Indexed 1 file(s)" in result.stdout


def test_a_word_file_that_unpacks_to_gigabytes_is_left_out_and_the_rest_indexed(tmp_path):
    paragraph = "<w:p><w:r><w:t>" + "The boiler restarts itself. " * 40 + "</w:t></w:r></w:p>"
    bomb = word_file(paragraph * 250_000)  # about 300 MB of XML, a few hundred kB packed
    assert len(bomb) < 3_000_000
    result = citebot(tmp_path, "index", folder_with(tmp_path, "handbook.docx", bomb))
    assert_left_out_and_the_rest_indexed(result, "handbook.docx", "over the limit")


def test_a_small_word_file_holding_a_huge_image_is_left_out(tmp_path):
    bomb = word_file("<w:p><w:r><w:t>Leave is 25 days.</w:t></w:r></w:p>", {"word/media/image1.png": bytes(400 << 20)})
    result = citebot(tmp_path, "index", folder_with(tmp_path, "leave.docx", bomb))
    assert_left_out_and_the_rest_indexed(result, "leave.docx", "over the limit")


def test_a_word_file_whose_text_is_larger_than_a_file_may_give_is_left_out(tmp_path):
    paragraph = "<w:p><w:r><w:t>" + "Staff may carry over five days. " * 30 + "</w:t></w:r></w:p>"
    bomb = word_file(paragraph * 3_000)  # 2.9 million characters, within what it may unpack
    result = citebot(tmp_path, "index", folder_with(tmp_path, "rules.docx", bomb))
    assert_left_out_and_the_rest_indexed(result, "rules.docx", "over the limit of 2,000,000")


def nested_pdf(depth: int) -> bytes:
    """A one-page PDF of about 2 kB whose content stream shows text through arrays nested depth deep."""
    return pdf_of_streams([b"BT /F1 12 Tf 72 720 Td " + b"[" * depth + b"(x)" + b"]" * depth + b" TJ ET"])


def test_a_damaged_word_table_and_a_deeply_nested_pdf_are_each_left_out_in_one_line(tmp_path):
    table = ('<w:tbl><w:tblGrid><w:gridCol w:w="100"/></w:tblGrid><w:tr><w:tc><w:tcPr><w:gridSpan w:val="two"/>'
             "</w:tcPr><w:p><w:r><w:t>Annual leave</w:t></w:r></w:p></w:tc></w:tr></w:tbl>")
    folder = folder_with(tmp_path, "leave.docx", word_file("<w:p><w:r><w:t>Leave rules.</w:t></w:r></w:p>" + table))
    (folder / "manual.pdf").write_bytes(nested_pdf(1_000))
    result = citebot(tmp_path, "index", folder)
    assert_left_out_and_the_rest_indexed(result, "leave.docx", "cannot be read")
    assert_left_out_and_the_rest_indexed(result, "manual.pdf", "nested too deeply")
    assert len(result.stderr.splitlines()) == 2, result.stderr  # and nothing a parser logged


def test_a_table_whose_rows_would_be_embedded_many_times_over_is_left_out_and_the_rest_indexed(tmp_path):
    columns = 20
    header = "| " + " | ".join(f"Column name number {i:02d}" for i in range(columns)) + " |\n" + "|---" * columns + "|\n"
    row = "| " + " | ".join("Ab cd. Ef gh. Ij kl." for _ in range(columns)) + " |\n"
    table = "# Results\n\n" + header + row * 1_000  # 0.46 MB: before, 510 MB to embed; at the cap, 11 MB
    result = citebot(tmp_path, "index", folder_with(tmp_path, "results.md", table.encode()))
    assert_left_out_and_the_rest_indexed(result, "results.md", "characters to embed")


def test_what_search_reads_of_a_table_row_is_bounded_by_the_row_itself(tmp_path):
    from embeddings.store import load_index

    header = "| Item | " + " | ".join(f"A long column name, number {i}" for i in range(8)) + " |\n" + "|---" * 9 + "|\n"
    rows = "".join(f"| Lamp {n} | " + " | ".join("yes" for _ in range(8)) + " |\n" for n in range(50))
    folder = folder_with(tmp_path, "lamps.md", ("# Lamps and what they come with\n\n" + header + rows).encode())
    assert citebot(tmp_path, "index", folder).returncode == 0
    index = load_index(tmp_path / "index")
    for doc_id, start, end, paragraph in index.sentences:
        own = end - start
        assert len(index.search_text(doc_id, start, end, paragraph)) <= own + max(100, 2 * own)
    found = citebot(tmp_path, "ask", "--json", "Does Lamp 7 come with long column name number 3?")
    assert "Lamp 7 |" in json.loads(found.stdout)["passages"][0]["text"]


def test_a_text_without_sentence_ends_is_cut_into_bounded_sentences_and_questions_still_answer(tmp_path):
    from embeddings.store import load_index
    from embeddings.text import MAX_SENTENCE_CHARS

    folder = folder_with(tmp_path, "log.txt", (("overflow " * 60_000) + "\n\n" + "x" * 200_000).encode())
    built = citebot(tmp_path, "index", folder)
    assert built.returncode == 0, built.stderr
    index = load_index(tmp_path / "index")
    lengths = index.sentences[:, 2] - index.sentences[:, 1]
    assert lengths.max() <= MAX_SENTENCE_CHARS
    asked = citebot(tmp_path, "ask", "--json", "When does the New START treaty expire?")
    assert asked.returncode == 0, asked.stderr
    assert "February" in json.loads(asked.stdout)["passages"][0]["text"]



def test_the_bots_question_store_is_readable_by_the_bot_only(tmp_path):
    from bot.cards import QuestionStore

    store = QuestionStore(tmp_path / "telegram" / "questions.sqlite")
    store.remember("Who congratulated Trump?")
    for path in (tmp_path / "telegram").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    store.close()


def test_a_reranker_that_is_not_the_one_its_manifest_names_is_refused(tmp_path):
    """A changed model file, or a manifest naming a file outside its directory, is refused in one line."""
    from embeddings.errors import ModelNotFoundError
    from embeddings.reranker import RERANKER_DIR, Reranker

    copy = tmp_path / "reranker"
    shutil.copytree(RERANKER_DIR, copy)
    assert Reranker(copy).score("When?", ["In May."]).shape == (1,)  # the copy as shipped loads
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    model = copy / manifest["file"]
    model.write_bytes(model.read_bytes()[:-1] + b"\0")  # the last byte changed
    with pytest.raises(ModelNotFoundError, match="sha256 differs"):
        Reranker(copy).score("When?", ["In May."])
    (copy / "manifest.json").write_text(json.dumps(manifest | {"file": "../reranker/" + manifest["file"]}))
    with pytest.raises(ModelNotFoundError, match="names no model file in its directory"):
        Reranker(copy).score("When?", ["In May."])


def test_a_stray_byte_in_utf8_is_replaced_with_a_warning_not_a_guess_that_changes_every_quote(tmp_path):
    article = ARTICLE.read_text(encoding="utf-8")
    cut = article.index("Trump") + 2
    stray = article[:cut].encode() + b"\x92" + article[cut:].encode()  # one Windows-1252 byte in UTF-8
    utf16 = "The tide mill was restored in 1998 and grinds flour on Sundays.\n".encode("utf-16")  # with its BOM
    folder = folder_with(tmp_path, "stray.txt", stray)
    (folder / "mill.txt").write_bytes(utf16)
    built = citebot(tmp_path, "index", folder)
    assert built.returncode == 0 and "Indexed 3 file(s)" in built.stdout, built.stderr
    assert "stray.txt: 1 byte(s) that are not UTF-8" in built.stderr
    asked = citebot(tmp_path, "ask", "--json", "-k", "5", "Who congratulated Trump?")
    quotes = [p["text"] for p in json.loads(asked.stdout)["passages"] if p["source"].endswith("stray.txt")]
    assert quotes and all(q in article or "\ufffd" in q for q in quotes) and "‚Äô" not in asked.stdout
    mill = json.loads(citebot(tmp_path, "ask", "--json", "When was the tide mill restored?").stdout)
    assert mill["passages"][0]["source"].endswith("mill.txt") and "1998" in mill["passages"][0]["text"]


def test_a_source_that_changed_into_an_unreadable_file_does_not_stop_asking(tmp_path):
    """Staleness is seen from size, time and bytes: a file is never parsed again to ask a question."""
    folder = folder_with(tmp_path, "handbook.docx", word_file(
        "<w:p><w:r><w:t>Staff get 25 days of annual leave a year.</w:t></w:r></w:p>"))
    assert citebot(tmp_path, "index", folder).returncode == 0
    (folder / "handbook.docx").write_bytes(b"PK\x03\x04 no longer a Word file")
    asked = citebot(tmp_path, "ask", "How many days of annual leave do staff get?")
    assert asked.returncode == 0 and "25 days of annual leave" in asked.stdout, asked.stderr
    assert "handbook.docx has changed since it was indexed" in asked.stderr and "Traceback" not in asked.stderr


def test_escape_sequences_in_file_names_and_headings_never_reach_the_output(tmp_path):
    name = "\x1b]0;owned\x07notes\x1b[31m.md"
    folder = folder_with(tmp_path, name, b"# Opening \x1b[2J hours\n\nThe escape room opens at nine in the morning.\n")
    built = citebot(tmp_path, "index", folder)
    asked = citebot(tmp_path, "ask", "-k", "2", "When does the escape room open?")
    missing = citebot(tmp_path, "ask", "What does the text say about \x1b[2J?")
    assert built.returncode == 0 and asked.returncode == 0, built.stderr + asked.stderr
    assert "nine in the morning" in asked.stdout and "notes" in asked.stdout and "hours" in asked.stdout
    for result in (built, asked, missing):
        assert not {"\x1b", "\x07"} & set(result.stdout + result.stderr)
