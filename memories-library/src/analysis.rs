//! Decodes a photo once at reduced size and measures what the memory planner needs: sharpness,
//! exposure, a perceptual hash for near-duplicates, and whether it looks like a screenshot or a
//! document rather than a photo.
//!
//! [`decode_rgb`] is the single decoding entry point, so a face detector added later gets its
//! RGB input from the same code (and the same EXIF orientation handling) as these measures.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use memories_vision::Decoded;

use crate::metadata::PhotoMeta;
use crate::scan::{self, Format, Sniffed};
use crate::{heif, jpeg};

/// Long side, in pixels, of the image the measures are computed on. Sharpness and flatness depend
/// on scale, so every photo is measured at the same size; 512 px keeps edges of a typical photo
/// while decoding (with JPEG DCT scaling) stays cheap.
pub const ANALYSIS_SIDE: u32 = 512;

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("corrupt or unsupported JPEG: {0}")]
    Jpeg(String),
    #[error("corrupt or unsupported image: {0}")]
    Image(#[from] image::ImageError),
    #[error("{0}")]
    Heic(String),
    #[error("a video clip, not a photo: its frames are read by clips::frame")]
    Video,
    #[error("the decoder crashed on this file ({0})")]
    Crashed(String),
    #[error("image has no pixels")]
    Empty,
}

/// Largest number of pixels a photo may declare before it is refused as a decompression bomb
/// (about 200 megapixels: larger than any camera's output).
pub const MAX_PIXELS: u64 = 200_000_000;

/// Reads, checks and decodes the photo at `path` to an upright image whose long side is at most
/// `max_side` (a clip's middle frame for a clip). The error is a one-line reason fit to print
/// next to the path.
pub fn decode_file(path: &Path, max_side: u32) -> Result<Decoded, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let format = match scan::sniff(&bytes) {
        // A clip's middle frame: what `memories detect` looks at.
        Sniffed::Image(Format::Video) => return crate::clips::middle_frame(path, max_side),
        Sniffed::OtherVideo => {
            return Err("a video in a container this build does not read".to_string());
        }
        Sniffed::Image(format) => format,
        Sniffed::Avif => return Err("AVIF is not supported".to_string()),
        Sniffed::Unknown if bytes.is_empty() => return Err("empty file".to_string()),
        Sniffed::Unknown => return Err("not a JPEG, PNG, WebP or HEIC image".to_string()),
    };
    check_dimensions(&bytes, format)?;
    let meta = PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
    decode_rgb(&bytes, format, meta.orientation, max_side).map_err(|e| e.to_string())
}

/// Refuses images whose header declares more than [`MAX_PIXELS`], before decoding anything.
fn check_dimensions(bytes: &[u8], format: Format) -> Result<(), String> {
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::WebP => image::ImageFormat::WebP,
        // libheif reads the size from the header and the check is in `heif::dimensions`.
        Format::Heic => return heif::dimensions(bytes).map(|_| ()),
        Format::Video => return Err("a video, not a photo".to_string()),
    };
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image_format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("corrupt or unsupported image: {e}"))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "{w}x{h} pixels is more than the {MAX_PIXELS} allowed (decompression bomb?)"
        ));
    }
    Ok(())
}

