//! Which JPEG decoder Memories should index with (issue 19). Indexing decodes every photo to a
//! long side of 640 px (`memories_vision::faces::DECODE_SIDE`); decoding was 58% of indexing time
//! with `jpeg-decoder`. Each candidate decodes to that size the fastest way it can: DCT-domain
//! downscaling (1/2, 1/4 or 1/8 of full size) where the library has it, then the product's own
//! area-averaging shrink to the exact size.
//!
//! Two passes:
//! 1. **Agreement, on every JPEG under `../shared/data`** (camera samples, identities, LFW, scenes,
//!    WIDER, demo): each candidate's output against an independent reference, `jpeg-decoder`'s
//!    full-size decode shrunk by the same filter to the same size. A candidate fails a photo when
//!    it errors where the reference does not, or when its PSNR against the reference is under
//!    [`MIN_PSNR_DB`].
//! 2. **Speed, on the camera JPEGs of 8 MP or more** (the same photos as `cargo bench -p memories
//!    --bench index`): rounds in which every candidate decodes every photo, the candidates in a
//!    rotating order; each candidate's time is the median over rounds, and its ratio to
//!    `jpeg-decoder` the median of the per-round ratios, with their spread.
//!
//! ```text
//! apt-get install cmake nasm          # cmake for turbojpeg's libjpeg-turbo; nasm for the SIMD
//! cd benches/jpeg && cargo run --release
//! ```
//! Results go to `target/jpeg-compare.json` in this folder.

#[allow(dead_code)]
#[path = "../../support/mod.rs"]
mod support;

use image::RgbImage;
use image::imageops;
use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The long side indexing decodes to (`memories_vision::faces::DECODE_SIDE`).
const SIDE: u32 = 640;

/// Below this PSNR against the reference a decoding is wrong, not merely different. DCT-domain
/// scaling and full decode plus area averaging differ by rounding and by how chroma is upsampled:
/// well above 30 dB. A shifted, swapped or garbled image is far below it.
const MIN_PSNR_DB: f64 = 30.0;

/// Speed rounds: each decodes every large photo once with every candidate.
const ROUNDS: usize = 7;

/// One way to decode a JPEG to RGB whose long side is at most the given size.
struct Candidate {
    name: &'static str,
    /// Whether it downscales in the DCT domain (by 1/2, 1/4 or 1/8) before the shrink.
    dct_scaled: bool,
    decode: fn(&[u8], u32) -> Result<RgbImage, String>,
}

const CANDIDATES: [Candidate; 4] = [
    Candidate {
        name: "jpeg-decoder",
        dct_scaled: true,
        decode: with_jpeg_decoder,
    },
    Candidate {
        name: "zune-jpeg",
        dct_scaled: false,
        decode: with_zune_jpeg,
    },
    Candidate {
        name: "mozjpeg",
        dct_scaled: true,
        decode: with_mozjpeg,
    },
    Candidate {
        name: "turbojpeg",
        dct_scaled: true,
        decode: with_turbojpeg,
    },
];

/// The size with long side `side` and the same aspect ratio (as Memories' `analysis::fit`).
fn fit(w: u32, h: u32, side: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= side {
        return (w.max(1), h.max(1));
    }
    let scale = |s: u32| ((u64::from(s) * u64::from(side)).div_ceil(u64::from(long)) as u32).max(1);
    (scale(w), scale(h))
}

/// Memories' shrink: area-averaging thumbnail to `fit`, never up.
fn shrink(image: RgbImage, side: u32) -> RgbImage {
    if image.width().max(image.height()) <= side {
        return image;
    }
    let (w, h) = fit(image.width(), image.height(), side);
    imageops::thumbnail(&image, w, h)
}

/// The smallest DCT scale, in eighths (8, 4, 2 or 1: the factors every decoder here has), whose
/// output still has a long side of at least `side`.
fn eighths(long: u32, side: u32) -> u8 {
    let mut n = 8u8;
    while n > 1 && (u64::from(long) * u64::from(n / 2)).div_ceil(8) >= u64::from(side) {
        n /= 2;
    }
    n
}

fn gray_to_rgb(w: u32, h: u32, gray: Vec<u8>) -> Result<RgbImage, String> {
    let gray = image::GrayImage::from_raw(w, h, gray).ok_or("short grayscale buffer")?;
    Ok(image::DynamicImage::ImageLuma8(gray).into_rgb8())
}

fn rgb(w: usize, h: usize, pixels: Vec<u8>) -> Result<RgbImage, String> {
    RgbImage::from_raw(w as u32, h as u32, pixels).ok_or_else(|| "short RGB buffer".to_string())
}

