//! What phones write, indexed: the real HEIC stills, Live Photos and clips in
//! `../shared/data/phone` (skipped, saying so, when the folder is absent; CI makes that a failure).
//!
//! Every row of the folder's `MANIFEST.tsv` has an expectation below, written from the row's
//! description (capture time, place or none, upright size), and each expectation's capture time
//! must appear in that description, so the two cannot drift apart unnoticed.

use memories_networks::NETWORKS;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use memories_library::config::{Config, PathRules};
use memories_library::index::{Outcome, PhotoInfo};
use memories_library::indexing::{IndexReport, index_folder};
use memories_library::metadata::TimeSource;
use memories_library::plan;
use memories_library::scan::Format;
use memories_media::clip::{Clip, ClipTime};
use memories_media::frames::decode_range;

#[path = "support/media.rs"]
mod media;
#[path = "support/seeded.rs"]
mod seeded;
use seeded::Rng;
#[path = "support/shared_data.rs"]
mod shared_data;

/// What a manifest row says a file is, once indexed.
struct Expect {
    /// The path in the manifest, below `phone/`.
    rel: &'static str,
    /// The capture time as the manifest writes it (`2021:08:06 11:32:22`), local to the camera.
    taken: &'static str,
    /// Minutes east of UTC, when the file records an offset.
    offset: Option<i32>,
    /// Latitude and longitude to four places, or `None` for no place.
    place: Option<(f64, f64)>,
    /// Width and height as the phone shows it (after `irot` or the EXIF orientation).
    upright: (u32, u32),
}

const STILLS: &[Expect] = &[
    Expect {
        rel: "heic/osxphotos__IMG_0102.HEIC",
        taken: "2021:08:06 11:32:22",
        offset: Some(-7 * 60),
        place: Some((36.1122, -115.1707)),
        upright: (2320, 3088),
    },
    Expect {
        rel: "heic/mde-images__exif-at-eof.heic",
        taken: "2020:05:04 18:39:11",
        offset: Some(-4 * 60),
        place: Some((47.2071, 106.2431)),
        upright: (3024, 4032),
    },
    Expect {
        rel: "heic/pillow-heif__xiaomi.heic",
        taken: "2023:04:27 19:44:18",
        offset: None,
        place: Some((47.2273, 39.7000)),
        upright: (2592, 1944),
    },
    Expect {
        rel: "heic/lychee__sewing-threads.heic",
        taken: "2023:12:12 18:39:16",
        offset: Some(60),
        place: Some((41.7261, 1.8261)),
        upright: (4000, 3000),
    },
    // The GPS block is there but empty: no place, not 0,0.
    Expect {
        rel: "heic/mde-images__Issue_487.heic",
        taken: "2020:06:30 11:27:59",
        offset: None,
        place: None,
        upright: (3024, 4032),
    },
    // iOS 18: Debian 12's libheif 1.15 refuses it.
    Expect {
        rel: "live/iphone15pro_IMG_4394/IMG_4394.HEIC",
        taken: "2025:08:06 17:14:22",
        offset: Some(-5 * 60),
        place: Some((34.7309, -86.5871)),
        upright: (3024, 4032),
    },
    Expect {
        rel: "live/iphone6s_train/train.jpg",
        taken: "2021:04:10 11:44:00",
        offset: Some(60),
        place: Some((52.2097, -0.8955)),
        upright: (4032, 3024),
    },
];

/// The manifest's rows: local path to description.
fn manifest(phone: &Path) -> HashMap<String, String> {
    let text = fs::read_to_string(phone.join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 8, "MANIFEST.tsv row {line:?}");
            (fields[0].to_string(), fields[7].to_string())
        })
        .collect()
}

/// The phone folder, indexed once for the tests that read it whole.
fn phone_index() -> Option<&'static (std::path::PathBuf, IndexReport)> {
    static INDEXED: OnceLock<Option<(std::path::PathBuf, IndexReport)>> = OnceLock::new();
    INDEXED
        .get_or_init(|| {
            let phone = shared_data::shared_data("phone")?;
            let report = index(&phone);
            Some((phone, report))
        })
        .as_ref()
}

fn index(phone: &Path) -> IndexReport {
    let cache = tempfile::tempdir().unwrap();
    index_folder(
        phone,
        Some(&cache.path().join("index.sqlite")),
        false,
        &NETWORKS,
    )
    .unwrap()
}

