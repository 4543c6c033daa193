"""Hardening III's bounds, measured: files up to the 20 MB upload limit built to be slow or large, and a
4.5 MB "sentence" in the index.

1. Each file is indexed with the article beside it by `citebot index FOLDER` in a process of its own: the
   seconds it took, the most memory its processes held together (resident, sampled every 50 ms) and
   whether the file was indexed or left out (with citebot's line). The bound: 60 s and 1.5 GB.
2. The median time of a question (`Engine.ask`, reranker on) over the article alone and over the article
   with the longest text a file may give (2,000,000 characters) without a sentence end. The bound: less
   than 100 ms more.
3. With --presses MINUTES: `citebot telegram` against the local Bot API server (tests/fake_bot_api.py,
   which answers 429 beyond Telegram's 20 messages a minute to a group), two members of a group pressing
   "next match" every 2 s (their own limit is 30 a minute) while a third asks a question every 30 s: how
   long each question waited for its answer. The bound: 5 s.

    PYTHONPATH=. .venv/bin/python bench/hardening.py [--only NAME ...] [--no-questions] [--presses 10]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from tests.make_documents import pdf

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "data" / "article.txt"
CITEBOT = Path(sys.executable).with_name("citebot")
LIMIT = 20 * 1024 * 1024
WORDS = ARTICLE.read_text().split()


def prose(chars: int, seed: int = 1) -> str:
    """Sentences of 8 to 30 of the article's words, in paragraphs: text that reads like a book."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < chars:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize().rstrip(".,") + ". "
        line += "\n\n" if rng.random() < 0.15 else ""
        out.append(line)
        size += len(line)
    return "".join(out)[:chars]


