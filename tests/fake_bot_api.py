"""A Bot API server on 127.0.0.1 for tests and benchmarks: real HTTP, Telegram's JSON, failures on demand.

It speaks the methods citebot uses (getMe, getUpdates with long polling, sendMessage, editMessageText,
answerCallbackQuery, answerInlineQuery, getFile and file downloads, sendChatAction, setMyCommands,
deleteWebhook, setWebhook), validates messages as Telegram does (HTML entities, 4,096 characters after
parsing, 64 bytes of callback data a button), records every message the bot sends and can be told to
answer a method with 429 and retry_after, a 5xx, or a stall that outlasts the client's timeout. Users
press buttons (callback queries), type inline queries and upload documents through it.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot
BOT = {"id": 123456789, "is_bot": True, "first_name": "citebot", "username": "citebot_test_bot"}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
                "tg-spoiler", "span", "tg-emoji"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "blockquote": {"expandable"}, "span": {"class"}, "tg-emoji": {"emoji-id"},
                      "code": {"class"}}


@dataclass
class Shown:
    """What an HTML message shows: its text, and the text of its bold runs and of its blockquotes."""

    text: str
    bold: list[str]
    quotes: list[str]


@dataclass
class Sent:
    """A message the bot sent: its id, chat, the HTML it sent, what that shows and what it replies to."""

    message_id: int
    chat_id: int
    html: str
    shown: Shown
    reply_to: int | None
    thread_id: int | None
    at: float = field(default_factory=time.monotonic)
    markup: dict | None = None
    inline_message_id: str | None = None
    edits: int = 0

    @property
    def text(self) -> str:
        return self.shown.text

    @property
    def bold(self) -> list[str]:
        return self.shown.bold

    def buttons(self) -> dict[str, str]:
        """The message's inline buttons: label -> callback data."""
        rows = (self.markup or {}).get("inline_keyboard", [])
        return {button["text"]: button.get("callback_data", "") for row in rows for button in row}