fn analysed<'a>(report: &'a IndexReport, rel: &str) -> &'a PhotoInfo {
    let record = report
        .records
        .iter()
        .find(|r| r.rel == rel)
        .unwrap_or_else(|| panic!("{rel} is not in the index"));
    match &record.outcome {
        Outcome::Analysed(info) => info,
        Outcome::Failed(why) => panic!("{rel} failed: {why}"),
    }
}

fn check(info: &PhotoInfo, expect: &Expect) {
    let rel = expect.rel;
    let taken = &info.meta.taken;
    assert_eq!(taken.source, TimeSource::ExifOriginal, "{rel}");
    assert_eq!(
        taken.local.format("%Y:%m:%d %H:%M:%S").to_string(),
        expect.taken,
        "{rel}"
    );
    assert_eq!(taken.offset_minutes, expect.offset, "{rel}");
    let place = info
        .meta
        .gps
        .map(|p| ((p.lat * 1e4).round() / 1e4, (p.lon * 1e4).round() / 1e4));
    assert_eq!(place, expect.place, "{rel}");
    assert_eq!(
        (info.analysis.width, info.analysis.height),
        expect.upright,
        "{rel}"
    );
}

/// Every file in `phone/` is one analysed item (no file skipped or failed), stills and clips
/// alike, with the manifest's capture time, place and upright size.
#[test]
fn every_phone_file_is_indexed_upright_with_its_time_and_place() {
    let Some((phone, report)) = phone_index() else {
        return;
    };
    let rows = manifest(phone);
    for expect in STILLS {
        let description = rows
            .get(expect.rel)
            .unwrap_or_else(|| panic!("{} is not in MANIFEST.tsv", expect.rel));
        assert!(
            description.contains(expect.taken),
            "{}: the manifest says {description:?}",
            expect.rel
        );
    }
    let problems: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("skipped {}: {}", s.rel, s.reason))
        .chain(
            report
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.rel, p.problem)),
        )
        .collect();
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(report.records.len(), STILLS.len() + CLIPS.len());
    assert_eq!(rows.len(), STILLS.len() + CLIPS.len());
    for expect in STILLS {
        check(analysed(report, expect.rel), expect);
    }
    for expect in CLIPS {
        let rel = expect.rel;
        let info = analysed(report, rel);
        assert_eq!(info.format, Format::Video, "{rel}");
        let clip = info
            .clip
            .as_ref()
            .unwrap_or_else(|| panic!("{rel}: no clip info"));
        assert_eq!(
            (clip.codec.as_str(), clip.frames),
            (expect.codec, expect.frames),
            "{rel}"
        );
        let taken = &info.meta.taken;
        let (stated, source) = match expect.time.strip_suffix('Z') {
            Some(utc) => (format!("{utc}+0000"), TimeSource::ClipContainer),
            None => (expect.time.to_string(), TimeSource::ClipCreationDate),
        };
        let stated = chrono::DateTime::parse_from_str(&stated, "%Y-%m-%dT%H:%M:%S%z").unwrap();
        assert_eq!(taken.source, source, "{rel}");
        assert_eq!(taken.timeline_secs(), stated.timestamp(), "{rel}");
        assert_eq!(taken.local, stated.naive_local(), "{rel}: the local time");
        let place = info
            .meta
            .gps
            .map(|p| ((p.lat * 1e4).round() / 1e4, (p.lon * 1e4).round() / 1e4));
        assert_eq!(place, expect.place, "{rel}");
        assert_eq!(
            (info.analysis.width, info.analysis.height),
            expect.upright,
            "{rel}"
        );
    }
}

#[test]
fn a_truncated_or_empty_heic_is_reported_and_the_rest_is_indexed() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = fs::read(phone.join("heic/pillow-heif__xiaomi.heic")).unwrap();
    fs::write(dir.path().join("whole.heic"), &whole).unwrap();
    fs::write(dir.path().join("cut.heic"), &whole[..whole.len() / 3]).unwrap();
    fs::write(dir.path().join("header-only.heic"), &whole[..200]).unwrap();
    fs::write(dir.path().join("empty.heic"), b"").unwrap();
    let report = index(dir.path());
    assert_eq!(
        analysed(&report, "whole.heic").analysis.width,
        2592,
        "the whole copy"
    );
    for cut in ["cut.heic", "header-only.heic"] {
        let record = report.records.iter().find(|r| r.rel == cut).unwrap();
        match &record.outcome {
            Outcome::Failed(why) => assert!(why.contains("HEIC"), "{cut}: {why}"),
            Outcome::Analysed(_) => panic!("{cut} was analysed"),
        }
    }
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.rel, p.problem))
        .collect();
    assert_eq!(problems, ["empty.heic: empty file"]);
}