fn caught<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("panicked: {message}"))
    })
}

/// Today's decoder, as `memories_library::analysis` calls it.
fn with_jpeg_decoder(bytes: &[u8], side: u32) -> Result<RgbImage, String> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no header")?;
    let (w, h) = fit(info.width.into(), info.height.into(), side);
    decoder
        .scale(w.min(65535) as u16, h.min(65535) as u16)
        .map_err(|e| e.to_string())?;
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let image = match info.pixel_format {
        PixelFormat::RGB24 => rgb(w as usize, h as usize, pixels)?,
        PixelFormat::L8 => gray_to_rgb(w, h, pixels)?,
        PixelFormat::L16 => gray_to_rgb(w, h, pixels.chunks_exact(2).map(|p| p[0]).collect())?,
        PixelFormat::CMYK32 => return Err("CMYK".into()),
    };
    Ok(shrink(image, side))
}

/// zune-jpeg has no DCT scaling: a full decode, then the shrink.
fn with_zune_jpeg(bytes: &[u8], side: u32) -> Result<RgbImage, String> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(1 << 16)
        .set_max_height(1 << 16);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().map_err(|e| format!("{e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("no dimensions")?;
    let image = match decoder.output_colorspace() {
        Some(ColorSpace::RGB) => rgb(w, h, pixels)?,
        Some(ColorSpace::Luma) => gray_to_rgb(w as u32, h as u32, pixels)?,
        other => return Err(format!("output colour space {other:?}")),
    };
    Ok(shrink(image, side))
}

/// libjpeg-turbo's decoder as MozJPEG carries it, through the `mozjpeg` crate. libjpeg reports
/// errors by unwinding (the crate's `unwinding` feature), so they are caught here.
fn with_mozjpeg(bytes: &[u8], side: u32) -> Result<RgbImage, String> {
    caught(|| {
        let mut decoder = mozjpeg::Decompress::builder()
            .from_mem(bytes)
            .map_err(|e| e.to_string())?;
        use mozjpeg::ColorSpace;
        if matches!(
            decoder.color_space(),
            ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
        ) {
            return Err("CMYK".into());
        }
        let long = decoder.width().max(decoder.height()) as u32;
        decoder.scale(eighths(long, side));
        let mut started = decoder.rgb().map_err(|e| e.to_string())?;
        let (w, h) = (started.width(), started.height());
        let pixels: Vec<u8> = started.read_scanlines().map_err(|e| e.to_string())?;
        started.finish().map_err(|e| e.to_string())?;
        Ok(shrink(rgb(w, h, pixels)?, side))
    })
}

/// libjpeg-turbo 3 through TurboJPEG.
fn with_turbojpeg(bytes: &[u8], side: u32) -> Result<RgbImage, String> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};
    let mut decoder = Decompressor::new().map_err(|e| e.to_string())?;
    let header = decoder.read_header(bytes).map_err(|e| e.to_string())?;
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return Err("CMYK".into());
    }
    let long = header.width.max(header.height) as u32;
    let scale = ScalingFactor::new(usize::from(eighths(long, side)), 8);
    let scaled = header.scaled(scale);
    decoder
        .set_scaling_factor(scale)
        .map_err(|e| e.to_string())?;
    let mut image = Image {
        pixels: vec![0u8; 3 * scaled.width * scaled.height],
        width: scaled.width,
        pitch: 3 * scaled.width,
        height: scaled.height,
        format: PixelFormat::RGB,
    };
    decoder
        .decompress(bytes, image.as_deref_mut())
        .map_err(|e| e.to_string())?;
    Ok(shrink(
        rgb(scaled.width, scaled.height, image.pixels)?,
        side,
    ))
}

/// The reference: `jpeg-decoder` at full size, RGB, or `None` for CMYK (which Memories hands to
/// the `image` crate whatever the decoder).
fn reference(bytes: &[u8]) -> Result<Option<RgbImage>, String> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    Ok(Some(match info.pixel_format {
        PixelFormat::RGB24 => rgb(w as usize, h as usize, pixels)?,
        PixelFormat::L8 => gray_to_rgb(w, h, pixels)?,
        PixelFormat::L16 => gray_to_rgb(w, h, pixels.chunks_exact(2).map(|p| p[0]).collect())?,
        PixelFormat::CMYK32 => return Ok(None),
    }))
}

