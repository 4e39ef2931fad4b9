//! A movie made from what a phone writes (`../shared/data/phone`: HEIC stills, Live Photos and
//! clips; skipped, saying so, when the folder is absent, and a failure on CI): the MP4 is well
//! formed and plays in headless Chromium, and a shot of a clip or Live Photo moves: with the
//! pan and zoom held still, two of its frames differ, where the same shot showing its still
//! gives two equal frames.

mod support;

use memories_networks::NETWORKS;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use memories_library::config::{Config, PathRules};
use memories_library::indexing::index_folder;
use memories_library::plan;
use memories_media::VideoFormat;
use memories_movie::select::Similarity;
use memories_movie::{
    FramePlan, Length, Movie, Resolution, Settings, Theme, contact_frames, memories,
};
use support::media;

#[path = "support/shared_data.rs"]
mod shared_data;

/// One memory of every item: the phone files span eight years and two continents.
const ONE_EVENT: [&str; 4] = ["--gap-hours", "1000000", "--jump-km", "100000"];

/// Every file below `dir`: path, size, modification time and a hash of the bytes.
fn listing(dir: &Path, out: &mut Vec<(PathBuf, u64, SystemTime, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::metadata(&path).unwrap();
        if meta.is_dir() {
            listing(&path, out);
        } else {
            let hash = blake3::hash(&std::fs::read(&path).unwrap())
                .to_hex()
                .to_string();
            out.push((path, meta.len(), meta.modified().unwrap(), hash));
        }
    }
}

fn state(dir: &Path) -> Vec<(PathBuf, u64, SystemTime, String)> {
    let mut all = Vec::new();
    listing(dir, &mut all);
    all.sort();
    all
}

/// The movie of every phone file, the plan page and `detect` on a clip and a HEIC; the folder
/// is byte-identical afterwards.
#[test]
fn a_movie_of_phone_files_plays_in_a_browser() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let before = state(&phone);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let cache = work.path().join("index.sqlite");
    let memories = |args: &[&str]| {
        let run = Command::new(env!("CARGO_BIN_EXE_memories"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let page = work.path().join("plan.html");
    let mut plan = vec!["plan", phone.to_str().unwrap()];
    plan.extend(ONE_EVENT);
    plan.extend(["--cache", cache.to_str().unwrap()]);
    plan.extend(["--html", page.to_str().unwrap()]);
    memories(&plan);
    // The page holds a preview of each HEIC and clip (browsers show neither). Nine clips, less
    // two Live Photo motions and the screen recording kept out as a document, are in the memory.
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<video ").count(), 6, "{html}");
    assert!(html.matches("data:image/jpeg;base64,").count() >= 12);
    // One line per file, at full upright size: the clip's middle frame, and the HEIC,
    // portrait by its `irot`.
    let clip = phone.join("video/mde-images__with-gps.mp4");
    let heic = phone.join("heic/osxphotos__IMG_0102.HEIC");
    let detected = memories(&[
        "detect",
        "--json",
        clip.to_str().unwrap(),
        heic.to_str().unwrap(),
    ]);
    let sizes: Vec<(u64, u64)> = detected
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(sizes, [(1920, 1080), (2320, 3088)], "{detected}");
    let run = Command::new(env!("CARGO_BIN_EXE_memories"))
        .arg(&phone)
        .args(ONE_EVENT)
        .args([
            "--cache",
            work.path().join("index.sqlite").to_str().unwrap(),
        ])
        .args(["-q", "--length", "short", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(state(&phone) == before, "the phone folder changed");
    let movie = out.join("event-0.mp4");
    let Some(probe) = media::ffprobe(&movie) else {
        return;
    };
    let probe = probe.unwrap();
    let seconds = probe.duration();
    assert!((15.0..=20.0).contains(&seconds), "{seconds} s");
    let format = VideoFormat {
        width: 1280,
        height: 720,
        fps: 30,
    };
    media::assert_movie(&probe, format, seconds);
    let Some(browser) = media::chromium() else {
        return;
    };
    let playback = media::play_page(&browser, &out.join("index.html"), 1.0).unwrap();
    media::assert_played(&playback, format, seconds, 1.0);
}

fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

#[test]
fn clip_shots_move() {
    let Some(phone) = shared_data::shared_data("phone") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let report = index_folder(
        &phone,
        Some(&cache.path().join("index.sqlite")),
        false,
        &NETWORKS,
    )
    .unwrap();
    let mut config = Config::default();
    config.events.gap_hours = 1_000_000.0;
    config.events.jump_km = 100_000.0;
    let rules = PathRules::new(&config.exclude.paths).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let plan = plan::make(
        &report.records,
        &config,
        &rules,
        today,
        &plan::PhotoPeople::new(),
    );
    let memory = memories(&plan, &report.root)
        .into_iter()
        .find(|m| m.id == "event-0")
        .expect("one memory of everything");
    let settings = Settings {
        theme: Theme::Gentle,
        length: Length::Short,
        resolution: Resolution::Hd720,
    };
    let similar = Similarity {
        duplicate_bits: config.exclude.duplicate_bits,
        burst_secs: (config.exclude.burst_minutes * 60.0) as i64,
    };
    let mut movie = Movie::plan(&memory, settings, &similar);
    // Pan and zoom held still, so that only the clip can change a shot's picture.
    for shot in &mut movie.shots {
        shot.motion.to = shot.motion.from;
    }
    let mut stilled = movie.clone();
    for shot in &mut stilled.shots {
        shot.play = None;
    }
    let timeline = &movie.timeline;
    let mut moved = Vec::new();
    for (n, shot) in movie.shots.iter().enumerate() {
        let Some(play) = &shot.play else { continue };
        // Two frames half a second apart showing only this shot, at full brightness (clear of
        // transitions and the final fade).
        let solid = |f: usize| {
            matches!(timeline.at(f), FramePlan::One(s) if s.segment == n + 1)
                && timeline.brightness(f) >= 1.0
        };
        let first = timeline.frame_of(timeline.bounds[n + 1]);
        let last = timeline.frame_of(timeline.bounds[n + 2]);
        let Some(start) = (first..last.saturating_sub(15)).find(|&f| solid(f) && solid(f + 15))
        else {
            panic!("shot {n} has no half second on its own");
        };
        let frames = [start, start + 15];
        let playing = contact_frames(&movie, &frames).unwrap();
        let still = contact_frames(&stilled, &frames).unwrap();
        let moving = mean_difference(&playing[0].1, &playing[1].1);
        let holding = mean_difference(&still[0].1, &still[1].1);
        let rel = &memory.photos[shot.photo].rel;
        let line = format!(
            "{rel} playing {} from {:.1} s: frames differ by {moving:.2}, still by {holding:.2}",
            play.path.file_name().unwrap().to_string_lossy(),
            play.start
        );
        moved.push((line, moving, holding));
    }
    assert!(!moved.is_empty(), "no clip or Live Photo was chosen");
    // Every still version holds; the clips that run past the two frames move.
    for (line, _, holding) in &moved {
        assert!(*holding < 0.01, "{line}: the still version changed");
    }
    let moving: Vec<&String> = moved
        .iter()
        .filter(|(_, moving, _)| *moving > 1.0)
        .map(|(line, _, _)| line)
        .collect();
    assert!(
        moving.len() >= 2,
        "fewer than two clip shots moved: {moved:#?}"
    );
    println!("{moved:#?}");
}
