"""Stage 1: label the training photos with the teacher (YuNet-s) and cache them.

The photos: `scenes/`, `identities/`, `dlib-faces/` and `exif/` of ../shared/data, and the crowd
pool that `pool.py` made under work/pool/ (its manifest.tsv says where each came from; the pool
is optional, and its absence is said).

Writes models/train/work/photos.pkl: a list of dicts
  {path, source, img (HxWx3 uint8 RGB, long side <= 1024), scores [K], boxes [K,4] xywh, kps [K,10]}
and models/train/work/lfw.pkl: LFW 90x90 crops with the teacher's single face on each.
Never reads wider-dev (the evaluation set).
"""

import csv
import glob
import os
import pickle
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageOps

from teacher import YuNet, iou_one_to_many, nms

DATA = "/work/shared/data"
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
MAX_SIDE = 1024
KEEP_SCORE = 0.3  # teacher detections kept as (soft) faces
POOL = os.path.join(WORK, "pool")
POOL_SETS = ("masks-kaggle", "masks-frames", "masks-crops")
# masks-crops is mostly single faces cropped tight. A photo there is left out when its largest
# teacher face is wider than this share of its shorter side: a tile that shrinks such a face to
# the student's 14-36 px would be mostly the black outside the photo. (722 of the 1,117 photos
# pool.py keeps; in masks-kaggle 66 of 853 photos have such a face, and all stay.)
CROP_FACE_MAX = 0.4
SOURCES = ("scenes", "identities", "dlib-faces", "exif") + POOL_SETS


def load_rgb(path, max_side=MAX_SIDE):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im).convert("RGB")
    s = max_side / max(im.size)
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    return np.asarray(im)


def teacher_label(t, rgb):
    """Teacher at 1x, plus 2x when the photo is small, merged by NMS."""
    parts = [t.detect(rgb, score_thr=KEEP_SCORE, nms_thr=0.3)]
    if max(rgb.shape[:2]) <= 640:
        parts.append(t.detect(rgb, score_thr=KEEP_SCORE, nms_thr=0.3, upscale=2.0))
    sc = np.concatenate([p[0] for p in parts])
    bx = np.concatenate([p[1] for p in parts])
    kp = np.concatenate([p[2] for p in parts])
    keep = nms(bx, sc, 0.3)
    return sc[keep].astype(np.float32), bx[keep].astype(np.float32), kp[keep].astype(np.float32)


def photo_paths():
    out = []
    for source, pattern in [
        ("scenes", f"{DATA}/scenes/**/*"),
        ("identities", f"{DATA}/identities/**/*"),
        ("dlib-faces", f"{DATA}/dlib-faces/*"),
        ("exif", f"{DATA}/exif/**/*"),
    ]:
        for p in sorted(glob.glob(pattern, recursive=True)):
            if p.lower().endswith((".jpg", ".jpeg", ".png")):
                out.append((source, p))
    manifest = os.path.join(POOL, "manifest.tsv")
    if not os.path.exists(manifest):
        print(f"no crowd pool ({manifest} is missing): run pool.py to add it", file=sys.stderr)
        return out
    with open(manifest, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["kept"] == "yes":
                out.append((row["set"], os.path.join(POOL, row["file"])))
    return out


def is_tight_crop(rgb, scores, boxes):
    faces = boxes[scores >= 0.6]
    return len(faces) > 0 and faces[:, 2].max() > CROP_FACE_MAX * min(rgb.shape[:2])


def dlib_check(t):
    """Teacher recall on dlib-faces' hand-labelled boxes (IoU >= 0.4)."""
    root = ET.parse(f"{DATA}/dlib-faces/training.xml").getroot()
    found = total = 0
    for im in root.iter("image"):
        rgb = load_rgb(f"{DATA}/dlib-faces/{im.get('file')}", max_side=10_000)
        sc, bx, _ = teacher_label(t, rgb)
        sc, bx = sc[sc >= 0.5], bx[sc >= 0.5]
        for b in im.iter("box"):
            g = np.array([float(b.get(k)) for k in ("left", "top", "width", "height")])
            total += 1
            found += int(len(bx) > 0 and iou_one_to_many(g, bx).max() >= 0.4)
    return found, total


def main():
    os.makedirs(WORK, exist_ok=True)
    t = YuNet("yunet_s_dynamic")
    t0 = time.time()
    photos, skipped, crops_left_out = [], 0, 0
    for source, p in photo_paths():
        try:
            rgb = load_rgb(p)
        except Exception as e:  # exif/ holds deliberately broken files
            skipped += 1
            print(f"skip {p}: {e}", file=sys.stderr)
            continue
        if min(rgb.shape[:2]) < 48:
            skipped += 1
            continue
        sc, bx, kp = teacher_label(t, rgb)
        if source == "masks-crops" and is_tight_crop(rgb, sc, bx):
            crops_left_out += 1
            continue
        photos.append(dict(path=p, source=source, img=rgb, scores=sc, boxes=bx, kps=kp))
    print(f"photos: {len(photos)} labelled, {skipped} skipped, {time.time() - t0:.0f}s")
    print(f"  masks-crops left out as tight crops (a face wider than {CROP_FACE_MAX} of the short side): {crops_left_out}")
    for source in SOURCES:
        ps = [q for q in photos if q["source"] == source]
        n = sum(int((q["scores"] >= 0.6).sum()) for q in ps)
        ns = sum(int(((q["scores"] >= KEEP_SCORE) & (q["scores"] < 0.6)).sum()) for q in ps)
        print(f"  {source}: {len(ps)} photos, {n} faces (teacher >= 0.6), {ns} soft (0.3-0.6)")
    f, n = dlib_check(t)
    print(f"teacher recall on dlib-faces hand boxes (IoU 0.4): {f}/{n}")
    with open(f"{WORK}/photos.pkl", "wb") as fh:
        pickle.dump(photos, fh)

    # LFW: 90x90 face crops. Pad onto a 160x160 grey canvas so the teacher sees some context.
    t0 = time.time()
    crops, boxes, kps, scores = [], [], [], []
    paths = sorted(glob.glob(f"{DATA}/lfw/*/*.jpg"))
    for p in paths:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        if rgb.shape[:2] != (90, 90):
            rgb = np.asarray(Image.fromarray(rgb).resize((90, 90), Image.BILINEAR))
        canvas = np.full((160, 160, 3), 114, np.uint8)
        canvas[35:125, 35:125] = rgb
        sc, bx, kp = t.detect(canvas, score_thr=0.5, nms_thr=0.3)
        if len(sc) == 0:
            continue
        # The face nearest the crop centre.
        c = bx[:, :2] + bx[:, 2:] / 2
        i = int(np.argmin(((c - 80) ** 2).sum(1)))
        if np.abs(c[i] - 80).max() > 20:
            continue
        b = bx[i].copy()
        b[:2] -= 35
        k = kp[i].copy()
        k -= 35
        crops.append(rgb)
        boxes.append(b)
        kps.append(k)
        scores.append(sc[i])
    print(f"lfw: {len(crops)}/{len(paths)} crops with a teacher face, {time.time() - t0:.0f}s")
    with open(f"{WORK}/lfw.pkl", "wb") as fh:
        pickle.dump(
            dict(
                crops=np.stack(crops),
                boxes=np.stack(boxes).astype(np.float32),
                kps=np.stack(kps).astype(np.float32),
                scores=np.array(scores, np.float32),
            ),
            fh,
        )


if __name__ == "__main__":
    main()