/// Each `k`x`k` block averaged to one pixel (partial blocks at the edges over what they hold):
/// what DCT-domain scaling by 1/`k` approximates, exactly so for 1/8 (the DC coefficient).
fn box_average(image: &RgbImage, k: u32) -> RgbImage {
    if k == 1 {
        return image.clone();
    }
    let (w, h) = (image.width().div_ceil(k), image.height().div_ceil(k));
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        let mut n = 0;
        for yy in y * k..((y + 1) * k).min(image.height()) {
            for xx in x * k..((x + 1) * k).min(image.width()) {
                let p = image.get_pixel(xx, yy).0;
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
                n += 1;
            }
        }
        image::Rgb(sum.map(|v| ((v + n / 2) / n) as u8))
    })
}

/// What a correct decoder should give: the full decode brought to `got`'s size the way the
/// candidate gets there (DCT scaling as a box average, then the shrink; or the shrink alone).
fn expected(full: &RgbImage, candidate: &Candidate, got: &RgbImage) -> RgbImage {
    let staged = if candidate.dct_scaled {
        let k = 8 / u32::from(eighths(full.width().max(full.height()), SIDE));
        shrink(box_average(full, k), SIDE)
    } else {
        shrink(full.clone(), SIDE)
    };
    if (staged.width(), staged.height()) == (got.width(), got.height()) {
        staged
    } else {
        imageops::thumbnail(&staged, got.width(), got.height())
    }
}

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let squared: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

fn is_jpeg(path: &Path) -> bool {
    let mut magic = [0u8; 3];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == [0xFF, 0xD8, 0xFF]
}

fn jpegs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            jpegs_under(&path, out);
        } else if is_jpeg(&path) {
            out.push(path);
        }
    }
}

/// What one candidate did on the agreement pass.
#[derive(Default)]
struct Agreement {
    compared: usize,
    failures: Vec<String>,
    min_psnr: f64,
    psnr_sum: f64,
}