/// Mean absolute difference of two RGB images of one size, and the mean signed difference of
/// each channel (a colour cast shows there, detail that was resampled differently does not).
fn difference(a: &image::RgbImage, b: &image::RgbImage) -> (f64, [f64; 3]) {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut absolute, mut signed) = (0.0, [0.0; 3]);
    for (i, (&x, &y)) in a.as_raw().iter().zip(b.as_raw()).enumerate() {
        let d = f64::from(x) - f64::from(y);
        absolute += d.abs();
        signed[i % 3] += d;
    }
    let n = a.as_raw().len() as f64;
    (absolute / n, signed.map(|s| 3.0 * s / n))
}

/// A HEIC decoded reduced (the index's way) against libheif's full decode averaged down by
/// the same factor in RGB: the upright size must agree and the pictures nearly so. Returns the
/// mean absolute difference and each channel's mean signed difference (a colour cast).
fn reduced_against_libheif(bytes: &[u8], side: u32) -> (f64, [f64; 3]) {
    let reduced = memories_media::heic::decode_reduced(bytes, side).expect("decodes reduced");
    let (full, w, h) = memories_library::heif::decode(bytes).expect("libheif decodes");
    assert_eq!((reduced.full_width, reduced.full_height), (w, h));
    let f = w / reduced.width;
    assert!(
        [1, 2, 4, 8].contains(&f) && w.div_ceil(f) == reduced.width,
        "{w} / {}",
        reduced.width
    );
    assert_eq!(h.div_ceil(f), reduced.height);
    let mut boxed = image::RgbImage::new(reduced.width, reduced.height);
    for (x, y, pixel) in boxed.enumerate_pixels_mut() {
        let (mut sum, mut n) = ([0u32; 3], 0);
        for yy in y * f..((y + 1) * f).min(h) {
            for xx in x * f..((x + 1) * f).min(w) {
                let p = full.get_pixel(xx, yy);
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
                n += 1;
            }
        }
        *pixel = image::Rgb(sum.map(|s| ((s + n / 2) / n) as u8));
    }
    let reduced = image::RgbImage::from_raw(reduced.width, reduced.height, reduced.rgb).unwrap();
    difference(&reduced, &boxed)
}

/// The index decodes every phone HEIC reduced, through libavcodec, without falling back to
/// libheif, upright at its manifest size, and the picture is libheif's own within what
/// averaging before and after colour conversion can change.
#[test]
fn phone_heics_decode_reduced_as_libheif_decodes_them() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let side = memories_vision::faces::DECODE_SIDE;
    let mut checked = 0;
    for expect in STILLS
        .iter()
        .filter(|e| e.rel.to_lowercase().ends_with(".heic"))
    {
        let bytes = fs::read(phone.join(expect.rel)).unwrap();
        assert_eq!(
            memories_media::heic::size(&bytes).unwrap(),
            expect.upright,
            "{}",
            expect.rel
        );
        let (mad, cast) = reduced_against_libheif(&bytes, side);
        eprintln!("{}: {mad:.2} levels apart, cast {cast:.2?}", expect.rel);
        // Averaging in YCbCr before the conversion, and unfiltered tiles, against averaging
        // libheif's RGB: a level or so apart, and no cast.
        assert!(mad < 1.0, "{}: {mad}", expect.rel);
        assert!(
            cast.iter().all(|c| c.abs() < 0.5),
            "{}: {cast:?}",
            expect.rel
        );
        // And it is what the index gets.
        let indexed =
            memories_library::analysis::decode_rgb(&bytes, Format::Heic, 1, side).unwrap();
        let reduced = memories_media::heic::decode_reduced(&bytes, side).unwrap();
        let reduced =
            image::RgbImage::from_raw(reduced.width, reduced.height, reduced.rgb).unwrap();
        assert_eq!(
            indexed.image,
            memories_library::analysis::shrink(reduced, side)
        );
        assert_eq!((indexed.full_width, indexed.full_height), expect.upright);
        checked += 1;
    }
    assert_eq!(checked, 6);
}

