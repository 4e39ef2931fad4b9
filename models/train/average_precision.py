"""Average precision at IoU 0.5 and recall at 0.9 precision on wider-dev, by minimum face width
(20, 40 and 80 px), for the teacher, the student in onnxruntime, and the student as compiled by nnc
and run by the product (`memories detect --json` output).

  ./target/release/memories detect --json --min-score 0.05 /work/shared/data/wider-dev/images > models/train/work/compiled_all.jsonl
  ./target/release/memories detect --interpreter --json --min-score 0.05 /work/shared/data/wider-dev/images > models/train/work/interpreted_all.jsonl
  models/train/.venv/bin/python models/train/average_precision.py --bootstrap compiled=models/train/work/compiled_all.jsonl interpreter=models/train/work/interpreted_all.jsonl

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

from evaluate import SCALES, WIDER, StudentDetector, read_boxes
from teacher import YuNet, iou_one_to_many

WIDTHS = (20, 40, 80)


def matches(image, min_w, iou_thr=0.5):
    """One image's kept detections as (scores, is_tp), and its number of positives."""
    s, b, gt = image
    valid = gt[:, 2] >= min_w
    taken = np.zeros(len(gt), bool)
    scores, tps = [], []
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
    return np.array(scores, np.float32), np.array(tps, bool), int(valid.sum())


def curve(per_image, min_w, iou_thr=0.5):
    """(is_tp in score order) over all kept detections, and the number of positives. Entries of
    per_image are (scores, boxes, annotations), or already matched (scores, is_tp, positives)."""
    m = [x if len(x) == 3 and isinstance(x[2], int) else matches(x, min_w, iou_thr) for x in per_image]
    scores = np.concatenate([x[0] for x in m]) if m else np.zeros(0)
    tps = np.concatenate([x[1] for x in m]) if m else np.zeros(0, bool)
    return tps[np.argsort(-scores, kind="stable")], sum(x[2] for x in m)


def precision_recall(per_image, min_w):
    """Recall, precision and interpolated precision (the best at any recall >= r) down the
    score-ordered detections, and the number of positives."""
    tp, positives = curve(per_image, min_w)
    ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
    recall = ctp / max(1, positives)
    precision = ctp / np.maximum(1, ctp + cfp)
    interp = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    return recall, precision, interp, positives


def ap_at(per_image, min_w):
    recall, _, interp, _ = precision_recall(per_image, min_w)
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * interp))


def summary(per_image):
    out = {}
    for w in WIDTHS:
        recall, precision, _, positives = precision_recall(per_image, w)
        at90 = recall[precision >= 0.9].max() if (precision >= 0.9).any() else 0.0
        out[f">={w}px"] = dict(faces=positives, ap=round(ap_at(per_image, w), 3), recall_at_p90=round(float(at90), 3))
    return out


def bootstrap(rows, per_images, reference, n=1000, seed=0):
    """Paired bootstrap over images: for each detector, the 90% interval of its AP and of its AP
    minus the reference detector's, per minimum width. With 43 faces of 40 px and up, one face
    is 2.3% of recall, so a difference is only a difference when its interval excludes 0."""
    rng = np.random.default_rng(seed)
    n_img = len(per_images[0])
    samples = [rng.integers(n_img, size=n_img) for _ in range(n)]
    for row, per in zip(rows, per_images):
        for w in WIDTHS:
            matched = [matches(x, w) for x in per]  # per image, once; resamples reuse them
            ref = [matches(x, w) for x in per_images[reference]]
            aps = np.array([ap_at([matched[i] for i in s], w) for s in samples])
            out = dict(ap_90=[round(float(q), 3) for q in np.percentile(aps, [5, 95])])
            if per is not per_images[reference]:
                gaps = aps - np.array([ap_at([ref[i] for i in s], w) for s in samples])
                out["minus_reference_90"] = [round(float(q), 3) for q in np.percentile(gaps, [5, 95])]
            row[f">={w}px"].update(out)
        print(json.dumps(dict(detector=row["detector"], reference=rows[reference]["detector"],
                              **{k: v for k, v in row.items() if k.startswith(">=")})), flush=True)