def docx(paragraphs: list[str]) -> bytes:
    """A Word file of these paragraphs (python-docx)."""
    import docx as word

    document = word.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def stored_docx(text_bytes: int) -> bytes:
    """A Word file whose document.xml is stored, not deflated: text_bytes of text that cost their size."""
    packed = docx(["x"])
    source = zipfile.ZipFile(io.BytesIO(packed))
    out = io.BytesIO()
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in prose(text_bytes, 3).split("\n\n"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "word/document.xml":
                head, _, tail = data.decode().partition("<w:body>")
                data = (head + "<w:body>" + body + "<w:sectPr" + tail.partition("<w:sectPr")[2]).encode()
            target.writestr(entry.filename, data)
    return out.getvalue()


def cases() -> dict[str, bytes]:
    """The files, by name: each at most LIMIT bytes."""
    rows = "| " + " | ".join(f"Column name number {i:02d}" for i in range(20)) + " |\n" + "|---" * 20 + "|\n"
    tiny = "# " + "Heading " * 60 + "\n\n| name | value |\n|---|---|\n" + "| a | b |\n" * 86_000
    page = "<p>" + "</p><p>".join(prose(int(LIMIT * 0.9), 4).split("\n\n")) + "</p>"
    table = "<table>" + "".join(f"<tr><th>Item {n}</th><td>{n} g</td></tr>" for n in range(400_000)) + "</table>"
    built = {
        "book.txt (2,000,000 characters of prose)": prose(1_999_000).encode(),
        "long.txt (20 MB of prose)": prose(int(LIMIT * 0.95)).encode(),
        "short.txt (sentences of 3 words)": ("Ab cd ef. " * 199_000).encode(),
        "nosentence.txt (2 MB, no sentence end)": ("overflow " * 222_000).encode(),
        "rows.md (86,000 table rows)": tiny.encode(),
        "wide.md (20 MB table, 20 columns)": (rows + ("| " + " | ".join("Ab cd. Ef gh." for _ in range(20))
                                                      + " |\n") * 60_000).encode()[:LIMIT],
        "page.html (20 MB of paragraphs)": f"<html><body><article>{page}</article></body></html>".encode(),
        "table.html (20 MB key/value table)": f"<html><body>{table}</body></html>".encode()[:LIMIT],
        "deep.html (200,000 nested divs)": ("<div>" * 200_000 + "text" + "</div>" * 200_000).encode(),
        "pages.pdf (5,000 pages of text)": pdf([prose(3_600, n) for n in range(5_000)]),
        "book.pdf (550 pages, 1,980,000 characters)": pdf([prose(3_600, n) for n in range(550)]),
        "book.html (1,990,000 characters)": ("<html><body><article><p>" + "</p><p>".join(
            prose(1_990_000, 5).split("\n\n")) + "</p></article></body></html>").encode(),
        "book.docx (20 MB of text, stored)": stored_docx(int(LIMIT * 0.8)),
        "short.docx (1,990,000 characters)": docx(prose(1_990_000, 6).split("\n\n")),
    }
    for name, data in built.items():
        assert len(data) <= LIMIT, (name, len(data))
    return built


def tree_rss_mb(root: int) -> float:
    """Resident memory of root and every process below it, in MB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                parents[int(entry)] = int(fields[1])
            except OSError:
                continue
    family, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in family} - family
        family |= found
        grew = bool(found)
    total = 0
    for pid in family:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total / 2**20


def index_one(name: str, data: bytes) -> tuple[float, float, str]:
    """Seconds, peak MB and the outcome of indexing data beside the article."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "texts"
        folder.mkdir()
        (folder / "article.txt").write_bytes(ARTICLE.read_bytes())
        file_name = name.split(" ")[0]
        (folder / file_name).write_bytes(data)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
        env["CITEBOT_INDEX_DIR"] = str(Path(work) / "index")
        started = time.monotonic()
        process = subprocess.Popen([str(CITEBOT), "index", str(folder)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        peak = [0.0]

        def sample() -> None:
            while process.poll() is None:
                peak[0] = max(peak[0], tree_rss_mb(process.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, err = process.communicate()
        seconds = time.monotonic() - started
        sampler.join()
        lines = [line for line in err.splitlines() if file_name in line]
        outcome = lines[0].split(": ", 2)[-1][:90] if lines else ("indexed" if process.returncode == 0 else err[-200:])
        return seconds, peak[0], outcome


def question_ms(with_long: bool) -> float:
    """Median ms of a question over the article, with or without a 4.5 MB text without a sentence end."""
    from bot.config import load_settings
    from embeddings import Engine

    questions = ["When does the New START treaty expire?", "Who congratulated Trump?", "What did Putin say?",
                 "What happens to nuclear arms control?", "Which weapons does the treaty limit?"]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "texts"
        folder.mkdir()
        (folder / "article.txt").write_bytes(ARTICLE.read_bytes())
        if with_long:
            (folder / "log.txt").write_text("overflow " * 222_000)
        settings = load_settings(index_dir=Path(work) / "index")
        engine = Engine(settings.index_store(), settings.index_settings(), settings.retrieval_settings(),
                        cache_dir=settings.cache_dir)
        engine.build([folder])
        for question in questions:  # warm: models loaded, caches filled
            engine.ask(question)
        times = []
        for _ in range(8):
            for question in questions:
                started = time.perf_counter()
                engine.ask(question)
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def group_presses(minutes: float) -> list[float]:
    """Seconds each of a third member's questions waited, while two members of the group press away."""
    from bench.telegram_load import bot_process
    from tests.fake_bot_api import BOT, FakeBotApi

    mention = f"@{BOT['username']}"
    api = FakeBotApi().start()
    waits = []
    try:
        with bot_process(api):
            card = api.card(api.send(-900, f"{mention} When does Putin hold Security Council meetings?",
                                     chat_type="supergroup", user_id=901))
            press = card.buttons()["next match"]  # the card changes as it is pressed: keep its first button
            started = next_question = time.monotonic()
            while time.monotonic() - started < minutes * 60:
                for member in (902, 903):
                    api.press(card, "next match", user_id=member, data=press)
                if time.monotonic() >= next_question:
                    asked = api.send(-900, f"{mention} who congratulated Trump?", chat_type="supergroup",
                                     user_id=904)
                    sent = time.monotonic()
                    if not api.wait_until(lambda asked=asked: api.replies_to(asked), 60):
                        raise SystemExit("a question went unanswered for 60 s")
                    waits.append(time.monotonic() - sent)
                    next_question = sent + 30
                time.sleep(max(0.0, 2.0 - (time.monotonic() - started) % 2.0))
    finally:
        api.stop()
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="only the files whose names start so")
    parser.add_argument("--no-questions", action="store_true", help="skip the question timing")
    parser.add_argument("--presses", type=float, default=0, metavar="MINUTES", help="run the group presses part")
    args = parser.parse_args()
    print(f"{'file':45s} {'MB':>6s} {'seconds':>8s} {'peak MB':>8s}  outcome")
    for name, data in cases().items():
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        seconds, peak, outcome = index_one(name, data)
        print(f"{name:45s} {len(data) / 2**20:6.1f} {seconds:8.1f} {peak:8.0f}  {outcome}", flush=True)
    if not args.no_questions:
        plain, long = question_ms(False), question_ms(True)
        print(f"\nA question, median of 40: {plain:.1f} ms over the article; {long:.1f} ms with 2,000,000 "
              f"characters without a sentence end beside it ({long - plain:+.1f} ms)")
    if args.presses:
        waits = group_presses(args.presses)
        print(f"\nA third member's question while two press every 2 s for {args.presses:g} min: answered in "
              f"{statistics.median(waits):.1f} s (median), {max(waits):.1f} s at most, {len(waits)} questions")


if __name__ == "__main__":
    main()
