"""Run the real citebot Application in a thread against a FakeBotApi, the way `citebot telegram` runs it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bot import telegram_bot
from bot.config import Settings
from embeddings.engine import Engine
from tests.fake_bot_api import TOKEN, FakeBotApi


def bot_settings(api: FakeBotApi, **overrides: object) -> Settings:
    """Settings for a bot talking to api: short timeouts so that failures show up quickly."""
    values = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": api.base_url,
        "telegram_poll_timeout": 1.0,
        "telegram_request_timeout": 2.0,
    }
    values.update(overrides)
    return dataclasses.replace(Settings(), **values)


class RunningBot:
    """The bot serving api until stop(); start() returns once it is taking updates."""

    def __init__(self, api: FakeBotApi, engine: Engine, ready=None, **overrides: object) -> None:
        """ready() tells when the bot is serving; by default, once it has polled for updates.

        The bot keeps its state (questions, uploads) in a fresh temporary folder unless
        telegram_state_dir is given.
        """
        self.api = api
        self.ready = ready
        self._state = None
        if "telegram_state_dir" not in overrides:
            self._state = tempfile.TemporaryDirectory(prefix="citebot-bot-")
            overrides["telegram_state_dir"] = Path(self._state.name)
        self.settings = bot_settings(api, **overrides)
        self.application = telegram_bot.build_application(self.settings, engine, retry_backoff=0.05)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            telegram_bot.run(self.application, self.settings)
        except BaseException as error:  # surfaced by start() and stop()
            self.error = error

    def start(self) -> RunningBot:
        calls_before = len(self.api.calls)
        ready = self.ready or (lambda: "getUpdates" in self.api.calls[calls_before:])
        self._thread.start()
        if not self.api.wait_until(lambda: ready() or self.error is not None, timeout=60):
            raise AssertionError(f"the bot did not start; calls: {self.api.calls[-10:]}")
        if self.error is not None:
            raise self.error
        return self

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the bot did not stop"
        self.application.bot_data["citebot"].maker.store.close()
        if self._state is not None:
            self._state.cleanup()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> RunningBot:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def citebot_telegram(
    server: FakeBotApi, workdir: Path, index_dir: Path, *args: str, settings: dict[str, str] | None = None,
    verbosity: tuple[str, ...] = ("-vv",),
) -> subprocess.Popen:
    """`citebot -vv telegram ARGS` (or another verbosity) as a process against server, with no settings but
    these (and settings)."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "CITEBOT_INDEX_DIR": str(index_dir),
        "CITEBOT_MODEL": os.environ["CITEBOT_MODEL"],  # the model the tests' shared indexes are built with
        "CITEBOT_TELEGRAM_POLL_TIMEOUT": "1",
        "CITEBOT_TELEGRAM_STATE_DIR": str(workdir / "state"),
        **(settings or {}),
    }
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "citebot"), *verbosity, "telegram", *args],
        cwd=workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
