//! A made-up photo library of any size, built from the real photos and faces in `../shared/data`,
//! for the scale benchmarks and for trying Memories on something the size of a phone's camera
//! roll. Shared by `examples/make_library.rs` and `benches/scale.rs`, which include it by path.
//!
//! Deterministic: the same seed and count give the same files, byte for byte, on every run. The
//! timeline (ten years of outings, weekends and holidays busier, bursts, trips far from home with
//! a GPS track) is drawn first from the seed; each photo is then drawn from the seed and its
//! number alone, so photos are made in parallel and a stopped run resumes where it stopped.
//!
//! What a photo is:
//! - a crop of one of up to [`BACKGROUNDS`] real photos (scenes, camera samples, the demo, the
//!   identity photos), flipped or not, with a colour and brightness shift, at 1280x960, 960x1280
//!   or 1600x1200 (1.2 to 1.9 MP);
//! - with zero to four faces from a cast of [`CAST`] LFW people composited at 60 to 320 px (a
//!   household of five is in most photos, so people recur over the years), each a different
//!   photo of that person;
//! - in a JPEG with EXIF: camera make and model, capture time and offset, and a position (most
//!   photos near home; trips abroad follow a track);
//! - the file's modification time set to the capture time, as a copy off a phone keeps it.
//!
//! Bursts are near-duplicates: the same scene a second or two apart, moved a few pixels. About
//! 3% of the files are phone screenshots (PNG, 720x1280, flat UI and text, no EXIF).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use memories_library::analysis::decode_rgb;
use memories_library::metadata::PhotoMeta;
use memories_library::scan::{Sniffed, sniff};
use rayon::prelude::*;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Most background photos kept in memory (at a long side of [`BACKGROUND_SIDE`]).
pub const BACKGROUNDS: usize = 150;
const BACKGROUND_SIDE: u32 = 1600;
/// People in the cast; the first [`HOUSEHOLD`] are in most photos with faces.
pub const CAST: usize = 40;
const HOUSEHOLD: usize = 5;
/// The ten years the photos span.
const FIRST_DAY: (i32, u32, u32) = (2016, 1, 1);
const DAYS: i64 = 3653;
/// Home: Arezzo's neighbourhood would be a trip; home is in California.
const HOME: (f64, f64) = (37.3198, -121.9472);
/// Trip destinations: (latitude, longitude), all far from home.
const PLACES: &[(f64, f64)] = &[
    (43.4633, 11.8797),   // Arezzo
    (35.0116, 135.7681),  // Kyoto
    (64.1466, -21.9426),  // Reykjavik
    (-33.8688, 151.2093), // Sydney
    (48.8566, 2.3522),    // Paris
    (19.4326, -99.1332),  // Mexico City
    (40.7128, -74.0060),  // New York
    (-22.9068, -43.1729), // Rio de Janeiro
    (51.5072, -0.1276),   // London
    (13.7563, 100.5018),  // Bangkok
    (-1.2921, 36.8219),   // Nairobi
    (45.4408, 12.3155),   // Venice
    (60.1699, 24.9384),   // Helsinki
    (21.3069, -157.8583), // Honolulu
];
const CAMERAS: &[(&str, &str)] = &[
    ("Apple", "iPhone 8"),
    ("Apple", "iPhone 12"),
    ("Google", "Pixel 6"),
    ("samsung", "SM-G991B"),
];

/// A small deterministic generator (splitmix64).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The real pictures the library is made of.
pub struct Sources {
    backgrounds: Vec<RgbImage>,
    /// Per cast member, their LFW face crops (90x90).
    cast: Vec<Vec<RgbImage>>,
}

/// Why the sources could not be loaded.
#[derive(Debug)]
pub struct MissingData(pub String);

impl std::fmt::Display for MissingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Decodes a JPEG or PNG upright at a long side of at most `side`.
fn load(path: &Path, side: u32) -> Option<RgbImage> {
    let bytes = std::fs::read(path).ok()?;
    let Sniffed::Image(format) = sniff(&bytes) else {
        return None;
    };
    let meta = PhotoMeta::read(&bytes, UNIX_EPOCH);
    decode_rgb(&bytes, format, meta.orientation, side)
        .ok()
        .map(|d| d.image)
}