/// Decodes `bytes` to an upright RGB image whose long side is at most `max_side`.
///
/// JPEGs are decoded with DCT scaling (1/2, 1/4 or 1/8 of full size), which is several times
/// faster than decoding everything and then shrinking; HEIC stills tile by tile, averaged down
/// by the same factors as each tile is decoded ([`heif::decode_for`]). Decoder panics on hostile input are caught
/// and reported as errors so that one bad file cannot stop a whole library scan.
pub fn decode_rgb(
    bytes: &[u8],
    format: Format,
    orientation: u8,
    max_side: u32,
) -> Result<Decoded, DecodeError> {
    let max_side = max_side.max(1);
    let decoded = catch_unwind(AssertUnwindSafe(|| match format {
        Format::Jpeg => decode_jpeg(bytes, max_side),
        Format::Png => decode_generic(bytes, ImageFormat::Png, max_side),
        Format::WebP => decode_generic(bytes, ImageFormat::WebP, max_side),
        Format::Heic => heif::decode_for(bytes, max_side).map_err(DecodeError::Heic),
        // A clip's frames are read from its file by `clips::frame`, not from bytes in memory.
        Format::Video => Err(DecodeError::Video),
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        DecodeError::Crashed(message)
    })??;
    let (image, full_width, full_height) = decoded;
    if image.width() == 0 || image.height() == 0 {
        return Err(DecodeError::Empty);
    }
    let mut image = DynamicImage::ImageRgb8(shrink(image, max_side));
    // libheif has already turned a HEIC upright (by its `irot` and `imir`); the EXIF tag that
    // says the same must not turn it again.
    let orientation = match format {
        Format::Heic => Orientation::NoTransforms,
        _ => Orientation::from_exif(orientation).unwrap_or(Orientation::NoTransforms),
    };
    image.apply_orientation(orientation);
    let swapped = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (full_width, full_height) = if swapped {
        (full_height, full_width)
    } else {
        (full_width, full_height)
    };
    Ok(Decoded {
        image: image.into_rgb8(),
        full_width,
        full_height,
    })
}

fn decode_jpeg(bytes: &[u8], max_side: u32) -> Result<(RgbImage, u32, u32), DecodeError> {
    match jpeg::decode(bytes, max_side).map_err(DecodeError::Jpeg)? {
        jpeg::Decoded::Rgb(scaled) => Ok((scaled.image, scaled.full_width, scaled.full_height)),
        // CMYK JPEGs (print workflows) are rare in photo libraries; the image crate converts
        // them correctly, so they skip DCT scaling rather than duplicate that conversion.
        jpeg::Decoded::Cmyk => decode_generic(bytes, ImageFormat::Jpeg, max_side),
    }
}

fn decode_generic(
    bytes: &[u8],
    format: ImageFormat,
    max_side: u32,
) -> Result<(RgbImage, u32, u32), DecodeError> {
    let image = image::load_from_memory_with_format(bytes, format)?;
    let (w, h) = (image.width(), image.height());
    Ok((shrink(image.into_rgb8(), max_side), w, h))
}

/// Shrinks so the long side is at most `max_side`, keeping the aspect ratio.
/// `image` scaled down (never up) so that its long side is at most `max_side`.
pub fn shrink(image: RgbImage, max_side: u32) -> RgbImage {
    if image.width().max(image.height()) <= max_side {
        return image;
    }
    let (w, h) = fit(image.width(), image.height(), max_side);
    crate::shrink::box_average(&image, w, h)
}

/// The size with long side `max_side` and the same aspect ratio (never zero).
fn fit(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= max_side {
        return (w.max(1), h.max(1));
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(max_side)).div_ceil(u64::from(long)) as u32).max(1)
    };
    (scale(w), scale(h))
}

/// Mean brightness and how much of the frame is blown out or crushed, all in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    pub mean: f32,
    /// Fraction of pixels with luminance >= 250 (of 255).
    pub highlights: f32,
    /// Fraction of pixels with luminance <= 5.
    pub shadows: f32,
}

/// What kind of picture this is, as far as memories are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Photo,
    Screenshot,
    Document,
}

/// The evidence behind [`Kind`], kept so `plan` can say why a picture was excluded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Look {
    pub kind: Kind,
    /// The file carries a camera make or model.
    pub camera: bool,
    /// The full size is a common phone or monitor resolution.
    pub screen_size: bool,
    /// Fraction of pixels whose neighbours have the same value: UI backgrounds, not sensor noise.
    pub flat: f32,
    /// Fraction of pixels at a hard one-pixel edge, as rendered text and UI lines have.
    pub hard_edges: f32,
    /// Fraction of bright, colourless pixels, as paper has.
    pub paper: f32,
    /// Mean chroma (max minus min channel) in 0..=1.
    pub colourfulness: f32,
}

impl Look {
    /// A short human explanation of the classification.
    pub fn reason(&self) -> String {
        let pct = |v: f32| format!("{:.0}%", v * 100.0);
        match self.kind {
            Kind::Photo => "looks like a photo".to_string(),
            Kind::Screenshot => format!(
                "looks like a screenshot: {}{}{} flat pixels, {} hard edges",
                if self.camera { "" } else { "no camera EXIF, " },
                if self.screen_size {
                    "screen-sized, "
                } else {
                    ""
                },
                pct(self.flat),
                pct(self.hard_edges)
            ),
            Kind::Document => format!(
                "looks like a document: {} paper-white, {} hard edges, little colour ({})",
                pct(self.paper),
                pct(self.hard_edges),
                pct(self.colourfulness)
            ),
        }
    }
}

/// Everything measured on one decoded photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub width: u32,
    pub height: u32,
    /// Variance of the Laplacian of the grey image at [`ANALYSIS_SIDE`]; blurry photos score
    /// below about 50, crisp ones in the hundreds or more.
    pub sharpness: f32,
    pub exposure: Exposure,
    /// 64-bit difference hash; near-duplicates differ in few bits.
    pub dhash: u64,
    pub look: Look,
}

