//! Movie encoding speed: frames per second that [`Mp4Writer`] takes at 720p and 1080p, against
//! real time (30 fps), for frames that move like a Ken Burns shot (a slow zoom and pan over a
//! detailed picture), plus the soundtrack's synthesis and the `finish` step (Opus encoding,
//! muxing, fsync). The issue's goal: a 30-second 1080p memory renders faster than real time on
//! 2 cores, so encoding must leave room for decoding and composing.
//!
//! Measured (30 s per size, load average 7 on the 2-core machine, so wall times are pessimistic;
//! CPU time is the cost): 1080p 900 frames in 25.5 s wall, 16.7 s CPU (54 fps per core), 24.0 MB
//! (6.4 Mbit/s); 720p 900 frames in 9.4 s wall, 6.1 s CPU (148 fps per core), 11.1 MB
//! (2.95 Mbit/s); the 30 s soundtrack synthesizes in 0.67 s; `finish` takes about 0.5 s.
//!
//! ```text
//! cargo bench -p memories --bench encode            # 10 s of video per size
//! cargo bench -p memories --bench encode -- 30 out  # 30 s, and keep the movies in out/
//! ```

use memories_media::{Mp4Writer, VideoFormat};
use memories_movie::soundtrack::{Style, synthesize};
use std::path::PathBuf;
use std::time::Instant;

/// Distinct frames rendered up front (played forwards then backwards), so that the timing is
/// the writer's alone.
const RENDERED: u32 = 45;

/// A detailed "photo" 25% larger than the frame: smooth colour fields plus fine texture (the
/// hardest part to encode, like foliage or hair), from a fixed-seed generator.
fn source(width: usize, height: usize) -> Vec<[f32; 3]> {
    let mut state = 0x1234_5678_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 8) as f32 / (1 << 24) as f32
    };
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
            let sky = [90.0 + 80.0 * v, 140.0 + 60.0 * v, 220.0 - 60.0 * v];
            let ground = [70.0 + 40.0 * u, 120.0 + 30.0 * (u * 9.0).sin(), 50.0];
            let blend = ((v - 0.55 - 0.05 * (u * 12.0).sin()) * 20.0).clamp(0.0, 1.0);
            let grain = 40.0 * (noise() - 0.5) * blend;
            pixels.push(std::array::from_fn(|c| {
                (sky[c] * (1.0 - blend) + ground[c] * blend + grain).clamp(0.0, 255.0)
            }));
        }
    }
    pixels
}

/// Frame `n` of a shot that zooms from 100% to 80% of the source while panning right
/// (bilinear sampling).
fn ken_burns(source: &[[f32; 3]], sw: usize, sh: usize, format: VideoFormat, n: u32) -> Vec<u8> {
    let (w, h) = (format.width as usize, format.height as usize);
    let t = n as f32 / RENDERED as f32;
    let scale = (sw as f32 / w as f32) * (1.0 - 0.2 * t);
    let (x0, y0) = (t * (sw as f32 - w as f32 * scale), 0.1 * t * sh as f32);
    let mut rgb = vec![0u8; w * h * 3];
    for y in 0..h {
        let sy = (y0 + y as f32 * scale).min(sh as f32 - 1.001);
        let (iy, fy) = (sy as usize, sy.fract());
        for x in 0..w {
            let sx = (x0 + x as f32 * scale).min(sw as f32 - 1.001);
            let (ix, fx) = (sx as usize, sx.fract());
            let at = |dx: usize, dy: usize| source[(iy + dy) * sw + ix + dx];
            let (a, b, c, d) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
            for ch in 0..3 {
                let top = a[ch] + (b[ch] - a[ch]) * fx;
                let bottom = c[ch] + (d[ch] - c[ch]) * fx;
                rgb[(y * w + x) * 3 + ch] = (top + (bottom - top) * fy) as u8;
            }
        }
    }
    rgb
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat: on a shared machine
/// the wall time depends on the other processes, the CPU time does not.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seconds: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let keep = args.get(1).map(PathBuf::from);
    let scratch = tempfile::tempdir().expect("temporary directory");
    let out_dir = keep.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    std::fs::create_dir_all(&out_dir).expect("output directory");
    println!("encode bench: {seconds} s of video per size, 30 fps, 1 encoder thread + caller");

    let start = Instant::now();
    let music = synthesize(Style::Uplifting, 120.0, f64::from(seconds));
    let synth = start.elapsed().as_secs_f64();
    println!(
        "soundtrack: {seconds} s uplifting synthesized in {synth:.3} s ({:.0}x real time)",
        f64::from(seconds) / synth
    );

    for format in [VideoFormat::HD_720, VideoFormat::HD_1080] {
        let (sw, sh) = (
            format.width as usize * 5 / 4,
            format.height as usize * 5 / 4,
        );
        let picture = source(sw, sh);
        let frames: Vec<Vec<u8>> = (0..RENDERED)
            .map(|n| ken_burns(&picture, sw, sh, format, n))
            .collect();
        let path = out_dir.join(format!("bench-{}p.mp4", format.height));
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let mut writer = Mp4Writer::create(&path, format).expect("create");
        let total = seconds * format.fps;
        for n in 0..total {
            // Ping-pong through the rendered frames: motion never jumps.
            let cycle = n % (2 * RENDERED);
            let index = if cycle < RENDERED {
                cycle
            } else {
                2 * RENDERED - 1 - cycle
            };
            writer.push_frame(&frames[index as usize]).expect("frame");
        }
        let pushed = start.elapsed().as_secs_f64();
        writer.finish(&music).expect("finish");
        let elapsed = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_start;
        let size = std::fs::metadata(&path).expect("output").len();
        println!(
            "{}x{}: {total} frames in {elapsed:.2} s = {:.1} fps ({:.2}x real time); CPU {cpu:.2} s = {:.1} fps per core; finish (Opus, mux, fsync) {:.3} s; {:.1} MB ({:.2} Mbit/s)",
            format.width,
            format.height,
            f64::from(total) / elapsed,
            f64::from(seconds) / elapsed,
            f64::from(total) / cpu,
            elapsed - pushed,
            size as f64 / 1e6,
            size as f64 * 8.0 / 1e6 / f64::from(seconds),
        );
    }
    if let Some(dir) = keep {
        println!("movies kept in {}", dir.display());
    }
}
