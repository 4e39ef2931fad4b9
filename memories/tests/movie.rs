//! Movies of the demo photos, end to end: index, plan, select, render chosen frames, and the
//! `--out` folder the command writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use memories::config::{Config, PathRules};
use memories::movie::select::Similarity;
use memories::movie::{self, FramePlan, Length, Movie, Resolution, Settings, Theme};
use memories::{app, plan};

fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(sub)
}

const SIMILAR: Similarity = Similarity {
    duplicate_bits: 8,
    burst_secs: 600,
};

/// The memories of a demo folder, through the real index and planner.
fn memories_of(sub: &str) -> Vec<movie::Memory> {
    let cache = tempfile::tempdir().unwrap();
    let report =
        app::index_folder(&demo(sub), Some(&cache.path().join("i.sqlite")), false).unwrap();
    let config = Config::default();
    let rules = PathRules::new(&[]).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let plan = plan::make(
        &report.records,
        &config,
        &rules,
        today,
        &plan::PhotoPeople::new(),
    );
    movie::memories(&plan, &report.root)
}

fn settings(theme: Theme, length: Length) -> Settings {
    Settings {
        theme,
        length,
        resolution: Resolution::Hd720,
    }
}

/// Fraction of pixels in a rectangle of the frame that are near black.
fn dark_fraction(rgb: &[u8], width: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
    let mut dark = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = &rgb[(y * width + x) * 3..][..3];
            dark += usize::from(p.iter().all(|&v| v < 8));
        }
    }
    dark as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

#[test]
fn the_outing_makes_a_beat_cut_movie_with_a_title_and_full_frames() {
    let memories = memories_of("outing");
    assert_eq!(memories.len(), 1);
    let memory = &memories[0];
    assert_eq!(memory.id, "event-0");
    assert_eq!(memory.title, "Wednesday afternoon");
    assert_eq!(memory.dates, "22 October 2008");

    for (theme, length) in [
        (Theme::Chill, Length::Short),
        (Theme::Gentle, Length::Medium),
        (Theme::Uplifting, Length::Long),
    ] {
        let movie = Movie::plan(memory, settings(theme, length), &SIMILAR);
        assert!(!movie.shots.is_empty() && movie.shots.len() <= memory.photos.len());
        let again = Movie::plan(memory, settings(theme, length), &SIMILAR);
        assert_eq!(movie, again, "planning is deterministic");
        let times: Vec<i64> = movie
            .shots
            .iter()
            .map(|s| memory.photos[s.photo].info.meta.taken.timeline_secs())
            .collect();
        assert!(times.windows(2).all(|t| t[0] <= t[1]), "time order");
        let secs = movie.timeline.duration_secs();
        let (style, bpm, sound_secs) = movie.soundtrack();
        assert_eq!((bpm, sound_secs), (theme.bpm(), secs));
        assert_eq!(style, theme.soundtrack_style());
        assert!(
            secs <= length.target_secs() * 1.25,
            "{theme} {length:?}: {secs}"
        );
    }

    let movie = Movie::plan(memory, settings(Theme::Gentle, Length::Short), &SIMILAR);
    let (w, h) = movie.frame_size();
    let title = movie.timeline.frame_of(2.0);
    let mid_shot = movie
        .timeline
        .frame_of((movie.timeline.bounds[1] + movie.timeline.bounds[2]) / 2.0);
    let last_shot = movie.timeline.frame_of(movie.timeline.total_beats() - 3.0);
    let wanted = [title, mid_shot, last_shot];
    let frames = movie::contact_frames(&movie, &wanted).unwrap();
    assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), wanted);
    assert!(matches!(movie.timeline.at(mid_shot), FramePlan::One(_)));

    // The title card: bright text in the middle band, none near the top.
    let bright = |rgb: &[u8], y0: usize, y1: usize| {
        rgb[y0 * w * 3..y1 * w * 3]
            .chunks(3)
            .filter(|p| p.iter().all(|&v| v > 220))
            .count()
    };
    assert!(
        bright(&frames[0].1, h * 2 / 5, h * 3 / 5) > 2000,
        "title text"
    );
    assert_eq!(bright(&frames[0].1, 0, h / 5), 0);

    // Shots fill the frame: no black bands along any edge.
    for (frame, rgb) in &frames[1..] {
        for (x0, y0, x1, y1) in [
            (0, 0, w, 4),
            (0, h - 4, w, h),
            (0, 0, 4, h),
            (w - 4, 0, w, h),
        ] {
            let dark = dark_fraction(rgb, w, x0, y0, x1, y1);
            assert!(
                dark < 0.5,
                "frame {frame}: edge {x0},{y0} is {dark:.2} black"
            );
        }
    }

    // Rendering is deterministic, byte for byte.
    assert_eq!(movie::contact_frames(&movie, &wanted).unwrap(), frames);
}

fn memories_cmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn out_writes_posters_and_an_offline_page_atomically() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("movies");
    let cache = work.path().join("i.sqlite");
    let result = memories_cmd(&[
        demo("outing").to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--theme",
        "chill",
        "--length",
        "short",
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(
        stderr.contains("event-0 \"Wednesday afternoon\""),
        "{stderr}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Nothing but finished files: no temporary files left behind.
    assert_eq!(names, ["event-0.jpg", "event-0.mp4", "index.html"]);
    let poster = image::open(out.join("event-0.jpg")).unwrap();
    assert_eq!((poster.width(), poster.height()), (1280, 720));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("<article id=\"event-0\">"), "{page}");
    assert!(page.contains("Wednesday afternoon") && page.contains("22 October 2008"));
    assert!(page.contains("poster=\"event-0.jpg\"") && page.contains("src=\"event-0.mp4\""));
    assert!(!page.contains("http://") && !page.contains("https://"));

    // --memory picks one; an unknown id is an error naming the known ones.
    let result = memories_cmd(&[
        demo("outing").to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--memory",
        "event-9",
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("no memory \"event-9\"; the memories are: event-0"),
        "{stderr}"
    );
}

#[test]
fn out_inside_the_photo_folder_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let photos = work.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["DSCN0010.jpg", "DSCN0012.jpg", "DSCN0021.jpg"] {
        std::fs::copy(demo("outing").join(name), photos.join(name)).unwrap();
    }
    let cache = work.path().join("i.sqlite");
    let inside = photos.join("movies");
    let args = [
        photos.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
        "--quiet",
    ];
    let result = memories_cmd(&args);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("is inside the photo folder") && stderr.contains("--force-out-inside"),
        "{stderr}"
    );
    assert!(!inside.exists(), "nothing was written in the photo folder");

    let mut forced = args.to_vec();
    forced.push("--force-out-inside");
    let result = memories_cmd(&forced);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(inside.join("index.html").exists());
}