impl Sources {
    /// Loads the backgrounds and the cast from `shared` (`../shared/data`), choosing them with
    /// `seed`.
    pub fn load(shared: &Path, seed: u64) -> Result<Sources, MissingData> {
        let mut rng = Rng::new(seed ^ 0x5EED_0F5C_E4E5);
        let mut candidates = Vec::new();
        for sub in ["scenes", "demo", "exif", "identities", "wider-dev"] {
            files_under(&shared.join(sub), &mut candidates);
        }
        candidates.retain(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
                && !p.components().any(|c| c.as_os_str() == "invalid")
        });
        candidates.sort();
        // A deterministic shuffle, then the first that decode to a useful size.
        for i in (1..candidates.len()).rev() {
            candidates.swap(i, rng.below(i + 1));
        }
        let backgrounds: Vec<RgbImage> = candidates
            .par_iter()
            .take(BACKGROUNDS * 2)
            .filter_map(|p| load(p, BACKGROUND_SIDE))
            .filter(|img| img.width().min(img.height()) >= 400)
            .collect::<Vec<_>>()
            .into_iter()
            .take(BACKGROUNDS)
            .collect();
        if backgrounds.len() < 10 {
            return Err(MissingData(format!(
                "found {} usable photos under {} (scenes, demo, exif, identities, wider-dev); \
                 the library needs at least 10",
                backgrounds.len(),
                shared.display()
            )));
        }

        let lfw = shared.join("lfw");
        let mut people: Vec<(String, Vec<PathBuf>)> = std::fs::read_dir(&lfw)
            .map_err(|e| MissingData(format!("{}: {e}", lfw.display())))?
            .flatten()
            .filter_map(|e| {
                let mut faces = Vec::new();
                files_under(&e.path(), &mut faces);
                faces.sort();
                (faces.len() >= 8).then(|| (e.file_name().to_string_lossy().into_owned(), faces))
            })
            .collect();
        people.sort();
        if people.len() < CAST {
            return Err(MissingData(format!(
                "{} has {} people with 8 photos or more; the library needs {CAST}",
                lfw.display(),
                people.len()
            )));
        }
        for i in (1..people.len()).rev() {
            people.swap(i, rng.below(i + 1));
        }
        let cast = people[..CAST]
            .par_iter()
            .map(|(_, faces)| faces.iter().take(20).filter_map(|p| load(p, 90)).collect())
            .collect();
        Ok(Sources { backgrounds, cast })
    }
}

/// One file of the library, as drawn from the timeline.
#[derive(Debug, Clone)]
pub struct Item {
    /// Path below the library folder.
    pub rel: String,
    pub taken: NaiveDateTime,
    /// Minutes east of UTC.
    pub offset_minutes: i32,
    pub gps: Option<(f64, f64)>,
    pub kind: ItemKind,
    /// The scene it shows: photos of one burst share it.
    pub scene: u64,
    /// Place in its burst (0 for the first).
    pub burst_index: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Photo,
    Screenshot,
}

fn is_holiday(day: NaiveDate) -> bool {
    matches!(
        (day.month(), day.day()),
        (12, 24..=31) | (1, 1) | (7, 4) | (11, 23..=28) | (4, 1..=7)
    ) || (day.month() == 8 && day.day() <= 14)
}

/// Moves `(lat, lon)` by `km` in a random direction.
fn step(rng: &mut Rng, (lat, lon): (f64, f64), km: f64) -> (f64, f64) {
    let bearing = rng.range(0.0, std::f64::consts::TAU);
    let dlat = km * bearing.cos() / 111.0;
    let dlon = km * bearing.sin() / (111.0 * lat.to_radians().cos().max(0.1));
    (
        (lat + dlat).clamp(-85.0, 85.0),
        (lon + dlon + 540.0) % 360.0 - 180.0,
    )
}

/// The library's `n` files: when, where and what each is, in time order.
pub fn timeline(n: usize, seed: u64) -> Vec<Item> {
    // Draw outings until they hold at least `n` files, then keep `n` of them evenly, so the
    // library spans the ten years at any size.
    let mut outings = (n / 20).max(1);
    loop {
        let mut items = outings_of(outings, seed);
        let total = items.len();
        if total >= n {
            let mut kept = Vec::with_capacity(n);
            for (j, item) in items.drain(..).enumerate() {
                if (j * n) / total != ((j + 1) * n) / total {
                    kept.push(item);
                }
            }
            for (idx, item) in kept.iter_mut().enumerate() {
                let ext = match item.kind {
                    ItemKind::Photo => "JPG",
                    ItemKind::Screenshot => "PNG",
                };
                item.rel = format!(
                    "{}/{:02}/IMG_{idx:05}.{ext}",
                    item.taken.year(),
                    item.taken.month()
                );
            }
            return kept;
        }
        outings = outings * 3 / 2 + 1;
    }
}

