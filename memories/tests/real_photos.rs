//! The library on real photos: the repository's `demo/` folder and the EXIF samples in
//! `../shared/data/exif` (those tests skip, saying so, when the shared data is absent; CI makes that a failure).

use memories_networks::NETWORKS;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use memories_library::analysis::{Kind, hamming};
use memories_library::config::{Config, PathRules};
use memories_library::index::{Outcome, PhotoInfo};
use memories_library::indexing::{IndexReport, index_folder};
use memories_library::metadata::TimeSource;
use memories_library::plan::{self, Exclusion, Plan};

fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(sub)
}

#[path = "support/shared_data.rs"]
mod shared_data;
use shared_data::shared_data as shared;

fn index(dir: &Path) -> IndexReport {
    let cache = tempfile::tempdir().unwrap();
    index_folder(
        dir,
        Some(&cache.path().join("index.sqlite")),
        false,
        &NETWORKS,
    )
    .unwrap()
}

fn plan_of(report: &IndexReport, config: &Config) -> Plan {
    let rules = PathRules::new(&config.exclude.paths).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    plan::make(
        &report.records,
        config,
        &rules,
        today,
        &plan::PhotoPeople::new(),
    )
}

fn infos(report: &IndexReport) -> HashMap<&str, &PhotoInfo> {
    report
        .records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Analysed(info) => Some((r.rel.as_str(), &**info)),
            Outcome::Failed(_) => None,
        })
        .collect()
}

fn people() -> &'static IndexReport {
    static PEOPLE: OnceLock<IndexReport> = OnceLock::new();
    PEOPLE.get_or_init(|| index(&demo("people")))
}

