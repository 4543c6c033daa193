"""The Milvus store: Milvus Lite as a local file and as its gRPC server on 127.0.0.1, through the CLI and
the engine, with the real model: the same answers as FAISS, incremental updates, readers that never see a
mixed state and follow updates, an outage survived, a bad URI refused."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from embeddings import Engine, IndexWriteError, MilvusStore, StoreUnavailableError
from embeddings.stores import REFRESH_SECONDS

from .conftest import ARTICLE, ARTICLE_DEV, ENGLISH

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.model
EVERYDAY = Path(__file__).parent / "data" / "everyday"
QUESTION = "What treaty is about to expire?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiteServer:
    """`milvus-lite server` on 127.0.0.1, started and stopped by the test."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir, self.port = data_dir, port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> LiteServer:
        command = [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(self.data_dir),
                   "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise AssertionError("milvus-lite server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    running = LiteServer(tmp_path / "milvus").start()
    yield running
    running.stop()


@pytest.fixture
def run(real_embedder, monkeypatch, tmp_path):
    """citebot through click's runner with the given CITEBOT_* settings only."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CITEBOT_") and n != "CITEBOT_MODEL"]:
        monkeypatch.delenv(name)

    def invoke(*args, **env):
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        return CliRunner().invoke(cli, [str(a) for a in args])

    return invoke


def engine_on(uri: str, real_embedder, collection: str = "citebot") -> Engine:
    return Engine(MilvusStore(uri, collection, timeout=5.0), ENGLISH,
                  embedder=real_embedder, cache_dir=Path(__file__).parents[1] / "data" / "models")


def test_the_article_indexed_in_a_lite_file_answers_as_the_faiss_index_does(run, tmp_path, article_engine):
    milvus = {"CITEBOT_STORE": "milvus", "CITEBOT_MILVUS_URI": tmp_path / "citebot.db"}
    built = run("index", ARTICLE, **milvus)
    assert built.exit_code == 0, built.output
    assert "Indexed 1 file(s), 8 passages into Milvus collection citebot" in built.output
    asked = run("ask", QUESTION, "--json", **milvus)
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout) == article_engine.ask(QUESTION, 3).to_dict()
    # The places cards offer (wider, whole paragraph, next match) come out the same from either store.
    milvus_engine = engine_on(str(tmp_path / "citebot.db"), article_engine.embedder)
    assert places(milvus_engine) == places(article_engine)


def places(engine: Engine) -> tuple:
    """What a card shows and offers for QUESTION: 8 passages, a wider quote, the whole paragraph, /about."""
    answer = engine.ask(QUESTION, 8)
    where = engine.locate(answer.passages[0])
    wider, whole = engine.quote_at(engine.widen(where, 1, 1)), engine.quotes_at(engine.whole_paragraph(where))
    return answer.to_dict(), wider, whole, engine.describe().documents[0].paragraphs


def test_updates_are_incremental_and_a_reader_follows_them_without_a_restart(server, tmp_path, real_embedder):
    texts = tmp_path / "texts"
    shutil.copytree(EVERYDAY, texts, ignore=shutil.ignore_patterns("*.html", "*.md"))
    writer = engine_on(server.uri, real_embedder)
    first, _ = writer.update([texts])
    assert (first.documents, first.embedded) == (2, 2)
    reader = engine_on(server.uri, real_embedder)
    assert reader.ask("When was the bridge built?").passages[0].text.startswith("The stone bridge")

    (texts / "history.txt").write_text("The bridge was opened in 1999 by the mayor.\n", encoding="utf-8")
    (texts / "lamp.md").write_text("# Lamp\n\n| Property | Value |\n|---|---|\n| Weight | 820 g |\n", encoding="utf-8")
    second, _ = writer.update([texts])
    assert (second.documents, second.embedded, second.removed) == (3, 2, 0)  # meeting notes kept their vectors
    time.sleep(REFRESH_SECONDS + 0.5)
    assert "1999" in reader.ask("When was the bridge opened?").passages[0].text
    assert reader.ask("how much does the lamp weigh").passages[0].text == "Weight | 820 g"

    (texts / "lamp.md").unlink()
    third, _ = writer.update([texts])
    assert (third.documents, third.removed) == (2, 1)
    collections = MilvusStore(server.uri).call("list_collections")
    assert sorted(collections) == ["citebot__g2", "citebot__g2__rows", "citebot__g3", "citebot__g3__rows"]


def test_readers_never_see_a_mixed_state_while_a_writer_switches(server, tmp_path, real_embedder):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("The kettle boils at noon. The cat sleeps on the mat.\n", encoding="utf-8")
    two.write_text("The owl hoots at night. The fox runs in the field.\n", encoding="utf-8")
    writer = engine_on(server.uri, real_embedder)
    writer.build([one])
    readers = [engine_on(server.uri, real_embedder) for _ in range(2)]
    seen, failures, stop = [], [], threading.Event()

    def read(engine: Engine) -> None:
        while not stop.is_set():
            try:
                index = engine.open()
                answer = engine.ask("What happens at night or at noon?")
                sources = {d.source for d in index.documents}
                assert sources in ({str(one)}, {str(one), str(two)})
                assert all(q.source in sources for q in answer.passages)
                assert len(index.sentences) == index.vectors.ntotal
                seen.append(len(sources))
            except Exception as error:  # noqa: BLE001 - every failure is reported by the test
                failures.append(error)
                return

    threads = [threading.Thread(target=read, args=(r,)) for r in readers]
    for thread in threads:
        thread.start()
    for paths in ([one, two], [one], [one, two]):
        writer.build(paths)
    time.sleep(REFRESH_SECONDS + 1)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and seen and seen[-1] == 2


def test_an_outage_fails_politely_and_recovers_by_itself(tmp_path, real_embedder):
    server = LiteServer(tmp_path / "milvus").start()
    restarted = None
    try:
        engine_on(server.uri, real_embedder).build([ARTICLE])
        warm = engine_on(server.uri, real_embedder)
        assert warm.ask(QUESTION).answered
        server.stop()
        # A reader that holds the index (and the vectors it needs) goes on answering from it ...
        time.sleep(REFRESH_SECONDS + 0.5)
        assert warm.ask(QUESTION).answered
        # ... and one that does not fails with a clear error, within the timeout, and recovers by itself.
        cold = engine_on(server.uri, real_embedder)
        with pytest.raises(StoreUnavailableError, match=f"Milvus at {server.uri}"):
            cold.ask(QUESTION)
        restarted = LiteServer(tmp_path / "milvus", server.port).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                assert cold.ask(QUESTION).answered
                break
            except StoreUnavailableError:
                assert time.monotonic() < deadline, "the reader did not recover"
                time.sleep(0.5)
    finally:
        server.stop()
        if restarted:
            restarted.stop()


def test_a_bad_uri_is_refused_at_start_with_one_line(run, tmp_path):
    unreachable = {"CITEBOT_STORE": "milvus", "CITEBOT_MILVUS_URI": f"http://127.0.0.1:{free_port()}",
                   "CITEBOT_MILVUS_TIMEOUT": "2"}
    result = run("ask", QUESTION, **unreachable)
    assert result.exit_code == 1
    assert "cannot reach Milvus at http://127.0.0.1:" in result.output or "did not answer" in result.output
    assert "Traceback" not in result.output
    malformed = run("ask", QUESTION, CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI="milvus.sqlite")
    assert malformed.exit_code != 0 and "must be a Milvus Lite file (ending in .db) or http(s)://host:port" in (
        malformed.output
    )


def test_two_bots_answer_from_one_collection_and_an_update_reaches_both_without_a_restart(server, tmp_path):
    from tests.fake_bot_api import FakeBotApi
    from tests.telegram_harness import citebot_telegram

    milvus = {"CITEBOT_STORE": "milvus", "CITEBOT_MILVUS_URI": server.uri}
    environment = {**{k: v for k, v in os.environ.items() if not (k.startswith("CITEBOT_") and k != "CITEBOT_MODEL")}, **milvus}
    citebot = str(Path(sys.executable).parent / "citebot")
    subprocess.run([citebot, "index", str(ARTICLE)], env=environment, cwd=tmp_path, check=True, capture_output=True)
    apis = [FakeBotApi().start() for _ in range(2)]
    bots = []
    try:
        for number, api in enumerate(apis):
            (tmp_path / f"bot{number}").mkdir()
            bots.append(citebot_telegram(api, tmp_path / f"bot{number}", tmp_path / "unused", settings=milvus))
        for api in apis:
            [reply] = api.wait_for_replies(api.send(101, QUESTION), timeout=120)
            assert "New START" in reply.text
        subprocess.run([citebot, "index", str(EVERYDAY / "history.txt")], env=environment, cwd=tmp_path,
                       check=True, capture_output=True)
        time.sleep(REFRESH_SECONDS + 1)
        for api in apis:
            [reply] = api.wait_for_replies(api.send(102, "When was the stone bridge across the Lena built?"))
            assert "between 1821 and 1826" in reply.bold[0]
    finally:
        for bot in bots:
            bot.kill()
            bot.communicate(timeout=30)
        for api in apis:
            api.stop()


def test_a_collection_citebot_did_not_write_is_never_dropped(tmp_path, real_embedder):
    store = MilvusStore(str(tmp_path / "shared.db"), "citebot")
    client = store.client()
    client.create_collection("citebot__g1", dimension=4)  # someone else's, named like a generation
    client.insert("citebot__g1", [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    engine = Engine(store, ENGLISH, embedder=real_embedder,
                    cache_dir=Path(__file__).parents[1] / "data" / "models")
    with pytest.raises(IndexWriteError, match="citebot__g1 is not one citebot wrote"):
        engine.build([ARTICLE])
    assert client.has_collection("citebot__g1") and client.query("citebot__g1", ids=[1])


def test_eval_never_drops_a_users_collection_named_like_its_scratch(run, tmp_path):
    """`citebot eval` on the Milvus store works in a collection of its own and leaves `docs_eval` whole."""
    db = tmp_path / "shared.db"
    built = run("index", ARTICLE, CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI=db, CITEBOT_MILVUS_COLLECTION="docs_eval")
    assert built.exit_code == 0, built.output
    evaluated = run("eval", ARTICLE_DEV, CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI=db, CITEBOT_MILVUS_COLLECTION="docs")
    assert evaluated.exit_code == 0, evaluated.output
    asked = run("ask", QUESTION, "--json", CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI=db,
                CITEBOT_MILVUS_COLLECTION="docs_eval")
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["passages"]
    client = MilvusStore(str(db), "docs").client()
    assert sorted(client.list_collections()) == ["docs_eval__g1", "docs_eval__g1__rows"]


def citebot_process(tmp_path: Path, uri: Path, *args: str) -> subprocess.CompletedProcess:
    """citebot ARGS in a process of its own (Milvus Lite writes to the process's stderr, not to logging)."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CITEBOT_") and k != "CITEBOT_MODEL")}
    env.update(CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI=str(uri))
    return subprocess.run([str(Path(sys.executable).with_name("citebot")), *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=240, stdin=subprocess.DEVNULL)


def test_a_db_path_holding_something_else_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    folder = tmp_path / "docs.db"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    database = tmp_path / "app.db"
    database.write_bytes(b"SQLite format 3\0" + bytes(4080))
    for path, reason in ((folder, "is a folder of other files"), (database, "is a file")):
        result = citebot_process(tmp_path, path, "index", str(ARTICLE))
        lines = result.stderr.splitlines()
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {path} {reason}") and "CITEBOT_MILVUS_URI" in lines[0]
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert database.read_bytes() == b"SQLite format 3\0" + bytes(4080)


def test_a_milvus_lite_database_opened_again_says_nothing_on_stderr(tmp_path):
    built = citebot_process(tmp_path, tmp_path / "citebot.db", "index", str(ARTICLE))
    assert built.returncode == 0, built.stderr
    again = citebot_process(tmp_path, tmp_path / "citebot.db", "index", str(ARTICLE))
    assert again.returncode == 0 and "up to date" in again.stdout and again.stderr == ""
    asked = citebot_process(tmp_path, tmp_path / "citebot.db", "ask", "--json", QUESTION)
    assert asked.returncode == 0 and asked.stderr == "" and json.loads(asked.stdout)["passages"]


def test_a_password_in_milvus_address_is_never_printed(run):
    milvus = f"http://alice:s3cret-pw@127.0.0.1:{free_port()}"
    result = run("ask", QUESTION, CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI=milvus, CITEBOT_MILVUS_TIMEOUT="2")
    assert result.exit_code == 1 and "http://***@127.0.0.1:" in result.output
    malformed = run("ask", QUESTION, CITEBOT_STORE="milvus", CITEBOT_MILVUS_URI="ftp://alice:s3cret-pw@host/x")
    assert malformed.exit_code != 0 and "ftp://***@host/x" in malformed.output
    assert "s3cret" not in result.output + malformed.output
