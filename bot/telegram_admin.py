"""Texts in chat: admins add them by sending files or web addresses and remove them with /forget; /sources
lists them."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Message, Update
from telegram.error import NetworkError, TelegramError

from bot import telegram_format as say
from bot.i18n import _
from bot.telegram_api import reply, show_typing
from bot.telegram_context import CitebotContext, Services
from embeddings import SUFFIXES, CitebotError, display_name

logger = logging.getLogger(__name__)
# Folder separators, control characters, and what other file systems refuse (the folder may be copied).
MAX_NAME_BYTES = 100
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


async def sources(update: Update, context: CitebotContext) -> None:
    """List the texts the bot answers from, numbered for /forget."""
    message = update.effective_message
    await reply(message, say.sources_text(context.services.info, _is_admin(message, context.services)))


async def forget(update: Update, context: CitebotContext) -> None:
    """Remove text number N from the index (admins only)."""
    services, message = context.services, update.effective_message
    if not _is_admin(message, services):
        await reply(message, say.plain(_(say.ADMINS_ONLY_FORGET)))
        return
    documents = services.info.documents
    number = context.args[0] if context.args else ""
    if not number.isdigit() or not 1 <= int(number) <= len(documents):
        await reply(message, say.which_text(len(documents)))
        return
    document = documents[int(number) - 1]
    try:
        await asyncio.to_thread(services.engine.forget, document.source)
    except CitebotError as error:
        logger.warning("could not forget %s: %s", document.name, error)
        await reply(message, say.plain(error.for_user()))
        return
    uploaded = Path(document.source)
    if uploaded.parent == services.upload_dir.resolve():
        uploaded.unlink(missing_ok=True)
    services.refresh()
    await reply(message, say.forgotten(document.name, len(services.info.documents)))


async def upload(update: Update, context: CitebotContext) -> None:
    """Index a file an admin sends in private (text, Markdown, HTML, PDF, Word); others learn only admins may."""
    services, message = context.services, update.effective_message
    if not _is_admin(message, services):
        await reply(message, say.plain(_(say.ADMINS_ONLY)))
        return
    document = message.document
    name = safe_file_name(document.file_name)
    if Path(document.file_name or "").suffix.lower() not in SUFFIXES:
        await reply(message, say.not_a_text_file(document.file_name, SUFFIXES))
        return
    if document.file_size is not None and document.file_size > services.max_upload_bytes:
        await reply(message, say.too_large(name, document.file_size, services.max_upload_bytes))
        return
    typing = asyncio.create_task(show_typing(message))
    try:
        data = await _download(context, document.file_id)
        if len(data) > services.max_upload_bytes:
            await reply(message, say.too_large(name, None, services.max_upload_bytes))
            return
        # Uploads are indexed one at a time on a thread of their own, never on the threads answering questions.
        loop = asyncio.get_running_loop()
        replaced = await loop.run_in_executor(services.uploads, _add_upload, services, name, bytes(data))
    except TelegramError as error:
        logger.warning("could not download %s: %s", name, error)
        await reply(message, say.download_failed(name))
        return
    except CitebotError as error:
        logger.warning("could not add %s: %s", name, error)
        await reply(message, say.not_added(name, error.for_user()))
        return
    except OSError as error:  # the upload folder cannot take it: a full disk, a quota, no permission
        logger.warning("could not save %s: %s", name, error)
        await reply(message, say.not_added(name, f"it could not be saved ({error.strerror or error}); "
                                                 "the texts are as they were"))
        return
    finally:
        typing.cancel()
    services.refresh()
    await reply(message, say.added(name, replaced, len(services.info.documents)))


async def add_page(update: Update, context: CitebotContext) -> None:
    """Index the web page an admin sends the address of in private; others learn only admins may."""
    services, message = context.services, update.effective_message
    if not _is_admin(message, services):
        await reply(message, say.plain(_(say.ADMINS_ONLY)))
        return
    address = message.text.strip()
    name = display_name(address)
    held = any(document.source == address for document in services.info.documents)
    typing = asyncio.create_task(show_typing(message))
    try:
        loop = asyncio.get_running_loop()
        progress = functools.partial(_log_progress, name)
        await loop.run_in_executor(services.uploads, services.engine.add, address, progress)
    except CitebotError as error:
        logger.warning("could not add %s: %s", name, error)
        await reply(message, say.not_added(name, error.for_user()))
        return
    finally:
        typing.cancel()
    services.refresh()
    await reply(message, say.added(name, held, len(services.info.documents)))


def _is_admin(message: Message, services: Services) -> bool:
    return message.from_user is not None and message.from_user.id in services.admins


def _add_upload(services: Services, name: str, data: bytes) -> bool:
    """Save an upload and index it; a file of the same name is replaced, and restored if the new one fails.

    Returns:
        Whether a file of that name was replaced.

    Raises:
        CitebotError: the file is not text, or the index cannot take it.
    """
    services.upload_dir.mkdir(parents=True, exist_ok=True)
    path = services.upload_dir / name
    previous = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    _write_atomically(path, data)
    try:
        services.engine.add(path, progress=lambda done, total: _log_progress(name, done, total))
    except BaseException:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            _write_atomically(path, previous)
        raise
    return previous is not None


def _write_atomically(path: Path, data: bytes) -> None:
    """Put data at path whole or not at all: a full disk leaves the previous file as it was. A symlink at
    path is replaced, never written through."""
    handle, staging = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


async def _download(context: CitebotContext, file_id: str) -> bytes:
    """An upload's bytes, over HTTP(S) from the Bot API's file address only: a server that answers with a
    path on this machine must not make the bot read its local files."""
    file = await context.bot.get_file(file_id)
    if not file.file_path or urlsplit(file.file_path).scheme not in ("http", "https"):
        raise NetworkError("the Bot API gave no web address to download the file from")
    return await context.bot.request.retrieve(file.file_path)


def _log_progress(name: str, done: int, total: int) -> None:
    """Log an upload's embedding every 1,000 sentences (a big file takes minutes)."""
    if done == total or done % 1000 < 8:
        logger.info("embedding %s: %d of %d sentences", name, done, total)


def safe_file_name(name: str | None) -> str:
    """An uploaded file's name made safe to save: no folders, no control characters or characters file
    systems refuse, at most MAX_NAME_BYTES before its kind's suffix (which is kept, so that '..html' is still
    read as HTML). A name that had to change gets a short hash of the name as sent, so that two uploads whose
    names differ only there never replace each other."""
    path = Path(Path(name or "").name)
    suffix = next((s for s in SUFFIXES if path.name.lower().endswith(s)), ".txt")
    stem = path.name[: len(path.name) - len(suffix)] if path.name.lower().endswith(suffix) else path.name
    kept = _UNSAFE_IN_NAME.sub("_", stem).strip(" ._-")  # nor hidden, nor taken for an option
    if kept and kept == stem and len(kept.encode("utf-8")) <= MAX_NAME_BYTES:
        return kept + suffix
    mark = hashlib.sha256(path.name.encode("utf-8", "replace")).hexdigest()[:6]
    # File systems take 255 bytes, not characters.
    kept = kept.encode("utf-8")[: MAX_NAME_BYTES - len(mark) - 1].decode("utf-8", "ignore")
    return f"{kept or 'upload'}-{mark}{suffix}"
