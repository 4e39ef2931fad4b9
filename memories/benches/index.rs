//! Where indexing time goes, per photo, on real camera JPEGs of 8 megapixels or more from
//! `../shared/data` (exif samples and identity photos): read, hash, EXIF, decode (DCT-scaled to the
//! detector's size), face detection (the whole pyramid), identity descriptors of the confident
//! faces, and the quality measures. Single-threaded,
//! so that the stages add up; the index itself runs them on every core.
//!
//! ```text
//! cargo bench -p memories --bench index
//! ```

use memories_library::analysis::{ANALYSIS_SIDE, analyse, decode_rgb, shrink};
use memories_library::metadata::PhotoMeta;
use memories_library::scan::{Format, Sniffed, sniff};
use memories_networks::NETWORKS;
use memories_vision::Decoded;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::FaceBox;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_MODEL, DEFAULT_SCORE, FaceDetector};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Every JPEG under `dir` whose header says at least 8 megapixels.
fn large_jpegs(dir: &Path, out: &mut Vec<(PathBuf, u32, u32)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            large_jpegs(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg"))
        {
            let dims = image::ImageReader::open(&path)
                .ok()
                .and_then(|r| r.into_dimensions().ok());
            if let Some((w, h)) = dims.filter(|(w, h)| u64::from(*w) * u64::from(*h) >= 8_000_000) {
                out.push((path, w, h));
            }
        }
    }
}

// Only its timing helpers are used here.
#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

fn main() {
    println!("load average before: {}", support::load_average());
    match support::fma_peak() {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured (no AVX2/FMA)"),
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let mut photos = Vec::new();
    for sub in ["exif", "identities"] {
        large_jpegs(&shared.join(sub), &mut photos);
    }
    photos.sort();
    if photos.is_empty() {
        println!(
            "SKIPPED: no JPEGs of 8 MP or more under {}",
            shared.display()
        );
        return;
    }
    let mut detector = FaceDetector::new(&NETWORKS, DEFAULT_SCORE);
    let mut embedder = FaceEmbedder::new(&NETWORKS);
    let stages = [
        "read", "hash", "exif", "decode", "detect", "describe", "measures",
    ];
    let mut spent = [Duration::ZERO; 7];
    let (mut runs, mut failed) = (0usize, 0usize);
    let rounds = 3;
    for _ in 0..rounds {
        for (path, _, _) in &photos {
            let mut t = Instant::now();
            let mut lap = |stage: usize, t: &mut Instant| {
                spent[stage] += t.elapsed();
                *t = Instant::now();
            };
            let bytes = std::fs::read(path).unwrap();
            lap(0, &mut t);
            black_box(blake3::hash(&bytes));
            lap(1, &mut t);
            let meta = PhotoMeta::read(&bytes, SystemTime::UNIX_EPOCH);
            lap(2, &mut t);
            let Sniffed::Image(Format::Jpeg) = sniff(&bytes) else {
                continue;
            };
            let Ok(decoded) = decode_rgb(&bytes, Format::Jpeg, meta.orientation, DECODE_SIDE)
            else {
                failed += 1;
                continue;
            };
            lap(3, &mut t);
            let faces: Vec<FaceBox> = detector
                .detect_decoded(&decoded)
                .faces
                .iter()
                .map(FaceBox::from)
                .collect();
            lap(4, &mut t);
            black_box(embedder.describe(&decoded, &faces, DEFAULT_MODEL.describe_score()));
            lap(5, &mut t);
            let small = Decoded {
                image: shrink(decoded.image, ANALYSIS_SIDE),
                ..decoded
            };
            black_box(analyse(&small, meta.camera().is_some()));
            lap(6, &mut t);
            runs += 1;
        }
    }
    let total: Duration = spent.iter().sum();
    let megapixels: f64 = photos
        .iter()
        .map(|(_, w, h)| f64::from(*w) * f64::from(*h) / 1e6)
        .sum::<f64>()
        / photos.len() as f64;
    println!(
        "{} JPEGs of 8 MP or more (mean {megapixels:.1} MP), {rounds} rounds, {} decode failures skipped",
        photos.len(),
        failed / rounds
    );
    println!(
        "{:.1} photos/s on one thread ({:.1} ms per photo)",
        runs as f64 / total.as_secs_f64(),
        total.as_secs_f64() * 1e3 / runs as f64
    );
    for (stage, d) in stages.iter().zip(spent) {
        println!(
            "  {stage:<9} {:>7.2} ms per photo  {:>5.1}%",
            d.as_secs_f64() * 1e3 / runs as f64,
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!("load average after: {}", support::load_average());
}
