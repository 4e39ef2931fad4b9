//! The compiled face detector on real photos it never trained on: WIDER FACE validation images
//! from `../shared/data/wider-dev` (skipped with a message when the folder is absent).

use memories::faces::{DEFAULT_SCORE, FaceDetector};
use std::path::Path;

/// `# FILE WIDTH HEIGHT N` then N lines `x y w h`.
fn annotations(text: &str) -> Vec<(String, Vec<[f32; 4]>)> {
    let mut out: Vec<(String, Vec<[f32; 4]>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix('#') {
            let file = header.split_whitespace().next().unwrap_or_default();
            if file.ends_with(".jpg") || file.ends_with(".png") {
                out.push((file.to_string(), Vec::new()));
            }
        } else if let Some((_, boxes)) = out.last_mut() {
            let v: Vec<f32> = line
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() == 4 {
                boxes.push([v[0], v[1], v[2], v[3]]);
            }
        }
    }
    out
}

fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let (x0, y0) = (a[0].max(b[0]), a[1].max(b[1]));
    let (x1, y1) = (
        (a[0] + a[2]).min(b[0] + b[2]),
        (a[1] + a[3]).min(b[1] + b[3]),
    );
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

#[test]
fn finds_most_faces_of_40_px_and_more_in_wider_validation_photos() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wider-dev");
    let Ok(text) = std::fs::read_to_string(dir.join("boxes.txt")) else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        return;
    };
    let mut detector = FaceDetector::new(DEFAULT_SCORE);
    let (mut faces, mut found) = (0, 0);
    for (file, boxes) in annotations(&text) {
        let big: Vec<[f32; 4]> = boxes.into_iter().filter(|b| b[2] >= 40.0).collect();
        if big.is_empty() {
            continue;
        }
        let detected = detector
            .detect_file(&dir.join("images").join(&file))
            .unwrap();
        for b in &big {
            faces += 1;
            found += usize::from(
                detected
                    .faces
                    .iter()
                    .any(|f| iou(*b, [f.x, f.y, f.w, f.h]) >= 0.5),
            );
        }
    }
    // Measured when this test was written: 33 of 43 (0.77) at the default score.
    assert!(faces >= 40, "only {faces} faces of 40 px or more");
    assert!(
        found as f32 >= 0.7 * faces as f32,
        "found {found} of {faces} faces at IoU 0.5"
    );
}
