"""The Telegram front end: python-telegram-bot handlers over the answering engine."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.cards import CallbackSigner, Card, CardGoneError, CardMaker, ForgedCallbackError, QuestionStore
from bot.config import TELEGRAM_API, ConfigError, Settings
from bot.recent import Earlier, RecentAnswers
from bot.telegram_format import about_text, help_text, plain, sources_text, start_text
from embeddings.engine import CorpusInfo, Engine
from embeddings.retrieval import EmptyQuestionError
from embeddings.sources import SUFFIXES, SourceError
from embeddings.store import IndexStoreError

logger = logging.getLogger(__name__)

# A token is the bot's numeric id, a colon and a 35-character secret; allow some slack in the secret.
TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
COMMANDS = [
    BotCommand("ask", "Ask a question about the text"),
    BotCommand("help", "How to ask"),
    BotCommand("about", "Where the answers come from"),
    BotCommand("sources", "The texts I answer from"),
    BotCommand("start", "What I know"),
]
NON_TEXT_HINT = "I can only read text. Send your question as a message."
UNKNOWN_COMMAND = "I don't know that command. /help shows how to ask."
ADMINS_ONLY = "Thank you! Only the bot's admins can add texts; /sources lists the ones I answer from."
# Button presses a user may make in any minute (a press that asks again costs as much as a question).
PRESSES_PER_MINUTE = 30
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# A supergroup's id is -(10**12 + its id in t.me/c/ links).
SUPERGROUP_OFFSET = 10**12


@dataclass(frozen=True)
class Admission:
    """Whether a user's question may be answered now; if not, whether to tell them and when to retry."""

    allowed: bool
    notify: bool = False
    retry_in: float = 0.0


class QuestionLimiter:
    """At most per_minute questions a user in any 60 seconds.

    The first question over the limit gets a note; the ones after it in the same minute are dropped
    silently, so a flood of questions does not become a flood of notes.
    """

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}

    def admit(self, user_id: int) -> Admission:
        """Count a question of user_id if the limit allows it."""
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - 60:
            asked.popleft()
        if len(asked) < self.per_minute:
            asked.append(now)
            self._told.pop(user_id, None)
            return Admission(True)
        if len(self._asked) > 10_000:
            self._forget_idle(now)
        retry_in = asked[0] + 60 - now
        told = self._told.get(user_id)
        if told is not None and told > now - 60:
            return Admission(False, notify=False, retry_in=retry_in)
        self._told[user_id] = now
        return Admission(False, notify=True, retry_in=retry_in)

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, asked in self._asked.items() if not asked or asked[-1] <= now - 60]:
            del self._asked[user_id]
            self._told.pop(user_id, None)


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


def check_settings(settings: Settings) -> None:
    """Refuse a missing or malformed token or webhook setting with one line that says what to fix.

    Raises:
        ConfigError: a setting is missing or malformed.
    """
    token = settings.telegram_bot_token
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env")
    if not TOKEN_PATTERN.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is malformed: a token looks like 123456789:AA... (digits, a colon, 35 characters)"
        )
    if urlsplit(settings.telegram_api_base_url).scheme not in ("http", "https"):
        raise ConfigError(f"TELEGRAM_API_BASE_URL={settings.telegram_api_base_url!r} is not an http(s) URL")
    if settings.telegram_webhook_url and urlsplit(settings.telegram_webhook_url).scheme != "https":
        raise ConfigError(f"--webhook {settings.telegram_webhook_url!r}: Telegram only calls https:// webhooks")
    if settings.telegram_webhook_secret and not SECRET_PATTERN.fullmatch(settings.telegram_webhook_secret):
        raise ConfigError("the webhook secret token must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")


def api_base_url(settings: Settings) -> str:
    """The Bot API address the token is appended to; a self-hosted server's URL gets its /bot added."""
    base = settings.telegram_api_base_url.rstrip("/")
    return base if base.endswith("/bot") else base + "/bot"


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


def file_base_url(settings: Settings) -> str:
    """Where files are downloaded from: the Bot API address with /file before its /bot."""
    return api_base_url(settings).removesuffix("/bot") + "/file/bot"