/// Every file of `outings` outings, in time order, not yet named.
fn outings_of(outings: usize, seed: u64) -> Vec<Item> {
    let mut rng = Rng::new(seed);
    let first = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap();
    // Days drawn with weekends three times and holidays five times as likely as weekdays, by
    // rejection.
    let mut days = Vec::with_capacity(outings);
    while days.len() < outings {
        let day = first + Duration::days(rng.below(DAYS as usize) as i64);
        let weight = if is_holiday(day) {
            1.0
        } else if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            0.6
        } else {
            0.2
        };
        if rng.unit() < weight {
            days.push(day);
        }
    }
    days.sort();

    let mut items = Vec::new();
    let mut scene = 0u64;
    for day in days {
        // One outing in twelve is a trip: 3 to 9 days abroad, following a track.
        let trip = rng.unit() < 1.0 / 12.0;
        let (trip_days, per_day, offset_minutes) = if trip {
            (
                3 + rng.below(7),
                12 + rng.below(20),
                60 * (rng.below(25) as i32 - 12),
            )
        } else {
            (1, 3 + rng.below(12), -8 * 60)
        };
        let mut at = if trip {
            PLACES[rng.below(PLACES.len())]
        } else {
            let km = rng.range(0.0, 15.0);
            step(&mut rng, HOME, km)
        };
        for d in 0..trip_days {
            let mut time = (day + Duration::days(d as i64))
                .and_hms_opt(8 + rng.below(6) as u32, rng.below(60) as u32, 0)
                .unwrap();
            let mut left = per_day;
            while left > 0 {
                let screenshot = rng.unit() < 0.03;
                let burst = if !screenshot && rng.unit() < 0.12 {
                    3 + rng.below(4)
                } else {
                    1
                };
                scene += 1;
                for b in 0..burst {
                    let taken = time + Duration::seconds(b as i64 * (1 + rng.below(2) as i64));
                    let kind = if screenshot {
                        ItemKind::Screenshot
                    } else {
                        ItemKind::Photo
                    };
                    let gps = (!screenshot && (trip || rng.unit() < 0.6)).then_some(at);
                    items.push(Item {
                        rel: String::new(),
                        taken,
                        offset_minutes,
                        gps,
                        kind,
                        scene,
                        burst_index: b as u32,
                    });
                }
                left = left.saturating_sub(burst);
                time += Duration::minutes(2 + rng.below(40) as i64);
                if trip {
                    let km = rng.range(0.2, 3.0);
                    at = step(&mut rng, at, km);
                }
            }
            if trip {
                let km = rng.range(10.0, 80.0);
                at = step(&mut rng, at, km);
            }
        }
    }
    items.sort_by(|a, b| a.taken.cmp(&b.taken).then(a.scene.cmp(&b.scene)));
    items
}

/// A face pasted into a photo: who, which of their photos, and where (the square's top-left
/// corner and side, in the photo's pixels). The library's ground truth for people.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlacedFace {
    /// Index into the cast.
    pub person: usize,
    /// Index into that person's face photos.
    pub photo: usize,
    pub x: f64,
    pub y: f64,
    pub size: u32,
}

/// Everything about a photo that is drawn from its scene and place in a burst.
struct Scene {
    size: (u32, u32),
    background: usize,
    crop: (f64, f64, f64, f64),
    flip: bool,
    gains: [f64; 3],
    lift: f64,
    faces: Vec<PlacedFace>,
}

