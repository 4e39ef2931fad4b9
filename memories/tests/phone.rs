//! What phones write, indexed: the real HEIC stills, Live Photos and clips in
//! `../shared/data/phone` (skipped, saying so, when the folder is absent; CI makes that a failure).
//!
//! Every row of the folder's `MANIFEST.tsv` has an expectation below, written from the row's
//! description (capture time, place or none, upright size), and each expectation's capture time
//! must appear in that description, so the two cannot drift apart unnoticed.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use memories_library::index::{Outcome, PhotoInfo};
use memories_library::indexing::{IndexReport, index_folder};
use memories_library::metadata::TimeSource;

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

fn index(phone: &Path) -> IndexReport {
    let cache = tempfile::tempdir().unwrap();
    index_folder(phone, Some(&cache.path().join("index.sqlite")), false).unwrap()
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

#[test]
fn every_phone_still_is_indexed_upright_with_its_time_and_place() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let rows = manifest(&phone);
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
    let report = index(&phone);
    for expect in STILLS {
        check(analysed(&report, expect.rel), expect);
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
