//! Chips cut by `align::chip` from the detector's landmarks against the chips dlib cut from the
//! same photos with its own landmark model (`../shared/data/embedding/dlib-reference`): the
//! mean absolute difference per pixel, and the distance between the identity descriptors of our
//! chip and of dlib's, for every fourth reference chip.

use memories_library::analysis::decode_rgb;
use memories_library::metadata::PhotoMeta;
use memories_library::people::distance;
use memories_library::scan::{Sniffed, sniff};
use memories_networks::NETWORKS;
use memories_vision::align::chip;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::FaceDetector;

#[path = "support/shared_data.rs"]
mod shared_data;

#[test]
fn chips_match_dlibs_framing() {
    let Some(data) = shared_data::shared_data("") else {
        return;
    };
    let reference = data.join("embedding/dlib-reference/descriptors.json");
    let text = std::fs::read_to_string(&reference)
        .unwrap_or_else(|e| panic!("{}: {e}", reference.display()));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(!entries.is_empty(), "{}: no chips", reference.display());
    let mut detector = FaceDetector::new(&NETWORKS, 0.5);
    let mut embedder = FaceEmbedder::new(&NETWORKS);
    let (mut diffs, mut distances) = (Vec::new(), Vec::new());
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
        let dlib: Vec<f32> = e["descriptor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        // The photo's face that dlib cut is the one whose chip looks most like dlib's.
        let (best, nearest) = found
            .faces
            .iter()
            .filter_map(|f| f.landmarks)
            .map(|l| {
                let scale = decoded.image.width() as f32 / decoded.full_width as f32;
                let got = chip(&decoded.image, &l.map(|(x, y)| (x * scale, y * scale)));
                assert_eq!(got.dimensions(), expect.dimensions());
                let diff: f64 = got
                    .as_raw()
                    .iter()
                    .zip(expect.as_raw())
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
                    .sum::<f64>()
                    / got.as_raw().len() as f64;
                (diff, distance(&embedder.embed(&got), &dlib))
            })
            .fold((f64::INFINITY, f32::INFINITY), |(a, b), (x, y)| {
                (a.min(x), b.min(y))
            });
        diffs.push(best);
        distances.push(nearest);
    }
    diffs.sort_by(f64::total_cmp);
    // Measured: a median of 27 grey levels over 16 chips (17 to 38, and 52 where the detector
    // misses dlib's face). Pixel differences are a coarse check; what matters is that both chips
    // give the identity network the same person.
    let median = diffs[diffs.len() / 2];
    assert!(median <= 30.0, "median difference {median:.1}: {diffs:?}");
    // The descriptor of our chip against dlib's descriptor of its chip, for the same face:
    // measured 0.12 to 0.38, median 0.20, where one person's faces are usually under 0.6 apart.
    distances.sort_by(f32::total_cmp);
    let median = distances[distances.len() / 2];
    assert!(
        median <= 0.25 && distances[distances.len() - 1] <= 0.45,
        "{distances:?}"
    );
}
