"""Evaluate the student (and the teacher YuNet for comparison) on wider-dev.

Student: models/face_student.onnx in onnxruntime over a pyramid of scales 1, 1/2, 1/4, 1/8, 1/16
of each image (RGB in [0, 1]), every cell with score >= the threshold decoded as in
models/face_student.nnc, boxes mapped back to image pixels, then NMS (IoU 0.3) over all scales.
Teacher: YuNet-s on the image at 1x and at 2x, score >= threshold, NMS 0.3.

Matching at IoU >= 0.4, greedy by score. Faces at least 20 px wide count; smaller ones are "ignore":
a detection matching one counts neither way, and an unmatched detection narrower than 16 px is also
dropped (it is in the ignored size range). Recall by face-width bucket; precision overall.

  models/train/.venv/bin/python models/train/evaluate.py [--student-only | --teacher-only] [--extra-2x]
"""

import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

from teacher import YuNet, iou_one_to_many, nms

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
WIDER = "/work/shared/data/wider-dev"
SCALES = (1, 1 / 2, 1 / 4, 1 / 8, 1 / 16)
MIN_FACE = 20
BUCKETS = [(20, 40), (40, 80), (80, 10_000)]
A, C = 24.0, 8.0


def read_boxes():
    out, cur = [], None
    with open(f"{WIDER}/boxes.txt") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line[1:].split()
                if len(parts) == 4 and parts[0].endswith((".jpg", ".png")):
                    cur = dict(file=parts[0], w=int(parts[1]), h=int(parts[2]), boxes=[])
                    out.append(cur)
                continue
            cur["boxes"].append([float(v) for v in line.split()])
    for o in out:
        o["boxes"] = np.array(o["boxes"], np.float32).reshape(-1, 4)
    return out


class StudentDetector:
    def __init__(self, path=f"{MODELS}/face_student.onnx", threads=2):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def detect(self, rgb, score_thr=0.5, nms_thr=0.3, scales=SCALES):
        h, w = rgb.shape[:2]
        im = Image.fromarray(rgb)
        S, B, K = [], [], []
        for s in scales:
            lw, lh = max(1, round(w * s)), max(1, round(h * s))
            if min(lw, lh) < 8:
                continue
            level = im if (lw, lh) == (w, h) else im.resize((lw, lh), Image.BILINEAR)
            x = (np.asarray(level, np.float32) / 255).transpose(2, 0, 1)[None]
            score, box, lmk = self.sess.run(None, {"image": x})
            score, box, lmk = score[0, 0], box[0], lmk[0]
            ii, jj = np.nonzero(score >= score_thr)
            if len(ii) == 0:
                continue
            ccx, ccy = 8 * jj + 4.0, 8 * ii + 4.0
            dx, dy, tw, th = box[:, ii, jj]
            cx, cy = ccx + C * dx, ccy + C * dy
            bw, bh = A * np.exp(tw), A * np.exp(th)
            sx, sy = lw / w, lh / h  # the level's actual scale per axis
            boxes = np.stack([(cx - bw / 2) / sx, (cy - bh / 2) / sy, bw / sx, bh / sy], 1)
            u, v = lmk[0::2, ii, jj].T, lmk[1::2, ii, jj].T  # [n, 5]
            kps = np.empty((len(ii), 10), np.float32)
            kps[:, 0::2] = (ccx[:, None] + A * u) / sx
            kps[:, 1::2] = (ccy[:, None] + A * v) / sy
            S.append(score[ii, jj])
            B.append(boxes)
            K.append(kps)
        if not S:
            return np.zeros(0), np.zeros((0, 4)), np.zeros((0, 10))
        S, B, K = np.concatenate(S), np.concatenate(B), np.concatenate(K)
        keep = nms(B, S, nms_thr)
        return S[keep], B[keep], K[keep]


