"""Stage 0: the crowd-photo pool, taken from public repositories' git snapshots.

    python pool.py SNAPSHOT_GIT_DIR [SNAPSHOT_GIT_DIR ...]

Each argument is a bare git directory (what the search tool's `fetch` brings, e.g.
/work/.mirror/ejdis+face-mask-dataset/repo). The script knows the three repositories of issue 17
by the commit each must hold, reads the photos of that commit with `git cat-file` (no work tree),
and writes them under models/train/work/pool/<set>/ with a manifest,
models/train/work/pool/manifest.tsv: set, repository, commit, path in the repository, git blob id,
SHA-256 of the bytes, width, height, licence, and whether the photo was kept and why not.

Selection, per set (the rules are the reasons written in the manifest):
- masks-kaggle: every photo in img/ (street and crowd photos with several faces each).
- masks-frames: phone-video frames of a few scenes, stored in no time order, most of them
  near-copies of others. In frame-number order, a frame is kept when its 32x24 grey thumbnail
  differs from every kept frame's by at least NEAR_COPY (mean absolute difference, 0..255).
  Pairs at 6 to 13 still look the same by eye; the median frame is 2.9 from its nearest.
- masks-crops: most of the set are tight face crops; a photo is kept when its shorter side is at
  least CROP_MIN_SIDE px. label.py later leaves out the ones whose teacher face still fills most
  of the frame (a crop, not a photo).

Nothing here is evaluation data: a photo whose thumbnail is within NEAR_COPY of a wider-dev
image's is left out (none was on 2026-12-04: the nearest pair was 21.6 apart).
"""

import csv
import glob
import hashlib
import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
WIDER_DEV = "/work/shared/data/wider-dev/images"
POOL = os.path.join(HERE, "work", "pool")
NEAR_COPY = 12.0
CROP_MIN_SIDE = 256
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")

# (set, repository, commit, folders inside the repository, licence)
SOURCES = [
    ("masks-kaggle", "ejdis/face-mask-dataset", "ecafcc3d316420c7b9c07006e138c01ac20fe9a6", ["img"], "MIT"),
    (
        "masks-frames",
        "VirajDeshwal/mask-detection-dataset",
        "e4faa8023ad40a49314ff459fe935aa92f894029",
        ["images"],
        "Apache-2.0",
    ),
    (
        "masks-crops",
        "chandrikadeb7/Face-Mask-Detection",
        "7e500749401bad4bb338790fbdb89b58e41ef2d9",
        ["dataset/with_mask", "dataset/without_mask"],
        "MIT",
    ),
]


def git(git_dir, *args, stdin=None):
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, check=True
    ).stdout


def has_commit(git_dir, commit):
    r = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
    )
    return r.returncode == 0


def blobs(git_dir, commit, folders):
    """(path, blob id) of every image file under `folders` at `commit`, in path order."""
    out = git(git_dir, "ls-tree", "-r", "-z", commit, "--", *folders)
    rows = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        kind, oid = meta.split()[1:3]
        path = path.decode("utf-8", "surrogateescape")
        if kind == b"blob" and path.lower().endswith(IMAGE_EXTENSIONS):
            rows.append((path, oid.decode()))
    return sorted(rows)


def read_blobs(git_dir, oids):
    """The bytes of each blob, through one `git cat-file --batch`."""
    out = git(git_dir, "cat-file", "--batch", stdin="".join(o + "\n" for o in oids).encode())
    data, pos = {}, 0
    for oid in oids:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if header == [oid.encode(), b"missing"]:  # not in the snapshot (too large to store)
            pos = header_end + 1
            continue
        got, kind, size = header
        if got.decode() != oid or kind != b"blob":
            raise RuntimeError(f"{git_dir}: git cat-file gave {got!r} {kind!r} for {oid}")
        size = int(size)
        data[oid] = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return data


def frame_number(path):
    digits = "".join(ch for ch in os.path.basename(path) if ch.isdigit())
    return int(digits) if digits else -1


def thumbnail(img):
    return np.asarray(img.convert("L").resize((32, 24), Image.BILINEAR), np.float32)


def main(git_dirs):
    if not git_dirs:
        sys.exit(__doc__)
    os.makedirs(POOL, exist_ok=True)
    wider = sorted(glob.glob(f"{WIDER_DEV}/**/*.jpg", recursive=True))
    if not wider:
        sys.exit(f"pool.py: no wider-dev images under {WIDER_DEV} to keep out of the pool")
    wider_thumbs = np.stack([thumbnail(Image.open(p)) for p in wider])
    rows, written = [], {}
    for set_name, repo, commit, folders, licence in SOURCES:
        git_dir = next((g for g in git_dirs if has_commit(g, commit)), None)
        if git_dir is None:
            sys.exit(
                f"pool.py: no snapshot given holds {repo} at {commit}; fetch github:{repo} and pass its git directory"
            )
        files = blobs(git_dir, commit, folders)
        if set_name == "masks-frames":
            files.sort(key=lambda f: (frame_number(f[0]), f[0]))
        contents = read_blobs(git_dir, [oid for _, oid in files])
        kept_thumbs = []
        kept = 0
        for path, oid in files:
            data = contents.get(oid, b"")
            row = dict(
                set=set_name,
                repository=repo,
                commit=commit,
                path=path,
                blob=oid,
                sha256=hashlib.sha256(data).hexdigest(),
                width=0,
                height=0,
                licence=licence,
                kept="yes",
                file="",
            )
            if oid not in contents:
                row["kept"] = "no: not in the snapshot"
                rows.append(row)
                continue
            try:
                img = Image.open(io.BytesIO(data))
                img.load()
                row["width"], row["height"] = img.size
            except Exception as e:
                row["kept"] = f"no: does not decode ({type(e).__name__})"
                rows.append(row)
                continue
            thumb = thumbnail(img)
            near = np.abs(wider_thumbs - thumb).mean((1, 2))
            if near.min() < NEAR_COPY:
                row["kept"] = f"no: looks like wider-dev's {os.path.basename(wider[int(near.argmin())])}"
                rows.append(row)
                continue
            if set_name == "masks-frames":
                if kept_thumbs and np.abs(np.stack(kept_thumbs) - thumb).mean((1, 2)).min() < NEAR_COPY:
                    row["kept"] = f"no: within {NEAR_COPY} of a kept frame"
                    rows.append(row)
                    continue
                kept_thumbs.append(thumb)
            if set_name == "masks-crops" and min(img.size) < CROP_MIN_SIDE:
                row["kept"] = f"no: shorter side under {CROP_MIN_SIDE} px (a crop)"
                rows.append(row)
                continue
            # The file name keeps the repository path readable (and label.py's train/val split,
            # which hashes it, fixed); two paths that would share one are an error, not a loss.
            name = path.replace("/", "__").replace(" ", "_")
            dest = os.path.join(POOL, set_name, name)
            if dest in written:
                sys.exit(f"pool.py: {repo} paths {written[dest]!r} and {path!r} would both be {dest}")
            written[dest] = path
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not (os.path.exists(dest) and os.path.getsize(dest) == len(data)):
                tmp = dest + ".partial"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, dest)
            row["file"] = os.path.relpath(dest, POOL)
            rows.append(row)
            kept += 1
        print(f"{set_name}: {kept} of {len(files)} photos kept ({repo} @ {commit[:12]}, {licence})")
    tmp = os.path.join(POOL, "manifest.tsv.partial")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, os.path.join(POOL, "manifest.tsv"))
    print(f"manifest: {os.path.join(POOL, 'manifest.tsv')} ({len(rows)} rows)")


if __name__ == "__main__":
    main(sys.argv[1:])
