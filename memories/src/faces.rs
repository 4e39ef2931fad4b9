//! Faces: the face student compiled by `nnc!`, run over each photo's image pyramid.
//!
//! The network (`models/face_student.nnc`) is compiled for three frame shapes (4:3 landscape, 3:4
//! portrait, 16:9) at five pyramid scales; the detector picks the shape closest to each photo's
//! aspect ratio. Boxes come back in the photo's full-resolution, upright pixel coordinates.

use crate::analysis::{self, Decoded};
use crate::scan::{self, Format, Sniffed};
use nnc::detect::{Detector, Face, InterpretedPyramid, Pyramid, RgbView, Settings};
use std::path::Path;

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

/// Largest number of pixels a photo may declare before it is refused as a decompression bomb
/// (about 200 megapixels: larger than any camera's output).
pub const MAX_PIXELS: u64 = 200_000_000;

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

    /// Reads, checks and decodes the photo at `path`, then finds its faces. The error is a
    /// one-line reason fit to print next to the path.
    pub fn detect_file(&mut self, path: &Path) -> Result<PhotoFaces, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        let format = match scan::sniff(&bytes) {
            Sniffed::Image(format) => format,
            Sniffed::Heif => return Err("HEIC/HEIF is not supported".to_string()),
            Sniffed::Video => return Err("a video, not a photo".to_string()),
            Sniffed::Unknown if bytes.is_empty() => return Err("empty file".to_string()),
            Sniffed::Unknown => return Err("not a JPEG, PNG or WebP image".to_string()),
        };
        check_dimensions(&bytes, format)?;
        let meta = crate::metadata::PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
        let decoded = analysis::decode_rgb(&bytes, format, meta.orientation, DECODE_SIDE)
            .map_err(|e| e.to_string())?;
        Ok(self.detect_decoded(&decoded))
    }
}

/// Refuses images whose header declares more than [`MAX_PIXELS`], before decoding anything.
fn check_dimensions(bytes: &[u8], format: Format) -> Result<(), String> {
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::WebP => image::ImageFormat::WebP,
    };
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image_format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("corrupt or unsupported image: {e}"))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "{w}x{h} pixels is more than the {MAX_PIXELS} allowed (decompression bomb?)"
        ));
    }
    Ok(())
}
