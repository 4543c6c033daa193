"""Faults while indexing: a killed build or a full disk leaves the previous index whole and answering."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embeddings import store
from embeddings.engine import Engine
from embeddings.store import IndexSettings, IndexWriteError, load_index, save_index
from tests.conftest import ENGLISH

CITEBOT = Path(sys.executable).with_name("citebot")


def corpus_text(version: int) -> str:
    """A text long enough that indexing it takes a second or so; each version names itself."""
    return "\n\n".join(
        f"Version {version} paragraph {n}: the lighthouse keeper counted {n + version} ships today. "
        f"The weather in harbour {n} was calm and the lamp burned {version} hours."
        for n in range(150)
    )


@pytest.mark.model
def test_killing_index_builds_never_loses_the_index(tmp_path, real_embedder):
    (tmp_path / "sources").mkdir()
    source = tmp_path / "sources" / "log.txt"
    index_dir = tmp_path / "indexes" / "index"
    source.write_text(corpus_text(0), encoding="utf-8")
    subprocess.run([CITEBOT, "index", source, "--index", index_dir], check=True, capture_output=True)
    rng = random.Random(7)
    kills = 0
    for attempt in range(1, 60):
        source.write_text(corpus_text(attempt), encoding="utf-8")
        before = index_dir.parent.stat().st_mtime_ns
        build = subprocess.Popen([CITEBOT, "index", source, "--index", index_dir],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 2:
            time.sleep(rng.uniform(0.0, 1.5))  # anywhere: starting, reading, embedding
        else:
            # Right as it starts writing: wait for the index's folder to change, then a few milliseconds.
            while build.poll() is None and index_dir.parent.stat().st_mtime_ns == before:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0.0, 0.02))
        if build.poll() is None:
            build.send_signal(signal.SIGKILL)
            kills += 1
        build.wait()
        # Whatever moment it died at, the index on disk is one whole build that answers.
        index = load_index(index_dir)
        version = int(index.documents[0].text.split()[1])
        engine = Engine(index_dir, ENGLISH, embedder=real_embedder)
        answer = engine.ask("How many ships did the lighthouse keeper count in harbour 7?", k=1)
        assert answer.passages and f"Version {version} paragraph" in answer.passages[0].text
        if kills >= 20:
            break
    assert kills >= 20
    # The next build clears what the killed ones left behind, even when the index is already up to date.
    subprocess.run([CITEBOT, "index", source, "--index", index_dir], check=True, capture_output=True)
    assert [p.name for p in index_dir.parent.iterdir()] == ["index"]


def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_index(fake_index, tmp_path, monkeypatch):
    directory = tmp_path / "index"
    save_index(fake_index, directory)
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.faiss, "write_index", disk_full)
    with pytest.raises(IndexWriteError, match="No space left on device.*previous index is untouched"):
        save_index(fake_index, directory)
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == before
    assert load_index(directory).documents == fake_index.documents
    assert [p.name for p in tmp_path.iterdir()] == ["index"]  # no staging directory left behind


def test_a_killed_builds_leftovers_go_even_when_its_process_id_is_reused(fake_index, tmp_path):
    directory = tmp_path / "index"
    # A killed build's staging named with a process id now taken by a live process (this one)...
    abandoned = tmp_path / f".index.tmp-{os.getpid()}-killed"
    abandoned.mkdir()
    # ... and one a running build still holds.
    running = tmp_path / f".index.tmp-{os.getpid()}-running"
    running.mkdir()
    held = os.open(running, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        save_index(fake_index, directory)
    finally:
        os.close(held)
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "index"]


def test_a_build_with_nothing_to_do_still_clears_leftovers(tmp_path, fake_embedder):
    source = tmp_path / "a.txt"
    source.write_text("The lighthouse keeper counts ships.", encoding="utf-8")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    engine.build([source])
    (tmp_path / ".index.tmp-1-killed").mkdir()  # left by a build killed after it put its index in place
    assert not engine.build([source]).built
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "index"]
