"""Settings, read in one place: command-line flags over environment variables over `.env`."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values

from embeddings.encoder import DEFAULT_MODEL
from embeddings.retrieval import RetrievalSettings
from embeddings.store import IndexSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLE = PROJECT_ROOT / "data" / "article.txt"


class ConfigError(ValueError):
    """A setting has a value citebot cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every setting of citebot; each field is also the environment variable CITEBOT_<FIELD>."""

    index_dir: Path = PROJECT_ROOT / "data" / "index"
    model: str = DEFAULT_MODEL
    max_words: int = 80
    top_k: int = 3
    min_confidence: float = RetrievalSettings.min_confidence
    log_level: str = "WARNING"

    def index_settings(self) -> IndexSettings:
        """The settings that decide what an index holds."""
        return IndexSettings(self.model, self.max_words)

    def retrieval_settings(self) -> RetrievalSettings:
        """The settings that decide how answers are picked."""
        return RetrievalSettings(min_confidence=self.min_confidence)


def load_settings(env_file: Path | None = None, **flags: object) -> Settings:
    """Merge `.env` (or env_file), the environment and flags (None means not given) into Settings."""
    env_path = env_file if env_file is not None else Path.cwd() / ".env"
    if env_file is not None and not env_path.is_file():
        raise ConfigError(f"{env_path}: no such settings file")
    layered = {k: v for k, v in dotenv_values(env_path).items() if v is not None} if env_path.is_file() else {}
    layered.update(os.environ)
    values = {}
    for spec in fields(Settings):
        name = f"CITEBOT_{spec.name.upper()}"
        raw = flags.get(spec.name)
        origin = f"--{spec.name.replace('_', '-')}"
        if raw is None and layered.get(name, "").strip():
            raw, origin = layered[name].strip(), name
        if raw is not None:
            values[spec.name] = _convert(spec.name, raw, origin)
    return Settings(**values)


def _convert(name: str, raw: object, origin: str) -> object:
    kind = type(getattr(Settings, name))
    try:
        value = kind(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{origin}={raw!r} is not a valid {kind.__name__}") from error
    if isinstance(value, Path):
        value = value.expanduser()
    if name in ("max_words", "top_k") and value < 1:
        raise ConfigError(f"{origin}={raw!r} must be at least 1")
    if name == "log_level" and str(value).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{origin}={raw!r} must be DEBUG, INFO, WARNING or ERROR")
    return value.upper() if name == "log_level" else value