impl Analysis {
    /// One number to pick the best of similar photos: sharp and well exposed wins.
    pub fn quality(&self) -> f32 {
        let e = &self.exposure;
        (1.0 + self.sharpness).ln() - 4.0 * (e.highlights + e.shadows) - 2.0 * (e.mean - 0.45).abs()
    }
}

/// Measures a decoded photo. `camera` says whether its EXIF names a camera.
pub fn analyse(decoded: &Decoded, camera: bool) -> Analysis {
    let grey = DynamicImage::ImageRgb8(decoded.image.clone()).into_luma8();
    let look = look(decoded, &grey, camera);
    Analysis {
        width: decoded.full_width,
        height: decoded.full_height,
        sharpness: laplacian_variance(&grey),
        exposure: exposure(&grey),
        dhash: dhash(&grey),
        look,
    }
}

fn laplacian_variance(grey: &GrayImage) -> f32 {
    let (w, h) = grey.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = |x: u32, y: u32| f64::from(grey.get_pixel(x, y)[0]);
    let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = p(x - 1, y) + p(x + 1, y) + p(x, y - 1) + p(x, y + 1) - 4.0 * p(x, y);
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean) as f32
}

fn exposure(grey: &GrayImage) -> Exposure {
    let n = grey.pixels().len().max(1) as f32;
    let (mut sum, mut high, mut low) = (0u64, 0u32, 0u32);
    for p in grey.pixels() {
        let v = p[0];
        sum += u64::from(v);
        high += u32::from(v >= 250);
        low += u32::from(v <= 5);
    }
    Exposure {
        mean: sum as f32 / n / 255.0,
        highlights: high as f32 / n,
        shadows: low as f32 / n,
    }
}

/// dHash: shrink to 9x8 and record, per row, whether each pixel is brighter than its right-hand
/// neighbour. It survives resizing, recompression and small exposure changes, which is what
/// telling burst shots and re-saved copies apart from distinct photos needs.
pub fn dhash(grey: &GrayImage) -> u64 {
    let small = imageops::resize(grey, 9, 8, FilterType::Triangle);
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let brighter = small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(brighter);
        }
    }
    hash
}

/// How many of the 64 bits two dHashes differ in.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Groups near-duplicates: `photos` are `(id, seconds, dHash)` in time order, and a photo joins
/// the oldest group that has a member taken at most `window_secs` before it whose dHash is within
/// `bits`; otherwise it starts a group. A burst drifting slowly (a panning shot) stays one group.
/// The groups hold the ids, in time order; the planner and the movie's selection both use this.
pub fn bursts(
    photos: impl IntoIterator<Item = (usize, i64, u64)>,
    window_secs: i64,
    bits: u32,
) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<(usize, i64, u64)>> = Vec::new();
    let mut open: Vec<usize> = Vec::new(); // indices into `groups` that may still grow
    for (id, t, hash) in photos {
        let near = |&(_, tm, _): &(usize, i64, u64)| t - tm <= window_secs;
        open.retain(|&g| groups[g].iter().any(near));
        let similar = open.iter().copied().find(|&g| {
            groups[g]
                .iter()
                .any(|m| near(m) && hamming(m.2, hash) <= bits)
        });
        match similar {
            Some(g) => groups[g].push((id, t, hash)),
            None => {
                groups.push(vec![(id, t, hash)]);
                open.push(groups.len() - 1);
            }
        }
    }
    groups
        .into_iter()
        .map(|g| g.into_iter().map(|(id, _, _)| id).collect())
        .collect()
}

/// Full sizes of common phone, tablet and monitor screens, landscape.
const SCREEN_SIZES: &[(u32, u32)] = &[
    (1280, 720),
    (1280, 800),
    (1366, 768),
    (1440, 900),
    (1536, 864),
    (1600, 900),
    (1680, 1050),
    (1920, 1080),
    (1920, 1200),
    (2048, 1536),
    (2560, 1440),
    (2560, 1600),
    (2732, 2048),
    (2880, 1800),
    (3024, 1964),
    (3456, 2234),
    (3840, 2160),
    (1334, 750),
    (1792, 828),
    (2208, 1242),
    (2340, 1080),
    (2400, 1080),
    (2436, 1125),
    (2532, 1170),
    (2556, 1179),
    (2688, 1242),
    (2778, 1284),
    (2796, 1290),
    (3200, 1440),
];

