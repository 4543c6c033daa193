"""Export all-MiniLM-L6-v2 to int8 ONNX into embeddings/models/minilm, the embedder citebot ships.

The portable scheme (signed 7-bit weights, per channel) gives the same numbers on every CPU onnxruntime runs
on; see the folder's README for what it costs on the dev sets against this machine's own scheme.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from embeddings.encoder import BUNDLED_EMBEDDER, DEFAULT_MODEL, ONNX_CONFIG, PORTABLE_SCHEME, export_onnx

MODEL_FILE = "model-int8.onnx"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        export = export_onnx(DEFAULT_MODEL, Path(scratch) / "export", scheme=PORTABLE_SCHEME)
        config = json.loads((export / ONNX_CONFIG).read_text(encoding="utf-8"))
        shutil.copyfile(export / config["file"], BUNDLED_EMBEDDER / MODEL_FILE)
        shutil.copyfile(export / "tokenizer.json", BUNDLED_EMBEDDER / "tokenizer.json")
    target = BUNDLED_EMBEDDER / ONNX_CONFIG
    bundled = json.loads(target.read_text(encoding="utf-8"))
    data = (BUNDLED_EMBEDDER / MODEL_FILE).read_bytes()
    bundled.update(file=MODEL_FILE, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    target.write_text(json.dumps(bundled, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{BUNDLED_EMBEDDER / MODEL_FILE}: {len(data):,} bytes, sha256 {bundled['sha256']}")


if __name__ == "__main__":
    main()
