//! Faces, by one of two detectors compiled by `nnc!` ([`Model`]):
//!
//! - YuNet-s ([`crate::yunet`]), compiled from its ONNX file, one pass per photo;
//! - the face student (`models/face_student.nnc`), distilled from YuNet, run over each photo's
//!   five-level image pyramid.
//!
//! Each is compiled for three frame shapes (4:3 landscape, 3:4 portrait, 16:9); the detector
//! picks the shape closest to each photo's aspect ratio. Boxes come back in the photo's
//! full-resolution, upright pixel coordinates.

use nnc::detect::{Detector, Face, InterpretedPyramid, Pyramid, RgbView, Settings};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::yunet::Yunet;
use crate::{Decoded, Networks};

/// Which network finds the faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// YuNet-s, compiled by nnc from `models/yunet_s.onnx`.
    Yunet,
    /// The face student over a five-level pyramid.
    Student,
}

impl Model {
    /// Every model, by the name the command line and the index use.
    pub const ALL: [(Model, &'static str); 2] =
        [(Model::Yunet, "yunet"), (Model::Student, "student")];

    pub fn name(self) -> &'static str {
        Model::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, n)| *n)
            .expect("every model is listed")
    }

    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    /// The score a face needs for an identity descriptor (and so to count for people). The
    /// detector's false alarms (hands, stones, lights) are rare in a photo but many in a library,
    /// and their descriptors, alike in being no one, gather into a "person": only faces the
    /// detector is very sure of are described. YuNet's precision on wider-dev is 0.99 at 0.8
    /// (faces of 20 px and up); the student's needs 0.95.
    pub fn describe_score(self) -> f32 {
        match self {
            Model::Yunet => 0.8,
            Model::Student => 0.95,
        }
    }

    /// The score a face needs by default with this model (`memories detect --min-score`, and
    /// the index).
    pub fn default_score(self) -> f32 {
        match self {
            Model::Yunet => YUNET_SCORE,
            Model::Student => STUDENT_SCORE,
        }
    }
}

/// The detector Memories uses unless told otherwise: YuNet, better than the student on
/// wider-dev at every face size (AP 0.941 against 0.668 for faces of 20 px and up) and twice as
/// fast (README, "Face detection").
pub const DEFAULT_MODEL: Model = Model::Yunet;

/// YuNet's default score threshold. On wider-dev, faces of 20 px and up: precision 0.96 and
/// recall 0.88 at 0.7, against 0.92 and 0.90 at 0.6 and 0.99 and 0.83 at 0.8.
pub const YUNET_SCORE: f32 = 0.7;

/// The score a face needs by default with the default model (`memories detect --min-score`, and
/// the index).
pub const DEFAULT_SCORE: f32 = YUNET_SCORE;

/// The long side photos are decoded to before detection: the largest frame's long side, so that
/// the first pyramid level is never upsampled from a smaller decode.
pub const DECODE_SIDE: u32 = 640;

/// The student's default score threshold. On wider-dev the student's precision is 0.58 at 0.9 (recall 0.76) and 0.91 at 0.95 (recall 0.61),
/// against 0.22 at 0.5 (models/train/REPORT.md): lower thresholds mostly add false alarms.
pub const STUDENT_SCORE: f32 = 0.9;

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

/// A network of either kind, compiled or interpreted.
type Network = Box<dyn Pyramid + Send>;

/// The face detector with its settings: a compiled network, or (for checking it) the same
/// network run by nnc's reference interpreter.
pub struct FaceDetector {
    kind: Kind,
}

enum Kind {
    Student(Detector<Network>),
    Yunet(Yunet<Network>),
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let model = match self.kind {
            Kind::Student(_) => Model::Student,
            Kind::Yunet(_) => Model::Yunet,
        };
        f.debug_struct("FaceDetector")
            .field("model", &model)
            .finish()
    }
}

fn settings(min_score: f32) -> Settings {
    Settings {
        threshold: min_score,
        ..Settings::default()
    }
}

impl FaceDetector {
    /// The default detector ([`DEFAULT_MODEL`]) of `networks`, keeping faces that score at least
    /// `min_score`.
    pub fn new(networks: &Networks, min_score: f32) -> Self {
        FaceDetector::compiled(networks, DEFAULT_MODEL, min_score)
    }

    /// `model`'s compiled network, keeping faces that score at least `min_score`.
    pub fn compiled(networks: &Networks, model: Model, min_score: f32) -> Self {
        let kind = match model {
            Model::Student => {
                Kind::Student(Detector::new((networks.student)(), settings(min_score)))
            }
            Model::Yunet => Kind::Yunet(Yunet::new((networks.yunet)(), min_score)),
        };
        FaceDetector { kind }
    }

    /// The same detector with the network run by nnc's reference interpreter: the same model
    /// and weights (rounded to f16, as compiled), frames and scales as `networks`' compiled one.
    /// Slow; it is there to check that the compiled code finds exactly the same faces
    /// (`memories detect --interpreter`).
    pub fn interpreted(networks: &Networks, model: Model, min_score: f32) -> Self {
        let kind = match model {
            Model::Student => Kind::Student(Detector::new(
                Box::new(interpreted_student(networks)),
                settings(min_score),
            )),
            Model::Yunet => {
                Kind::Yunet(Yunet::new(Box::new(interpreted_yunet(networks)), min_score))
            }
        };
        FaceDetector { kind }
    }
}

/// YuNet-s in the interpreter, imported from the same file, weights rounded to f16 as compiled.
fn interpreted_yunet(networks: &Networks) -> InterpretedPyramid {
    let path = Path::new("models/yunet_s.onnx");
    let imported = nnc_onnx::import(include_bytes!("../../models/yunet_s.onnx"), path)
        .expect("the file nnc! compiles also imports");
    let model = imported.model(path).expect("and loads");
    let model = nnc::ir::Model {
        weights: model.weights.rounded_to_f16(),
        ..model
    };
    let frames = (networks.yunet)().frames();
    nnc::detect::InterpretedPyramid::new(nnc::Interpreter::new(model), frames, vec![1.0])
}

/// The student in the interpreter.
fn interpreted_student(networks: &Networks) -> InterpretedPyramid {
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
    let frames = (networks.student)().frames();
    InterpretedPyramid::new(
        nnc::Interpreter::new(model),
        frames,
        networks.student_scales.to_vec(),
    )
}

impl FaceDetector {
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
        let found = match &mut self.kind {
            Kind::Student(d) => d.detect(view),
            Kind::Yunet(d) => d.detect(view),
        };
        let faces = found
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
