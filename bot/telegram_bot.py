"""The Telegram front end: python-telegram-bot handlers over the answering engine, and their wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import threading
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import telegram_format as say
from bot.cards import INLINE, CallbackSigner, Card, CardGoneError, CardMaker, ForgedCallbackError, QuestionStore
from bot.config import Settings
from bot.i18n import LANGUAGES, N_, _, translated
from bot.limits import QuestionLimiter
from bot.recent import RecentAnswers, same_meaning
from bot.render import small_talk, small_talk_reply
from bot.telegram_admin import add_page, forget, sources, upload
from bot.telegram_api import (  # noqa: F401  (TokenRedactor: its old import path)
    NO_PREVIEW,
    TOKEN_REVOKED,
    RetryingRateLimiter,
    TokenRedactor,
    api_base_url,
    file_base_url,
    reply,
    show_typing,
    watch_token,
)
from bot.telegram_context import CitebotContext, Services
from bot.telegram_gate import addressed_question, gate
from embeddings import ConfigError, EmptyQuestionError, Engine, StoreUnavailableError

logger = logging.getLogger(__name__)

COMMANDS = [
    ("ask", N_("Ask a question about the text")),
    ("help", N_("How to ask")),
    ("about", N_("Where the answers come from")),
    ("sources", N_("The texts I answer from")),
    ("start", N_("What I know")),
]
# Button presses a user may make in any minute (a press that asks again costs as much as a question).
PRESSES_PER_MINUTE = 30
# Button presses all members of a group may make in any minute: with the group's questions, the bot's edits
# and replies stay within the about 20 messages a minute Telegram takes for one group, so none wait in line.
GROUP_PRESSES_PER_MINUTE = 8
# A private message that is one web address and nothing else: an admin adding a page (a question never is).
WEB_ADDRESS = r"^\s*https?://\S+\s*$"
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]


async def start(update: Update, context: CitebotContext) -> None:
    """Say what the bot knows and suggest a question."""
    await reply(update.effective_message, say.start_text(context.services.info))


async def help_command(update: Update, context: CitebotContext) -> None:
    """Explain how to ask, alone and in groups."""
    await reply(update.effective_message, say.help_text(context.bot.username))


async def about(update: Update, context: CitebotContext) -> None:
    """Name the source text and the index the answers come from."""
    await reply(update.effective_message, say.about_text(context.services.info))


async def ask_command(update: Update, context: CitebotContext) -> None:
    """Answer the text after /ask."""
    message = update.effective_message
    command = message.entities[0] if message.entities else None
    question = message.text[command.offset + command.length :] if command else ""
    await answer(message, context, question)


async def private_text(update: Update, context: CitebotContext) -> None:
    """Answer a text message in a private chat: all of it is the question."""
    await answer(update.effective_message, context, update.effective_message.text)


async def group_text(update: Update, context: CitebotContext) -> None:
    """Answer a group message that mentions the bot or replies to it; ignore all other chatter."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await answer(message, context, question)


async def non_text(update: Update, context: CitebotContext) -> None:
    """Tell a private chat that only text can be answered."""
    await reply(update.effective_message, say.plain(_(say.NON_TEXT_HINT)))


async def unknown_command(update: Update, context: CitebotContext) -> None:
    """Point a private chat that sent an unknown command to /help."""
    await reply(update.effective_message, say.plain(_(say.UNKNOWN_COMMAND)))


async def log_error(update: object, context: CitebotContext) -> None:
    """Log an exception no handler caught, with its chat; tell the user when the failure was ours."""
    chat = update.effective_chat if isinstance(update, Update) else None
    logger.error("handling an update from chat %s failed", chat.id if chat else None, exc_info=context.error)
    message = update.effective_message if isinstance(update, Update) else None
    if message is not None and not isinstance(context.error, TelegramError):
        # An outage of the store (Milvus) says so and that it passes; anything else is our failure.
        text = say.STORE_DOWN if isinstance(context.error, StoreUnavailableError) else say.OUR_FAILURE
        try:
            await reply(message, say.plain(_(text)))
        except TelegramError:
            logger.warning("could not tell chat %s about the failure", chat.id if chat else None)