fn scene(sources: &Sources, item: &Item, seed: u64) -> Scene {
    let mut rng = Rng::new(seed ^ item.scene.wrapping_mul(0xA24B_AED4_963E_E407));
    let (w, h) = match rng.below(10) {
        0..=4 => (1280, 960),
        5..=7 => (960, 1280),
        _ => (1600, 1200),
    };
    let background = rng.below(sources.backgrounds.len());
    let bg = &sources.backgrounds[background];
    let (bw, bh) = (bg.width() as f64, bg.height() as f64);
    // The largest crop of the output's shape, scaled by 0.6 to 1.
    let aspect = w as f64 / h as f64;
    let (mut cw, mut ch) = if bw / bh > aspect {
        (bh * aspect, bh)
    } else {
        (bw, bw / aspect)
    };
    let scale = rng.range(0.6, 1.0);
    cw *= scale;
    ch *= scale;
    let mut x = rng.range(0.0, bw - cw);
    let mut y = rng.range(0.0, bh - ch);
    let flip = rng.unit() < 0.5;
    let gains = [
        rng.range(0.85, 1.15),
        rng.range(0.85, 1.15),
        rng.range(0.85, 1.15),
    ];
    let lift = rng.range(-20.0, 20.0);
    let count = match rng.below(10) {
        0..=2 => 0,
        3..=6 => 1,
        7..=8 => 2,
        _ => 3 + rng.below(2),
    };
    let mut drawn = Vec::new();
    for _ in 0..count {
        let person = if rng.unit() < 0.7 {
            rng.below(HOUSEHOLD)
        } else {
            HOUSEHOLD + rng.below(CAST - HOUSEHOLD)
        };
        let size = (60.0 * (320.0f64 / 60.0).powf(rng.unit())) as u32;
        let fx = rng.range(0.05, 0.95) * w as f64;
        let fy = rng.range(0.15, 0.8) * h as f64;
        let pick = rng.next();
        drawn.push((person, pick, size, fx, fy));
    }
    // A burst: the camera moved a little between shots.
    let mut jitter = Rng::new(seed ^ item.scene ^ (u64::from(item.burst_index) << 40));
    if item.burst_index > 0 {
        x = (x + jitter.range(-8.0, 8.0)).clamp(0.0, bw - cw);
        y = (y + jitter.range(-8.0, 8.0)).clamp(0.0, bh - ch);
    }
    let mut faces = Vec::new();
    for (person, pick, size, fx, fy) in drawn {
        let photos = sources.cast[person].len();
        if photos == 0 {
            continue;
        }
        let dx = if item.burst_index > 0 {
            jitter.range(-4.0, 4.0)
        } else {
            0.0
        };
        faces.push(PlacedFace {
            person,
            photo: (pick % photos as u64) as usize,
            x: fx + dx - size as f64 / 2.0,
            y: fy - size as f64 / 2.0,
            size,
        });
    }
    Scene {
        size: (w, h),
        background,
        crop: (x, y, cw, ch),
        flip,
        gains,
        lift,
        faces,
    }
}

/// The faces pasted into `item`'s photo (none in a screenshot).
pub fn faces_in(sources: &Sources, item: &Item, seed: u64) -> Vec<PlacedFace> {
    match item.kind {
        ItemKind::Photo => scene(sources, item, seed).faces,
        ItemKind::Screenshot => Vec::new(),
    }
}

/// The photo of `item`, drawn from its scene (and its place in a burst).
pub fn render_photo(sources: &Sources, item: &Item, seed: u64) -> RgbImage {
    let scene = scene(sources, item, seed);
    let bg = &sources.backgrounds[scene.background];
    let mut img = resample(
        bg,
        scene.crop,
        scene.size,
        scene.flip,
        scene.gains,
        scene.lift,
    );
    for f in &scene.faces {
        let face = &sources.cast[f.person][f.photo];
        let face = imageops::resize(face, f.size, f.size, FilterType::CatmullRom);
        paste_face(&mut img, &face, f.x, f.y);
    }
    img
}

/// The rectangle `(x, y, w, h)` of `src` scaled to `size` by bilinear sampling, flipped or not,
/// with each channel times its gain plus `lift`: one pass over the output.
fn resample(
    src: &RgbImage,
    (x, y, cw, ch): (f64, f64, f64, f64),
    (w, h): (u32, u32),
    flip: bool,
    gains: [f64; 3],
    lift: f64,
) -> RgbImage {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let raw = src.as_raw();
    let (sx, sy) = (cw / w as f64, ch / h as f64);
    let gains = gains.map(|g| g as f32);
    let lift = lift as f32;
    // Source columns and weights, once per output column.
    let columns: Vec<(usize, usize, f32)> = (0..w as usize)
        .map(|ox| {
            let col = if flip { w as usize - 1 - ox } else { ox };
            let fx = (x + (col as f64 + 0.5) * sx - 0.5).clamp(0.0, (sw - 1) as f64);
            let x0 = fx as usize;
            (x0 * 3, (x0 + 1).min(sw - 1) * 3, (fx - x0 as f64) as f32)
        })
        .collect();
    let mut out = vec![0u8; w as usize * h as usize * 3];
    for (oy, row) in out.chunks_exact_mut(w as usize * 3).enumerate() {
        let fy = (y + (oy as f64 + 0.5) * sy - 0.5).clamp(0.0, (sh - 1) as f64);
        let y0 = fy as usize;
        let ty = (fy - y0 as f64) as f32;
        let top = &raw[y0 * sw * 3..(y0 + 1) * sw * 3];
        let bottom = &raw[(y0 + 1).min(sh - 1) * sw * 3..][..sw * 3];
        for (px, &(a, b, tx)) in row.chunks_exact_mut(3).zip(&columns) {
            for c in 0..3 {
                let t =
                    f32::from(top[a + c]) + (f32::from(top[b + c]) - f32::from(top[a + c])) * tx;
                let u = f32::from(bottom[a + c])
                    + (f32::from(bottom[b + c]) - f32::from(bottom[a + c])) * tx;
                let v = t + (u - t) * ty;
                px[c] = (v * gains[c] + lift).clamp(0.0, 255.0) as u8;
            }
        }
    }
    RgbImage::from_raw(w, h, out).expect("the size matches")
}

