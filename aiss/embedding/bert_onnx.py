"""Build an ONNX graph of a BERT-family encoder straight from its safetensors weights.

MiniLM and the BGE models are BERT encoders. Writing their graph here keeps
exporting free of torch: `aiss models export` and the first load of a model
that ships only weights both use it. The graph takes `input_ids`,
`attention_mask` and `token_type_ids` (int64, batch x sequence) and returns
`last_hidden_state` (float32). Weights may be stored as float16 for GPUs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:
    from pathlib import Path

OPSET = 17
ARCHITECTURES = ("bert",)  # the graph below; RoBERTa and XLM-R differ (positions, no types)


class UnsupportedModel(ValueError):
    pass


class _Graph:
    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names = 0

    def name(self, hint: str) -> str:
        self._names += 1
        return f"{hint}_{self._names}"

    def const(self, value: Any, hint: str, dtype: Any = None) -> str:
        name = self.name(hint)
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, hint: str = "", **attrs: Any) -> str:
        out = self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, hint: str) -> str:
        # HF stores (out, in); MatMul wants (in, out).
        w = self.const(weight.T, f"{hint}_w")
        return self.op("Add", self.op("MatMul", x, w), self.const(bias, f"{hint}_b"), hint=hint)

    def layer_norm(self, x: str, scale: np.ndarray, bias: np.ndarray, eps: float, hint: str) -> str:
        return self.op(
            "LayerNormalization",
            x,
            self.const(scale, f"{hint}_g"),
            self.const(bias, f"{hint}_b"),
            axis=-1,
            epsilon=eps,
            hint=hint,
        )


def build(
    config: dict[str, Any], weights: dict[str, np.ndarray], *, fp16: bool = False
) -> onnx.ModelProto:
    """The ONNX model of a BERT encoder described by its HF `config` and `weights`."""
    kind = config.get("model_type")
    if kind not in ARCHITECTURES:
        raise UnsupportedModel(
            f"model_type {kind!r} is not a BERT encoder: its graph is not built here;"
            " export it to ONNX with optimum (pip install 'aiss[export]')"
        )
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return weights[prefix + name]

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    if config.get("hidden_act", "gelu") not in ("gelu", "gelu_python"):
        raise ValueError(f"unsupported activation {config.get('hidden_act')!r}")
    g = _Graph(np.float16 if fp16 else np.float32)
    elem = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT

    # Embeddings: words + positions + token types, then LayerNorm.
    words = g.op("Gather", g.const(w("embeddings.word_embeddings.weight"), "words"), "input_ids")
    length = g.op("Gather", g.op("Shape", "input_ids"), g.const(1, "one", np.int64), axis=0)
    positions = g.op("Range", g.const(0, "zero", np.int64), length, g.const(1, "step", np.int64))
    pos = g.op("Gather", g.const(w("embeddings.position_embeddings.weight"), "pos"), positions)
    types = g.op(
        "Gather", g.const(w("embeddings.token_type_embeddings.weight"), "types"), "token_type_ids"
    )
    x = g.op("Add", g.op("Add", words, pos), types)
    x = g.layer_norm(
        x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"), eps, "emb_ln"
    )

    # Padding positions get a large negative score before the softmax.
    mask = g.op("Cast", "attention_mask", to=elem)
    mask = g.op("Mul", g.op("Sub", g.const(1.0, "one_f"), mask), g.const(-10000.0, "neg"))
    mask = g.op("Unsqueeze", mask, g.const([1, 2], "axes", np.int64))
    split = g.const([0, 0, heads, head], "split_shape", np.int64)
    merge = g.const([0, 0, hidden], "merge_shape", np.int64)
    scale = g.const(1.0 / math.sqrt(head), "scale")

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."

        def proj(name: str, x: str = x, p: str = p, i: int = i) -> str:
            y = g.linear(
                x,
                w(f"{p}attention.self.{name}.weight"),
                w(f"{p}attention.self.{name}.bias"),
                f"l{i}{name}",
            )
            return g.op("Reshape", y, split)

        q = g.op("Transpose", proj("query"), perm=[0, 2, 1, 3])
        k = g.op("Transpose", proj("key"), perm=[0, 2, 3, 1])
        v = g.op("Transpose", proj("value"), perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), mask)
        probs = g.op("Softmax", scores, axis=-1)
        context = g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3])
        context = g.op("Reshape", context, merge)
        attended = g.linear(
            context,
            w(f"{p}attention.output.dense.weight"),
            w(f"{p}attention.output.dense.bias"),
            f"l{i}ao",
        )
        x = g.layer_norm(
            g.op("Add", attended, x),
            w(f"{p}attention.output.LayerNorm.weight"),
            w(f"{p}attention.output.LayerNorm.bias"),
            eps,
            f"l{i}aln",
        )
        inner = g.linear(
            x, w(f"{p}intermediate.dense.weight"), w(f"{p}intermediate.dense.bias"), f"l{i}in"
        )
        # GELU, the exact (erf) form BERT uses.
        gelu = g.op(
            "Mul",
            g.op("Mul", inner, g.const(0.5, "half")),
            g.op(
                "Add",
                g.const(1.0, "one_g"),
                g.op("Erf", g.op("Div", inner, g.const(math.sqrt(2.0), "sqrt2"))),
            ),
        )
        out = g.linear(gelu, w(f"{p}output.dense.weight"), w(f"{p}output.dense.bias"), f"l{i}out")
        x = g.layer_norm(
            g.op("Add", out, x),
            w(f"{p}output.LayerNorm.weight"),
            w(f"{p}output.LayerNorm.bias"),
            eps,
            f"l{i}oln",
        )

    g.nodes.append(helper.make_node("Cast", [x], ["last_hidden_state"], to=TensorProto.FLOAT))
    ints = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]
    )
    graph = helper.make_graph(g.nodes, "bert", ints, [output], g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def export(
    config: dict[str, Any],
    weights: dict[str, np.ndarray],
    target: Path,
    *,
    fp16: bool = False,
    int8_per_channel: bool = False,
) -> Path:
    """Write the model to `target`, optionally with int8 weights quantised per channel."""
    model = build(config, weights, fp16=fp16)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    onnx.save(model, str(partial))
    if int8_per_channel:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per channel: per-tensor int8 loses too much (mean cosine 0.95).
        quantize_dynamic(partial, target, per_channel=True, weight_type=QuantType.QInt8)
        partial.unlink()
    else:
        partial.replace(target)
    return target
