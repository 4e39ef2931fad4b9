//! Measures `align::TEMPLATE`: where the face detector's five landmarks fall in dlib's aligned
//! chips. Runs the detector on each reference chip in `../shared/data/embedding/dlib-reference`
//! and prints the mean position of each landmark, with its spread.
//!
//! ```text
//! cargo run --release -p memories --example chip_template
//! ```

use memories_library::analysis::decode_file;
use memories_networks::NETWORKS;
use memories_vision::faces::{DECODE_SIDE, FaceDetector};
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/embedding/dlib-reference/chips");
    let mut chips: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    chips.sort();
    let mut detector = FaceDetector::new(&NETWORKS, 0.5);
    let mut points: Vec<[(f32, f32); 5]> = Vec::new();
    for path in &chips {
        let decoded =
            decode_file(path, DECODE_SIDE).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let found = detector.detect_decoded(&decoded);
        // The chip's face is the largest one, centred.
        match found
            .faces
            .iter()
            .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)))
            .and_then(|f| f.landmarks)
        {
            Some(l) => points.push(l),
            None => eprintln!("no face found in {}", path.display()),
        }
    }
    let n = points.len() as f32;
    println!(
        "{} of {} chips; mean (x, y) and standard deviation per landmark:",
        points.len(),
        chips.len()
    );
    for k in 0..5 {
        let (mx, my) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p[k].0 / n, sy + p[k].1 / n));
        let (vx, vy) = points.iter().fold((0.0, 0.0), |(sx, sy), p| {
            (
                sx + (p[k].0 - mx).powi(2) / n,
                sy + (p[k].1 - my).powi(2) / n,
            )
        });
        println!(
            "    ({mx:.2}, {my:.2}),  // sd {:.2}, {:.2}",
            vx.sqrt(),
            vy.sqrt()
        );
    }
}
