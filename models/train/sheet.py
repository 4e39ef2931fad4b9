"""Contact sheets of the teacher's labels, to check them by eye, one sheet per source.

    python sheet.py [PHOTOS_PER_SHEET]     (default 24)

Reads work/photos.pkl (label.py) and writes work/sheets/<source>.png: a seeded sample of each
source's photos with the teacher's faces drawn on them, green for a face (score >= 0.6), yellow
for a soft face (0.3-0.6), each with its score. The photos are shown at their labelled size,
shrunk to fit a 320x320 cell.
"""

import os
import pickle
import sys

import numpy as np
from PIL import Image, ImageDraw

from label import SOURCES, WORK

CELL = 320


def draw(p):
    img = Image.fromarray(p["img"])
    k = min(1.0, CELL / max(img.size))
    img = img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))), Image.BILINEAR)
    d = ImageDraw.Draw(img)
    for sc, (x, y, w, h) in zip(p["scores"], p["boxes"] * k):
        c = (0, 255, 0) if sc >= 0.6 else (255, 220, 0)
        d.rectangle([x, y, x + w, y + h], outline=c, width=1)
        d.text((x, max(0, y - 10)), f"{sc:.2f}", fill=c)
    return img


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    with open(f"{WORK}/photos.pkl", "rb") as fh:
        photos = pickle.load(fh)
    os.makedirs(f"{WORK}/sheets", exist_ok=True)
    rng = np.random.default_rng(7)
    for source in SOURCES:
        ps = [p for p in photos if p["source"] == source]
        if not ps:
            continue
        pick = [ps[i] for i in sorted(rng.choice(len(ps), min(n, len(ps)), replace=False))]
        cols = 6
        sheet = Image.new("RGB", (cols * CELL, -(-len(pick) // cols) * CELL), "white")
        for i, p in enumerate(pick):
            sheet.paste(draw(p), ((i % cols) * CELL, (i // cols) * CELL))
        out = f"{WORK}/sheets/{source}.png"
        sheet.save(out)
        faces = sum(int((p["scores"] >= 0.6).sum()) for p in pick)
        print(f"{out}: {len(pick)} photos, {faces} faces")


if __name__ == "__main__":
    main()