/// Blends `face` into `img` at (`x`, `y`) through a feathered ellipse, so no square edge shows.
fn paste_face(img: &mut RgbImage, face: &RgbImage, x: f64, y: f64) {
    let s = face.width() as f64;
    for fy in 0..face.height() {
        for fx in 0..face.width() {
            let (tx, ty) = (x + fx as f64, y + fy as f64);
            if tx < 0.0 || ty < 0.0 || tx >= img.width() as f64 || ty >= img.height() as f64 {
                continue;
            }
            let nx = (fx as f64 + 0.5 - s / 2.0) / (0.46 * s);
            let ny = (fy as f64 + 0.5 - s / 2.0) / (0.5 * s);
            let r = (nx * nx + ny * ny).sqrt();
            let alpha = ((1.0 - r) / 0.15).clamp(0.0, 1.0);
            if alpha == 0.0 {
                continue;
            }
            let dst = img.get_pixel_mut(tx as u32, ty as u32);
            let src = face.get_pixel(fx, fy);
            for c in 0..3 {
                dst.0[c] =
                    (f64::from(src.0[c]) * alpha + f64::from(dst.0[c]) * (1.0 - alpha) + 0.5) as u8;
            }
        }
    }
}

/// A phone screenshot: flat panels, bars, and rows of one-pixel-sharp "text".
pub fn render_screenshot(item: &Item, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed ^ item.scene.wrapping_mul(0x9FB2_1C65_1E98_DF25));
    let (w, h) = (720, 1280);
    let bg = if rng.unit() < 0.5 {
        Rgb([250, 250, 250])
    } else {
        Rgb([24, 24, 28])
    };
    let ink = if bg.0[0] > 128 {
        Rgb([30, 30, 30])
    } else {
        Rgb([230, 230, 230])
    };
    let accent = Rgb([
        rng.below(256) as u8,
        rng.below(256) as u8,
        rng.below(256) as u8,
    ]);
    let mut img = RgbImage::from_pixel(w, h, bg);
    for y in 0..120 {
        for x in 0..w {
            img.put_pixel(x, y, accent);
        }
    }
    let mut y = 160;
    while y + 30 < h - 80 {
        let mut x = 40;
        let end = 40 + rng.below(600) as u32;
        while x < end.min(w - 40) {
            let word = 20 + rng.below(80) as u32;
            for wy in y..y + 18 {
                for wx in x..(x + word).min(w - 40) {
                    // Letters: vertical strokes two pixels wide, every fifth column.
                    if (wx - x) % 5 < 2 || wy == y + 8 {
                        img.put_pixel(wx, wy, ink);
                    }
                }
            }
            x += word + 14;
        }
        y += 44;
    }
    img
}

