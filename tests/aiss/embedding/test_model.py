"""Finding models: bundled, a local directory, the Hugging Face cache; export and variants."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from aiss.embedding.backends import OnnxBackend, pool
from aiss.embedding.model import BGE_QUERY_PREFIX, ModelNotFound, describe

if TYPE_CHECKING:
    from pathlib import Path

TEXTS = ["the actor restarts", "vectors live in qdrant", "a much longer sentence " * 5]


def bundled(tmp_path: Path) -> Path:
    return describe("all-MiniLM-L6-v2", tmp_path).directory


def embed(backend: OnnxBackend, directory: Path, info: object) -> np.ndarray:
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    vectors = []
    for encoding in tokenizer.encode_batch(TEXTS):
        ids = np.array([encoding.ids])
        mask = np.ones_like(ids)
        vectors.append(pool(backend.run(ids, mask), mask, info)[0])  # type: ignore[arg-type]
    return np.array(vectors)


def test_a_local_directory_and_the_hf_cache_are_found(tmp_path: Path) -> None:
    source = bundled(tmp_path)
    local = tmp_path / "my-model"
    shutil.copytree(source, local)
    assert describe(str(local), tmp_path).directory == local
    snapshot = tmp_path / "hub" / "models--BAAI--bge-small-en-v1.5" / "snapshots" / "abc123"
    shutil.copytree(source, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    (snapshot / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    info = describe("BAAI/bge-small-en-v1.5", tmp_path / "hub")
    assert info.directory == snapshot
    assert info.pooling == "cls" and info.normalize
    assert info.query_prefix == BGE_QUERY_PREFIX
    with pytest.raises(ModelNotFound, match="not in the Hugging Face cache"):
        describe("BAAI/bge-large-en-v1.5", tmp_path / "hub")


def test_int8_per_channel_stays_close_to_full_precision(tmp_path: Path) -> None:
    info = describe("all-MiniLM-L6-v2", tmp_path)
    full = OnnxBackend(info, tmp_path / "models", gpu=False, fp16=False, threads=1)
    int8 = OnnxBackend(info, tmp_path / "models", gpu=False, fp16=False, threads=1, int8=True)
    cosines = (embed(full, info.directory, info) * embed(int8, info.directory, info)).sum(axis=1)
    assert cosines.min() >= 0.98, cosines
    assert (tmp_path / "models" / "all-MiniLM-L6-v2" / "model.int8.onnx").is_file()
    shipped = describe("all-MiniLM-L6-v2-int8", tmp_path)
    assert shipped.onnx is not None and shipped.onnx.name == "model.onnx"
    assert ort.InferenceSession(str(shipped.onnx)).get_outputs()[0].name == "last_hidden_state"


def test_models_export_and_list_on_the_command_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AISS_DATA_DIR": str(tmp_path)}

    def aiss(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aiss", "models", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    exported = aiss("export", "all-MiniLM-L6-v2", "--fp16")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout.splitlines()[-1])["dimension"] == 384
    listed = aiss("list")
    assert "all-MiniLM-L6-v2\tmodel.fp16.onnx" in listed.stdout
    missing = aiss("export", "no/such-model")
    assert missing.returncode == 1 and "not in the Hugging Face cache" in missing.stderr


def test_weights_of_another_architecture_get_a_clear_error_not_a_graph(tmp_path: Path) -> None:
    """RoBERTa's weights fit the BERT graph's shapes but mean something else there."""
    from safetensors.numpy import load_file

    from aiss.embedding.bert_onnx import UnsupportedModel, build

    info = describe(str(bundled(tmp_path)), tmp_path)
    weights = load_file(str(info.directory / "model.safetensors"))
    assert build(info.config, weights).graph.node  # BERT: built
    for kind in ("roberta", "xlm-roberta", None):
        with pytest.raises(UnsupportedModel, match="is not a BERT encoder"):
            build({**info.config, "model_type": kind}, weights)
