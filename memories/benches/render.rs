//! Where movie rendering time goes, at 720p and 1080p: decoding a photo at the size a shot
//! needs, composing a frame (one bilinear Ken Burns sample, graded at decode), composing a
//! crossfade frame (two samples and a blend), and a whole movie of the demo photos (decode and
//! compose, no encoder) against its duration. Uses every core, as the program does. Besides
//! wall-clock time it reports the process's CPU time (Linux), which stays meaningful when other
//! work shares the machine: on an idle machine, wall time is about CPU time over the cores.
//!
//! ```text
//! cargo bench -p memories --bench render
//! ```

use memories_networks::NETWORKS;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use memories_library::analysis::{ANALYSIS_SIDE, analyse, decode_rgb, shrink};
use memories_library::index::PhotoInfo;
use memories_library::metadata::PhotoMeta;
use memories_library::scan::{Sniffed, sniff};
use memories_movie::motion::{self, Direction};
use memories_movie::select::Similarity;
use memories_movie::{
    self, FrameSink, Length, Memory, MemoryPhoto, Movie, MovieError, Resolution, Settings, Still,
    Theme, compose,
};
use memories_vision::Decoded;
use memories_vision::faces::FaceBox;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_SCORE, FaceDetector};

/// Indexes one photo the way `memories` does, for a [`Memory`] built without a database.
fn analysed(path: &Path, detector: &mut FaceDetector) -> MemoryPhoto {
    let bytes = std::fs::read(path).expect("demo photo");
    let Sniffed::Image(format) = sniff(&bytes) else {
        panic!("{} is not an image", path.display())
    };
    let meta = PhotoMeta::read(&bytes, SystemTime::UNIX_EPOCH);
    let decoded = decode_rgb(&bytes, format, meta.orientation, DECODE_SIDE).expect("decodes");
    let faces = detector
        .detect_decoded(&decoded)
        .faces
        .iter()
        .map(FaceBox::from)
        .collect();
    let small = Decoded {
        image: shrink(decoded.image, ANALYSIS_SIDE),
        ..decoded
    };
    let analysis = analyse(&small, meta.camera().is_some());
    MemoryPhoto {
        rel: path.file_name().unwrap().to_string_lossy().into_owned(),
        path: path.to_path_buf(),
        info: PhotoInfo {
            format,
            meta,
            analysis,
            faces,
            descriptors: Vec::new(),
            clip: None,
            embedded_motion: None,
        },
        motion: None,
    }
}

struct Discard;

impl FrameSink for Discard {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        black_box(rgb);
        Ok(())
    }
}

// Only its timing helpers are used here.
#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `f`, returning (wall, CPU) time.
fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let (wall, cpu) = (Instant::now(), support::cpu_time());
    f();
    (wall.elapsed(), support::cpu_time() - cpu)
}

fn main() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/people");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&demo)
        .expect("demo/people")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut detector = FaceDetector::new(&NETWORKS, DEFAULT_SCORE);
    let mut photos: Vec<MemoryPhoto> = paths.iter().map(|p| analysed(p, &mut detector)).collect();
    photos.sort_by_key(|p| p.info.meta.taken.timeline_secs());
    let memory = Memory {
        id: "bench".into(),
        title: "Benchmark evening".into(),
        dates: "1 January 2020".into(),
        place: None,
        photos,
    };
    let similar = Similarity {
        duplicate_bits: 8,
        burst_secs: 600,
    };
    println!(
        "{} threads; {} demo photos",
        rayon::current_num_threads(),
        memory.photos.len()
    );
    for resolution in [Resolution::Hd720, Resolution::Hd1080] {
        let (w, h) = resolution.size();
        let settings = Settings {
            theme: Theme::Gentle,
            length: Length::Medium,
            resolution,
        };
        let grade = settings.theme.grade().lut();
        // Decode: each demo photo at the size its shot needs, graded.
        let start = Instant::now();
        let mut sources = Vec::new();
        for (n, photo) in memory.photos.iter().enumerate() {
            let a = &photo.info.analysis;
            let kb = motion::plan(
                a.width,
                a.height,
                &photo.info.faces,
                w as f32 / h as f32,
                settings.theme.zoom(),
                Direction::ZoomIn,
                n % 2 == 0,
            );
            sources.push((Still::load(photo, &kb, w, &grade).expect("decodes"), kb));
        }
        let decode = start.elapsed() / memory.photos.len() as u32;

        // Compose: steady frames of a moving crop, then crossfade frames.
        let frames = 90;
        let mut out = vec![0u8; w * h * 3];
        let (mut a, mut b) = (out.clone(), out.clone());
        let (steady, steady_cpu) = timed(|| {
            for i in 0..frames {
                let (source, kb) = &sources[i % sources.len()];
                source.draw(kb.at(i as f32 / frames as f32), &mut out, w, h);
                black_box(&out);
            }
        });
        let (blend, blend_cpu) = timed(|| {
            for i in 0..frames {
                let (sa, ka) = &sources[i % sources.len()];
                let (sb, kb) = &sources[(i + 1) % sources.len()];
                let t = i as f32 / frames as f32;
                sa.draw(ka.at(t), &mut a, w, h);
                sb.draw(kb.at(t), &mut b, w, h);
                compose::crossfade(&a, &b, t, &mut out);
                black_box(&out);
            }
        });
        let per_frame = |d: Duration| ms(d) / frames as f64;

        // A whole movie: decode and compose every frame.
        let movie = Movie::plan(&memory, settings, &similar);
        let mut stats = None;
        let (total, total_cpu) = timed(|| {
            stats = Some(memories_movie::render(&movie, &mut Discard).expect("renders"));
        });
        let stats = stats.expect("rendered");
        let seconds = movie.timeline.duration_secs();
        println!(
            "{w}x{h}: decode {:.1} ms/photo (wall); compose {:.2} ms/frame wall ({:.0} fps), {:.2} ms CPU; \
             crossfade {:.2} ms/frame wall ({:.0} fps), {:.2} ms CPU",
            ms(decode),
            per_frame(steady),
            1000.0 / per_frame(steady),
            per_frame(steady_cpu),
            per_frame(blend),
            1000.0 / per_frame(blend),
            per_frame(blend_cpu),
        );
        println!(
            "{w}x{h}: movie of {} shots, {seconds:.1} s, {} frames: {:.2} s wall (decode {:.2} s, compose {:.2} s) = {:.1}x real time; \
             {:.2} s CPU = {:.1}x real time on one core",
            movie.shots.len(),
            stats.frames,
            total.as_secs_f64(),
            stats.decode.as_secs_f64(),
            stats.compose.as_secs_f64(),
            seconds / total.as_secs_f64(),
            total_cpu.as_secs_f64(),
            seconds / total_cpu.as_secs_f64().max(1e-9),
        );
    }
}
