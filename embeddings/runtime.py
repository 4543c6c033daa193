"""Open an int8 ONNX model with onnxruntime as citebot runs every model: on the CPU, quietly, and without
the one graph rewrite that slows these models down."""

from __future__ import annotations

from pathlib import Path

# onnxruntime rewrites each "Add, then LayerNormalization" of a BERT into one SkipLayerNormalization, whose
# CPU kernel took 330 µs where the two ops it replaces take 77 (multilingual-e5, batches of 4 SQuAD
# sentences, onnxruntime 1.32). Without the rewrite, side by side in one process on 1,500 SQuAD sentences:
# e5 embeds 298 to 305 a second against 232 to 278, MiniLM 872 to 903 against 763 to 781, and the reranker
# reads a question's 10 sentences in 21.4 ms against 24.2. The vectors are as close to the fp32 model's
# (e5: cosine 0.9964 either way).
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


def open_session(model: Path | bytes, threads: int | None = None, optimized_copy: Path | None = None):
    """An onnxruntime InferenceSession of model (a path or the file's bytes) on the CPU; threads: how many
    each run uses (onnxruntime's choice when None); optimized_copy: where to save the graph as it runs, to
    see what onnxruntime made of it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    if optimized_copy is not None:
        options.optimized_model_filepath = str(optimized_copy)
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(
        source, options, providers=["CPUExecutionProvider"], disabled_optimizers=DISABLED_OPTIMIZERS
    )
