"""The house rules, read from the source: which package may import what."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARSERS = ("pypdf", "docx", "trafilatura", "bs4", "charset_normalizer", "lxml", "httpx")


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
    engine_modules |= {p.parent.name for p in (folder / "embeddings").glob("*/__init__.py")}
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
    for path in sorted((folder / "embeddings").rglob("*.py")):
        where = path.relative_to(folder).as_posix()
        reader = path.parent.name == "readers"
        for name in imports(path):
            top = name.split(".")[0]
            if top in ("bot", "click", "telegram"):
                broken.append(f"{where} imports {name}: the engine knows no front end")
            if top in PARSERS and not reader:
                broken.append(f"{where} imports {name}: only embeddings/readers/ parses documents")
            if top in ("faiss", "pymilvus", "onnxruntime", "tokenizers", "torch") and reader:
                broken.append(f"{where} imports {name}: a reader turns bytes into text and touches no model or store")
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
        ("embeddings/retrieval.py", "import pypdf", "only embeddings/readers/ parses"),
        ("embeddings/readers/pdf.py", "import faiss", "touches no model or store"),
    ],
)
def test_each_rule_catches_a_break(tmp_path, where, line, rule):
    for package in ("bot", "embeddings"):
        for path in (ROOT / package).rglob("*.py"):
            copy = tmp_path / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / where
    broken.write_text(line + "\n" + broken.read_text(encoding="utf-8"), encoding="utf-8")
    assert any(rule in v for v in violations(tmp_path))
