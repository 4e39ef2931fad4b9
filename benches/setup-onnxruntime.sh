#!/usr/bin/env bash
# Creates benches/.venv with the `onnxruntime` wheel, whose shared library the runtime comparison
# (benches/compare) loads through the `ort` crate, and prints that library's path.
# Idempotent: a venv that already has onnxruntime is reused.
#
#   bash benches/setup-onnxruntime.sh
#   cargo run --release --manifest-path benches/compare/Cargo.toml
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# One version, so that the comparison and the tests (tests/onnx_runtime.rs) run what they say.
ORT_VERSION=1.32.0
if ! .venv/bin/python -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" 2>/dev/null; then
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet "onnxruntime==$ORT_VERSION" "numpy==2.4.6"
fi
.venv/bin/python - <<'PY'
import glob, os, onnxruntime
capi = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
libs = sorted(glob.glob(os.path.join(capi, "libonnxruntime.so.*")))
if not libs:
    raise SystemExit(f"onnxruntime {onnxruntime.__version__} ships no libonnxruntime.so.* in {capi}")
print(f"onnxruntime {onnxruntime.__version__}: {libs[0]}")
print(f"(benches/compare finds it there; elsewhere set ORT_DYLIB_PATH={libs[0]})")
PY