/// `irot` and `imir` turn the picture the way libheif turns it: the portrait iPhone 8 still
/// with its `irot` changed to each angle, and to a mirror about either axis.
#[test]
fn heic_rotations_and_mirrors_match_libheif() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let bytes = fs::read(phone.join("heic/osxphotos__IMG_0102.HEIC")).unwrap();
    let at = bytes.windows(4).position(|w| w == b"irot").unwrap();
    assert_eq!(bytes[at + 4], 3, "the still turns 270 degrees");
    for (kind, value) in [
        (b"irot", 0),
        (b"irot", 1),
        (b"irot", 2),
        (b"irot", 3),
        (b"imir", 0),
        (b"imir", 1),
    ] {
        let mut variant = bytes.clone();
        variant[at..at + 4].copy_from_slice(kind);
        variant[at + 4] = value;
        let (mad, _) = reduced_against_libheif(&variant, 320);
        // A wrong turn or flip differs by tens of levels.
        assert!(
            mad < 1.0,
            "{} {value}: {mad}",
            String::from_utf8_lossy(kind)
        );
    }
}

/// The HEIC reader on 150 seeded mutations of a real still, mostly in its `meta` box: none may
/// panic, and whatever decodes is no larger than the grid it claims.
#[test]
fn mutated_heics_never_panic() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let original = fs::read(phone.join("heic/osxphotos__IMG_0102.HEIC")).unwrap();
    let meta = original.windows(4).position(|w| w == b"meta").unwrap();
    let meta_end = original.windows(4).position(|w| w == b"mdat").unwrap();
    let mut rng = Rng(0x5eed_4e1c);
    let (mut decoded, mut refused) = (0, 0);
    for n in 0..150 {
        let mut bytes = original.clone();
        mutate(&mut bytes, &mut rng, meta..meta_end, [6, 5, 6]);
        match memories_media::heic::decode_reduced(&bytes, 160) {
            Ok(r) => {
                assert_eq!(
                    r.rgb.len(),
                    3 * (r.width * r.height) as usize,
                    "mutation {n}"
                );
                assert!(u64::from(r.full_width) * u64::from(r.full_height) <= 64 << 20);
                decoded += 1;
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!("{decoded} decoded, {refused} refused");
    assert!(
        decoded > 0 && refused > 0,
        "{decoded} decoded, {refused} refused"
    );
}

/// What a manifest row says a clip's container holds.
struct ExpectClip {
    rel: &'static str,
    codec: &'static str,
    upright: (u32, u32),
    frames: usize,
    seconds: f64,
    /// Apple's local creation date as written, or the container's UTC time as RFC 3339.
    time: &'static str,
    place: Option<(f64, f64)>,
    content_identifier: Option<&'static str>,
}

const CLIPS: &[ExpectClip] = &[
    ExpectClip {
        rel: "live/iphone15pro_IMG_4394/IMG_4394.mov",
        codec: "HEVC",
        upright: (1440, 1920),
        frames: 53,
        seconds: 1.798,
        time: "2025-08-06T17:14:21-0500",
        place: Some((34.7309, -86.587)),
        content_identifier: Some("ED2A2552-C906-486E-9DA5-17DABDF672A7"),
    },
    ExpectClip {
        rel: "live/iphone6s_train/train.mov",
        codec: "H.264",
        upright: (1440, 1080),
        frames: 22,
        seconds: 1.233,
        time: "2021-04-10T11:43:59+0100",
        place: Some((52.2097, -0.8955)),
        content_identifier: Some("E905E6C6-C747-4805-942F-9904A0281F02"),
    },
    ExpectClip {
        rel: "video/mde-images__with-gps.mov",
        codec: "H.264",
        upright: (320, 568),
        frames: 120,
        seconds: 4.0,
        time: "2019-07-24T11:25:40+0300",
        place: Some((32.0929, 34.862)),
        content_identifier: None,
    },
    // Re-saved in 2024: the Apple date, not the container's, is the capture time.
    ExpectClip {
        rel: "video/nom-exif__meta.mov",
        codec: "H.264",
        upright: (720, 1280),
        frames: 30,
        seconds: 0.5,
        time: "2019-02-12T15:27:12+08:00",
        place: Some((27.1281, 100.2508)),
        content_identifier: None,
    },
    ExpectClip {
        rel: "video/nom-exif__meta.mp4",
        codec: "H.264",
        upright: (1080, 1920),
        frames: 32,
        seconds: 1.063,
        time: "2024-02-03T07:05:38Z",
        place: Some((27.2939, 112.6932)),
        content_identifier: None,
    },
    ExpectClip {
        rel: "video/mde-images__with-gps.mp4",
        codec: "H.264",
        upright: (1920, 1080),
        frames: 3,
        // The manifest's 0.171 s is the container's, which the sound track sets.
        seconds: 0.1,
        time: "2017-02-22T08:20:28Z",
        place: Some((51.4169, -0.0806)),
        content_identifier: None,
    },
    // `+00.0000+000.0000/`: a placeholder, no place.
    ExpectClip {
        rel: "video/mde-images__ftyp3gp5.mp4",
        codec: "H.264",
        upright: (720, 1280),
        frames: 39,
        seconds: 1.3,
        time: "2020-10-23T20:27:29Z",
        place: None,
        content_identifier: None,
    },
    ExpectClip {
        rel: "video/nom-exif__udta.auth.mp4",
        codec: "HEVC",
        upright: (886, 1920),
        frames: 1,
        seconds: 0.012,
        time: "2025-02-24T10:33:06Z",
        place: None,
        content_identifier: None,
    },
    ExpectClip {
        rel: "derived/samsung-one-ui-6.mpvd-payload.mp4",
        codec: "HEVC",
        upright: (1080, 1440),
        frames: 42,
        seconds: 3.13,
        time: "2024-01-13T05:38:55Z",
        place: None,
        content_identifier: None,
    },
];

fn time_text(time: &Option<ClipTime>) -> String {
    match time {
        Some(ClipTime::Local(text)) => text.clone(),
        Some(ClipTime::Utc(secs)) => chrono::DateTime::from_timestamp(*secs, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        None => "none".to_string(),
    }
}

/// Every clip's container reads as its manifest row says, and its frames, decoded by OpenH264
/// or libde265 and turned upright, match ffmpeg's (which applies the rotation itself).
#[test]
fn every_phone_clip_reads_as_its_manifest_says_and_decodes_like_ffmpeg() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let rows = manifest(&phone);
    let clip_rows = rows
        .keys()
        .filter(|rel| [".mov", ".mp4"].iter().any(|ext| rel.ends_with(ext)))
        .count();
    assert_eq!(
        clip_rows,
        CLIPS.len(),
        "a clip in MANIFEST.tsv has no expectation here"
    );
    for expect in CLIPS {
        let rel = expect.rel;
        assert!(rows.contains_key(rel), "{rel} is not in MANIFEST.tsv");
        let path = phone.join(rel);
        let mut file = fs::File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let clip = Clip::read(&mut file, 0, len).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let place = clip
            .location
            .map(|(lat, lon)| ((lat * 1e4).round() / 1e4, (lon * 1e4).round() / 1e4));
        assert_eq!(
            (
                clip.codec.name().as_str(),
                clip.upright_size(),
                clip.samples.len(),
                time_text(&clip.time).as_str(),
                place,
                clip.content_identifier.as_deref(),
            ),
            (
                expect.codec,
                expect.upright,
                expect.frames,
                expect.time,
                expect.place,
                expect.content_identifier,
            ),
            "{rel}"
        );
        assert!(
            (clip.seconds() - expect.seconds).abs() < 0.02,
            "{rel}: {} s",
            clip.seconds()
        );

        let mut frames = Vec::new();
        decode_range(&clip, &mut file, 0..clip.samples.len(), |frame| {
            frames.push(frame)
        })
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(frames.len(), expect.frames, "{rel}: frames decoded");
        let (w, h) = expect.upright;
        for k in [0, frames.len() / 2, frames.len() - 1] {
            let frame = &frames[k];
            assert_eq!((frame.width, frame.height), (w, h), "{rel} frame {k}");
            let Some(theirs) = media::decode_frame(&path, k as u32) else {
                return;
            };
            let theirs = theirs.unwrap();
            assert_eq!(
                theirs.len(),
                frame.rgb.len(),
                "{rel} frame {k}: ffmpeg's size"
            );
            let diff: u64 = theirs
                .iter()
                .zip(&frame.rgb)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = diff as f64 / theirs.len() as f64;
            assert!(
                mean < 3.0,
                "{rel} frame {k}: mean difference {mean:.2} from ffmpeg's"
            );
        }
    }
}

/// `bytes` with the first `from` after `after` replaced by `to` (same length).
fn patched(bytes: &[u8], after: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let find = |hay: &[u8], needle: &[u8], start: usize| {
        hay[start..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + start)
    };
    let anchor = find(bytes, after, 0).expect("anchor present");
    let at = find(bytes, from, anchor).expect("pattern present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn broken_clips_are_reported_with_the_reason_and_the_rest_is_indexed() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = fs::read(phone.join("video/mde-images__with-gps.mov")).unwrap();
    fs::write(dir.path().join("whole.mov"), &whole).unwrap();
    fs::write(dir.path().join("cut.mov"), &whole[..whole.len() / 2]).unwrap();
    fs::write(dir.path().join("header-only.mov"), &whole[..40]).unwrap();
    fs::write(dir.path().join("empty.mov"), b"").unwrap();
    // The video track's handler renamed: a file with sound and no video.
    let no_video = patched(&whole, b"hdlr", b"vide", b"xxxx");
    fs::write(dir.path().join("no-video.mov"), no_video).unwrap();
    // The sample entry renamed to VP9's, which this build does not decode.
    let vp9 = patched(&whole, b"stsd", b"avc1", b"vp09");
    fs::write(dir.path().join("vp9.mov"), vp9).unwrap();
    let report = index(dir.path());
    assert_eq!(analysed(&report, "whole.mov").analysis.width, 320);
    let mut failed: Vec<String> = report
        .records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(why) => Some(format!("{}: {why}", r.rel)),
            Outcome::Analysed(_) => None,
        })
        .collect();
    failed.sort();
    // The file's `mdat` box starts at byte 28, after `ftyp`; the cut copies end inside it.
    assert_eq!(&whole[32..36], b"mdat");
    let mdat_end = 28 + u32::from_be_bytes(whole[28..32].try_into().unwrap()) as usize;
    let past = |len: usize| mdat_end - len;
    assert_eq!(
        failed,
        [
            format!(
                "cut.mov: truncated: its `mdat` box at byte 28 runs {} bytes past the end of the file",
                past(whole.len() / 2)
            )
            .as_str(),
            format!(
                "header-only.mov: truncated: its `mdat` box at byte 28 runs {} bytes past the end of the file",
                past(40)
            )
            .as_str(),
            "no-video.mov: no video track",
            "vp9.mov: its video is VP9, which this build cannot decode",
        ]
    );
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.rel, p.problem))
        .collect();
    assert_eq!(problems, ["empty.mov: empty file"]);
}

