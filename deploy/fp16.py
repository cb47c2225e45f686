"""Write model.fp16.onnx beside model.onnx (run in the image's export stage)."""

import sys

import onnx
from onnxconverter_common import float16

directory = sys.argv[1]
model = onnx.load(f"{directory}/model.onnx")
# Inputs and outputs stay int64/float32: AISS feeds and reads the same arrays.
half = float16.convert_float_to_float16(model, keep_io_types=True)
onnx.save(half, f"{directory}/model.fp16.onnx")
