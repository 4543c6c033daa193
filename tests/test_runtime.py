"""The bundled models as onnxruntime runs them: without the graph rewrite that slows them down."""

from __future__ import annotations

import onnxruntime
import pytest

from embeddings.encoder import BUNDLED_E5, BUNDLED_EMBEDDER
from embeddings.reranker import RERANKER_DIR
from embeddings.runtime import open_session

MODELS = [BUNDLED_EMBEDDER / "model-int8.onnx", BUNDLED_E5 / "layers-int8.onnx", RERANKER_DIR / "reranker-int8.onnx"]
# An operator's name is stored as a string in each of its nodes.
FUSED = b"SkipLayerNormalization"


@pytest.mark.parametrize("model", MODELS, ids=lambda path: path.parent.name)
def test_no_skip_layer_normalization_in_the_graph_that_runs(model, tmp_path):
    open_session(model, threads=1, optimized_copy=tmp_path / "as-run.onnx")
    as_run = (tmp_path / "as-run.onnx").read_bytes()
    assert FUSED not in as_run
    assert b"LayerNormalization" in as_run

    # The rewrite is one this onnxruntime makes (it ignores names it does not know): left on, it happens.
    options = onnxruntime.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "default.onnx")
    onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    assert FUSED in (tmp_path / "default.onnx").read_bytes()
