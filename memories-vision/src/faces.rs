//! Faces: the face student compiled by `nnc!`, run over each photo's image pyramid.
//!
//! The network (`models/face_student.nnc`) is compiled for three frame shapes (4:3 landscape, 3:4
//! portrait, 16:9) at five pyramid scales; the detector picks the shape closest to each photo's
//! aspect ratio. Boxes come back in the photo's full-resolution, upright pixel coordinates.

use nnc::detect::{Detector, Face, InterpretedPyramid, Pyramid, RgbView, Settings};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::Decoded;

nnc::nnc! {
    /// The face student, compiled for 640x480, 480x640 and 640x360 frames and five scales each.
    pub mod student {
        model: "../models/face_student.nnc",
        weights: "../models/face_student.safetensors",
        inputs: [640 x 480, 480 x 640, 640 x 360],
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
        weights_as: f16,
    }
}

/// The long side photos are decoded to before detection: the largest frame's long side, so that
/// the first pyramid level is never upsampled from a smaller decode.
pub const DECODE_SIDE: u32 = 640;

/// The score a face needs by default (`memories detect --min-score`, and the index). On
/// wider-dev the student's precision is 0.58 at 0.9 (recall 0.76) and 0.91 at 0.95 (recall 0.61),
/// against 0.22 at 0.5 (models/train/REPORT.md): lower thresholds mostly add false alarms.
pub const DEFAULT_SCORE: f32 = 0.9;

/// One detected face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
    /// Right eye, left eye, nose tip, right and left mouth corners, as the person sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<[(f32, f32); 5]>,
}

impl From<&nnc::detect::Face> for FaceBox {
    fn from(f: &nnc::detect::Face) -> Self {
        FaceBox {
            x: f.x,
            y: f.y,
            w: f.w,
            h: f.h,
            score: f.score,
            landmarks: f.landmarks,
        }
    }
}

/// Faces found in one photo.
#[derive(Debug, Clone)]
pub struct PhotoFaces {
    /// Full-resolution size after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub faces: Vec<Face>,
}

/// The face detector with its settings: the compiled network, or (for checking it) the same
/// network run by nnc's reference interpreter.
#[derive(Debug)]
pub struct FaceDetector<P = student::Network> {
    detector: Detector<P>,
}

fn settings(min_score: f32) -> Settings {
    Settings {
        threshold: min_score,
        ..Settings::default()
    }
}

impl FaceDetector {
    /// A detector keeping faces that score at least `min_score`.
    pub fn new(min_score: f32) -> Self {
        FaceDetector {
            detector: Detector::new(student::Network::new(), settings(min_score)),
        }
    }
}

impl FaceDetector<InterpretedPyramid> {
    /// The same detector with the network run by nnc's reference interpreter: the same model
    /// and weights (rounded to f16, as compiled), frames and scales. Slow; it is there to check
    /// that the compiled code finds exactly the same faces (`memories detect --interpreter`).
    pub fn interpreted(min_score: f32) -> Self {
        let model = nnc::ir::Model::from_sources(
            include_str!("../../models/face_student.nnc"),
            Path::new("models/face_student.nnc"),
            include_bytes!("../../models/face_student.safetensors"),
            Path::new("models/face_student.safetensors"),
        )
        .expect("the face model compiled by nnc! also loads");
        let model = nnc::ir::Model {
            weights: model.weights.rounded_to_f16(),
            ..model
        };
        let frames = student::Network::new().frames();
        let pyramid = InterpretedPyramid::new(
            nnc::Interpreter::new(model),
            frames,
            student::v640x480::SCALES.to_vec(),
        );
        FaceDetector {
            detector: Detector::new(pyramid, settings(min_score)),
        }
    }
}

impl<P: Pyramid> FaceDetector<P> {
    /// Faces in an already decoded, upright photo, in full-resolution pixels.
    pub fn detect_decoded(&mut self, decoded: &Decoded) -> PhotoFaces {
        let image = &decoded.image;
        let view = RgbView {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw(),
        };
        let scale_x = decoded.full_width as f32 / image.width() as f32;
        let scale_y = decoded.full_height as f32 / image.height() as f32;
        let faces = self
            .detector
            .detect(view)
            .into_iter()
            .map(|f| Face {
                x: f.x * scale_x,
                y: f.y * scale_y,
                w: f.w * scale_x,
                h: f.h * scale_y,
                landmarks: f
                    .landmarks
                    .map(|l| l.map(|(x, y)| (x * scale_x, y * scale_y))),
                ..f
            })
            .collect();
        PhotoFaces {
            width: decoded.full_width,
            height: decoded.full_height,
            faces,
        }
    }
}
