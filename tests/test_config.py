"""Settings: flags over the environment over .env, with clear errors."""

from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, env_name, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for spec in fields(Settings):
        monkeypatch.delenv(env_name(spec), raising=False)


def test_defaults():
    assert load_settings() == Settings()


def test_flags_beat_environment_beat_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("CITEBOT_TOP_K=4\nCITEBOT_MAX_WORDS=60\nCITEBOT_INDEX_DIR=~/ix\n")
    assert load_settings().top_k == 4 and load_settings().max_words == 60
    assert load_settings().index_dir == Path.home() / "ix"
    monkeypatch.setenv("CITEBOT_TOP_K", "5")
    assert load_settings().top_k == 5
    assert load_settings(top_k=6).top_k == 6
    assert load_settings(top_k=None).top_k == 5


def test_an_explicit_env_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(tmp_path / "missing.env")


@pytest.mark.parametrize(
    "name, value, message",
    [("CITEBOT_TOP_K", "0", "must be at least 1"), ("CITEBOT_MIN_CONFIDENCE", "high", "not a valid float"),
     ("CITEBOT_LOG_LEVEL", "LOUD", "must be DEBUG"), ("CITEBOT_TELEGRAM_WEBHOOK_PORT", "70000", "not a port"),
     ("CITEBOT_TELEGRAM_ALLOWED_CHATS", "12,abc", "list of chat ids"),
     ("CITEBOT_TELEGRAM_ADMINS", "me", "list of user ids"),
     ("CITEBOT_TELEGRAM_INLINE_CACHE_TIME", "-5", "must not be negative"),
     ("CITEBOT_TELEGRAM_POLL_TIMEOUT", "-1", "must not be negative")],
)
def test_bad_values_are_refused_with_their_name(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}={value!r}.*{message}"):
        load_settings()


def test_every_setting_is_documented_in_env_example():
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    for spec in fields(Settings):
        assert f"# {env_name(spec)}=" in example


def test_telegram_settings_use_their_own_names_and_hide_the_token(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://localhost:8081/bot")
    monkeypatch.setenv("CITEBOT_TELEGRAM_ALLOWED_CHATS", "12, -100345")
    settings = load_settings()
    assert settings.telegram_bot_token == "123:secret" and "secret" not in repr(settings)
    assert settings.telegram_api_base_url == "http://localhost:8081/bot"
    assert settings.telegram_allowed_chats == (12, -100345)

