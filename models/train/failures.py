"""Contact sheets of the student's failures on wider-dev: the faces it misses, by size, and its
false alarms, by score, at one operating point.

    python failures.py [--onnx=PATH] [--score=0.9]

The student (an ONNX export, default models/face_student.onnx) runs over the pyramid 1 .. 1/16 as
in evaluate.py; its detections are matched to the annotations as average_precision.py matches
them (IoU 0.5, greedy by score; a detection on a face under 20 px counts neither way, and an
unmatched one under 16 px is dropped). At the score threshold:
- a miss is an annotated face of 20 px or more that no detection at that score matches;
- a false alarm is a detection at that score that matches nothing.
Each is shown as a crop of twice its box, the box drawn in it, with its width (misses) or score
(false alarms). Writes work/failures/<name>_misses_<bucket>.png and <name>_false_alarms.png, and
prints the counts.
"""

import os
import sys

import numpy as np
from PIL import Image, ImageDraw

from evaluate import BUCKETS, MODELS, WIDER, StudentDetector, read_boxes
from teacher import iou_one_to_many

HERE = os.path.dirname(os.path.abspath(__file__))
CELL = 96
COLUMNS = 12


def failures(dets, gt, score):
    """(misses: annotated boxes, false alarms: (score, box)) of one image at `score`."""
    s, b = dets
    keep = s >= score
    s, b = s[keep], b[keep]
    valid = gt[:, 2] >= 20
    taken = np.zeros(len(gt), bool)
    alarms = []
    for i in np.argsort(-s):
        iou = iou_one_to_many(b[i], gt) if len(gt) else np.zeros(0)
        cand = np.where(valid & ~taken & (iou >= 0.5))[0]
        if len(cand):
            taken[cand[np.argmax(iou[cand])]] = True
        elif len(gt) and ((~valid) & (iou >= 0.5)).any():
            continue
        elif b[i][2] >= 16:
            alarms.append((float(s[i]), b[i]))
    return [g for g, v, t in zip(gt, valid, taken) if v and not t], alarms


def tile(img, box, caption, colour):
    x, y, w, h = box
    side = 2 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = cx - side / 2, cy - side / 2
    crop = img.crop((round(x0), round(y0), round(x0 + side), round(y0 + side))).resize((CELL, CELL))
    d = ImageDraw.Draw(crop)
    k = CELL / side
    d.rectangle([(x - x0) * k, (y - y0) * k, (x + w - x0) * k, (y + h - y0) * k], outline=colour)
    d.text((2, CELL - 11), caption, fill=colour)
    return crop


def save_sheet(tiles, path):
    if not tiles:
        return
    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * CELL, rows * CELL), "white")
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % COLUMNS) * CELL, (i // COLUMNS) * CELL))
    sheet.save(path)


def main():
    option = lambda name, default: next(
        (a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith(f"--{name}=")), default)
    onnx = option("onnx", f"{MODELS}/face_student.onnx")
    score = float(option("score", "0.9"))
    name = os.path.splitext(os.path.basename(os.path.dirname(os.path.abspath(onnx))))[0]
    name = "shipped" if os.path.abspath(onnx) == os.path.abspath(f"{MODELS}/face_student.onnx") else name
    student = StudentDetector(onnx)
    out = os.path.join(HERE, "work", "failures")
    os.makedirs(out, exist_ok=True)
    misses = {b: [] for b in BUCKETS}
    alarms = []
    for im in read_boxes():
        img = Image.open(f"{WIDER}/images/{im['file']}").convert("RGB")
        s, b, _ = student.detect(np.asarray(img), 0.05)
        missed, false = failures((np.asarray(s), np.asarray(b).reshape(-1, 4)), im["boxes"], score)
        for g in missed:
            bucket = next(k for k in BUCKETS if k[0] <= g[2] < k[1])
            misses[bucket].append(tile(img, g, f"{g[2]:.0f}px", (255, 40, 40)))
        alarms += [(sc, tile(img, bx, f"{sc:.2f} {bx[2]:.0f}px", (255, 200, 0))) for sc, bx in false]
    for (lo, hi), tiles in misses.items():
        label = f"{lo}-{hi}px" if hi < 10_000 else f"{lo}px+"
        save_sheet(tiles, f"{out}/{name}_misses_{label}.png")
        print(f"misses {label}: {len(tiles)}")
    alarms.sort(key=lambda a: -a[0])
    save_sheet([t for _, t in alarms], f"{out}/{name}_false_alarms.png")
    print(f"false alarms at score >= {score}: {len(alarms)}; sheets in {out}/{name}_*.png")


if __name__ == "__main__":
    main()
