#!/usr/bin/env bash
# The face student's training pipeline, end to end:
#   bash models/train/run.sh
# venv + packages, teacher labels, tiles, training (16 min wall clock on 2 cores), export, evaluation.
# Knobs (environment): TILES (default 150000), TRAIN_MINUTES (default 16; 0 = use STEPS),
# STEPS (default 3500, only when TRAIN_MINUTES=0), BATCH (default 256), OHEM (default 3).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, PIL, onnxruntime, onnx, torch" 2>/dev/null; then
  nice -n 10 .venv/bin/pip install numpy pillow onnxruntime onnx torch
fi
PY="nice -n 10 .venv/bin/python"
$PY label.py 2>work/label.err | tee work/label.log
SEED=1 $PY tiles.py "${TILES:-150000}" | tee work/tiles.log
TRAIN_MINUTES="${TRAIN_MINUTES:-16}" STEPS="${STEPS:-3500}" BATCH="${BATCH:-256}" $PY train.py 2>&1 | grep -v -i warn | tee work/train.log
$PY flops.py ../face_student.nnc | tee work/flops.log
$PY evaluate.py --extra-2x | tee work/eval.log  # student and teacher on wider-dev
echo "done: models/face_student.{safetensors,onnx}; logs in models/train/work/"
