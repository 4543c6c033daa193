"""What every Telegram handler shares, typed: the engine, the card maker, the limits and the admins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from telegram.ext import Application, CallbackContext, ExtBot

from bot.cards import CardMaker
from bot.limits import QuestionLimiter
from bot.recent import RecentAnswers
from embeddings import CorpusInfo, Engine


@dataclass
class Services:
    """What the handlers share: the engine and what it holds, the card maker, the limits and the admins."""

    engine: Engine
    info: CorpusInfo
    maker: CardMaker
    recent: RecentAnswers
    limiter: QuestionLimiter
    chat_limiter: QuestionLimiter
    press_limiter: QuestionLimiter
    chat_press_limiter: QuestionLimiter
    allowed_chats: frozenset[int]
    admins: frozenset[int]
    upload_dir: Path
    max_upload_bytes: int
    inline_cache_time: int
    uploads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="citebot-upload")
    )

    def refresh(self) -> None:
        """Take in a changed index: what it holds."""
        self.info = self.engine.describe()


class CitebotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The context handlers get, with the bot's shared services as a typed attribute."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """The services build_application put in bot_data."""
        return self.bot_data["citebot"]
