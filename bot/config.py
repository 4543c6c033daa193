"""Settings, read in one place: command-line flags over environment variables over `.env`."""

from __future__ import annotations

import os
import re
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from embeddings import (
    BACKENDS,
    E5_MODEL,
    VECTOR_INDEXES,
    ConfigError,
    IndexSettings,
    IndexStore,
    MilvusStore,
    RetrievalSettings,
    shown_url,
)

__all__ = ["DEFAULT_ARTICLE", "TELEGRAM_API", "ConfigError", "Settings", "check_telegram", "env_name", "load_settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A checkout keeps its index and state in its own data/; an installed wheel never writes into site-packages.
DATA_DIR = (
    PROJECT_ROOT / "data"
    if (PROJECT_ROOT / "pyproject.toml").is_file()
    else Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "citebot"
)
DEFAULT_ARTICLE = PROJECT_ROOT / "data" / "article.txt"
TELEGRAM_API = "https://api.telegram.org/bot"
STORES = ("faiss", "milvus")
# A token is the bot's numeric id, a colon and a 35-character secret; allow some slack in the secret.
TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _env(name: str, default: object, secret: bool = False):
    """A field read from the environment variable name instead of CITEBOT_<FIELD>."""
    return field(default=default, repr=not secret, metadata={"env": name})


@dataclass(frozen=True)
class Settings:
    """Every setting of citebot; each field is the environment variable CITEBOT_<FIELD> unless it names another."""

    index_dir: Path = DATA_DIR / "index"
    # multilingual-e5-small: questions and texts in about 100 languages, and English as well as MiniLM
    # (README, Language). sentence-transformers/all-MiniLM-L6-v2 is the English-only choice.
    model: str = E5_MODEL
    backend: str = "onnx"
    cache_dir: Path = DATA_DIR / "models"
    # 90 rather than 80: every dev set's first passage held the answer more often (XQuAD Hindi and Arabic
    # most, whose passages of 80 words held less than a paragraph), the bold sentence as often; 100 did
    # worse on chat-style questions. Quotes grew from 65 to 74 words on average (README, How it answers).
    max_words: int = 90
    vector_index: str = "auto"
    top_k: int = 3
    # None: the model's own (RetrievalSettings.for_model).
    min_confidence: float | None = None
    rerank: bool = True
    store: str = "faiss"
    milvus_uri: str = str(DATA_DIR / "milvus.db")
    milvus_token: str = field(default="", repr=False)
    milvus_collection: str = "citebot"
    milvus_timeout: float = 10.0
    log_level: str = "WARNING"
    # Web pages on this machine or its network (loopback, private, link-local addresses) may be indexed.
    allow_private_addresses: bool = False
    telegram_bot_token: str = _env("TELEGRAM_BOT_TOKEN", "", secret=True)
    telegram_api_base_url: str = _env("TELEGRAM_API_BASE_URL", TELEGRAM_API)
    telegram_allowed_chats: tuple[int, ...] = ()
    telegram_admins: tuple[int, ...] = ()
    telegram_state_dir: Path = DATA_DIR / "telegram"
    telegram_repeat_window: float = 600.0
    telegram_inline_cache_time: int = 60
    telegram_max_upload_mb: float = 20.0
    telegram_questions_per_minute: int = 10
    telegram_group_questions_per_minute: int = 20
    telegram_poll_interval: float = 0.0
    telegram_poll_timeout: float = 30.0
    telegram_request_timeout: float = 10.0
    telegram_webhook_url: str = ""
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_webhook_secret: str = field(default="", repr=False)

    def index_settings(self) -> IndexSettings:
        """The settings that decide what an index holds."""
        return IndexSettings(self.model, self.max_words, self.backend, self.vector_index)

    def index_store(self) -> Path | IndexStore:
        """Where the index is kept: the index directory (FAISS), or the Milvus collection."""
        if self.store == "milvus":
            return MilvusStore(self.milvus_uri, self.milvus_collection, self.milvus_token, self.milvus_timeout)
        return self.index_dir

    def retrieval_settings(self) -> RetrievalSettings:
        """The settings that decide how answers are picked."""
        return RetrievalSettings.for_model(self.model, self.min_confidence, self.rerank)


def env_name(spec: Field) -> str:
    """The environment variable of a Settings field."""
    return spec.metadata.get("env", f"CITEBOT_{spec.name.upper()}")


def load_settings(env_file: Path | None = None, **flags: object) -> Settings:
    """Merge `.env` (or env_file), the environment and flags (None means not given) into Settings."""
    env_path = env_file if env_file is not None else Path.cwd() / ".env"
    if env_file is not None and not env_path.is_file():
        raise ConfigError(f"{env_path}: no such settings file")
    layered = {k: v for k, v in dotenv_values(env_path).items() if v is not None} if env_path.is_file() else {}
    layered.update(os.environ)
    values = {}
    for spec in fields(Settings):
        name = env_name(spec)
        raw = flags.get(spec.name)
        origin = f"--{spec.name.replace('_', '-')}"
        if raw is None and layered.get(name, "").strip():
            raw, origin = layered[name].strip(), name
        if raw is not None:
            values[spec.name] = _convert(spec, raw, origin)
    return Settings(**values)


def _convert(spec: Field, raw: object, origin: str) -> object:
    name = spec.name
    shown = "(hidden)" if not spec.repr else repr(shown_url(raw) if isinstance(raw, str) else raw)
    try:
        if spec.type == "bool":
            value = _boolean(raw)
        elif spec.type == "float | None":
            value = float(raw)
        elif spec.type == "tuple[int, ...]":
            value = tuple(int(part) for part in str(raw).replace(";", ",").split(",") if part.strip())
        else:
            value = type(spec.default)(raw)
    except (TypeError, ValueError) as error:
        ids = "user ids" if name == "telegram_admins" else "chat ids"
        expected = f"comma-separated list of {ids}" if spec.type == "tuple[int, ...]" else spec.type
        raise ConfigError(f"{origin}={shown} is not a valid {expected}") from error
    if isinstance(value, Path):
        value = value.expanduser()
    at_least_one = ("max_words", "top_k", "telegram_questions_per_minute", "telegram_group_questions_per_minute")
    if name in at_least_one and value < 1:
        raise ConfigError(f"{origin}={shown} must be at least 1")
    if name.startswith("telegram_") and isinstance(value, (int, float)) and value < 0:
        raise ConfigError(f"{origin}={shown} must not be negative")
    if name == "telegram_webhook_port" and not 1 <= value <= 65535:
        raise ConfigError(f"{origin}={shown} is not a port number")
    if name == "vector_index" and value not in VECTOR_INDEXES:
        raise ConfigError(f"{origin}={shown} must be one of {', '.join(VECTOR_INDEXES)}")
    if name == "store" and value not in STORES:
        raise ConfigError(f"{origin}={shown} must be one of {', '.join(STORES)}")
    if name == "milvus_collection" and (not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", value) or "__" in value):
        raise ConfigError(f"{origin}={shown} must be letters, digits and single underscores, not starting with a digit")
    if name == "milvus_timeout" and value <= 0:
        raise ConfigError(f"{origin}={shown} must be more than 0 seconds")
    if name == "milvus_uri" and not (value.endswith(".db") or urlsplit(value).scheme in ("http", "https", "tcp")):
        raise ConfigError(f"{origin}={shown} must be a Milvus Lite file (ending in .db) or http(s)://host:port")
    if name == "backend" and value not in BACKENDS:
        raise ConfigError(f"{origin}={shown} must be one of {', '.join(BACKENDS)}")
    if name == "log_level" and str(value).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{origin}={shown} must be DEBUG, INFO, WARNING or ERROR")
    return value.upper() if name == "log_level" else value


def _boolean(raw: object) -> bool:
    """A switch as people write it: 1/0, on/off, true/false, yes/no."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise ValueError(word)


def check_telegram(settings: Settings) -> None:
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
