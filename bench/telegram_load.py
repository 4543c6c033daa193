"""Load-test the Telegram bot: many chats asking at once through a Bot API server on 127.0.0.1.

Starts `citebot telegram` as a user would (its own process, the index in data/index) against the
project's fake Bot API server (tests/fake_bot_api.py), sends every chat its questions, and prints
answers per second, reply latency (from the question reaching the server to the answer reaching it)
and how many questions were lost or answered twice.

    PYTHONPATH=. .venv/bin/python bench/telegram_load.py [--chats 50] [--questions 5] [--rate 0]

--rate 0 sends everything at once (a burst); --rate R sends R questions a second, spread over the chats.
Answers go through python-telegram-bot's AIORateLimiter, which holds the bot to Telegram's flood limit of
30 messages a second: a burst measures that limit plus queueing, a paced run the bot's own latency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fake_bot_api import TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "data" / "article_dev.jsonl"


def questions() -> list[str]:
    """The questions of the article's dev set, answerable and not."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q["q"] for row in rows for q in row["questions"]]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


@contextlib.contextmanager
def bot_process(api: FakeBotApi, stderr=subprocess.DEVNULL, **settings: str):
    """`citebot telegram` in its own process, polling api with the index in data/index, until the block ends.

    settings are extra environment variables (CITEBOT_...). Yields the process once it polls.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "TELEGRAM_"))}
    environment.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, **settings)
    state = tempfile.TemporaryDirectory(prefix="citebot-load-")  # the cards' questions, not the user's data/
    environment.setdefault("CITEBOT_TELEGRAM_STATE_DIR", state.name)
    bot = subprocess.Popen([str(Path(sys.executable).parent / "citebot"), "telegram"], cwd=ROOT, env=environment,
                           stderr=stderr)
    try:
        if not api.wait_until(lambda: "getUpdates" in api.calls or bot.poll() is not None, timeout=120):
            raise SystemExit("the bot did not start polling within 120 s")
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited with status {bot.returncode}")
        yield bot
    finally:
        bot.send_signal(signal.SIGINT)
        bot.wait(timeout=60)
        state.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5, help="questions each chat sends")
    parser.add_argument("--rate", type=float, default=0.0, help="questions a second; 0 sends all at once")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the last answer")
    args = parser.parse_args()
    if not (ROOT / "data" / "index" / "manifest.json").is_file():
        print("error: no index at data/index; run `make index` first", file=sys.stderr)
        return 1

    api = FakeBotApi().start()
    started = time.monotonic()
    try:
        with bot_process(api, CITEBOT_TELEGRAM_QUESTIONS_PER_MINUTE=str(max(10, args.questions))):
            print(f"bot ready after {time.monotonic() - started:.1f} s (process start, model load, first poll)")
            pool = questions()
            plan = [(1000 + chat, pool[(chat + turn) % len(pool)])
                    for turn in range(args.questions) for chat in range(args.chats)]
            asked = []
            first = time.monotonic()
            for number, (chat_id, text) in enumerate(plan):
                if args.rate:
                    time.sleep(max(0.0, first + number / args.rate - time.monotonic()))
                asked.append((api.send(chat_id, text), time.monotonic()))
            api.wait_until(lambda: all(api.replies_to(m) for m, _ in asked), timeout=args.timeout)
    finally:
        api.stop()

    latencies, lost, twice = [], 0, 0
    for message, sent_at in asked:
        replies = api.replies_to(message)
        lost += not replies
        twice += len(replies) > 1
        if replies:
            latencies.append(min(r.at for r in replies) - sent_at)
    last = max((r.at for r in api.sent), default=first)
    answered = len(latencies)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    mode = f"{args.rate:g} questions/s" if args.rate else "all at once"
    print(f"{args.chats} chats x {args.questions} questions = {len(plan)} questions, {mode}")
    print(f"answered:         {answered} in {last - first:.2f} s = {answered / max(last - first, 1e-9):.1f} answers/s")
    p50, p95, worst = cuts[49] * 1000, cuts[94] * 1000, max(latencies) * 1000
    print(f"reply latency:    p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms")
    print(f"lost:             {lost}")
    print(f"answered twice:   {twice}")
    return 0 if lost == 0 and twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
