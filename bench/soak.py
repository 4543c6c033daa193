"""Soak the Telegram bot: 10,000 questions through the local Bot API server, watching memory and errors.

Starts `citebot telegram` (index in data/index) against tests/fake_bot_api.py and asks from 100 chats at a
steady rate below the flood limit. It reports the bot's resident memory after the first 1,000 answers and at
the end, and every line the bot logged at WARNING or above. Passes when memory at the end is within 10% of
memory at 1,000, no question is lost or answered twice, and nothing was logged.

    PYTHONPATH=. .venv/bin/python bench/soak.py [--questions 10000] [--rate 25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass

from bench.telegram_load import bot_process, questions, rss_mb
from tests.fake_bot_api import FakeBotApi


@dataclass
class SoakRun:
    """What a soak saw: the questions asked, the bot's memory (MB) by questions answered, and its log."""

    asked: list[dict]
    memory: dict[int, float]
    logged: list[str]
    seconds: float


def run_soak(api: FakeBotApi, total: int, rate: float, pool: list[str]) -> SoakRun:
    """Ask total questions at rate from 100 chats, measuring memory after 1,000 answers and at the end."""
    asked: list[dict] = []
    memory: dict[int, float] = {}
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as log:
        with bot_process(api, stderr=log, CITEBOT_TELEGRAM_QUESTIONS_PER_MINUTE="1000") as bot:
            for number in range(total):
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
                asked.append(api.send(2000 + number % 100, pool[number % len(pool)]))
                if number + 1 in (1_000, total):
                    api.wait_until(lambda: all(api.replies_to(m) for m in asked), timeout=120)
                    memory[number + 1] = rss_mb(bot.pid)
                    print(f"{number + 1:>6} answered, bot RSS {memory[number + 1]:.1f} MB", flush=True)
        log.seek(0)
        logged = [line.rstrip() for line in log if "citebot answers on Telegram" not in line]
    return SoakRun(asked, memory, logged, time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="questions a second (the flood limit is 30)")
    args = parser.parse_args()
    api = FakeBotApi().start()
    try:
        run = run_soak(api, args.questions, args.rate, questions())
    finally:
        api.stop()
    lost = sum(not api.replies_to(m) for m in run.asked)
    twice = sum(len(api.replies_to(m)) > 1 for m in run.asked)
    first, last = run.memory.get(1_000, 0.0), run.memory.get(args.questions, 0.0)
    growth = (last - first) / first if first else 0.0
    print(f"{args.questions} questions in {run.seconds:.0f} s at {args.rate:g}/s: lost {lost}, answered twice {twice}")
    print(f"memory: {first:.1f} MB after 1,000, {last:.1f} MB at the end ({growth:+.1%})")
    print(f"lines logged at WARNING or above: {len(run.logged)}")
    for line in run.logged[:20]:
        print("  " + line)
    return 0 if lost == 0 and twice == 0 and abs(growth) <= 0.10 and not run.logged else 1


if __name__ == "__main__":
    sys.exit(main())