/// The two Live Photos are one item each: the still, with its clip as its motion. The iOS 18
/// pair is found by the content identifier both carry (the still's in its Apple maker note).
#[test]
fn live_photos_pair_their_still_and_clip() {
    let Some((_, report)) = phone_index() else {
        return;
    };
    for (still, id) in [
        (
            "live/iphone15pro_IMG_4394/IMG_4394.HEIC",
            "ED2A2552-C906-486E-9DA5-17DABDF672A7",
        ),
        (
            "live/iphone6s_train/train.jpg",
            "E905E6C6-C747-4805-942F-9904A0281F02",
        ),
        (
            "heic/mde-images__exif-at-eof.heic",
            "1745E022-9712-43C7-B024-F308EC6413CB",
        ),
    ] {
        let meta = &analysed(report, still).meta;
        assert_eq!(meta.content_identifier.as_deref(), Some(id), "{still}");
    }
    let config = Config::default();
    let rules = PathRules::new(&config.exclude.paths).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let plan = plan::make(
        &report.records,
        &config,
        &rules,
        today,
        &plan::PhotoPeople::new(),
    );
    let motions: Vec<String> = plan
        .photos
        .iter()
        .filter_map(|p| Some(format!("{} + {}", p.rel, p.motion.as_ref()?)))
        .collect();
    assert_eq!(
        motions,
        [
            "live/iphone6s_train/train.jpg + live/iphone6s_train/train.mov",
            "live/iphone15pro_IMG_4394/IMG_4394.HEIC + live/iphone15pro_IMG_4394/IMG_4394.mov",
        ]
    );
    let excluded: Vec<String> = plan
        .excluded()
        .filter(|(_, e)| e.key() == "motion")
        .map(|(p, _)| p.rel.clone())
        .collect();
    assert_eq!(
        excluded,
        [
            "live/iphone6s_train/train.mov",
            "live/iphone15pro_IMG_4394/IMG_4394.mov"
        ]
    );
}

