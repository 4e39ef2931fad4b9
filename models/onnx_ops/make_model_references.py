"""Writes ONNX Runtime's outputs for the real ONNX models nnc compiles whole (`tests/onnx_models.rs`):
YuNet-s and YuNet-n, each as published with a dynamic input (run at 640x480 and 480x640,
width x height) and fixed at 640x640.

    benches/.venv/bin/python models/onnx_ops/make_model_references.py

Each `tests/onnx_models/NAME_WxH.safetensors` holds every graph output by name (float32, as ONNX
Runtime returns them on one thread). The input is not stored: both sides compute it,
`input_value(i)` below and `pattern` in the test, from a 32-bit linear congruential generator
whose values are exact in float32, over [0, 256) like a photo's pixels (NCHW order).
"""

import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "train"))
from safetensors_io import save_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MODELS = [
    ("yunet_s", [(640, 480), (480, 640)]),
    ("yunet_n", [(640, 480), (480, 640)]),
    ("yunet_s_640", [(640, 640)]),
    ("yunet_n_640", [(640, 640)]),
]


def pattern(n, seed):
    """`n` values in [0, 256): state = state * 1664525 + 1013904223 (mod 2^32), value = the
    state's top 16 bits / 256."""
    out = np.empty(n, dtype=np.float32)
    state = seed
    for i in range(n):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = (state >> 16) / 256.0
    return out


def main():
    out_dir = os.path.join(ROOT, "tests", "onnx_models")
    os.makedirs(out_dir, exist_ok=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    for name, sizes in MODELS:
        path = os.path.join(ROOT, "models", name + ".onnx")
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        for width, height in sizes:
            x = pattern(3 * height * width, 7).reshape(1, 3, height, width)
            names = [o.name for o in session.get_outputs()]
            results = session.run(None, {session.get_inputs()[0].name: x})
            tensors = {n: np.asarray(r, dtype=np.float32) for n, r in zip(names, results)}
            save_safetensors(tensors, os.path.join(out_dir, f"{name}_{width}x{height}.safetensors"))
            print(name, width, height, {n: list(r.shape) for n, r in zip(names, results)})


if __name__ == "__main__":
    main()