fn look(decoded: &Decoded, grey: &GrayImage, camera: bool) -> Look {
    let (fw, fh) = (decoded.full_width, decoded.full_height);
    let screen_size = SCREEN_SIZES.contains(&(fw.max(fh), fw.min(fh)));
    let (w, h) = grey.dimensions();
    let (mut flat, mut hard, mut n) = (0u32, 0u32, 0u32);
    for y in 0..h.saturating_sub(1) {
        for x in 0..w.saturating_sub(1) {
            let v = i32::from(grey.get_pixel(x, y)[0]);
            let dx = (i32::from(grey.get_pixel(x + 1, y)[0]) - v).abs();
            let dy = (i32::from(grey.get_pixel(x, y + 1)[0]) - v).abs();
            flat += u32::from(dx.max(dy) <= 1);
            hard += u32::from(dx.max(dy) >= 64);
            n += 1;
        }
    }
    let n = n.max(1) as f32;
    let (mut paper, mut chroma) = (0u32, 0u64);
    for p in decoded.image.pixels() {
        let (max, min) = (p.0.iter().max().copied(), p.0.iter().min().copied());
        let spread = max.unwrap_or(0) - min.unwrap_or(0);
        chroma += u64::from(spread);
        paper += u32::from(min.unwrap_or(0) >= 190 && spread < 30);
    }
    let pixels = decoded.image.pixels().len().max(1) as f32;
    let mut look = Look {
        kind: Kind::Photo,
        camera,
        screen_size,
        flat: flat as f32 / n,
        hard_edges: hard as f32 / n,
        paper: paper as f32 / pixels,
        colourfulness: chroma as f32 / pixels / 255.0,
    };
    look.kind = classify(&look);
    look
}

