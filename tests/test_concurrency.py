"""Two processes on one index: readers see the old index or the new one whole, and writers take turns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from embeddings.store import Document, IndexSettings, build_index, load_index, save_index, sha256_text
from tests.conftest import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = IndexSettings("fake", 80, "fake")
TEXTS = ["The kettle boils at noon. " * 40, "The owl hoots at night and the fox runs. " * 90]

REWRITER = """
import sys
from pathlib import Path
from embeddings.store import save_index
from tests.test_concurrency import index_of
indexes = [index_of(n) for n in range(2)]
for i in range(int(sys.argv[2])):
    save_index(indexes[i % 2], Path(sys.argv[1]))
"""

ADDER = """
import sys
from pathlib import Path
from embeddings.engine import Engine
from tests.conftest import FakeEmbedder
from tests.test_concurrency import SETTINGS
engine = Engine(Path(sys.argv[1]), SETTINGS, embedder=FakeEmbedder())
for name in sys.argv[2:]:
    engine.add(Path(name))
"""


def index_of(number: int):
    text = TEXTS[number]
    return build_index([Document(f"{number}.txt", sha256_text(text), text)], FakeEmbedder(), SETTINGS)


def python(script: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT)


def test_readers_see_one_index_or_the_other_whole_while_it_is_rebuilt(tmp_path):
    directory = tmp_path / "index"
    save_index(index_of(0), directory)
    writer = python(REWRITER, directory, 150)
    loads = 0
    while writer.poll() is None or loads < 50:
        loaded = load_index(directory)  # a mix of two versions raises CorruptIndexError
        [document] = loaded.documents
        assert document.text == TEXTS[int(document.source[0])]
        loads += 1
    assert writer.returncode == 0


def test_writers_take_turns_so_no_added_file_is_lost(tmp_path):
    files = []
    for n in range(60):
        path = tmp_path / f"note{n:02d}.txt"
        path.write_text(f"Note number {n} says the word marker{n}.\n")
        files.append(path)
    first = tmp_path / "first.txt"
    first.write_text("The first note.\n")
    from embeddings.engine import Engine

    Engine(tmp_path / "index", SETTINGS, embedder=FakeEmbedder()).build([first])
    adders = [python(ADDER, tmp_path / "index", *files[0::2]), python(ADDER, tmp_path / "index", *files[1::2])]
    assert [adder.wait(timeout=240) for adder in adders] == [0, 0]
    held = {Path(d.source).name for d in load_index(tmp_path / "index").documents}
    assert held == {"first.txt"} | {path.name for path in files}  # each process built on the other's work
