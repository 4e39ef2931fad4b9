//! The compiled face detector on real photos it never trained on: WIDER FACE validation images
//! from `../shared/data/wider-dev` (skipped with a message when the folder is absent, a failure
//! on CI).

use memories_library::analysis::decode_file;
use memories_networks::NETWORKS;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_SCORE, FaceDetector};

#[path = "support/shared_data.rs"]
mod shared_data;

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

/// Recall on faces of 40 px and more, and false alarms: a detector that boxed everything would
/// find every face, so the boxes that match no annotated face (of any size; WIDER lists even tiny
/// ones) are bounded too.
#[test]
fn finds_most_faces_of_40_px_and_more_in_wider_validation_photos() {
    let Some(dir) = shared_data::shared_data("wider-dev") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("boxes.txt")).unwrap();
    let mut detector = FaceDetector::new(&NETWORKS, DEFAULT_SCORE);
    let (mut photos, mut faces, mut found) = (0, 0, 0);
    // (boxes, boxes that match no annotated face): all of them, and those of 40 px or more.
    let (mut all, mut big) = ((0, 0), (0, 0));
    for (file, boxes) in annotations(&text) {
        photos += 1;
        let decoded = decode_file(&dir.join("images").join(&file), DECODE_SIDE).unwrap();
        let detected = detector.detect_decoded(&decoded);
        for f in &detected.faces {
            let alarm = boxes.iter().all(|b| iou(*b, [f.x, f.y, f.w, f.h]) < 0.3);
            all = (all.0 + 1, all.1 + usize::from(alarm));
            if f.w >= 40.0 {
                big = (big.0 + 1, big.1 + usize::from(alarm));
            }
        }
        for b in boxes.iter().filter(|b| b[2] >= 40.0) {
            faces += 1;
            found += usize::from(
                detected
                    .faces
                    .iter()
                    .any(|f| iou(*b, [f.x, f.y, f.w, f.h]) >= 0.5),
            );
        }
    }
    let report = format!(
        "{photos} photos: found {found} of {faces} faces of 40 px or more at IoU 0.5; \
         {} of {} boxes match no annotated face, {} of {} of 40 px or more",
        all.1, all.0, big.1, big.0
    );
    // The figures, with `-- --nocapture`.
    eprintln!("{report}");
    assert!(photos >= 100, "{report}");
    // Measured when this test was written: 33 of 43 (0.77) at the default score.
    assert!(faces >= 40, "{report}");
    assert!(found as f32 >= 0.7 * faces as f32, "{report}");
    // Measured: 230 of 675 boxes (0.34) match no face, most of them 9 to 20 px wide in crowds;
    // 11 of 50 (0.22) of 40 px or more.
    assert!(all.0 >= 100 && big.0 >= 40, "{report}");
    assert!(all.1 as f32 <= 0.4 * all.0 as f32, "{report}");
    assert!(big.1 as f32 <= 0.3 * big.0 as f32, "{report}");
}