def _request_bot(settings: Settings) -> Bot:
    timeout = settings.telegram_request_timeout
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    return Bot(settings.telegram_bot_token, base_url=api_base_url(settings), request=request)


def _shown_url(settings: Settings) -> str:
    return "the official server" if settings.telegram_api_base_url == TELEGRAM_API else api_base_url(settings)


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
    allowed_chats: frozenset[int]
    admins: frozenset[int]
    upload_dir: Path
    max_upload_bytes: int
    inline_cache_time: int

    def refresh(self) -> None:
        """Take in a changed index: what it holds."""
        self.info = self.engine.describe()


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["citebot"]


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from chats outside the allow-list (when there is one) before any handler sees them."""
    allowed = _services(context).allowed_chats
    # Inline queries (and presses on the cards they send) come from a user, not from a chat.
    chat = update.effective_chat or update.effective_user
    if allowed and (chat is None or chat.id not in allowed):
        logger.info("ignored an update from chat %s, which is not on the allow-list", chat.id if chat else None)
        raise ApplicationHandlerStop


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot knows and suggest a question."""
    await _reply(update.effective_message, start_text(_services(context).info))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to ask, alone and in groups."""
    await _reply(update.effective_message, help_text(context.bot.username))


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Name the source text and the index the answers come from."""
    await _reply(update.effective_message, about_text(_services(context).info))


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the text after /ask."""
    message = update.effective_message
    command = message.entities[0] if message.entities else None
    question = message.text[command.offset + command.length :] if command else ""
    await answer(message, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message in a private chat: all of it is the question."""
    await answer(update.effective_message, context, update.effective_message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a group message that mentions the bot or replies to it; ignore all other chatter."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await answer(message, context, question)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell a private chat that only text can be answered."""
    await _reply(update.effective_message, plain(NON_TEXT_HINT))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point a private chat that sent an unknown command to /help."""
    await _reply(update.effective_message, plain(UNKNOWN_COMMAND))


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an exception no handler caught, with its chat; tell the user when the failure was ours."""
    chat = update.effective_chat if isinstance(update, Update) else None
    logger.error("handling an update from chat %s failed", chat.id if chat else None, exc_info=context.error)
    message = update.effective_message if isinstance(update, Update) else None
    if message is not None and not isinstance(context.error, TelegramError):
        try:
            await _reply(message, plain("Sorry, something went wrong on my side and I could not answer that."))
        except TelegramError:
            logger.warning("could not tell chat %s about the failure", chat.id if chat else None)


def addressed_question(message: Message, username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot (a mention or a reply to it), else None."""
    text = message.text or ""
    mentions = [
        entity
        for entity in message.entities
        if (entity.type == MessageEntity.MENTION and message.parse_entity(entity)[1:].lower() == username.lower())
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id)
    ]
    if mentions:
        for entity in mentions:
            text = re.sub(re.escape(message.parse_entity(entity)) + r"[,:;]?", " ", text)
        return " ".join(text.split())
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    # In a forum topic every message "replies" to the topic's first message; that is not a reply.
    topic_root = replied is not None and message.is_topic_message and replied.message_id == message.message_thread_id
    return text if to_bot and not topic_root else None


async def answer(message: Message, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Answer question as a reply to message with a quote card, or point a group to its earlier answer."""
    services = _services(context)
    if not await _admitted(message, services):
        return
    typing = asyncio.create_task(_show_typing(message))
    try:
        result = await asyncio.to_thread(services.maker.ask, question)
    except EmptyQuestionError:
        example = services.info.sample_question or "What is the text about?"
        await _reply(message, plain(f"Please write a question, for example: /ask {example}"))
        return
    finally:
        typing.cancel()
    place = (message.chat_id, message.message_thread_id)
    group = message.chat.type != "private"
    earlier = services.recent.find(place, result) if group else None
    if earlier is not None:
        await _reply(message, courtesy_text(message.chat_id, earlier, services.recent.now()))
        return
    card = await asyncio.to_thread(services.maker.card, result)
    sent = await _reply(message, card.html, keyboard(card))
    if group:
        services.recent.add(place, result, sent.message_id)


async def card_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show what a card's button asks for in the same message; refuse data this bot did not sign."""
    query = update.callback_query
    services = _services(context)
    try:
        press = services.maker.signer.read(query.data)
    except ForgedCallbackError as error:
        logger.warning("refused a button press from user %s: %s", query.from_user.id, error)
        await query.answer("This button is not one of mine, so I ignore it.", show_alert=True)
        return
    admission = services.press_limiter.admit(query.from_user.id)
    if not admission.allowed:
        await query.answer(f"That is a lot of presses; please try again in {max(1, round(admission.retry_in))} s.")
        return
    try:
        card = await asyncio.to_thread(services.maker.press, press)
    except CardGoneError as gone:
        await query.answer(str(gone), show_alert=True)
        return
    try:
        await query.edit_message_text(
            card.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(card), link_preview_options=NO_PREVIEW
        )
    except BadRequest as error:
        # Two quick presses of one button ask for the same text twice; the second changes nothing.
        if "not modified" not in str(error).lower():
            logger.warning("could not edit a card for user %s: %s", query.from_user.id, error)
            await query.answer("I cannot change that message any more; please ask again.", show_alert=True)
            return
    await query.answer()


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the best passages for the question typed after the bot's name, or the texts' openings."""
    query = update.inline_query
    services = _services(context)
    question = query.query.strip()
    cards: list[Card] = []
    if question:
        try:
            cards = await asyncio.to_thread(services.maker.all_matches, question)
        except EmptyQuestionError:
            cards = []
    if not cards:
        cards = await asyncio.to_thread(_openings, services)
    results = [
        InlineQueryResultArticle(
            id=str(number),
            title=card.title,
            description=card.description,
            input_message_content=InputTextMessageContent(
                card.html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
            ),
            reply_markup=keyboard(card),
        )
        for number, card in enumerate(cards)
    ]
    await query.answer(results, cache_time=services.inline_cache_time)


def _openings(services: Services) -> list[Card]:
    """A card of the opening of each text (up to Telegram's 50 results), skipping texts without a sentence."""
    cards = []
    for document in services.info.documents[:50]:
        try:
            cards.append(services.maker.opening(document.sha256, document.name))
        except CardGoneError:
            logger.info("%s has no sentence to open an inline result with", document.name)
    return cards


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the texts the bot answers from, numbered for /forget."""
    services = _services(context)
    message = update.effective_message
    admin = message.from_user is not None and message.from_user.id in services.admins
    await _reply(message, sources_text(services.info, admin))


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove text number N from the index (admins only)."""
    services = _services(context)
    message = update.effective_message
    if message.from_user is None or message.from_user.id not in services.admins:
        await _reply(message, plain("Only the bot's admins can remove texts."))
        return
    documents = services.info.documents
    number = context.args[0] if context.args else ""
    if not number.isdigit() or not 1 <= int(number) <= len(documents):
        which = f"Which text? Write /forget N, with N from 1 to {len(documents)} as /sources numbers them."
        await _reply(message, plain(which))
        return
    document = documents[int(number) - 1]
    try:
        await asyncio.to_thread(services.engine.forget, document.source)
    except (SourceError, IndexStoreError) as error:
        await _reply(message, plain(_file_names_only(str(error))))
        return
    uploaded = Path(document.source)
    if uploaded.parent == services.upload_dir.resolve():
        uploaded.unlink(missing_ok=True)
    services.refresh()
    await _reply(message, plain(f"I forgot {document.name}. I now answer from {len(services.info.documents)} text(s)."))


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Index a .txt, .md or .html file an admin sends in private; tell anyone else that only admins add texts."""
    services = _services(context)
    message = update.effective_message
    if message.from_user is None or message.from_user.id not in services.admins:
        await _reply(message, plain(ADMINS_ONLY))
        return
    document = message.document
    name = safe_file_name(document.file_name)
    if Path(document.file_name or "").suffix.lower() not in SUFFIXES:
        kinds = ", ".join(SUFFIXES)
        await _reply(message, plain(f"I can add text files ({kinds}); {document.file_name or 'this file'} is not one."))
        return
    if document.file_size is not None and document.file_size > services.max_upload_bytes:
        await _reply(message, plain(
            f"{name} is {document.file_size / 1e6:.1f} MB; the most I take is {services.max_upload_bytes / 1e6:.1f} MB."
        ))
        return
    typing = asyncio.create_task(_show_typing(message))
    try:
        data = await (await context.bot.get_file(document.file_id)).download_as_bytearray()
        if len(data) > services.max_upload_bytes:
            await _reply(message, plain(f"{name} is over {services.max_upload_bytes / 1e6:.1f} MB; I did not add it."))
            return
        replaced = await asyncio.to_thread(_add_upload, services, name, bytes(data))
    except TelegramError as error:
        logger.warning("could not download %s: %s", name, error)
        await _reply(message, plain(f"I could not fetch {name} from Telegram ({error}); please send it again."))
        return
    except (SourceError, IndexStoreError) as error:
        await _reply(message, plain(f"I did not add {name}: {_file_names_only(str(error))}"))
        return
    finally:
        typing.cancel()
    services.refresh()
    what = "took in the new version of" if replaced else "added"
    await _reply(message, plain(
        f"I {what} {name}. I now answer from {len(services.info.documents)} text(s); /sources lists them."
    ))


def _add_upload(services: Services, name: str, data: bytes) -> bool:
    """Save an upload and index it; a file of the same name is replaced, and restored if the new one fails.

    Returns:
        Whether a file of that name was replaced.

    Raises:
        SourceError: the file is not text, or the index cannot take it.
    """
    services.upload_dir.mkdir(parents=True, exist_ok=True)
    path = services.upload_dir / name
    previous = path.read_bytes() if path.is_file() else None
    path.write_bytes(data)
    try:
        services.engine.add(path)
    except BaseException:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)
        raise
    return previous is not None


def safe_file_name(name: str | None) -> str:
    """An uploaded file's name made safe to save: no folders, only letters, digits, dot, dash and underscore."""
    stem = re.sub(r"[^\w.-]", "_", Path(name or "").name).lstrip(".")[-100:]
    return stem or "upload.txt"


def keyboard(card: Card) -> InlineKeyboardMarkup | None:
    """A card's buttons as Telegram's inline keyboard."""
    rows = [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in card.buttons]
    return InlineKeyboardMarkup(rows) if rows else None


def courtesy_text(chat_id: int, earlier: Earlier, now: float) -> str:
    """A short pointer to an earlier answer: a link in a supergroup, where messages have links."""
    minutes = round((now - earlier.at) / 60)
    when = "a moment ago" if minutes < 1 else f"{minutes} minute{'s' if minutes > 1 else ''} ago"
    if chat_id < -SUPERGROUP_OFFSET:
        link = f"https://t.me/c/{-chat_id - SUPERGROUP_OFFSET}/{earlier.message_id}"
        return f'That was asked and answered here {when}: <a href="{link}">see that answer</a>.'
    return f"That was asked and answered here {when}; my answer is a little way up."


def _file_names_only(text: str) -> str:
    """An error message with the folders of the server's paths left out."""
    return re.sub(r"(?:/[^/\s:]+)+/([^/\s:]+)", r"\1", text)


async def _admitted(message: Message, services: Services) -> bool:
    """Count the question against its user's limit and, in a group, its chat's; note the first refusal."""
    user = message.from_user.id if message.from_user else message.chat_id
    checks = [(services.limiter, user, "You have")]
    if message.chat.type != "private":
        checks.append((services.chat_limiter, message.chat_id, "This chat has"))
    for limiter, key, who in checks:
        admission = limiter.admit(key)
        if not admission.allowed:
            if admission.notify:
                wait = max(1, round(admission.retry_in))
                await _reply(message, plain(
                    f"{who} asked {limiter.per_minute} questions in the last minute, the most I answer. "
                    f"Please ask again in {wait} s."
                ))
            return False
    return True


async def _show_typing(message: Message) -> None:
    """Show "typing"; it only decorates, so a server that lacks or refuses it changes nothing."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except TelegramError as error:
        logger.debug("chat action failed in chat %s: %s", message.chat_id, error)


async def _reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    return await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        link_preview_options=NO_PREVIEW,
        reply_markup=markup,
    )


async def register_commands(application: Application) -> None:
    """Register the commands for private and group chats; a server that refuses them changes nothing."""
    for scope in (BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()):
        try:
            await application.bot.set_my_commands(COMMANDS, scope=scope)
        except TelegramError as error:
            logger.warning("could not register the bot's commands (%s); they still work when typed", error)


async def on_start(application: Application) -> None:
    """Register commands and load the model before the first question arrives."""
    await register_commands(application)
    services = application.bot_data["citebot"]
    await asyncio.to_thread(services.engine.warm_up)
    logger.info("answering as @%s", application.bot.username)


def build_application(settings: Settings, engine: Engine, retry_backoff: float = 1.0) -> Application:
    """The bot: every handler registered, flood limits and retries on outgoing requests.

    Args:
        settings: the token, Bot API address, timeouts, allow-list and question limit.
        engine: the answering engine; its index must open.
        retry_backoff: seconds before the first retry of a failed request (doubling each time).
    """
    timeout = settings.telegram_request_timeout
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(api_base_url(settings))
        .rate_limiter(RetryingRateLimiter(backoff=retry_backoff))
        .concurrent_updates(64)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .pool_timeout(timeout)
        .get_updates_connect_timeout(timeout)
        .get_updates_read_timeout(timeout)
        .get_updates_write_timeout(timeout)
        .get_updates_pool_timeout(timeout)
        .base_file_url(file_base_url(settings))
        .post_init(on_start)
        .build()
    )
    store_path = settings.telegram_state_dir / "questions.sqlite"
    try:
        store = QuestionStore(store_path)
    except (OSError, sqlite3.DatabaseError) as error:
        raise ConfigError(f"cannot use {store_path} to keep the cards' questions: {error}") from error
    maker = CardMaker(engine, CallbackSigner(settings.telegram_bot_token), store, settings.top_k)
    application.bot_data["citebot"] = Services(
        engine=engine,
        info=engine.describe(),
        maker=maker,
        recent=RecentAnswers(settings.telegram_repeat_window),
        limiter=QuestionLimiter(settings.telegram_questions_per_minute),
        chat_limiter=QuestionLimiter(settings.telegram_group_questions_per_minute),
        press_limiter=QuestionLimiter(PRESSES_PER_MINUTE),
        allowed_chats=frozenset(settings.telegram_allowed_chats),
        admins=frozenset(settings.telegram_admins),
        upload_dir=settings.telegram_state_dir / "uploads",
        max_upload_bytes=int(settings.telegram_max_upload_mb * 1_000_000),
        inline_cache_time=settings.telegram_inline_cache_time,
    )
    new = filters.UpdateType.MESSAGE  # edits would answer a question twice
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    application.add_handler(TypeHandler(Update, gate), group=-1)
    application.add_handler(CommandHandler("start", start, filters=new))
    application.add_handler(CommandHandler("help", help_command, filters=new))
    application.add_handler(CommandHandler("about", about, filters=new))
    application.add_handler(CommandHandler("ask", ask_command, filters=new))
    application.add_handler(CommandHandler("sources", sources, filters=new))
    application.add_handler(CommandHandler("forget", forget, filters=new))
    application.add_handler(CallbackQueryHandler(card_button))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_handler(MessageHandler(new & private & filters.Document.ALL, upload))
    application.add_handler(MessageHandler(new & private & filters.TEXT & ~filters.COMMAND, private_text))
    application.add_handler(MessageHandler(new & groups & filters.TEXT & ~filters.COMMAND, group_text))
    application.add_handler(MessageHandler(new & private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(new & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text))
    application.add_error_handler(log_error)
    return application


def run(application: Application, settings: Settings) -> None:
    """Serve updates until stopped: long polling, or a webhook when settings name one."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    signals = {} if in_main_thread else {"stop_signals": None}
    if settings.telegram_webhook_url:
        secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        application.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
            webhook_url=settings.telegram_webhook_url,
            secret_token=secret,
            allowed_updates=UPDATES,
            **signals,
        )
    else:
        application.run_polling(
            poll_interval=settings.telegram_poll_interval,
            timeout=int(settings.telegram_poll_timeout),
            allowed_updates=UPDATES,
            **signals,
        )
