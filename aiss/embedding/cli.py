"""`aiss models export|list`: prepare embedding models in the model cache, offline."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from ..errors import AissError
from .bert_onnx import export
from .model import describe

if TYPE_CHECKING:
    import argparse

    from ..config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="manage embedding models")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="show the models in the model cache")
    build = actions.add_parser("export", help="build a model's ONNX file into the model cache")
    build.add_argument("model", help="a directory, a cached Hugging Face id, or all-MiniLM-L6-v2")
    build.add_argument("--fp16", action="store_true", help="half-precision weights (for GPUs)")
    build.add_argument(
        "--int8-per-channel", action="store_true", help="int8 weights, quantised per channel"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    cache = settings.data_dir / "models"
    if args.action == "list":
        for directory in sorted(p for p in cache.glob("*") if p.is_dir()):
            for file in sorted(directory.glob("*.onnx")):
                size = file.stat().st_size / 1e6
                print(f"{directory.name.replace('--', '/')}\t{file.name}\t{size:.1f} MB")
        return 0
    try:
        info = describe(args.model, settings.hf_cache)
    except AissError as exc:
        print(f"aiss: {exc.message}", file=sys.stderr)
        return 1
    weights_file = info.directory / "model.safetensors"
    if info.config.get("model_type") != "bert" or not weights_file.is_file():
        print(
            "aiss: only BERT-family models with model.safetensors are exported here;"
            " export others with optimum (pip install 'aiss[export]')",
            file=sys.stderr,
        )
        return 1
    from safetensors.numpy import load_file

    suffix = ".fp16" if args.fp16 else ".int8" if args.int8_per_channel else ""
    target = cache / info.name.replace("/", "--") / f"model{suffix}.onnx"
    export(
        info.config,
        load_file(str(weights_file)),
        target,
        fp16=args.fp16,
        int8_per_channel=args.int8_per_channel,
    )
    print(json.dumps({"model": info.name, "onnx": str(target), "dimension": info.dimension}))
    return 0
