//! Chips cut by `align::chip` from the detector's landmarks against the chips dlib cut from the
//! same photos with its own landmark model (`../shared/data/embedding/dlib-reference`): the
//! mean absolute difference per pixel, for every fourth reference chip.

use memories::align::chip;
use memories::analysis::decode_rgb;
use memories::faces::FaceDetector;
use memories::metadata::PhotoMeta;
use memories::scan::{Sniffed, sniff};
use std::path::Path;

#[test]
fn chips_match_dlibs_framing() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let reference = data.join("embedding/dlib-reference/descriptors.json");
    let Ok(text) = std::fs::read_to_string(&reference) else {
        eprintln!("SKIPPED: {} is absent", reference.display());
        return;
    };
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut detector = FaceDetector::new(0.5);
    let mut diffs = Vec::new();
    for e in entries.iter().step_by(4) {
        let source = data.join(e["source"].as_str().unwrap());
        let bytes = std::fs::read(&source).unwrap();
        let Sniffed::Image(format) = sniff(&bytes) else {
            panic!("{}", source.display())
        };
        let meta = PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
        let decoded = decode_rgb(&bytes, format, meta.orientation, 4096).unwrap();
        let found = detector.detect_decoded(&decoded);
        let expect = image::open(
            data.join("embedding/dlib-reference")
                .join(e["chip"].as_str().unwrap()),
        )
        .unwrap()
        .into_rgb8();
        // The photo's face that dlib cut is the one whose chip looks most like dlib's.
        let best = found
            .faces
            .iter()
            .filter_map(|f| f.landmarks)
            .map(|l| {
                let scale = decoded.image.width() as f32 / decoded.full_width as f32;
                let got = chip(&decoded.image, &l.map(|(x, y)| (x * scale, y * scale)));
                let diff: f64 = got
                    .as_raw()
                    .iter()
                    .zip(expect.as_raw())
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
                    .sum::<f64>()
                    / got.as_raw().len() as f64;
                diff
            })
            .fold(f64::INFINITY, f64::min);
        diffs.push(best);
    }
    diffs.sort_by(f64::total_cmp);
    // Measured: a median of 27 grey levels over 16 chips (17 to 38, and 52 where the detector
    // misses dlib's face). Pixel differences are a coarse check; what matters is that both chips
    // give the identity network the same person.
    let median = diffs[diffs.len() / 2];
    assert!(median <= 30.0, "median difference {median:.1}: {diffs:?}");
}
