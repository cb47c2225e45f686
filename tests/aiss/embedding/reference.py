"""An independent BERT forward pass in numpy (float64), for checking the backends."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * g + b)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.vectorize(math.erf)(x), dtype=np.float64)


def bert(
    config: dict[str, Any], weights: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Last hidden state for one padded batch."""
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype.kind == "f"}
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    size = hidden // heads
    eps = config.get("layer_norm_eps", 1e-12)
    batch, length = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
        + w["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def dense(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[f"{p}{name}.weight"].T + w[f"{p}{name}.bias"]

        def split(v: np.ndarray) -> np.ndarray:
            return v.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q = split(dense(x, "attention.self.query"))
        k = split(dense(x, "attention.self.key"))
        v = split(dense(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(
            dense(context, "attention.output.dense") + x,
            w[f"{p}attention.output.LayerNorm.weight"],
            w[f"{p}attention.output.LayerNorm.bias"],
            eps,
        )
        inner = dense(x, "intermediate.dense")
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
        x = _layer_norm(
            dense(inner, "output.dense") + x,
            w[f"{p}output.LayerNorm.weight"],
            w[f"{p}output.LayerNorm.bias"],
            eps,
        )
    return x


def embed(
    config: dict[str, Any],
    weights: dict[str, np.ndarray],
    ids: list[list[int]],
    pooling: str,
) -> np.ndarray:
    """Embed each sequence alone (no padding), pooled and normalised."""
    out = []
    for seq in ids:
        arr = np.array([seq])
        hidden = bert(config, weights, arr, np.ones_like(arr, dtype=np.float64))[0]
        vector = hidden[0] if pooling == "cls" else hidden.mean(0)
        out.append(vector / np.linalg.norm(vector))
    return np.array(out)