def match(dets_scores, dets_boxes, gt):
    """Per detection: 'tp' / 'fp' / 'ign'; per gt: matched (bool)."""
    valid = gt[:, 2] >= MIN_FACE
    taken = np.zeros(len(gt), bool)
    kinds = []
    for i in np.argsort(-dets_scores):
        b = dets_boxes[i]
        if len(gt) == 0:
            kinds.append((dets_scores[i], "fp" if b[2] >= 16 else "ign"))
            continue
        iou = iou_one_to_many(b, gt)
        cand = np.where(valid & ~taken & (iou >= 0.4))[0]
        if len(cand):
            g = cand[np.argmax(iou[cand])]
            taken[g] = True
            kinds.append((dets_scores[i], "tp"))
        elif ((~valid) & (iou >= 0.4)).any():  # a face under 20 px: neither way
            kinds.append((dets_scores[i], "ign"))
        elif b[2] < 16:
            kinds.append((dets_scores[i], "ign"))
        else:
            kinds.append((dets_scores[i], "fp"))
    return kinds, taken, valid


def run(name, detect_fn, images, thresholds):
    """Detect at the lowest threshold once, then score every threshold."""
    lo = min(thresholds)
    per_image = []
    t0 = time.time()
    for im in images:
        rgb = np.asarray(Image.open(f"{WIDER}/images/{im['file']}").convert("RGB"))
        s, b, _ = detect_fn(rgb, lo)
        per_image.append((s, b, im["boxes"]))
    secs = (time.time() - t0) / len(images)
    rows = []
    for thr in thresholds:
        tp = fp = 0
        found = {bk: 0 for bk in BUCKETS}
        total = {bk: 0 for bk in BUCKETS}
        for s, b, gt in per_image:
            m = s >= thr
            kinds, taken, valid = match(s[m], b[m], gt)
            tp += sum(k == "tp" for _, k in kinds)
            fp += sum(k == "fp" for _, k in kinds)
            for bk in BUCKETS:
                inb = valid & (gt[:, 2] >= bk[0]) & (gt[:, 2] < bk[1])
                total[bk] += int(inb.sum())
                found[bk] += int((inb & taken).sum())
        nvalid = sum(total.values())
        row = dict(detector=name, threshold=thr, tp=tp, fp=fp, faces=nvalid,
                   precision=round(tp / max(1, tp + fp), 3), recall=round(tp / max(1, nvalid), 3),
                   recall_by_width={f"{a}-{b if b < 10000 else 'inf'}": f"{found[(a, b)]}/{total[(a, b)]}"
                                    for a, b in BUCKETS},
                   seconds_per_image=round(secs, 4))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--student-only", action="store_true")
    ap.add_argument("--teacher-only", action="store_true")
    ap.add_argument("--extra-2x", action="store_true", help="also a student pyramid with an extra 2x level")
    ap.add_argument("--out", default=f"{HERE}/work/eval.json")
    ap.add_argument("--onnx", default=f"{MODELS}/face_student.onnx", help="the student's ONNX export")
    args = ap.parse_args()
    images = read_boxes()
    n = sum(len(i["boxes"]) for i in images)
    nv = sum(int((i["boxes"][:, 2] >= MIN_FACE).sum()) for i in images)
    print(f"wider-dev: {len(images)} images, {n} faces, {nv} at least {MIN_FACE} px wide")
    rows = []
    st = None if args.teacher_only else StudentDetector(args.onnx)
    if st is not None:
        rows += run("student pyramid 1..1/16", lambda rgb, thr: st.detect(rgb, thr), images,
               [0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95])
    if st is not None and args.extra_2x:
        rows += run("student pyramid 2..1/16", lambda rgb, thr: st.detect(rgb, thr, scales=(2,) + SCALES),
                    images, [0.5, 0.8, 0.9, 0.95])
    if not args.student_only:
        t = YuNet("yunet_s_dynamic")
        rows += run("teacher yunet_s 1x", lambda rgb, thr: t.detect(rgb, thr), images, [0.5])
        rows += run("teacher yunet_s 2x", lambda rgb, thr: t.detect(rgb, thr, upscale=2.0), images, [0.5])
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
