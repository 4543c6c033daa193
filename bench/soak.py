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
from pathlib import Path

from bench.telegram_load import bot_process, questions
from tests.fake_bot_api import FakeBotApi


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="questions a second (the flood limit is 30)")
    args = parser.parse_args()
    pool = questions()
    api = FakeBotApi().start()
    asked, memory = [], {}
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as log:
        soak(api, log, args, pool, asked, memory, started)
        log.seek(0)
        logged = [line.rstrip() for line in log if "citebot answers on Telegram" not in line]
    return report(api, args, asked, memory, started, logged)


def soak(api, log, args, pool, asked, memory, started) -> None:
    """Ask args.questions at args.rate, recording the bot's memory after 1,000 and at the end."""
    try:
        with bot_process(api, stderr=log, CITEBOT_TELEGRAM_QUESTIONS_PER_MINUTE="1000") as bot:
            for number in range(args.questions):
                time.sleep(max(0.0, started + number / args.rate - time.monotonic()))
                asked.append(api.send(2000 + number % 100, pool[number % len(pool)]))
                if number + 1 in (1_000, args.questions):
                    api.wait_until(lambda: all(api.replies_to(m) for m in asked), timeout=120)
                    memory[number + 1] = rss_mb(bot.pid)
                    print(f"{number + 1:>6} answered, bot RSS {memory[number + 1]:.1f} MB", flush=True)
    finally:
        api.stop()


def report(api, args, asked, memory, started, logged) -> int:
    """Print the soak's figures; 0 when it passed."""
    lost = sum(not api.replies_to(m) for m in asked)
    twice = sum(len(api.replies_to(m)) > 1 for m in asked)
    first, last = memory.get(1_000, 0.0), memory.get(args.questions, 0.0)
    growth = (last - first) / first if first else 0.0
    print(f"{args.questions} questions in {time.monotonic() - started:.0f} s at {args.rate:g}/s: "
          f"lost {lost}, answered twice {twice}")
    print(f"memory: {first:.1f} MB after 1,000, {last:.1f} MB at the end ({growth:+.1%})")
    print(f"lines logged at WARNING or above: {len(logged)}")
    for line in logged[:20]:
        print("  " + line)
    return 0 if lost == 0 and twice == 0 and abs(growth) <= 0.10 and not logged else 1


if __name__ == "__main__":
    sys.exit(main())