/// A Samsung motion photo keeps its video after the image, in a top-level `mpvd` box. The
/// shared folder has the video cut out of one (`derived/`); put back behind a HEIC, it is that
/// still's motion, and plays from inside the file.
#[test]
fn a_motion_photo_carries_its_video_inside() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(phone.join("heic/pillow-heif__xiaomi.heic")).unwrap();
    let video = fs::read(phone.join("derived/samsung-one-ui-6.mpvd-payload.mp4")).unwrap();
    let offset = bytes.len() as u64 + 8;
    bytes.extend_from_slice(&(video.len() as u32 + 8).to_be_bytes());
    bytes.extend_from_slice(b"mpvd");
    bytes.extend_from_slice(&video);
    fs::write(dir.path().join("motion.heic"), &bytes).unwrap();
    let report = index(dir.path());
    let info = analysed(&report, "motion.heic");
    assert_eq!((info.analysis.width, info.analysis.height), (2592, 1944));
    let inside = info.embedded_motion.as_ref().expect("the video inside");
    assert_eq!(
        (inside.codec.as_str(), inside.frames, inside.range),
        ("HEVC", 42, Some((offset, video.len() as u64)))
    );
    let mut file = fs::File::open(dir.path().join("motion.heic")).unwrap();
    let clip = Clip::read(&mut file, offset, video.len() as u64).unwrap();
    let mut frames = 0;
    decode_range(&clip, &mut file, 0..5, |frame| {
        assert_eq!((frame.width, frame.height), (1080, 1440));
        frames += 1;
    })
    .unwrap();
    assert_eq!(frames, 5);
}