fn agreement(photos: &[PathBuf]) -> Vec<Agreement> {
    let mut results: Vec<Agreement> = CANDIDATES
        .iter()
        .map(|_| Agreement {
            min_psnr: f64::INFINITY,
            ..Agreement::default()
        })
        .collect();
    let (mut cmyk, mut unreadable) = (0, Vec::new());
    for path in photos {
        let bytes = std::fs::read(path).unwrap();
        let full = match reference(&bytes) {
            Ok(Some(full)) => full,
            Ok(None) => {
                cmyk += 1;
                continue;
            }
            Err(e) => {
                // Memories lists such a photo as skipped; say what each candidate made of it.
                let verdicts: Vec<String> = CANDIDATES
                    .iter()
                    .map(|c| match (c.decode)(&bytes, SIDE) {
                        Ok(_) => format!("{}: decoded", c.name),
                        Err(e) => format!("{}: {e}", c.name),
                    })
                    .collect();
                unreadable.push(format!("{} ({e}); {}", path.display(), verdicts.join("; ")));
                continue;
            }
        };
        for (candidate, result) in CANDIDATES.iter().zip(&mut results) {
            result.compared += 1;
            let got = match (candidate.decode)(&bytes, SIDE) {
                Ok(got) => got,
                Err(e) => {
                    result.failures.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let (w, h) = fit(full.width(), full.height(), SIDE);
            if got.width().abs_diff(w) > 1 || got.height().abs_diff(h) > 1 {
                result.failures.push(format!(
                    "{}: {}x{}, expected {w}x{h}",
                    path.display(),
                    got.width(),
                    got.height()
                ));
                continue;
            }
            let expected = expected(&full, candidate, &got);
            let db = psnr(&got, &expected);
            result.min_psnr = result.min_psnr.min(db);
            result.psnr_sum += db.min(99.0);
            if db < MIN_PSNR_DB {
                result
                    .failures
                    .push(format!("{}: PSNR {db:.1} dB", path.display()));
            }
        }
    }
    println!(
        "agreement on {} JPEGs under ../shared/data ({cmyk} CMYK, which Memories decodes with the image crate; {} the reference cannot read):",
        photos.len(),
        unreadable.len()
    );
    for line in &unreadable {
        println!("  unreadable: {line}");
    }
    for (candidate, result) in CANDIDATES.iter().zip(&results) {
        println!(
            "  {:<13} {} compared, {} failed, PSNR min {:.1} dB, mean {:.1} dB (capped at 99)",
            candidate.name,
            result.compared,
            result.failures.len(),
            result.min_psnr,
            result.psnr_sum / result.compared.max(1) as f64
        );
        for failure in result.failures.iter().take(10) {
            println!("      {failure}");
        }
    }
    results
}

/// Median of a non-empty list.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut photos = Vec::new();
    jpegs_under(&shared, &mut photos);
    photos.sort();
    if photos.is_empty() {
        println!("SKIPPED: no JPEGs under {}", shared.display());
        return;
    }
    // `--speed-only` skips the agreement pass (for profiling the timed loop).
    let speed_only = std::env::args().any(|a| a == "--speed-only");
    let agreed = if speed_only {
        CANDIDATES
            .iter()
            .map(|_| Agreement {
                min_psnr: f64::NAN,
                ..Agreement::default()
            })
            .collect()
    } else {
        agreement(&photos)
    };

    // The speed set: camera JPEGs of 8 MP or more, as the index bench uses.
    let large: Vec<(Vec<u8>, f64, String)> = photos
        .iter()
        .filter(|p| p.starts_with(shared.join("exif")) || p.starts_with(shared.join("identities")))
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
            d.read_info().ok()?;
            let info = d.info()?;
            let mp = f64::from(info.width) * f64::from(info.height) / 1e6;
            let name = p.strip_prefix(&shared).unwrap_or(p).display().to_string();
            (mp >= 8.0 && reference(&bytes).ok()?.is_some()).then_some((bytes, mp, name))
        })
        .collect();
    let mean_mp = large.iter().map(|(_, mp, _)| mp).sum::<f64>() / large.len().max(1) as f64;

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before timing: {}", load.trim());
    match support::fma_peak() {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured (no AVX2/FMA)"),
    }
    // Per candidate, photo and round: milliseconds.
    let mut times = vec![vec![Vec::new(); large.len()]; CANDIDATES.len()];
    for round in 0..=ROUNDS {
        for k in 0..CANDIDATES.len() {
            let c = (k + round) % CANDIDATES.len();
            for (p, (bytes, _, _)) in large.iter().enumerate() {
                let t = Instant::now();
                // A candidate that fails a photo still pays for trying; the agreement pass
                // reports the failure.
                let _ = black_box((CANDIDATES[c].decode)(black_box(bytes), SIDE));
                // Round 0 warms caches and the allocator, and is not counted.
                if round > 0 {
                    times[c][p].push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after timing: {}", load.trim());
    println!(
        "speed: {} camera JPEGs of 8 MP or more (mean {mean_mp:.1} MP) to a long side of {SIDE} px, one thread, {ROUNDS} rounds",
        large.len()
    );
    // Per candidate and round: the mean over photos.
    let per_round: Vec<Vec<f64>> = times
        .iter()
        .map(|photos| {
            (0..ROUNDS)
                .map(|r| photos.iter().map(|t| t[r]).sum::<f64>() / photos.len() as f64)
                .collect()
        })
        .collect();
    println!(
        "  {:<13} {:>12} {:>10} {:>26}",
        "decoder", "median ms", "min ms", "vs jpeg-decoder (spread)"
    );
    let mut json = Vec::new();
    for (c, candidate) in CANDIDATES.iter().enumerate() {
        let mut ratios: Vec<f64> = per_round[c]
            .iter()
            .zip(&per_round[0])
            .map(|(t, base)| t / base)
            .collect();
        let ratio = median(&mut ratios);
        let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
        let min = per_round[c].iter().copied().fold(f64::INFINITY, f64::min);
        let med = median(&mut per_round[c].clone());
        println!(
            "  {:<13} {med:>12.2} {min:>10.2} {ratio:>13.3}x ({low:.3}-{high:.3})",
            candidate.name
        );
        json.push(format!(
            "{{\"decoder\": \"{}\", \"case\": \"camera-8mp-to-{SIDE}\", \"median_ms\": {med:.3}, \"min_ms\": {min:.3}, \"ratio_to_jpeg_decoder\": {ratio:.4}, \"ratio_low\": {low:.4}, \"ratio_high\": {high:.4}, \"agreement_failures\": {}, \"min_psnr_db\": {:.2}}}",
            candidate.name,
            agreed[c].failures.len(),
            agreed[c].min_psnr
        ));
    }
    println!("per photo, median ms:");
    print!("  {:<40}", "photo");
    for candidate in &CANDIDATES {
        print!(" {:>13}", candidate.name);
    }
    println!();
    for (p, (_, _, name)) in large.iter().enumerate() {
        print!("  {name:<40}");
        for photos in &times {
            print!(" {:>13.2}", median(&mut photos[p].clone()));
        }
        println!();
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/jpeg-compare.json");
    support::write_atomically(&out, &format!("[\n  {}\n]\n", json.join(",\n  ")));
}
