"""Admission: which updates any handler gets to see. Chats off the allow-list are ignored, and every
update the bot would act on is charged to its sender (and, in a group, its chat) before any work or reply
is queued, so one person cannot make the bot deaf to the others."""

from __future__ import annotations

import logging
import re

from telegram import Message, MessageEntity, Update
from telegram.ext import ApplicationHandlerStop

from bot import i18n
from bot import telegram_format as say
from bot.limits import QuestionLimiter
from bot.telegram_api import reply
from bot.telegram_context import CitebotContext, Services

logger = logging.getLogger(__name__)


async def gate(update: Update, context: CitebotContext) -> None:
    """Stop updates from chats off the allow-list, and updates over their sender's or chat's budget, before
    any handler works on them or queues a reply: one person cannot make the bot deaf to the others. Also
    picks the language the bot's own words take for this update (its sender's Telegram language)."""
    services = context.services
    i18n.use(update.effective_user.language_code if update.effective_user else None)
    allowed = services.allowed_chats
    # Inline queries (and presses on the cards they send) come from a user, not from a chat.
    chat = update.effective_chat or update.effective_user
    if allowed and (chat is None or chat.id not in allowed):
        logger.info("ignored an update from chat %s, which is not on the allow-list", chat.id if chat else None)
        raise ApplicationHandlerStop
    if not _costs(update, context.bot.username, context.bot.id):
        return
    for limiter, key, who in _budgets(update, services):
        admission = limiter.admit(key)
        if not admission.allowed:
            if admission.notify:
                await _note_limit(update, limiter.per_minute, admission.retry_in, who)
            raise ApplicationHandlerStop


def _costs(update: Update, username: str, bot_id: int) -> bool:
    """Whether the bot would act on update: everything but group chatter and other bots' commands."""
    if update.callback_query or update.inline_query:
        return True
    message = update.message
    if message is None:
        return False
    if message.chat.type == "private":
        return True
    if message.text and message.text.startswith("/"):
        target = message.text.split()[0].partition("@")[2]
        return not target or target.lower() == username.lower()
    return bool(message.text) and addressed_question(message, username, bot_id) is not None


def _budgets(update: Update, services: Services) -> list[tuple[QuestionLimiter, int, str]]:
    """The limits an update counts against: its sender's and, in a group, its chat's."""
    message = update.message
    # Anonymous admins and channels post as one shared user: their budget is their chat's.
    sender = message.sender_chat.id if message is not None and message.sender_chat else update.effective_user.id
    if update.callback_query:
        budgets = [(services.press_limiter, sender, "You have")]
        # A press in a group edits a message there, and Telegram lets a bot send about 20 a minute to one
        # group: presses by several members, each within their own limit, would queue the group's answers.
        chat = update.effective_chat
        if chat is not None and chat.type != "private":
            budgets.append((services.chat_press_limiter, chat.id, "This chat has"))
        return budgets
    budgets = [(services.limiter, sender, "You have")]
    if message is not None and message.chat.type != "private":
        budgets.append((services.chat_limiter, message.chat_id, "This chat has"))
    return budgets


async def _note_limit(update: Update, per_minute: int, retry_in: float, who: str) -> None:
    """The one note for going over a limit; what follows in the same minute is dropped silently."""
    if update.callback_query:
        await update.callback_query.answer(say.too_many_presses(retry_in))
    elif update.message:
        asked = "asked" if update.message.text and not update.message.text.startswith("/") else "sent"
        await reply(update.message, say.over_the_limit(who, per_minute, retry_in, asked))


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