/// The EXIF block (APP1 payload) for `item`'s photo.
fn exif_block(item: &Item, seed: u64) -> Vec<u8> {
    let (make, model) = CAMERAS[(seed ^ (item.scene / 500)) as usize % CAMERAS.len()];
    let ascii = |tag, text: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![text.as_bytes().to_vec()]),
    };
    let sign = if item.offset_minutes < 0 { '-' } else { '+' };
    let offset = format!(
        "{sign}{:02}:{:02}",
        item.offset_minutes.abs() / 60,
        item.offset_minutes.abs() % 60
    );
    let mut fields = vec![
        ascii(Tag::Make, make),
        ascii(Tag::Model, model),
        ascii(
            Tag::DateTimeOriginal,
            &item.taken.format("%Y:%m:%d %H:%M:%S").to_string(),
        ),
        ascii(Tag::OffsetTimeOriginal, &offset),
    ];
    if let Some((lat, lon)) = item.gps {
        let dms = |v: f64| {
            let v = v.abs();
            let d = v.floor();
            let m = ((v - d) * 60.0).floor();
            let s = ((v - d) * 60.0 - m) * 60.0;
            Value::Rational(vec![
                Rational::from((d as u32, 1)),
                Rational::from((m as u32, 1)),
                Rational::from(((s * 1000.0).round() as u32, 1000)),
            ])
        };
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat),
        });
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon),
        });
    }
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer
        .write(&mut tiff, false)
        .expect("the EXIF fields are well-formed");
    let mut block = b"Exif\0\0".to_vec();
    block.extend(tiff.into_inner());
    block
}

/// The JPEG file of a photo, with its EXIF.
fn encode_jpeg(img: &RgbImage, exif: &[u8]) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(img.width() as usize, img.height() as usize);
    compress.set_fastest_defaults();
    compress.set_quality(85.0);
    let mut started = compress
        .start_compress(Vec::new())
        .expect("a JPEG in memory");
    started.write_marker(mozjpeg::Marker::APP(1), exif);
    started
        .write_scanlines(img.as_raw())
        .expect("a JPEG in memory");
    started.finish().expect("a JPEG in memory")
}

/// The bytes of `item`'s file.
pub fn file_bytes(sources: &Sources, item: &Item, seed: u64) -> Vec<u8> {
    match item.kind {
        ItemKind::Photo => encode_jpeg(&render_photo(sources, item, seed), &exif_block(item, seed)),
        ItemKind::Screenshot => {
            let mut png = Vec::new();
            render_screenshot(item, seed)
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .expect("a PNG in memory");
            png
        }
    }
}

/// The folder's marker: what made it, so a resumed run knows the files are its own.
fn marker(n: usize, seed: u64) -> String {
    format!("make_library v1 photos={n} seed={seed}\n")
}

/// What [`write`] did.
pub struct Written {
    pub made: usize,
    pub kept: usize,
    pub bytes: u64,
}

/// Writes the library of `n` files drawn from `seed` into `dir`. Files already there under their
/// final names are kept (a stopped run resumes); each new file is written to a temporary name,
/// dated, and renamed. A folder holding anything but a library of the same `n` and `seed` is
/// refused.
pub fn write(sources: &Sources, dir: &Path, n: usize, seed: u64) -> Result<Written, String> {
    let marker_path = dir.join(".make_library");
    let wanted = marker(n, seed);
    match std::fs::read_to_string(&marker_path) {
        Ok(found) if found == wanted => {}
        Ok(found) => {
            return Err(format!(
                "{} was made with other settings ({}); choose an empty folder",
                dir.display(),
                found.trim()
            ));
        }
        Err(_) => {
            if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!(
                    "{} is not empty and was not made by make_library; choose an empty folder",
                    dir.display()
                ));
            }
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&marker_path, &wanted)
                .map_err(|e| format!("{}: {e}", marker_path.display()))?;
        }
    }
    let items = timeline(n, seed);
    let results: Vec<Result<(bool, u64), String>> = items
        .par_iter()
        .map(|item| {
            let path = dir.join(&item.rel);
            if let Ok(meta) = std::fs::metadata(&path) {
                return Ok((false, meta.len()));
            }
            let bytes = file_bytes(sources, item, seed);
            let parent = path.parent().expect("a file in a folder");
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            let tmp = parent.join(format!(
                ".{}.partial",
                path.file_name().unwrap().to_string_lossy()
            ));
            let fail = |e: std::io::Error| format!("{}: {e}", tmp.display());
            let mut file = std::fs::File::create(&tmp).map_err(fail)?;
            file.write_all(&bytes).map_err(fail)?;
            let utc = item.taken - Duration::minutes(i64::from(item.offset_minutes));
            let secs = utc.and_utc().timestamp();
            let when = UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
            file.set_modified(when).map_err(fail)?;
            drop(file);
            std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((true, bytes.len() as u64))
        })
        .collect();
    let mut written = Written {
        made: 0,
        kept: 0,
        bytes: 0,
    };
    for result in results {
        let (made, bytes) = result?;
        if made {
            written.made += 1;
        } else {
            written.kept += 1;
        }
        written.bytes += bytes;
    }
    Ok(written)
}
