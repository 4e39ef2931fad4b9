//! What phone files cost to index, one item at a time on one thread (the index runs one item per
//! core), against the issue's two goals:
//!
//! - a HEIC still costs at most twice a JPEG of the same pixels: each HEIC in
//!   `../shared/data/phone` is indexed (read EXIF, decode to the detector's size, find faces,
//!   describe them, measure) beside a JPEG of the very same decoded pixels (quality 92, written
//!   here in memory);
//! - a clip's cost does not grow with its length: two H.264 clips of ffmpeg's `testsrc2`
//!   pattern, 3 s and 60 s at 1080p with a sync frame every second (as phones write), are indexed
//!   the way the index does it (container, three probe frames, faces and measures on each).
//!
//! Wall and CPU time are both printed: CPU above wall would mean a decoder ran threads of its
//! own. Needs `../shared/data/phone` and, for the clips, the `ffmpeg` command.
//!
//! ```text
//! cargo bench -p memories --bench phone
//! ```

use memories_networks::NETWORKS;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime};

use memories_library::analysis::{ANALYSIS_SIDE, analyse, decode_rgb, shrink};
use memories_library::clips;
use memories_library::heif;
use memories_library::metadata::PhotoMeta;
use memories_library::scan::Format;
use memories_vision::Decoded;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_MODEL, DEFAULT_SCORE, FaceBox, FaceDetector};

// Only its timing helpers are used here.
#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