/// The event containing `rel`, as its sorted file names.
fn event_of(plan: &Plan, rel: &str) -> Vec<String> {
    let event = plan
        .events
        .iter()
        .find(|e| e.photos.iter().any(|&i| plan.photos[i].rel == rel))
        .unwrap_or_else(|| panic!("{rel} is in no event"));
    let mut names: Vec<String> = event
        .photos
        .iter()
        .map(|&i| plan.photos[i].rel.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn demo_outing_is_one_event() {
    let report = index(&demo("outing"));
    assert_eq!((report.found, report.analysed), (9, 9));
    let plan = plan_of(&report, &Config::default());
    assert_eq!(plan.events.len(), 1);
    let event = &plan.events[0];
    assert_eq!(event.photos.len(), 9);
    assert_eq!(
        event.start.date(),
        NaiveDate::from_ymd_opt(2008, 10, 22).unwrap()
    );
    let centre = event.centre.expect("the outing is geotagged");
    assert!(
        (centre.lat - 43.467).abs() < 0.01 && (centre.lon - 11.882).abs() < 0.01,
        "{centre}"
    );
    for info in infos(&report).values() {
        assert_eq!(info.meta.taken.source, TimeSource::ExifOriginal);
        assert_eq!(info.meta.camera().as_deref(), Some("NIKON COOLPIX P6000"));
    }
}

#[test]
fn people_photos_of_the_same_evening_group_together() {
    let mut config = Config::default();
    config.exclude.duplicates = false;
    let plan = plan_of(people(), &config);
    assert_eq!(
        event_of(&plan, "group-6.jpg"),
        ["group-6.jpg", "sample3.jpg"]
    );
    assert_eq!(
        event_of(&plan, "sample4.jpg"),
        ["group-7.jpg", "person-christina.jpg", "sample4.jpg"]
    );
    assert_eq!(
        event_of(&plan, "sample6.jpg"),
        ["group-3.jpg", "sample6.jpg"]
    );
    // Photos years apart never share an event.
    assert_eq!(event_of(&plan, "person-vlado.jpg"), ["person-vlado.jpg"]);
}

#[test]
fn re_saved_copies_are_near_duplicates_and_only_one_is_kept() {
    let plan = plan_of(people(), &Config::default());
    let mut excluded: Vec<(String, String)> = plan
        .excluded()
        .map(|(p, why)| match why {
            Exclusion::NearDuplicate { of, .. } => (p.rel.clone(), of.clone()),
            other => panic!("{} excluded as {other}", p.rel),
        })
        .collect();
    excluded.sort();
    let pairs: Vec<(&str, &str)> = excluded
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    // group-3/6/7 are the sample3/4/6 photos re-exported; which of a pair wins depends on
    // sharpness, so only the pairing is checked.
    let normalised: Vec<(&str, &str)> = pairs
        .iter()
        .map(|&(a, b)| if a < b { (a, b) } else { (b, a) })
        .collect();
    assert_eq!(
        normalised,
        [
            ("group-3.jpg", "sample6.jpg"),
            ("group-6.jpg", "sample3.jpg"),
            ("group-7.jpg", "sample4.jpg")
        ]
    );
}

#[test]
fn real_photos_are_not_taken_for_screenshots_or_documents() {
    for (rel, info) in infos(people()) {
        assert_eq!(
            info.analysis.look.kind,
            Kind::Photo,
            "{rel}: {:?}",
            info.analysis.look
        );
    }
    let Some(dir) = shared("exif/gps") else {
        return;
    };
    for (rel, info) in infos(&index(&dir)) {
        assert_eq!(
            info.analysis.look.kind,
            Kind::Photo,
            "{rel}: {:?}",
            info.analysis.look
        );
    }
}

#[test]
fn second_run_analyses_nothing_and_new_files_only_are_analysed() {
    let folder = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().join("index.sqlite");
    let names: Vec<_> = std::fs::read_dir(demo("outing"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for path in &names[..4] {
        std::fs::copy(path, folder.path().join(path.file_name().unwrap())).unwrap();
    }
    // Each report holds the index until it is dropped.
    let first = index_folder(folder.path(), Some(&cache), false, &NETWORKS).unwrap();
    assert_eq!((first.analysed, first.unchanged), (4, 0));
    drop(first);
    let second = index_folder(folder.path(), Some(&cache), false, &NETWORKS).unwrap();
    assert_eq!((second.analysed, second.unchanged), (0, 4));
    drop(second);
    for path in &names[4..] {
        std::fs::copy(path, folder.path().join(path.file_name().unwrap())).unwrap();
    }
    // A renamed file is recognised by its content hash rather than decoded again.
    let first_name = folder.path().join(names[0].file_name().unwrap());
    std::fs::rename(&first_name, folder.path().join("renamed.jpg")).unwrap();
    let third = index_folder(folder.path(), Some(&cache), false, &NETWORKS).unwrap();
    assert_eq!(
        (third.analysed, third.unchanged, third.copies, third.removed),
        (5, 3, 1, 1)
    );
    assert_eq!(third.records.len(), 9);
}

#[test]
fn exif_orientation_is_applied_when_decoding() {
    let Some(dir) = shared("exif/orientation") else {
        return;
    };
    let report = index(&dir);
    let infos = infos(&report);
    assert_eq!(infos.len(), 16);
    for (rel, info) in &infos {
        let a = &info.analysis;
        let expect_landscape = rel.starts_with("landscape");
        assert_eq!(
            a.width > a.height,
            expect_landscape,
            "{rel}: {}x{}",
            a.width,
            a.height
        );
    }
    // The eight files of each set store the same picture under eight orientations; once
    // orientation is applied their pixels, and so their hashes, agree.
    for set in ["landscape", "portrait"] {
        let reference = infos[format!("{set}_1.jpg").as_str()].analysis.dhash;
        for n in 2..=8 {
            let hash = infos[format!("{set}_{n}.jpg").as_str()].analysis.dhash;
            assert!(
                hamming(reference, hash) <= 6,
                "{set}_{n}: {} bits",
                hamming(reference, hash)
            );
        }
    }
}

#[test]
fn gps_and_capture_times_are_read() {
    let Some(dir) = shared("exif/gps") else {
        return;
    };
    let report = index(&dir);
    let infos = infos(&report);
    assert_eq!(infos.len(), 9);
    let gps = infos["DSCN0010.jpg"].meta.gps.unwrap();
    assert!(
        (gps.lat - 43.4674).abs() < 1e-3 && (gps.lon - 11.8851).abs() < 1e-3,
        "{gps}"
    );
    assert_eq!(
        infos["DSCN0010.jpg"].meta.taken.to_string(),
        "2008-10-22 16:28:39"
    );
}

#[test]
fn corrupt_and_broken_files_are_reported_not_fatal() {
    let Some(exif) = shared("exif") else { return };
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        exif.join("corrupted.jpg"),
        folder.path().join("corrupted.jpg"),
    )
    .unwrap();
    for entry in std::fs::read_dir(exif.join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, folder.path().join(path.file_name().unwrap())).unwrap();
    }
    let good = std::fs::read(demo("outing/DSCN0010.jpg")).unwrap();
    std::fs::write(folder.path().join("truncated.jpg"), &good[..good.len() / 3]).unwrap();
    std::fs::write(folder.path().join("header-only.jpg"), &good[..200]).unwrap();
    std::fs::write(folder.path().join("text.jpg"), "not a photo").unwrap();

    let report = index(folder.path());
    let failed: HashMap<&str, &str> = report
        .records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(problem) => Some((r.rel.as_str(), problem.as_str())),
            Outcome::Analysed(_) => None,
        })
        .collect();
    assert!(
        failed["corrupted.jpg"].starts_with("corrupt or unsupported JPEG"),
        "{failed:?}"
    );
    assert!(failed.contains_key("header-only.jpg"), "{failed:?}");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].rel, "text.jpg");
    // Everything else decoded (a truncated JPEG decodes to a partly grey picture).
    assert_eq!(report.found, 7 + 3);
    assert_eq!(report.records.len(), 10);
}