/// Mutates `bytes` in place: 1 to `most` changes (a bit flipped, a byte or four set to 0xff),
/// one in `anywhere` of them anywhere and the rest inside `region`, where the reader's work is;
/// then, one time in `cut`, the file is cut short. `[most, anywhere, cut]`.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng, region: std::ops::Range<usize>, odds: [usize; 3]) {
    let [most, anywhere, cut] = odds;
    for _ in 0..1 + rng.below(most) {
        let at = if rng.below(anywhere) == 0 {
            rng.below(bytes.len())
        } else {
            region.start + rng.below(region.len())
        };
        match rng.below(3) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = 0xff,
            _ => {
                let end = (at + 4).min(bytes.len());
                bytes[at..end].fill(0xff);
            }
        }
    }
    if rng.below(cut) == 0 {
        let keep = rng.below(bytes.len());
        bytes.truncate(keep);
    }
}

/// The clip reader and decoders on 300 seeded mutations of real clips (the stable companion of
/// the `clip_read` fuzz target): bytes flipped, sizes and counts made huge, the file cut. None
/// may panic, and whatever reads keeps every frame inside the file.
#[test]
fn mutated_clips_never_panic() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let originals: Vec<Vec<u8>> = [
        "video/mde-images__with-gps.mov",
        "video/nom-exif__udta.auth.mp4",
        "video/nom-exif__meta.mov",
    ]
    .iter()
    .map(|rel| fs::read(phone.join(rel)).unwrap())
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutated.mov");
    let mut rng = Rng(0x5eed_c11b);
    let (mut read, mut decoded) = (0, 0);
    for n in 0..300 {
        let mut bytes = originals[n % originals.len()].clone();
        // Most mutations land in the `moov` box, where the reader's work is.
        let moov = bytes
            .windows(4)
            .position(|w| w == b"moov")
            .unwrap_or(0)
            .saturating_sub(4);
        let end = bytes.len();
        mutate(&mut bytes, &mut rng, moov..end, [8, 4, 5]);
        fs::write(&path, &bytes).unwrap();
        let mut file = fs::File::open(&path).unwrap();
        let Ok(clip) = Clip::read(&mut file, 0, bytes.len() as u64) else {
            continue;
        };
        read += 1;
        for s in &clip.samples {
            assert!(
                s.offset + u64::from(s.size) <= bytes.len() as u64,
                "mutation {n}"
            );
        }
        if u64::from(clip.coded_width) * u64::from(clip.coded_height) <= 1 << 20
            && memories_media::frames::frames_at(&clip, &mut file, &[0], 2).is_ok()
        {
            decoded += 1;
        }
    }
    // The mutations must leave some files readable, or the test checks only the first box.
    assert!(read >= 30, "only {read} of 300 mutated clips read");
    println!("{read} of 300 mutated clips read, {decoded} decoded a frame");
}