/// The screenshot/document rule, kept apart from the measuring so it can be tested on numbers.
///
/// Camera sensors add noise, so real photos have few exactly flat pixels even in sky; rendered
/// screens are mostly flat and full of one-pixel-sharp text edges. Documents are mostly white,
/// colourless and edged with text whether scanned or photographed, so the camera tag does not
/// clear them.
pub fn classify(look: &Look) -> Kind {
    let texty = look.hard_edges >= 0.01;
    let rendered = !look.camera && texty;
    if rendered && look.screen_size && look.flat >= 0.25 {
        // Checked before documents: a screenshot of a text app is still a screenshot.
        Kind::Screenshot
    } else if look.paper >= 0.5 && look.colourfulness < 0.08 && texty {
        Kind::Document
    } else if rendered && look.flat >= 0.4 {
        Kind::Screenshot
    } else {
        Kind::Photo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_group_lookalikes_within_the_window_and_follow_a_drift() {
        // 0, 1, 2 drift by 4 bits a frame (0 and 2 are 8 apart, 2 and 3 would be 12): one group.
        // 3 looks like 0 but comes 700 s after 2, the last member: too late. 4 is unlike all.
        let photos = [
            (0, 0, 0x0000),
            (1, 60, 0x000f),
            (2, 120, 0x00ff),
            (3, 820, 0x0000),
            (4, 830, 0xffff_ffff),
        ];
        assert_eq!(
            bursts(photos, 600, 4),
            vec![vec![0, 1, 2], vec![3], vec![4]]
        );
        // A photo like members of two open groups joins the older one.
        let photos = [(0, 0, 0x00), (1, 10, 0xff), (2, 20, 0x0f)];
        assert_eq!(bursts(photos, 600, 4), vec![vec![0, 2], vec![1]]);
        assert!(bursts([], 600, 8).is_empty());
    }
    use image::Rgb;

    fn check_fit(w: u32, h: u32, max: u32, expect: (u32, u32)) {
        assert_eq!(fit(w, h, max), expect, "{w}x{h} into {max}");
    }

    #[test]
    fn fitting() {
        check_fit(4000, 3000, 512, (512, 384));
        check_fit(3000, 4000, 512, (384, 512));
        check_fit(300, 200, 512, (300, 200));
        check_fit(10000, 1, 512, (512, 1));
    }

    /// A noisy, smoothly lit scene like a camera produces.
    fn camera_like(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut state = seed.wrapping_mul(2654435761).max(1);
        RgbImage::from_fn(w, h, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 9) as i32 - 4;
            let base = (60 + (x * 120 / w) + (y * 60 / h)) as i32;
            let c = |k: i32| (base + k + noise).clamp(0, 255) as u8;
            Rgb([c(30), c(0), c(-30)])
        })
    }

    /// A UI: flat panels, a bar, and rows of dark "glyphs".
    fn screenshot_like(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            if y < h / 10 {
                Rgb([40, 90, 200])
            } else if (y / 12) % 3 == 0 && (x / 5) % 3 != 0 && x > 20 && x < w - 20 {
                Rgb([20, 20, 20])
            } else {
                Rgb([236, 238, 240])
            }
        })
    }

    /// A page of text: white paper with lines of black marks.
    fn document_like(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let text = (y / 6) % 4 == 1 && (x / 3) % 4 != 0 && x > 30 && x < w - 30;
            if text {
                Rgb([15, 15, 15])
            } else {
                Rgb([250, 250, 248])
            }
        })
    }

    fn check_kind(image: RgbImage, full: (u32, u32), camera: bool, expect: Kind) {
        let decoded = Decoded {
            image,
            full_width: full.0,
            full_height: full.1,
        };
        let a = analyse(&decoded, camera);
        assert_eq!(a.look.kind, expect, "{:?}", a.look);
    }

    #[test]
    fn kinds() {
        check_kind(camera_like(400, 300, 1), (4000, 3000), true, Kind::Photo);
        check_kind(camera_like(400, 300, 2), (4000, 3000), false, Kind::Photo);
        check_kind(
            screenshot_like(236, 512),
            (1170, 2532),
            false,
            Kind::Screenshot,
        );
        check_kind(
            screenshot_like(512, 288),
            (1920, 1080),
            false,
            Kind::Screenshot,
        );
        // A clear sky without EXIF is as flat as a UI but has no text edges.
        check_kind(
            RgbImage::from_pixel(512, 384, Rgb([90, 150, 230])),
            (4000, 3000),
            false,
            Kind::Photo,
        );
        check_kind(document_like(362, 512), (2480, 3508), false, Kind::Document);
        check_kind(document_like(362, 512), (3000, 4000), true, Kind::Document);
    }

    fn check_exposure(value: u8, expect: (f32, f32, f32)) {
        let grey = GrayImage::from_pixel(8, 8, image::Luma([value]));
        let e = exposure(&grey);
        assert_eq!((e.mean, e.highlights, e.shadows), expect);
    }

    #[test]
    fn exposures() {
        check_exposure(0, (0.0, 0.0, 1.0));
        check_exposure(255, (1.0, 1.0, 0.0));
        check_exposure(51, (0.2, 0.0, 0.0));
    }

    #[test]
    fn sharpness_drops_with_blur() {
        let sharp = DynamicImage::ImageRgb8(document_like(256, 256)).into_luma8();
        let blurred = imageops::blur(&sharp, 3.0);
        let (s, b) = (laplacian_variance(&sharp), laplacian_variance(&blurred));
        assert!(s > 20.0 * b, "sharp {s} blurred {b}");
    }

    #[test]
    fn dhash_matches_resized_copies_not_other_images() {
        let grey = |img: RgbImage| DynamicImage::ImageRgb8(img).into_luma8();
        let a = grey(camera_like(400, 300, 3));
        let a_small = imageops::resize(&a, 200, 150, FilterType::Triangle);
        let other = imageops::flip_horizontal(&a);
        assert!(hamming(dhash(&a), dhash(&a_small)) <= 4);
        assert!(hamming(dhash(&a), dhash(&other)) > 16);
    }

    fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn check_decode(format: Format, orientation: u8, expect: (u32, u32, u32, u32)) {
        let image = camera_like(1200, 800, 4);
        let bytes = match format {
            Format::Jpeg => encode(&image, ImageFormat::Jpeg),
            Format::Png => encode(&image, ImageFormat::Png),
            Format::WebP => encode(&image, ImageFormat::WebP),
            // This build has no HEVC encoder: memories/tests/phone.rs decodes real HEICs.
            Format::Heic => panic!("no HEIC encoder to make a test image with"),
            Format::Video => panic!("clips are tested in memories/tests/phone.rs"),
        };
        let d = decode_rgb(&bytes, format, orientation, 256).unwrap();
        assert_eq!(
            (
                d.image.width(),
                d.image.height(),
                d.full_width,
                d.full_height
            ),
            expect
        );
    }

    #[test]
    fn decoding() {
        check_decode(Format::Jpeg, 1, (256, 171, 1200, 800));
        check_decode(Format::Jpeg, 6, (171, 256, 800, 1200));
        check_decode(Format::Png, 1, (256, 171, 1200, 800));
        check_decode(Format::Png, 8, (171, 256, 800, 1200));
        check_decode(Format::WebP, 3, (256, 171, 1200, 800));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for format in [Format::Jpeg, Format::Png, Format::WebP, Format::Heic] {
            let mut bytes = encode(&camera_like(64, 64, 5), ImageFormat::Png);
            bytes.truncate(40);
            assert!(decode_rgb(&bytes, format, 1, 64).is_err());
            assert!(decode_rgb(&[0xFF, 0xD8, 0xFF, 0, 1, 2], format, 1, 64).is_err());
        }
    }
}
