"""Pooling of hidden states, and of vectors a backend pooled itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiss.embedding.backends import pool
from aiss.embedding.model import ModelInfo, Pooling


def info(pooling: Pooling) -> ModelInfo:
    return ModelInfo("m", Path("."), None, pooling, True, "", 4, 8, {})


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_pooled_by_the_backend_equals_pooled_here(pooling: Pooling) -> None:
    rng = np.random.default_rng(2)
    hidden = rng.standard_normal((3, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=np.int64)
    here = pool(hidden, mask, info(pooling))
    if pooling == "cls":
        ahead = hidden[:, :1, :]
    else:
        weights = mask[..., None].astype(np.float32)
        ahead = (hidden * weights).sum(axis=1, keepdims=True) / weights.sum(axis=1, keepdims=True)
    assert np.allclose(pool(ahead, mask, info(pooling)), here, atol=1e-6)
    assert np.allclose(np.linalg.norm(here, axis=1), 1.0, atol=1e-6)
