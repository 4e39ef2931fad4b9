//! YuNet-s (libfacedetection, Apache-2.0), compiled by `nnc!` straight from its ONNX file: a
//! face detector that sees every face size in one pass (three output strides, a feature
//! pyramid inside the network) instead of an image pyramid.
//!
//! A detection:
//! 1. picks the frame (640x480, 480x640 or 640x384: YuNet needs sides that are multiples of 32)
//!    whose aspect ratio is closest to the photo's;
//! 2. fits the photo into it, keeping its aspect ratio, black beyond (area averaging, as the
//!    student's pyramid);
//! 3. runs the network on BGR values from 0 to 255, as YuNet was trained;
//! 4. decodes every cell of strides 8, 16 and 32 scoring at least the threshold: score
//!    `sqrt(cls * obj)`, centre `((col + dx) * s, (row + dy) * s)`, size `(e^lw * s, e^lh * s)`,
//!    landmark `k` at `((col + u_k) * s, (row + v_k) * s)`, as `models/train/teacher.py` does;
//! 5. keeps the best of overlapping boxes (IoU above 0.3).

use nnc::detect::{Face, HeadView, Pyramid, RgbView, clip, letterboxed, non_maximum_suppression};

/// YuNet's output strides, with the name suffix of their heads.
const STRIDES: [(usize, &str); 3] = [(8, "8"), (16, "16"), (32, "32")];

/// Boxes overlapping a better one by more than this are dropped (libfacedetection's 0.3).
const NMS_IOU: f32 = 0.3;

/// YuNet over any [`Pyramid`] with its heads (the compiled network, or the interpreter on the
/// same file), one scale per frame.
#[derive(Debug)]
pub struct Yunet<P> {
    net: P,
    threshold: f32,
}

impl<P: Pyramid> Yunet<P> {
    pub fn new(net: P, threshold: f32) -> Self {
        Yunet { net, threshold }
    }

    /// The faces in `image`, best first, in its pixels.
    pub fn detect(&mut self, image: RgbView<'_>) -> Vec<Face> {
        if image.width == 0 || image.height == 0 {
            return Vec::new();
        }
        let variant = closest_frame(&self.net.frames(), image.width, image.height);
        let (h, w) = self.net.sizes(variant)[0];
        let fit = (w as f64 / image.width as f64).min(h as f64 / image.height as f64);
        let (rw, rh) = (
            ((image.width as f64 * fit).round() as usize).clamp(1, w),
            ((image.height as f64 * fit).round() as usize).clamp(1, h),
        );
        // RGB in [0, 1] to BGR in [0, 255].
        let mut input = letterboxed(image, rw, rh, w, h);
        for pixel in input.chunks_exact_mut(3) {
            pixel.swap(0, 2);
            for v in pixel {
                *v *= 255.0;
            }
        }
        let (sx, sy) = (
            image.width as f32 / rw as f32,
            image.height as f32 / rh as f32,
        );
        let mut heads: Vec<(String, Vec<f32>)> = Vec::new();
        self.net
            .run_scale(variant, 0, &input, &mut |head: HeadView<'_>| {
                heads.push((head.name.to_string(), head.data.to_vec()));
            });
        let head = |name: String| {
            heads
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| d.as_slice())
        };
        let mut faces = Vec::new();
        for (s, tag) in STRIDES {
            let (Some(cls), Some(obj), Some(bbox), Some(kps)) = (
                head(format!("cls_{tag}")),
                head(format!("obj_{tag}")),
                head(format!("bbox_{tag}")),
                head(format!("kps_{tag}")),
            ) else {
                continue;
            };
            let cols = w / s;
            let stride = s as f32;
            for (cell, (&c, &o)) in cls.iter().zip(obj).enumerate() {
                let score = (c.clamp(0.0, 1.0) * o.clamp(0.0, 1.0)).sqrt();
                if score.is_nan() || score < self.threshold {
                    continue;
                }
                let (row, col) = ((cell / cols) as f32, (cell % cols) as f32);
                let b = &bbox[cell * 4..cell * 4 + 4];
                let (cx, cy) = ((col + b[0]) * stride, (row + b[1]) * stride);
                let bw = b[2].clamp(-10.0, 10.0).exp() * stride;
                let bh = b[3].clamp(-10.0, 10.0).exp() * stride;
                // A box centred in the black beyond the photo is not a face in it.
                if cx >= rw as f32 || cy >= rh as f32 {
                    continue;
                }
                let k = &kps[cell * 10..cell * 10 + 10];
                let landmarks = std::array::from_fn(|i| {
                    (
                        (col + k[2 * i]) * stride * sx,
                        (row + k[2 * i + 1]) * stride * sy,
                    )
                });
                faces.push(Face {
                    x: (cx - bw / 2.0) * sx,
                    y: (cy - bh / 2.0) * sy,
                    w: bw * sx,
                    h: bh * sy,
                    score,
                    landmarks: Some(landmarks),
                    scale: 0,
                });
            }
        }
        let mut faces = non_maximum_suppression(faces, NMS_IOU);
        for f in &mut faces {
            clip(f, image.width as f32, image.height as f32);
        }
        faces
    }
}

/// The frame whose aspect ratio is closest to `width / height`, in log space.
fn closest_frame(frames: &[(usize, usize)], width: usize, height: usize) -> usize {
    let aspect = (width as f64 / height as f64).ln();
    let distance = |&(w, h): &(usize, usize)| ((w as f64 / h as f64).ln() - aspect).abs();
    (0..frames.len())
        .min_by(|&a, &b| distance(&frames[a]).total_cmp(&distance(&frames[b])))
        .unwrap_or(0)
}
