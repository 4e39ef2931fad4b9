#!/usr/bin/env bash
# The face student's training pipeline, end to end:
#   bash models/train/run.sh
# venv + packages, the crowd pool, teacher labels, tiles, training, export, evaluation.
# The pool (pool.py) reads three public repositories' git snapshots, as the search tool's `fetch`
# brings them (github:ejdis/face-mask-dataset, github:VirajDeshwal/mask-detection-dataset,
# github:chandrikadeb7/Face-Mask-Detection); POOL_SNAPSHOTS lists their git directories (default:
# where `fetch` puts them).
# Knobs (environment): TILES (default 150000), STEPS (default 6347, the shipped run's count),
# TRAIN_MINUTES (default 0; a wall-clock budget instead of STEPS), BATCH (default 256),
# OHEM (default 3), LFW_SHARE (default 0.5), OUT (default ../face_student: the shipped files).
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
MIRROR=/work/.mirror
$PY pool.py ${POOL_SNAPSHOTS:-$MIRROR/ejdis+face-mask-dataset/repo $MIRROR/VirajDeshwal+mask-detection-dataset/repo $MIRROR/chandrikadeb7+Face-Mask-Detection/repo} | tee work/pool.log
$PY label.py 2>work/label.err | tee work/label.log
$PY sheet.py | tee work/sheets.log  # the teacher's labels drawn, one sheet per source, to check by eye
SEED=1 $PY tiles.py "${TILES:-150000}" | tee work/tiles.log
TRAIN_MINUTES="${TRAIN_MINUTES:-0}" STEPS="${STEPS:-6347}" BATCH="${BATCH:-256}" $PY train.py 2>&1 | grep -v -i warn | tee work/train.log
$PY flops.py ../face_student.nnc | tee work/flops.log
ONNX="${OUT:-../face_student}.onnx"
$PY evaluate.py --extra-2x --onnx="$ONNX" | tee work/eval.log  # student and teacher on wider-dev
$PY average_precision.py --bootstrap --phases --onnx="$ONNX" | tee work/average_precision.log  # the issue's AP figures
$PY failures.py --onnx="$ONNX" | tee work/failures.log  # contact sheets of misses and false alarms
echo "done: models/face_student.{safetensors,onnx}; logs in models/train/work/"
