"""What installing citebot brings: no torch to answer questions, the models inside the package, and one
line naming the extra where a command needs what the default install leaves out."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

from embeddings.encoder import BUNDLED_EMBEDDER, DEFAULT_MODEL, ONNX_CONFIG

ROOT = Path(__file__).resolve().parents[1]
HEAVY = re.compile(r"torch|triton|nvidia-.*|cuda-.*|sentence-transformers|transformers")


def closure(requirements: list[str]) -> set[str]:
    """The distributions requirements bring, read from the installed packages' own metadata."""
    seen: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        key = name + "[" + ",".join(sorted(requirement.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            wanted = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: its name is all that is known, and it was checked
        for line in wanted:
            child = Requirement(line)
            marker = child.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in requirement.extras or ("",)):
                child.marker = None
                pending.append(child)
    return {key.partition("[")[0] for key in seen}


def test_the_default_install_brings_no_torch_and_no_cuda():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    brought = closure(project["dependencies"])
    assert "onnxruntime" in brought and "faiss-cpu" in brought  # the walk reached the dependencies
    assert sorted(n for n in brought if HEAVY.fullmatch(n)) == []
    assert "torch" in closure(project["optional-dependencies"]["models"])  # what would fail if it crept back


def test_the_wheel_holds_every_file_of_citebot():
    # Modules, the models and the translations: a folder left out is missing from the wheel, or (data only)
    # makes setuptools warn at every build that it would be; a data file its package-data does not name is
    # left out silently.
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    files = [path.relative_to(ROOT) for top in ("bot", "embeddings") for path in (ROOT / top).rglob("*")
             if path.is_file() and "__pycache__" not in path.parts]
    folders = {".".join(path.parent.parts) for path in files}
    assert folders <= set(setuptools["packages"]), f"packages leave out {sorted(folders - set(setuptools['packages']))}"
    data = setuptools["package-data"]
    unnamed = [str(path) for path in files if path.suffix != ".py" and not any(
        fnmatch.fnmatch(path.name, pattern)
        for pattern in data.get(".".join(path.parent.parts), []) + data.get("*", []))]
    assert unnamed == [], f"package-data names none of {unnamed}"


def test_the_bundled_embedder_is_the_file_its_config_names():
    config = json.loads((BUNDLED_EMBEDDER / ONNX_CONFIG).read_text(encoding="utf-8"))
    data = (BUNDLED_EMBEDDER / config["file"]).read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (config["sha256"], config["bytes"])
    assert config["model"] == DEFAULT_MODEL and "Apache-2.0" in config["license"]


def test_the_bundled_embedder_agrees_with_the_model_it_was_made_from(real_embedder):
    pytest.importorskip("sentence_transformers", reason="the models extra (torch) is not installed")
    from embeddings.encoder import SentenceTransformerEmbedder

    sentences = ["When does the New START treaty expire?", "The treaty limits deployed nuclear warheads.",
                 "Bake the banana bread for 50 to 60 minutes."]
    bundled, reference = real_embedder.encode(sentences), SentenceTransformerEmbedder().encode(sentences)
    assert np.min(np.sum(bundled * reference, axis=1)) > 0.98
    assert np.argmax(bundled[1:] @ bundled[0]) == np.argmax(reference[1:] @ reference[0])


def test_a_command_that_needs_the_models_extra_says_so_in_one_line(tmp_path):
    # As on a machine without the extra: the import of sentence_transformers fails.
    probe = (
        "import sys\n"
        "sys.modules['sentence_transformers'] = None\n"
        "from bot.cli import main\n"
        "sys.argv = ['citebot', 'index', sys.argv[1], '--index', sys.argv[2]]\n"
        "main()\n"
    )
    (tmp_path / "notes.txt").write_text("The ferry leaves at nine.\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "notes.txt"), str(tmp_path / "index")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"CITEBOT_BACKEND": "torch", "CITEBOT_MODEL": DEFAULT_MODEL, "PATH": ""},
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'citebot[models]'" in lines[0], result.stderr
