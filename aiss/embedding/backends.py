"""Model backends: ONNX Runtime (CPU, or CUDA with onnxruntime-gpu) and torch on CUDA.

A backend runs one padded batch and returns the last hidden state; pooling
and normalisation happen after, the same for every backend. `run` blocks and
is called from a worker thread.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import AissError
from .bert_onnx import export

if TYPE_CHECKING:
    from pathlib import Path

    from .model import ModelInfo

logger = logging.getLogger("aiss.embedding")


class BackendUnavailable(AissError):
    """The configured embedding backend cannot run on this machine."""

    code = "backend_unavailable"


class Backend(Protocol):
    name: str
    device: str

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def onnx_file(info: ModelInfo, cache: Path, *, fp16: bool, int8: bool = False) -> Path:
    """The model's ONNX file, built from its weights into `cache` the first time.

    `aiss models export` writes into the same place, so a variant exported
    ahead of time is found here, as is one beside the model's own files.
    """
    if info.onnx is not None and not (fp16 or int8):
        return info.onnx
    from safetensors.numpy import load_file

    name = "model.fp16.onnx" if fp16 else "model.int8.onnx" if int8 else "model.onnx"
    beside = info.directory / name  # shipped with the model (the image exports one)
    if beside.is_file():
        return beside
    target = cache / info.name.replace("/", "--") / name
    if not target.is_file():
        logger.info("building the ONNX graph of %s", info.name, extra={"path": str(target)})
        weights = load_file(str(info.directory / "model.safetensors"))
        export(info.config, weights, target, fp16=fp16, int8_per_channel=int8)
    return target


class OnnxBackend:
    name = "onnx"

    def __init__(
        self,
        info: ModelInfo,
        cache: Path,
        *,
        gpu: bool,
        fp16: bool,
        threads: int,
        int8: bool = False,
    ) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if gpu and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        elif gpu:
            logger.warning("USE_GPU is set but onnxruntime has no CUDA provider; using the CPU")
        self.device = "cuda" if providers[0].startswith("CUDA") else "cpu"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning threads starve the event loop and other models on few cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        on_gpu = self.device == "cuda"
        path = onnx_file(info, cache, fp16=fp16 and on_gpu, int8=int8 and not on_gpu)
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self._inputs = {i.name for i in self.session.get_inputs()}

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        return np.asarray(self.session.run(["last_hidden_state"], feed)[0], dtype=np.float32)


class TorchBackend:
    """transformers on CUDA, fp16 by default: for hosts with torch and a GPU."""

    name = "torch"

    def __init__(self, info: ModelInfo, *, fp16: bool, random_weights: bool = False) -> None:
        if importlib.util.find_spec("torch") is None:
            raise BackendUnavailable("the torch backend needs torch with CUDA installed")
        if importlib.util.find_spec("transformers") is None:
            raise BackendUnavailable("the torch backend needs pip install 'aiss[torch]'")
        import torch
        from transformers import AutoConfig, AutoModel

        if not torch.cuda.is_available():
            raise BackendUnavailable("the torch backend needs a CUDA device")
        dtype = torch.float16 if fp16 else torch.float32
        if random_weights:
            # For speed measurements only: the architecture with untrained weights.
            model = AutoModel.from_config(AutoConfig.for_model(**info.config))  # type: ignore[no-untyped-call]
        else:
            model = AutoModel.from_pretrained(str(info.directory), local_files_only=True)
        self._torch = torch
        self.model = model.to("cuda", dtype=dtype).eval()
        self.device = "cuda"
        self.pooling = info.pooling

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Pooled on the GPU: one position a row comes back, not the whole sequence
        (256 x 128 x 1024 floats would take longer to copy than to compute)."""
        torch = self._torch
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids).to("cuda", non_blocking=True)
            mask = torch.from_numpy(attention_mask).to("cuda", non_blocking=True)
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, :1, :].float()
            else:
                weights = mask.unsqueeze(-1).float()
                total = (hidden.float() * weights).sum(dim=1, keepdim=True)
                pooled = total / weights.sum(dim=1, keepdim=True).clamp(min=1e-9)
            return np.asarray(pooled.cpu().numpy(), dtype=np.float32)


def choose(
    choice: str,
    info: ModelInfo,
    cache: Path,
    *,
    gpu: bool,
    fp16: bool,
    threads: int,
    int8: bool = False,
) -> Backend:
    """`auto`: torch when asked for a GPU and torch with CUDA (and transformers) is there,
    else ONNX Runtime."""
    if choice == "torch" or (choice == "auto" and gpu and _torch_cuda()):
        return TorchBackend(info, fp16=fp16)
    return OnnxBackend(info, cache, gpu=gpu, fp16=fp16, threads=threads, int8=int8)


def _torch_cuda() -> bool:
    if not all(importlib.util.find_spec(name) for name in ("torch", "transformers")):
        return False
    import torch

    return bool(torch.cuda.is_available())


def pool(hidden: np.ndarray, mask: np.ndarray, info: ModelInfo) -> np.ndarray:
    """Vectors from hidden states; a backend that pooled already returns one position."""
    if info.pooling == "cls" or hidden.shape[1] == 1:
        vectors = hidden[:, 0, :]
    else:
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if info.normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.asarray(vectors, dtype=np.float32)