class FakeBotApi:
    """The server; start() it, push user messages with send(), read what the bot said in sent."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot = dict(BOT)
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        # setMyCommands' lists by (scope type, language code or None): command -> description
        self.commands: dict[tuple[str, str | None], dict[str, str]] = {}
        self.timed_calls: list[tuple[str, float]] = []
        self.webhook: dict | None = None
        self.callback_answers: dict[str, dict] = {}
        self.inline_answers: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.file_paths: dict[str, str] = {}  # what getFile answers for a file, when not documents/<id>
        self._updates: list[dict] = []
        self._faults: dict[str, deque] = {}
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL must be to reach this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # What users do.

    def send(self, chat_id: int, text: str, **options) -> dict:
        """A user writes text in a chat (options as for message()); returns the message the bot will see."""
        message = self.message(chat_id, text, **options)
        self.push({"message": message})
        return message

    def message(
        self,
        chat_id: int,
        text: str,
        chat_type: str = "private",
        user_id: int | None = None,
        reply_to: Sent | dict | None = None,
        thread_id: int | None = None,
        anonymous: bool = False,
    ) -> dict:
        """A message as Telegram would deliver it, not yet sent."""
        replied = self._as_message(reply_to) if reply_to is not None else None
        return user_message(next(self._ids), chat_id, text, chat_type, user_id, replied, thread_id, anonymous)

    def send_sticker(self, chat_id: int, chat_type: str = "private") -> dict:
        """A user sends a sticker."""
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": abs(chat_id), "is_bot": False, "first_name": "user"},
            "sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "type": "regular"},
        }
        self.push({"message": message})
        return message

    def press(self, card: Sent, label: str, user_id: int | None = None, data: str | None = None) -> str:
        """A user presses the button labelled label on card (or sends data of their own); returns the query id."""
        query_id = f"cq{next(self._ids)}"
        query = {"id": query_id, "from": _user(user_id or abs(card.chat_id) or 7), "chat_instance": "ci1",
                 "data": card.buttons()[label] if data is None else data}
        if card.inline_message_id:
            query["inline_message_id"] = card.inline_message_id
        else:
            query["message"] = {"message_id": card.message_id, "date": int(time.time()), "from": self.bot,
                                "chat": {"id": card.chat_id, "type": "private" if card.chat_id > 0 else "supergroup"},
                                "text": card.text}
        self.push({"callback_query": query})
        return query_id

    def inline(self, user_id: int, query: str) -> str:
        """A user types @bot and query in some chat; returns the inline query's id."""
        query_id = f"iq{next(self._ids)}"
        self.push({"inline_query": {"id": query_id, "from": _user(user_id), "query": query, "offset": ""}})
        return query_id

    def choose(self, result: dict) -> Sent:
        """The user picks an inline result: its message appears in their chat, its buttons press as inline."""
        content = result["input_message_content"]
        shown = parse_html(content["message_text"])
        sent = Sent(next(self._ids), 0, content["message_text"], shown, None, None,
                    markup=result.get("reply_markup"), inline_message_id=f"im{next(self._ids)}")
        with self._changed:
            self.sent.append(sent)
        return sent

    def upload(self, chat_id: int, file_name: str, content: bytes, user_id: int | None = None,
               file_size: int | None = None, file_path: str | None = None) -> dict:
        """A user sends a document in a chat (file_size overrides what Telegram reports, file_path what
        getFile answers)."""
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = content
        if file_path is not None:
            self.file_paths[file_id] = file_path
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": _user(user_id or abs(chat_id)),
            "document": {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": file_name,
                         "mime_type": "application/octet-stream",
                         "file_size": len(content) if file_size is None else file_size},
        }
        self.push({"message": message})
        return message

    def card(self, message: dict) -> Sent:
        """The one message the bot sent in reply to message (its quote card); fails the test otherwise."""
        replies = self.wait_for_replies(message)
        assert len(replies) == 1, [r.text for r in replies]
        return replies[0]

    def wait_for_answer(self, query_id: str, timeout: float = 30.0) -> dict:
        """The bot's answer to a callback or inline query; fails the test on timeout."""
        def answered() -> bool:
            return query_id in self.callback_answers or query_id in self.inline_answers
        if not self.wait_until(answered, timeout):
            raise AssertionError(f"no answer to query {query_id} within {timeout} s; calls: {self.calls[-10:]}")
        return self.callback_answers.get(query_id) or self.inline_answers[query_id]

    def push(self, update: dict) -> None:
        """Queue an update for getUpdates."""
        with self._changed:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()

    # Failures on demand.

    def fail(self, method: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` calls of method with an HTTP error (429 carries retry_after)."""
        self._faults.setdefault(method, deque()).extend([("status", status, retry_after)] * times)

    def stall(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the next `times` calls of method for seconds, then drop them unanswered."""
        self._faults.setdefault(method, deque()).extend([("stall", seconds, None)] * times)

    def unsupported(self, method: str) -> None:
        """Answer every call of method with 404, as an emulator lacking it does."""
        self._faults.setdefault(method, deque()).append(("missing", 404, None))

    def faults_left(self, method: str) -> int:
        """How many injected failures of method have not happened yet."""
        return len(self._faults.get(method, ()))

    # Reading what happened.

    def replies_to(self, message: dict) -> list[Sent]:
        """Messages the bot sent in reply to message."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        return [s for s in list(self.sent) if s.chat_id == chat_id and s.reply_to == message_id]

    def wait_until(self, condition, timeout: float = 30.0) -> bool:
        """Wait until condition() holds (checked whenever the bot sends something); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))
        return True

    def wait_for_replies(self, message: dict, count: int = 1, timeout: float = 30.0) -> list[Sent]:
        """The replies to message once there are count of them; fails the test on timeout."""
        if not self.wait_until(lambda: len(self.replies_to(message)) >= count, timeout):
            raise AssertionError(f"no reply to {message['text']!r} within {timeout} s; calls: {self.calls[-10:]}")
        return self.replies_to(message)

    # The server side.

    def _as_message(self, item: Sent | dict) -> dict:
        if isinstance(item, dict):
            return item
        return {"message_id": item.message_id, "date": int(time.time()), "chat": {"id": item.chat_id, "type": "group"},
                "from": self.bot, "text": item.text}

    def file(self, path: str) -> tuple[int, bytes]:
        """A download of a file getFile named."""
        content = self.files.get(path.removeprefix("documents/"))
        return (200, content) if content is not None else (404, b"Not Found")

    def handle(self, token: str, method: str, params: dict) -> tuple[int, dict]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        self.calls.append(method)
        self.timed_calls.append((method, time.monotonic()))
        faults = self._faults.get(method)
        if faults:
            kind, value, retry_after = faults[0]
            if kind != "missing":
                faults.popleft()
            if kind == "stall":
                time.sleep(value)
                return 0, {}
            if value == 429:
                description = f"Too Many Requests: retry after {retry_after}"
                return 429, {"ok": False, "error_code": 429, "description": description,
                             "parameters": {"retry_after": retry_after}}
            description = "Internal Server Error" if value >= 500 else "Not Found"
            return value, {"ok": False, "error_code": value, "description": description}
        handler = getattr(self, "_" + method, None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        return handler(params)

    def _getMe(self, params: dict) -> tuple[int, dict]:
        return 200, {"ok": True, "result": self.bot}

    def _getUpdates(self, params: dict) -> tuple[int, dict]:
        offset = int(params.get("offset", 0))
        deadline = time.monotonic() + float(params.get("timeout", 0))
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            batch = self._updates[: int(params.get("limit", 100))]
        return 200, {"ok": True, "result": batch}

    def _sendMessage(self, params: dict) -> tuple[int, dict]:
        html = str(params.get("text", ""))
        shown, refusal = _check_message(html, params.get("parse_mode"), params.get("reply_markup"))
        if refusal:
            return _bad_request(refusal)
        chat_id = int(params["chat_id"])
        reply = params.get("reply_parameters")
        reply_to = int(reply["message_id"]) if reply else params.get("reply_to_message_id")
        thread_id = int(params["message_thread_id"]) if params.get("message_thread_id") else None
        sent = Sent(next(self._ids), chat_id, html, shown, int(reply_to) if reply_to else None, thread_id,
                    markup=params.get("reply_markup"))
        with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        result = {"message_id": sent.message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                  "from": self.bot, "text": shown.text}
        if thread_id:
            result["message_thread_id"] = thread_id
        return 200, {"ok": True, "result": result}

    def _editMessageText(self, params: dict) -> tuple[int, dict]:
        html = str(params.get("text", ""))
        shown, refusal = _check_message(html, params.get("parse_mode"), params.get("reply_markup"))
        if refusal:
            return _bad_request(refusal)
        inline_id = params.get("inline_message_id")
        with self._changed:
            if inline_id:
                target = next((s for s in self.sent if s.inline_message_id == inline_id), None)
            else:
                chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
                target = next((s for s in self.sent if (s.chat_id, s.message_id) == (chat_id, message_id)), None)
            if target is None:
                return _bad_request("message to edit not found")
            if (target.html, target.markup) == (html, params.get("reply_markup")):
                return _bad_request("message is not modified: specified new message content and reply markup are "
                                    "exactly the same")
            target.html, target.shown, target.markup = html, shown, params.get("reply_markup")
            target.edits += 1
            self._changed.notify_all()
        if inline_id:
            return 200, {"ok": True, "result": True}
        return 200, {"ok": True, "result": {"message_id": target.message_id, "date": int(time.time()),
                                            "chat": {"id": target.chat_id, "type": "private"}, "from": self.bot,
                                            "text": shown.text, "edit_date": int(time.time())}}

    def _answerCallbackQuery(self, params: dict) -> tuple[int, dict]:
        with self._changed:
            self.callback_answers[str(params["callback_query_id"])] = params
            self._changed.notify_all()
        return 200, {"ok": True, "result": True}

    def _answerInlineQuery(self, params: dict) -> tuple[int, dict]:
        results = params.get("results") or []
        if len(results) > 50 or len({r["id"] for r in results}) != len(results):
            return _bad_request("RESULTS_TOO_MUCH or duplicate id")
        for result in results:
            content = result["input_message_content"]
            _, refusal = _check_message(content["message_text"], content.get("parse_mode"), result.get("reply_markup"))
            if refusal or not result.get("title"):
                return _bad_request(refusal or "no title")
        with self._changed:
            self.inline_answers[str(params["inline_query_id"])] = params
            self._changed.notify_all()
        return 200, {"ok": True, "result": True}

    def _getFile(self, params: dict) -> tuple[int, dict]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return _bad_request("invalid file_id")
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": "u" + file_id,
                                            "file_size": len(self.files[file_id]),
                                            "file_path": self.file_paths.get(file_id, f"documents/{file_id}")}}

    def _sendChatAction(self, params: dict) -> tuple[int, dict]:
        return 200, {"ok": True, "result": True}

    def _setMyCommands(self, params: dict) -> tuple[int, dict]:
        key = (params.get("scope", {}).get("type", "default"), params.get("language_code"))
        self.commands[key] = {c["command"]: c["description"] for c in params["commands"]}
        return 200, {"ok": True, "result": True}

    def _deleteWebhook(self, params: dict) -> tuple[int, dict]:
        self.webhook = None
        return 200, {"ok": True, "result": True}

    def _setWebhook(self, params: dict) -> tuple[int, dict]:
        self.webhook = params
        return 200, {"ok": True, "result": True}


def _bad_request(description: str) -> tuple[int, dict]:
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def _user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}


def _check_message(html: str, parse_mode: str | None, markup: dict | None) -> tuple[Shown, str | None]:
    """What a message shows, and why Telegram would refuse it (None if it would not)."""
    try:
        shown = parse_html(html) if parse_mode == "HTML" else Shown(html, [], [])
    except ValueError as error:
        return Shown("", [], []), f"can't parse entities: {error}"
    if not shown.text.strip():
        return shown, "message text is empty"
    if _u16(shown.text) > 4096:
        return shown, "message is too long"
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                return shown, "BUTTON_DATA_INVALID"
    return shown, None


def user_message(
    message_id: int,
    chat_id: int,
    text: str,
    chat_type: str = "private",
    user_id: int | None = None,
    reply_to: dict | None = None,
    thread_id: int | None = None,
    anonymous: bool = False,
) -> dict:
    """A user's text message as the Bot API delivers it, with the entities Telegram would add; anonymous: an
    anonymous group admin's, which Telegram sends from one shared bot account on behalf of the chat."""
    user_id = user_id if user_id is not None else abs(chat_id)
    chat = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = f"group {chat_id}"
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
        "text": text,
    }
    if anonymous:
        message["from"] = {"id": ANONYMOUS_ADMIN, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
        message["sender_chat"] = chat
    entities = _entities(text)
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    return message


class _QuietServer(ThreadingHTTPServer):
    """Serves each connection in a thread; a client hanging up (as a stopping bot does) is not an error."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(api: FakeBotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def do_GET(self) -> None:  # noqa: N802
            download = re.fullmatch(r"/file/bot([^/]+)/(.+)", unquote(self.path))
            if download:
                status, content = api.file(download.group(2)) if download.group(1) == api.token else (401, b"")
                self.send_response(status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return
            self._serve(b"")

        def _serve(self, body: bytes) -> None:
            match = re.fullmatch(r"/bot([^/]+)/(\w+)", self.path.split("?")[0])
            if not match:
                return self._write(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            status, payload = api.handle(match.group(1), match.group(2), _params(self.headers, body))
            if status == 0:
                self.close_connection = True
                return None
            return self._write(status, payload)

        def _write(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, *args) -> None:
            pass

    return Handler


def _params(headers, body: bytes) -> dict:
    """Form or JSON parameters; values that are JSON (objects, numbers) decoded as the Bot API does."""
    if not body:
        return {}
    if headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(body)
    params = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        try:
            params[key] = json.loads(value) if value[:1] in "{[" or value in ("true", "false") else value
        except json.JSONDecodeError:
            params[key] = value
    return params


def _entities(text: str) -> list[dict]:
    """The entities Telegram adds to a typed message: a leading bot command and @mentions (UTF-16 offsets)."""
    found = []
    command = re.match(r"/\w+(@\w+)?", text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": _u16(command.group())})
    for mention in re.finditer(r"(?<!\w)@\w{5,32}", text):
        found.append({"type": "mention", "offset": _u16(text[: mention.start()]), "length": _u16(mention.group())})
    return found


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _TelegramHtml(HTMLParser):
    """Telegram's HTML rules: known tags only, properly nested, entities of its short list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.bold: list[str] = []
        self.quotes: list[str] = []
        self._starts: list[int] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ValueError(f'unsupported start tag "{tag}"')
        for name, _ in attrs:
            if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
                raise ValueError(f'unsupported attribute "{name}" of tag "{tag}"')
        self.stack.append(tag)
        self._starts.append(len("".join(self.text)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise ValueError(f'unexpected end tag "{tag}"')
        self.stack.pop()
        inner = "".join(self.text)[self._starts.pop() :]
        if tag == "b":
            self.bold.append(inner)
        elif tag == "blockquote":
            self.quotes.append(inner)

    def handle_data(self, data):
        if "<" in data or ">" in data:
            raise ValueError("unescaped < or >")
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ("lt", "gt", "amp", "quot"):
            raise ValueError(f"unsupported entity &{name};")
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name):
        self.text.append(chr(int(name[1:], 16) if name.lower().startswith("x") else int(name)))


def parse_html(html: str) -> Shown:
    """What an HTML message shows; ValueError where Telegram would refuse it."""
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", html):
        raise ValueError("a bare & must be written &amp;")
    parser = _TelegramHtml()
    parser.feed(html)
    parser.close()
    if parser.stack:
        raise ValueError(f'unclosed tag "{parser.stack[-1]}"')
    return Shown("".join(parser.text), parser.bold, parser.quotes)