/// The median of `rounds` runs of `f`, wall and CPU, in milliseconds.
fn median_ms(rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..rounds)
        .map(|_| {
            let (wall, cpu) = (Instant::now(), support::cpu_time());
            f();
            (
                wall.elapsed().as_secs_f64() * 1e3,
                (support::cpu_time() - cpu).as_secs_f64() * 1e3,
            )
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[rounds / 2]
}

struct Indexer {
    detector: FaceDetector,
    embedder: FaceEmbedder,
}

impl Indexer {
    /// Faces, descriptors and measures of one decoded picture.
    fn measure(&mut self, decoded: Decoded, camera: bool) {
        let faces: Vec<FaceBox> = self
            .detector
            .detect_decoded(&decoded)
            .faces
            .iter()
            .map(FaceBox::from)
            .collect();
        black_box(
            self.embedder
                .describe(&decoded, &faces, DEFAULT_MODEL.describe_score()),
        );
        let small = Decoded {
            image: shrink(decoded.image, ANALYSIS_SIDE),
            ..decoded
        };
        black_box(analyse(&small, camera));
    }

    /// What the index does with a photo's bytes.
    fn photo(&mut self, bytes: &[u8], format: Format) {
        let meta = PhotoMeta::read(bytes, SystemTime::UNIX_EPOCH);
        let decoded = decode_rgb(bytes, format, meta.orientation, DECODE_SIDE).unwrap();
        self.measure(decoded, meta.camera().is_some());
    }

    /// What the index does with a clip file.
    fn clip(&mut self, path: &Path) {
        let len = std::fs::metadata(path).unwrap().len();
        let (mut file, clip) = clips::open(path, 0, len).unwrap();
        black_box(clips::meta(&clip, SystemTime::UNIX_EPOCH));
        for (_, decoded) in clips::probe_frames(&mut file, &clip, DECODE_SIDE).unwrap() {
            self.measure(decoded, true);
        }
    }
}

/// The phone HEICs, below `../shared/data/phone`.
const STILLS: [&str; 6] = [
    "heic/osxphotos__IMG_0102.HEIC",
    "heic/mde-images__exif-at-eof.heic",
    "heic/pillow-heif__xiaomi.heic",
    "heic/lychee__sewing-threads.heic",
    "heic/mde-images__Issue_487.heic",
    "live/iphone15pro_IMG_4394/IMG_4394.HEIC",
];

fn main() {
    // `decode-only`: the reduced HEIC decode of each still, ten times, and nothing else, for a
    // profiler (README, "What phones write", says how it was run).
    if std::env::args().any(|a| a == "decode-only") {
        for rel in STILLS {
            let heic = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../shared/data/phone")
                    .join(rel),
            )
            .unwrap();
            for _ in 0..10 {
                black_box(decode_rgb(&heic, Format::Heic, 1, DECODE_SIDE).unwrap());
            }
        }
        return;
    }
    println!("load average before: {}", support::load_average());
    match support::fma_peak() {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured (no AVX2/FMA)"),
    }
    let phone = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/phone");
    if !phone.is_dir() {
        println!("SKIPPED: {} is absent", phone.display());
        return;
    }
    let mut indexer = Indexer {
        detector: FaceDetector::new(&NETWORKS, DEFAULT_SCORE),
        embedder: FaceEmbedder::new(&NETWORKS),
    };
    let rounds = 5;

    println!(
        "\nHEIC against a JPEG of the same pixels (median of {rounds}, ms per photo, wall / CPU):"
    );
    let (mut heic_total, mut jpeg_total) = (0.0, 0.0);
    let mut decode_totals = [0.0; 3];
    for rel in STILLS {
        let heic = std::fs::read(phone.join(rel)).unwrap();
        let (pixels, w, h) = heif::decode(&heic).unwrap();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
            .encode_image(&pixels)
            .unwrap();
        drop(pixels);
        // The decoding alone: libheif's whole picture shrunk (how the index decoded HEICs
        // before), against the reduced decode through libavcodec it uses now.
        let (libheif_ms, _) = median_ms(rounds, || {
            let (full, _, _) = heif::decode(&heic).unwrap();
            black_box(shrink(full, DECODE_SIDE));
        });
        let (reduced_ms, _) = median_ms(rounds, || {
            black_box(decode_rgb(&heic, Format::Heic, 1, DECODE_SIDE).unwrap());
        });
        let (jpeg_decode_ms, _) = median_ms(rounds, || {
            black_box(decode_rgb(&jpeg, Format::Jpeg, 1, DECODE_SIDE).unwrap());
        });
        decode_totals[0] += libheif_ms;
        decode_totals[1] += reduced_ms;
        decode_totals[2] += jpeg_decode_ms;
        let (heic_ms, heic_cpu) = median_ms(rounds, || indexer.photo(&heic, Format::Heic));
        let (jpeg_ms, jpeg_cpu) = median_ms(rounds, || indexer.photo(&jpeg, Format::Jpeg));
        heic_total += heic_ms;
        jpeg_total += jpeg_ms;
        println!(
            "  {rel:<42} {w}x{h}  HEIC {heic_ms:6.1} / {heic_cpu:6.1}  JPEG {jpeg_ms:6.1} / {jpeg_cpu:6.1}  ratio {:.2}",
            heic_ms / jpeg_ms
        );
        println!(
            "  {:<42} decoding alone: libheif whole {libheif_ms:6.1}, reduced {reduced_ms:6.1}, JPEG {jpeg_decode_ms:6.1}",
            ""
        );
    }
    println!(
        "  all {}: HEIC {:.1} ms, JPEG {:.1} ms per photo, ratio {:.2} (goal: at most 2)",
        STILLS.len(),
        heic_total / STILLS.len() as f64,
        jpeg_total / STILLS.len() as f64,
        heic_total / jpeg_total
    );
    let n = STILLS.len() as f64;
    println!(
        "  decoding alone, per photo: libheif whole {:.1} ms, reduced {:.1} ms ({:.2} of libheif), JPEG {:.1} ms",
        decode_totals[0] / n,
        decode_totals[1] / n,
        decode_totals[1] / decode_totals[0],
        decode_totals[2] / n
    );

    let work = std::env::temp_dir().join(format!("memories-phone-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let made: Option<Vec<(f64, std::path::PathBuf)>> = [3.0, 60.0]
        .iter()
        .map(|&seconds| {
            let path = work.join(format!("clip-{seconds}.mp4"));
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
                .arg(format!(
                    "testsrc2=size=1920x1080:rate=30:duration={seconds}"
                ))
                .args([
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p",
                ])
                .arg(&path)
                .status()
                .ok()?;
            status.success().then_some((seconds, path))
        })
        .collect();
    match made {
        None => println!("\nclips: SKIPPED (ffmpeg with libx264 is needed to make them)"),
        Some(made) => {
            println!(
                "\nA clip's cost against its length (1080p H.264, median of {rounds}, ms per clip, wall / CPU):"
            );
            let mut costs = Vec::new();
            for (seconds, path) in &made {
                let size = std::fs::metadata(path).unwrap().len();
                let (ms, cpu) = median_ms(rounds, || indexer.clip(path));
                costs.push(ms);
                println!(
                    "  {seconds:>4} s, {:>6.1} MB: {ms:6.1} / {cpu:6.1}",
                    size as f64 / 1e6
                );
            }
            println!(
                "  60 s against 3 s: ratio {:.2} (goal: about 1, not 20)",
                costs[1] / costs[0]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("\nload average after: {}", support::load_average());
}