async def answer(message: Message, context: CitebotContext, question: str) -> None:
    """Answer question as a reply to message with a quote card, or point a group to its earlier answer."""
    services = context.services
    kind = small_talk(question, services.engine.multilingual)
    if kind is not None:
        if kind != "thanks" or message.chat.type == "private":  # a group needs no "you're welcome"
            await reply(message, say.plain(small_talk_reply(kind, services.info.sample_question)))
        return
    typing = asyncio.create_task(show_typing(message))
    try:
        result = await asyncio.to_thread(services.maker.ask, question)
    except EmptyQuestionError:
        await reply(message, say.ask_for_a_question(services.info.sample_question))
        return
    finally:
        typing.cancel()
    place = (message.chat_id, message.message_thread_id)
    group = message.chat.type != "private"
    earlier = services.recent.find(place, result) if group else None
    if earlier is not None:
        minutes = round((services.recent.now() - earlier.at) / 60)
        await reply(message, say.courtesy_text(message.chat_id, earlier.message_id, minutes))
        return
    card = await asyncio.to_thread(services.maker.card, result, str(message.chat_id))
    sent = await reply(message, card.html, keyboard(card))
    if group:
        services.recent.add(place, result, sent.message_id)


async def card_button(update: Update, context: CitebotContext) -> None:
    """Show what a card's button asks for in the same message; refuse data this bot did not sign."""
    query = update.callback_query
    services = context.services
    try:
        scope = str(query.message.chat.id) if query.message else INLINE
        press = services.maker.signer.read(query.data, scope)
    except ForgedCallbackError as error:
        logger.warning("refused a button press from user %s: %s", query.from_user.id, error)
        await query.answer(_(say.FORGED_BUTTON), show_alert=True)
        return
    try:
        card = await asyncio.to_thread(services.maker.press, press, scope)
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
            await query.answer(_(say.CARD_UNEDITABLE), show_alert=True)
            return
    await query.answer()


async def inline_query(update: Update, context: CitebotContext) -> None:
    """Offer the best passages for the question typed after the bot's name, or the texts' openings."""
    query = update.inline_query
    services = context.services
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


def keyboard(card: Card) -> InlineKeyboardMarkup | None:
    """A card's buttons as Telegram's inline keyboard."""
    rows = [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in card.buttons]
    return InlineKeyboardMarkup(rows) if rows else None


async def register_commands(application: Application) -> None:
    """Register the commands for private and group chats, described in each language citebot speaks (English
    for the rest); a server that refuses them changes nothing."""
    for scope in (BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()):
        for language in LANGUAGES:
            commands = [BotCommand(name, translated(about, language)) for name, about in COMMANDS]
            try:
                await application.bot.set_my_commands(
                    commands, scope=scope, language_code=None if language == "en" else language)
            except TelegramError as error:
                logger.warning("could not register the bot's commands (%s); they still work when typed", error)
                break  # this scope's other languages would fail alike; the next scope may not


async def on_start(application: Application) -> None:
    """Register commands, load the model before the first question arrives, and watch the token."""
    await register_commands(application)
    services = application.bot_data["citebot"]
    await asyncio.to_thread(services.engine.warm_up)
    application.bot_data["token watch"] = asyncio.create_task(watch_token(application))
    logger.info("answering as @%s", application.bot.username)


async def on_stop(application: Application) -> None:
    """Stop watching the token: the bot is stopping anyway."""
    watch = application.bot_data.pop("token watch", None)
    if watch is not None:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


def build_application(settings: Settings, engine: Engine, retry_backoff: float = 1.0) -> Application:
    """The bot: every handler registered, flood limits and retries on outgoing requests.

    Args:
        settings: the token, Bot API address, timeouts, allow-list and question limit.
        engine: the answering engine; its index must open.
        retry_backoff: seconds before the first retry of a failed request (doubling each time).
    """
    application = _application(settings, retry_backoff)
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
        recent=RecentAnswers(settings.telegram_repeat_window, same_meaning(engine.index_settings.model)),
        limiter=QuestionLimiter(settings.telegram_questions_per_minute),
        chat_limiter=QuestionLimiter(settings.telegram_group_questions_per_minute),
        press_limiter=QuestionLimiter(PRESSES_PER_MINUTE),
        chat_press_limiter=QuestionLimiter(GROUP_PRESSES_PER_MINUTE),
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
    application.add_handler(MessageHandler(new & private & filters.Regex(WEB_ADDRESS), add_page))
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
    if application.bot_data.get("token refused"):  # watch_token stopped the bot
        raise ConfigError(TOKEN_REVOKED)


def _application(settings: Settings, retry_backoff: float) -> Application:
    """The Application: the token and Bot API address, timeouts, flood limits and retries."""
    timeout = settings.telegram_request_timeout
    return (
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
        .context_types(ContextTypes(context=CitebotContext))
        .post_init(on_start)
        .post_stop(on_stop)
        .build()
    )
