"""Average precision at IoU 0.5 and recall at 0.9 precision on wider-dev, by minimum face width
(20, 40 and 80 px), for the teacher, the student in onnxruntime, and the student as compiled by nnc
and run by the product (`memories detect --json` output).

  ./target/release/memories detect --json --min-score 0.05 /work/shared/data/wider-dev/images > models/train/work/compiled_all.jsonl
  ./target/release/memories detect --interpreter --json --min-score 0.05 /work/shared/data/wider-dev/images > models/train/work/interpreted_all.jsonl
  models/train/.venv/bin/python models/train/average_precision.py compiled=models/train/work/compiled_all.jsonl interpreter=models/train/work/interpreted_all.jsonl

For a minimum width W: annotated faces at least W px wide are the positives; a detection matching
(IoU >= 0.5, greedy by score) an annotated face narrower than W counts neither way, and an
unmatched detection narrower than 0.8 W is dropped as outside the size range. AP is the area under
the interpolated precision-recall curve (all points, as PASCAL VOC 2010+).
"""

import json
import os
import sys
import time

import numpy as np
from PIL import Image

from evaluate import WIDER, StudentDetector, read_boxes
from teacher import YuNet, iou_one_to_many

WIDTHS = (20, 40, 80)


def curve(per_image, min_w, iou_thr=0.5):
    """(scores, is_tp) over all kept detections, and the number of positives."""
    scores, tps, positives = [], [], 0
    for s, b, gt in per_image:
        valid = gt[:, 2] >= min_w
        positives += int(valid.sum())
        taken = np.zeros(len(gt), bool)
        for i in np.argsort(-s):
            iou = iou_one_to_many(b[i], gt) if len(gt) else np.zeros(0)
            cand = np.where(valid & ~taken & (iou >= iou_thr))[0]
            if len(cand):
                taken[cand[np.argmax(iou[cand])]] = True
                scores.append(s[i]); tps.append(True)
            elif len(gt) and ((~valid) & (iou >= iou_thr)).any():
                continue
            elif b[i][2] < 0.8 * min_w:
                continue
            else:
                scores.append(s[i]); tps.append(False)
    order = np.argsort(-np.array(scores))
    return np.array(tps, bool)[order], positives


def summary(per_image):
    out = {}
    for w in WIDTHS:
        tp, positives = curve(per_image, w)
        ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
        recall = ctp / max(1, positives)
        precision = ctp / np.maximum(1, ctp + cfp)
        # Interpolate: precision at recall r is the best precision at any recall >= r.
        interp = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        r_prev, ap = 0.0, 0.0
        for r, p in zip(recall, interp):
            ap += (r - r_prev) * p
            r_prev = r
        at90 = recall[precision >= 0.9].max() if (precision >= 0.9).any() else 0.0
        out[f">={w}px"] = dict(faces=positives, ap=round(float(ap), 3), recall_at_p90=round(float(at90), 3))
    return out


def run(name, detect_fn, images):
    per_image = []
    t0 = time.time()
    for im in images:
        rgb = np.asarray(Image.open(f"{WIDER}/images/{im['file']}").convert("RGB"))
        s, b = detect_fn(rgb)
        per_image.append((np.asarray(s, np.float32), np.asarray(b, np.float32).reshape(-1, 4), im["boxes"]))
    secs = (time.time() - t0) / len(images)
    row = dict(detector=name, images_per_second=round(1 / secs, 1), **summary(per_image))
    print(json.dumps(row), flush=True)
    return row


def from_jsonl(path, images):
    """Per-image (scores, boxes, annotations) from `memories detect --json` output."""
    found = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            faces = r["faces"]
            found[os.path.relpath(r["path"], f"{WIDER}/images")] = (
                [x["score"] for x in faces], [[x["x"], x["y"], x["w"], x["h"]] for x in faces])
    return [(np.asarray(found[im["file"]][0], np.float32),
             np.asarray(found[im["file"]][1], np.float32).reshape(-1, 4), im["boxes"]) for im in images]


def main():
    """Arguments: `memories detect --json` outputs, each as LABEL=FILE or FILE; `--no-onnx` skips
    the onnxruntime rows (student and teacher)."""
    args = [a for a in sys.argv[1:] if a != "--no-onnx"]
    images = read_boxes()
    rows = []
    for arg in args:
        label, _, path = arg.rpartition("=")
        label = label or f"student compiled by nnc ({os.path.basename(path)})"
        row = dict(detector=label, **summary(from_jsonl(path, images)))
        print(json.dumps(row), flush=True)
        rows.append(row)
    if "--no-onnx" not in sys.argv:
        st = StudentDetector()
        rows.append(run("student, onnxruntime (2 threads), pyramid 1..1/16", lambda rgb: st.detect(rgb, 0.05)[:2], images))
        t = YuNet("yunet_s_dynamic")
        rows.append(run("teacher YuNet-s 1x, onnxruntime", lambda rgb: t.detect(rgb, 0.05)[:2], images))
        rows.append(run("teacher YuNet-s 2x, onnxruntime", lambda rgb: t.detect(rgb, 0.05, upscale=2.0)[:2], images))
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "average_precision.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
