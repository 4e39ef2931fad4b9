"""The teacher: YuNet (libfacedetection.train ONNX) run in onnxruntime, with its outputs decoded.

The dynamic-input ONNX takes `input` [N, 3, H, W] float, BGR, 0..255 (no normalisation); H and W
must be multiples of 32 (we pad bottom/right with zeros). It returns, per stride s in (8, 16, 32),
for every cell (row r, col c, index r * (W/s) + c):
  cls_s [N, HW/s^2, 1], obj_s [N, HW/s^2, 1]: sigmoid probabilities; score = sqrt(cls * obj)
  bbox_s [N, HW/s^2, 4]: (dx, dy, lw, lh): cx = (c + dx) s, cy = (r + dy) s, w = exp(lw) s, h = exp(lh) s
  kps_s [N, HW/s^2, 10]: x_k = (c + kx_k) s, y_k = (r + ky_k) s for 5 points
(the same decoding as OpenCV's FaceDetectorYN).
"""

import numpy as np
import onnxruntime as ort

TEACHER_DIR = "/work/shared/data/teachers"
STRIDES = (8, 16, 32)


def iou_one_to_many(box, boxes):
    """IoU of one (x, y, w, h) box with an [N, 4] array of (x, y, w, h) boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return inter / np.maximum(union, 1e-9)


def nms(boxes, scores, iou_thr):
    """Greedy NMS over (x, y, w, h) boxes; returns kept indices, best first."""
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ious = iou_one_to_many(boxes[i], boxes[order[1:]])
        order = order[1:][ious <= iou_thr]
    return np.array(keep, dtype=np.int64)


class YuNet:
    def __init__(self, name="yunet_s_dynamic", threads=2):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(
            f"{TEACHER_DIR}/{name}.onnx", so, providers=["CPUExecutionProvider"]
        )

    def raw(self, rgb):
        """All cells of all strides, decoded: (scores [M], boxes [M, 4] xywh, kps [M, 10]),
        in pixels of `rgb` (an HxWx3 uint8 RGB array)."""
        h, w = rgb.shape[:2]
        ph, pw = (h + 31) // 32 * 32, (w + 31) // 32 * 32
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)  # BGR, 0..255
        outs = dict(zip([o.name for o in self.sess.get_outputs()], self.sess.run(None, {"input": x})))
        all_s, all_b, all_k = [], [], []
        for s in STRIDES:
            rows, cols = ph // s, pw // s
            cls = np.clip(outs[f"cls_{s}"][0, :, 0], 0, 1)
            obj = np.clip(outs[f"obj_{s}"][0, :, 0], 0, 1)
            bb = outs[f"bbox_{s}"][0]
            kp = outs[f"kps_{s}"][0]
            r, c = np.divmod(np.arange(rows * cols), cols)
            cx = (c + bb[:, 0]) * s
            cy = (r + bb[:, 1]) * s
            bw = np.exp(bb[:, 2]) * s
            bh = np.exp(bb[:, 3]) * s
            boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)
            kps = np.empty_like(kp)
            kps[:, 0::2] = (kp[:, 0::2] + c[:, None]) * s
            kps[:, 1::2] = (kp[:, 1::2] + r[:, None]) * s
            all_s.append(np.sqrt(cls * obj))
            all_b.append(boxes)
            all_k.append(kps)
        return np.concatenate(all_s), np.concatenate(all_b), np.concatenate(all_k)

    def detect(self, rgb, score_thr=0.5, nms_thr=0.3, upscale=1.0):
        """Detections (scores [K], boxes [K, 4] xywh, kps [K, 10]) in pixels of `rgb`, after NMS.
        `upscale` resizes the image first (e.g. 2 finds smaller faces), results scaled back."""
        from PIL import Image

        img = rgb
        if upscale != 1.0:
            h, w = rgb.shape[:2]
            img = np.asarray(
                Image.fromarray(rgb).resize(
                    (max(1, round(w * upscale)), max(1, round(h * upscale))), Image.BILINEAR
                )
            )
        sc, bx, kp = self.raw(img)
        m = sc >= score_thr
        sc, bx, kp = sc[m], bx[m], kp[m]
        if upscale != 1.0:
            bx = bx / upscale
            kp = kp / upscale
        keep = nms(bx, sc, nms_thr)
        return sc[keep], bx[keep], kp[keep]
