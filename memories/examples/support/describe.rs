//! The identity descriptor of a photo's largest face, through the product's pipeline (decode at
//! 640 px, detector, landmarks, chip, compiled network). Shared by `people_eval` and
//! `benches/people.rs`, which include it by path.

use memories_library::analysis::decode_rgb;
use memories_library::metadata::PhotoMeta;
use memories_library::scan::{Sniffed, sniff};
use memories_vision::align::chip;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::FaceDetector;
use std::path::Path;

/// The descriptor of the largest face in the photo, if the detector finds one with landmarks.
pub fn describe(
    path: &Path,
    detector: &mut FaceDetector,
    embedder: &mut FaceEmbedder,
) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    let Sniffed::Image(format) = sniff(&bytes) else {
        return None;
    };
    let meta = PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
    let decoded = decode_rgb(&bytes, format, meta.orientation, 640).ok()?;
    let found = detector.detect_decoded(&decoded);
    let face = found
        .faces
        .iter()
        .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)))?;
    let scale = decoded.image.width() as f32 / decoded.full_width as f32;
    let landmarks = face.landmarks?.map(|(x, y)| (x * scale, y * scale));
    Some(embedder.embed(&chip(&decoded.image, &landmarks)).to_vec())
}
