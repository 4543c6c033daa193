"""Talking to the Bot API: its addresses, the token check, retries under the flood limits, sending
replies, and keeping the token out of every log line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import traceback

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application
from telegram.request import HTTPXRequest

from bot.config import TELEGRAM_API, Settings
from embeddings import ConfigError, shown_url

logger = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# python-telegram-bot's long-polling task, which ends for good when the token is refused.
POLLING_TASK = "Updater:start_polling:polling_task"
TOKEN_WATCH_SECONDS = 1.0
TOKEN_REVOKED = (
    "the Bot API no longer accepts TELEGRAM_BOT_TOKEN (was it revoked in @BotFather?): "
    "put the new token in .env and start citebot telegram again"
)


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
    """Replaces the bot token (and the webhook secret) in log records, messages and tracebacks alike."""

    def __init__(self, token: str, *secrets: str) -> None:
        super().__init__()
        self.token = token
        self._hidden = [(token, "<token>")] + [(secret, "<secret>") for secret in secrets]
        self._hidden = [(text, mark) for text, mark in self._hidden if text]

    def scrub(self, text: str) -> str:
        """text without the token and the secrets."""
        for hidden, mark in self._hidden:
            text = text.replace(hidden, mark)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite record so that it no longer holds the token or a secret."""
        if not self._hidden:
            return True
        message = record.getMessage()
        if self.scrub(message) != message:
            record.msg, record.args = self.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def protect_logs(token: str, *secrets: str) -> None:
    """Keep the token and secrets out of everything the process prints: every log handler, warnings,
    and the tracebacks of exceptions that nothing caught (in the main thread or any other).

    httpx logs request URLs (token included) at INFO, so it is kept at WARNING as well.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redactor = TokenRedactor(token, *secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
        handler.addFilter(_without_refused_token)
    logging.captureWarnings(True)  # warnings become log records, which the handlers' filter scrubs

    def print_scrubbed(kind, value, tb) -> None:
        sys.stderr.write(redactor.scrub("".join(traceback.format_exception(kind, value, tb))))

    sys.excepthook = print_scrubbed
    threading.excepthook = lambda args: print_scrubbed(args.exc_type, args.exc_value, args.exc_traceback)


def _without_refused_token(record: logging.LogRecord) -> bool:
    """Drop python-telegram-bot's report of the token refused while polling, a traceback of 30 lines, unless
    debugging: watch_token says it in one line as the bot stops."""
    refused = record.exc_info is not None and isinstance(record.exc_info[1], InvalidToken)
    return not refused or logging.getLogger().isEnabledFor(logging.DEBUG)


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
    if settings.telegram_api_base_url == TELEGRAM_API:
        return "the official server"
    return shown_url(api_base_url(settings))


async def watch_token(application: Application) -> None:
    """Stop the bot when Telegram stops taking its token (revoked while running): polling gives up on
    its own then, and a process that stays up without it is deaf."""
    polling = None
    while True:
        await asyncio.sleep(TOKEN_WATCH_SECONDS)
        if polling is None:  # all_tasks() lists running tasks only: hold on to it while it runs
            polling = next((t for t in asyncio.all_tasks() if t.get_name() == POLLING_TASK), None)
        elif polling.done():
            if not polling.cancelled() and isinstance(polling.exception(), InvalidToken):
                # Stop the updater here, where its refusal can be taken, so the shutdown that follows is clean.
                with contextlib.suppress(InvalidToken):
                    await application.updater.stop()
                application.bot_data["token refused"] = True
                application.stop_running()
            return