def phase_sweep(images, path=None, steps=4):
    """The ONNX student with its pyramid shifted by 2^(k/steps) for k in -steps/2 .. steps/2 - 1
    (the first level at 0.71x .. 1.19x of the image), and the teacher on the image scaled the same:
    AP at each shift and the mean. A photo's size decides where its faces fall within a level's
    16-32 px, so the mean is the figure that describes photos of any size; the spread says how
    much one fixed pyramid can be off."""
    st = StudentDetector(path) if path else StudentDetector()
    t = YuNet("yunet_s_dynamic")
    rgbs = [np.asarray(Image.open(f"{WIDER}/images/{im['file']}").convert("RGB")) for im in images]
    shifts = [2 ** (k / steps) for k in range(-steps // 2, steps - steps // 2)]
    rows = []
    for name, detect in [
        (f"student, onnxruntime, pyramid shifted by 2^(k/{steps})",
         lambda rgb, f: st.detect(rgb, 0.05, scales=tuple(f * s for s in SCALES))),
        (f"teacher YuNet-s, image scaled by 2^(k/{steps})", lambda rgb, f: t.detect(rgb, 0.05, upscale=f)),
    ]:
        per_shift = []
        for f in shifts:
            per = []
            for rgb, im in zip(rgbs, images):
                s, b, _ = detect(rgb, f)
                per.append((np.asarray(s, np.float32), np.asarray(b, np.float32).reshape(-1, 4), im["boxes"]))
            per_shift.append({w: ap_at(per, w) for w in WIDTHS})
        row = dict(detector=name, **{f">={w}px": dict(ap_per_shift=[round(p[w], 3) for p in per_shift],
                                                     ap_mean=round(float(np.mean([p[w] for p in per_shift])), 3))
                                     for w in WIDTHS})
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


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
    return row, per_image


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
    the onnxruntime rows (student and teacher); `--bootstrap` adds 90% intervals (paired bootstrap
    over images) of each AP and of its difference from the teacher at 1x; `--phases` adds the ONNX
    student's AP with its pyramid shifted by quarter octaves, and their mean; `--onnx=PATH`
    evaluates another export of the student (an experiment's) instead of models/face_student.onnx;
    `--against=PATH` adds a second student export, and with `--bootstrap` the paired interval of
    the first student's AP minus its (a retrain against the shipped weights)."""
    flags = ("--no-onnx", "--bootstrap", "--phases")
    option = lambda name: next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith(f"--{name}=")), None)
    onnx_path, against = option("onnx"), option("against")
    args = [a for a in sys.argv[1:] if a not in flags and not a.startswith(("--onnx=", "--against="))]
    images = read_boxes()
    rows, pers = [], []
    for arg in args:
        label, _, path = arg.rpartition("=")
        label = label or f"student compiled by nnc ({os.path.basename(path)})"
        per = from_jsonl(path, images)
        row = dict(detector=label, **summary(per))
        print(json.dumps(row), flush=True)
        rows.append(row)
        pers.append(per)
    if "--no-onnx" not in sys.argv:
        st = StudentDetector(onnx_path) if onnx_path else StudentDetector()
        t = YuNet("yunet_s_dynamic")
        for name, fn in [
            ("student, onnxruntime (2 threads), pyramid 1..1/16", lambda rgb: st.detect(rgb, 0.05)[:2]),
            ("teacher YuNet-s 1x, onnxruntime", lambda rgb: t.detect(rgb, 0.05)[:2]),
            ("teacher YuNet-s 2x, onnxruntime", lambda rgb: t.detect(rgb, 0.05, upscale=2.0)[:2]),
        ]:
            row, per = run(name, fn, images)
            rows.append(row)
            pers.append(per)
        if against:
            other = StudentDetector(against)
            row, per = run(f"student {against}, onnxruntime (2 threads), pyramid 1..1/16",
                           lambda rgb: other.detect(rgb, 0.05)[:2], images)
            rows.append(row)
            pers.append(per)
        teacher_1x = len(rows) - (3 if against else 2)
        if "--bootstrap" in sys.argv:
            bootstrap(rows, pers, reference=teacher_1x)
            if against:
                student = teacher_1x - 1
                # Fresh copies of the two rows, without the intervals against the teacher.
                pair = [{k: ({m: x for m, x in v.items() if m in ("faces", "ap", "recall_at_p90")}
                             if k.startswith(">=") else v) for k, v in rows[i].items()} for i in (student, -1)]
                bootstrap(pair, [pers[student], pers[-1]], reference=1)
        if "--phases" in sys.argv:
            rows += phase_sweep(images, onnx_path)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "average_precision.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
