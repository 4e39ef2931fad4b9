"""Score detections from `memories detect --json` (the student as compiled by nnc, run by the
product) on wider-dev with exactly the matching rules of evaluate.py.

  cargo build --release -p memories
  ./target/release/memories detect --json --min-score 0.3 /work/shared/data/wider-dev/images > work/compiled.jsonl
  models/train/.venv/bin/python models/train/evaluate_detections.py work/compiled.jsonl

`memories detect` fits each image into its nearest 640x480 / 480x640 / 640x360 frame before the
five-level pyramid, so its levels differ from evaluate.py's (which starts at the image's own size).
"""

import json
import os
import sys

import numpy as np

from evaluate import WIDER, read_boxes, run


def main():
    path = sys.argv[1]
    found = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            name = os.path.relpath(r["path"], f"{WIDER}/images")
            faces = r["faces"]
            found[name] = (
                np.array([x["score"] for x in faces], np.float32),
                np.array([[x["x"], x["y"], x["w"], x["h"]] for x in faces], np.float32).reshape(-1, 4),
            )
    images = read_boxes()
    missing = [im["file"] for im in images if im["file"] not in found]
    if missing:
        sys.exit(f"{len(missing)} images have no detections line, e.g. {missing[0]}")

    # run() asks for the images in read_boxes() order; answer each from the file.
    def detect(_rgb, _thr, name=iter([im["file"] for im in images])):
        s, b = found[next(name)]
        return s, b, None

    run("student compiled by nnc (memories detect)", detect, images, [0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95])


if __name__ == "__main__":
    main()
