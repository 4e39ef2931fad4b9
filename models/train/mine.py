"""Stage 3b: mine the student's own false alarms on the training photos (hard negatives).

Runs the student trained so far (models/face_student.onnx) over a pyramid of every labelled photo
(scales 2 (photos of 640 px or less only), 1, 1/2, ..., 1/16, as the product's pyramid covers
them), keeps detections scoring >= MIN_SCORE, and calls one a false alarm when it overlaps no
teacher face: IoU < 0.2 with every teacher detection (soft ones included) and its centre inside
none of them. Faces the teacher missed can end up here; the teacher's recall on hand-labelled
faces (label.log) bounds how often.

Writes work/mined.pkl: {photo path: [K, 5] array of (x, y, w, h, score) in photo pixels}, and
prints counts by source and by width. tiles.py cuts a share of its negatives around these boxes.

  models/train/.venv/bin/python models/train/mine.py
"""

import os
import pickle
import time

import numpy as np

from evaluate import SCALES, StudentDetector
from teacher import iou_one_to_many

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
MIN_SCORE = float(os.environ.get("MINE_SCORE", "0.3"))


def false_alarms(scores, boxes, teacher_boxes):
    """Indices of detections that overlap no teacher face."""
    out = []
    for i, b in enumerate(boxes):
        if len(teacher_boxes):
            if iou_one_to_many(b, teacher_boxes).max() >= 0.2:
                continue
            cx, cy = b[0] + b[2] / 2, b[1] + b[3] / 2
            t = teacher_boxes
            if ((cx >= t[:, 0]) & (cx <= t[:, 0] + t[:, 2]) & (cy >= t[:, 1]) & (cy <= t[:, 1] + t[:, 3])).any():
                continue
        out.append(i)
    return out


def main():
    t0 = time.time()
    with open(f"{WORK}/photos.pkl", "rb") as f:
        photos = pickle.load(f)
    student = StudentDetector()
    mined, by_source = {}, {}
    widths = []
    for p in photos:
        rgb = p["img"]
        scales = ((2,) if max(rgb.shape[:2]) <= 640 else ()) + SCALES
        s, b, _ = student.detect(rgb, MIN_SCORE, scales=scales)
        keep = false_alarms(s, b, p["boxes"])
        if keep:
            mined[p["path"]] = np.concatenate([b[keep], s[keep, None]], 1).astype(np.float32)
            widths += list(b[keep, 2])
        n = by_source.setdefault(p["source"], [0, 0, 0])
        n[0] += 1
        n[1] += len(keep)
        n[2] += int((s[keep] >= 0.9).sum()) if keep else 0
    print(f"mined {sum(len(v) for v in mined.values())} false alarms (score >= {MIN_SCORE}) "
          f"in {len(mined)} of {len(photos)} photos, {time.time() - t0:.0f}s")
    for src, (n, k, k9) in by_source.items():
        print(f"  {src}: {n} photos, {k} false alarms, {k9} of them >= 0.9")
    w = np.array(widths)
    if len(w):
        print("  widths (photo px): " + ", ".join(f"{q}%: {np.percentile(w, q):.0f}" for q in (10, 50, 90)))
    with open(f"{WORK}/mined.pkl", "wb") as f:
        pickle.dump(mined, f)


if __name__ == "__main__":
    main()
