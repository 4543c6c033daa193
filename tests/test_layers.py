"""The house rules, read from the source: which package may import what."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name (relative imports are not used here)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "embeddings"}
    return found


def violations(folder: Path) -> list[str]:
    """The rules broken by the bot/ and embeddings/ packages in folder."""
    engine_modules = {p.stem for p in (folder / "embeddings").glob("*.py")}
    broken = []
    for path in sorted((folder / "bot").glob("*.py")):
        for name in imports(path):
            top, _, rest = name.partition(".")
            if top == "embeddings" and rest.split(".")[0] in engine_modules:
                broken.append(f"bot/{path.name} imports {name}: front ends import only `from embeddings import`")
            if top == "telegram" and not path.name.startswith("telegram_"):
                broken.append(f"bot/{path.name} imports {name}: only bot/telegram_*.py speak to Telegram")
            if top in ("faiss", "pymilvus"):
                broken.append(f"bot/{path.name} imports {name}: it touches a vector store, which only embeddings/ may")
    for path in sorted((folder / "embeddings").glob("*.py")):
        for name in imports(path):
            if name.split(".")[0] in ("bot", "click", "telegram"):
                broken.append(f"embeddings/{path.name} imports {name}: the engine knows no front end")
    return broken


def test_the_house_keeps_its_rules():
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    "where, line, rule",
    [
        ("bot/render.py", "from embeddings.store import Index", "front ends import only"),
        ("bot/cards.py", "from telegram import Bot", "only bot/telegram_*.py"),
        ("embeddings/engine.py", "import click", "knows no front end"),
        ("embeddings/store.py", "from bot.config import Settings", "knows no front end"),
        ("bot/terminal.py", "import faiss", "touches a vector store"),
    ],
)
def test_each_rule_catches_a_break(tmp_path, where, line, rule):
    for package in ("bot", "embeddings"):
        (tmp_path / package).mkdir()
        for path in (ROOT / package).glob("*.py"):
            (tmp_path / package / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / where
    broken.write_text(line + "\n" + broken.read_text(encoding="utf-8"), encoding="utf-8")
    assert any(rule in v for v in violations(tmp_path))
