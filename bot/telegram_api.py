"""Talking to the Bot API: its addresses, the token check, retries under the flood limits, sending
replies, and keeping the token out of every log line."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest

from bot.config import TELEGRAM_API, Settings
from embeddings import ConfigError

logger = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class RetryingRateLimiter(AIORateLimiter):
    """Telegram's flood limits, waiting out 429s, plus bounded retries with backoff on network errors.

    A 5xx answer or a timeout raises NetworkError; BadRequest (400) is one too but retrying cannot fix it.
    """

    def __init__(self, retries: int = 3, backoff: float = 1.0) -> None:
        super().__init__(max_retries=retries)
        self.retries = retries
        self.backoff = backoff

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        """Send one request through the flood limiter, retrying transient failures."""
        if endpoint == "sendChatAction":
            # "typing" only decorates: never queue it ahead of answers, never retry it.
            return await callback(*args, **kwargs)
        for attempt in range(self.retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise
            except NetworkError as error:
                if attempt == self.retries:
                    raise
                delay = self.backoff * 2**attempt
                logger.warning(
                    "%s failed (%s); retry %d of %d in %.1f s", endpoint, error, attempt + 1, self.retries, delay
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


class TokenRedactor(logging.Filter):
    """Replaces the bot token in log records (messages and tracebacks) with a placeholder."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite record so that it no longer holds the token."""
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def protect_logs(token: str) -> None:
    """Keep the token out of every log line: httpx logs request URLs (token included) at INFO."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redactor = TokenRedactor(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)


def api_base_url(settings: Settings) -> str:
    """The Bot API address the token is appended to; a self-hosted server's URL gets its /bot added."""
    base = settings.telegram_api_base_url.rstrip("/")
    return base if base.endswith("/bot") else base + "/bot"


def file_base_url(settings: Settings) -> str:
    """Where files are downloaded from: the Bot API address with /file before its /bot."""
    return api_base_url(settings).removesuffix("/bot") + "/file/bot"


def verify_token(settings: Settings) -> str:
    """Ask the Bot API who the token belongs to and return the bot's username.

    Raises:
        ConfigError: the server refused the token, or could not be reached.
    """

    async def get_me() -> str:
        async with _request_bot(settings) as bot:
            return bot.username

    try:
        return asyncio.run(get_me())
    except InvalidToken as error:
        # The library's message quotes the token; say what happened without it.
        official = settings.telegram_api_base_url == TELEGRAM_API
        check = "@BotFather" if official else "@BotFather and TELEGRAM_API_BASE_URL"
        raise ConfigError(
            f"the Bot API at {_shown_url(settings)} refused TELEGRAM_BOT_TOKEN: check it with {check}"
        ) from error.__cause__
    except TelegramError as error:
        raise ConfigError(f"cannot reach the Bot API at {_shown_url(settings)}: {error}") from None


async def reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send HTML text as a reply to message (sent even when message is gone), without link previews."""
    return await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        link_preview_options=NO_PREVIEW,
        reply_markup=markup,
    )


async def show_typing(message: Message) -> None:
    """Show "typing"; it only decorates, so a server that lacks or refuses it changes nothing."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except TelegramError as error:
        logger.debug("chat action failed in chat %s: %s", message.chat_id, error)


def _request_bot(settings: Settings) -> Bot:
    timeout = settings.telegram_request_timeout
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    return Bot(settings.telegram_bot_token, base_url=api_base_url(settings), request=request)


def _shown_url(settings: Settings) -> str:
    return "the official server" if settings.telegram_api_base_url == TELEGRAM_API else api_base_url(settings)
