//! Movies of the demo photos, end to end: index, plan, select, render chosen frames, and the
//! `--out` folder the command writes: at 1080p with `--frames-dir`, and when a photo is gone.

mod support;

use memories_networks::NETWORKS;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use memories_library::config::{Config, PathRules};
use memories_library::indexing::index_folder;
use memories_library::plan;
use memories_media::VideoFormat;
use memories_movie::select::Similarity;
use memories_movie::{self as movie, FramePlan, Length, Movie, Resolution, Settings, Theme};
use support::media;

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
    memories_in(&demo(sub), &cache.path().join("i.sqlite")).1
}

/// The plan and memories of the photos in `folder` as the command sees them on 28 November
/// 2026 with the default settings, indexed into (or read from) `cache`.
fn memories_in(folder: &Path, cache: &Path) -> (plan::Plan, Vec<movie::Memory>, PathBuf) {
    let report = index_folder(folder, Some(cache), false, &NETWORKS).unwrap();
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
    let memories = movie::memories(&plan, &report.root);
    (plan, memories, report.root)
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

/// In the whole demo, home is the people photos' town and the outing is far from it: its title
/// card and poster name the place and say how far it is.
#[test]
fn the_title_card_names_the_place_and_its_distance_from_home() {
    let memories = memories_of("");
    let outing = memories.iter().find(|m| m.id == "event-0").unwrap();
    let caption = outing.caption();
    assert_eq!(caption.title, "Arezzo, October 2008");
    assert_eq!(
        caption.lines,
        ["22 October 2008", "Arezzo, Italy · 9,897 km from home"]
    );
}

#[test]
fn the_outing_makes_a_beat_cut_movie_with_a_title_and_full_frames() {
    let memories = memories_of("outing");
    assert_eq!(memories.len(), 1);
    let memory = &memories[0];
    assert_eq!(memory.id, "event-0");
    assert_eq!(memory.title, "Arezzo, October 2008");
    assert_eq!(memory.dates, "22 October 2008");
    // The outing is the only geotagged place in this folder, so it is home: no distance.
    assert_eq!(memory.place.as_deref(), Some("Arezzo, Tuscany"));

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

/// The date every CLI run here takes as today, far from the demo photos' days of the year.
const TODAY: &str = "2026-04-10";

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
        // Pinned: within 3 days of 22 October the outing is also an on-this-day memory.
        "--today",
        TODAY,
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
        stderr.contains("event-0 \"Arezzo, October 2008\""),
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
    assert!(page.contains("Arezzo, October 2008") && page.contains("22 October 2008"));
    assert!(page.contains("poster=\"event-0.jpg\"") && page.contains("src=\"event-0.mp4\""));
    assert!(!page.contains("http://") && !page.contains("https://"));

    // --memory picks one; an unknown id is an error naming the known ones.
    let result = memories_cmd(&[
        demo("outing").to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        // Pinned: within 3 days of 22 October the outing is also an on-this-day memory.
        "--today",
        TODAY,
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

/// Mean absolute difference of two RGB8 pictures, in levels.
fn mean_error(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn a_1080p_movie_with_frames_dir_keeps_the_middle_of_every_shot_and_transition() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("movies");
    let frames_dir = work.path().join("frames");
    let cache = work.path().join("i.sqlite");
    // The cheapest movie there is: short, and uplifting's quick cuts.
    let result = memories_cmd(&[
        demo("outing").to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--today",
        TODAY,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--memory",
        "event-0",
        "--theme",
        "uplifting",
        "--length",
        "short",
        "--resolution",
        "1080p",
        "--frames-dir",
        frames_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");

    // The movie the command planned, from the index it left behind.
    let (_, memories, _) = memories_in(&demo("outing"), &cache);
    let settings = Settings {
        theme: Theme::Uplifting,
        length: Length::Short,
        resolution: Resolution::Hd1080,
    };
    let movie = Movie::plan(&memories[0], settings, &SIMILAR);
    assert_eq!(movie.frame_size(), (1920, 1080));
    let format = VideoFormat {
        width: 1920,
        height: 1080,
        fps: 30,
    };
    let seconds = movie.timeline.total_frames() as f64 / 30.0;

    let poster = image::open(out.join("event-0.jpg")).unwrap();
    assert_eq!((poster.width(), poster.height()), (1920, 1080));
    let path = out.join("event-0.mp4");
    assert_eq!(
        media::top_level_boxes(&path).unwrap().len(),
        3,
        "ftyp, moov, mdat"
    );
    if let Some(probe) = media::ffprobe(&path) {
        media::assert_movie(&probe.unwrap(), format, seconds);
    }

    // One PNG for the title, each shot and each transition between them, named by its frame,
    // and nothing else (no temporary files).
    let key_frames = movie.timeline.key_frames();
    assert_eq!(key_frames.len(), 2 * (movie.shots.len() + 1) - 1);
    let expected: Vec<String> = key_frames
        .iter()
        .map(|f| format!("event-0-{f:05}.png"))
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(&frames_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected);
    let pngs: Vec<Vec<u8>> = names
        .iter()
        .map(|name| {
            let png = image::open(frames_dir.join(name)).unwrap();
            assert_eq!((png.width(), png.height()), (1920, 1080), "{name}");
            png.into_rgb8().into_raw()
        })
        .collect();
    // Real pictures: not one flat colour.
    for (name, png) in names.iter().zip(&pngs) {
        let (min, max) = png
            .iter()
            .fold((255, 0), |(lo, hi), &v| (v.min(lo), v.max(hi)));
        assert!(max - min > 100, "{name}: levels {min} to {max}");
    }
    // And they are the movie's own frames: each is close to the frame of the movie it is
    // named after (decoded by ffmpeg; H.264 loses a few levels, more in motion), and several
    // times closer to it than to any other key frame.
    if let Some(decoded) = media::decode_frames(&path, &key_frames, (1920, 1080)) {
        let decoded = decoded.unwrap();
        for (i, (name, png)) in names.iter().zip(&pngs).enumerate() {
            let errors: Vec<f64> = decoded.iter().map(|d| mean_error(png, d)).collect();
            eprintln!("{name}: {errors:.1?}");
            assert!(errors[i] < 12.0, "{name}: mean error {:.2}", errors[i]);
            let others = errors
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, e)| *e)
                .fold(f64::INFINITY, f64::min);
            assert!(3.0 * errors[i] < others, "{name}: {errors:.1?}");
        }
    }
    if let Some(playback) = media::play_in_chromium(&path, 1.0) {
        let playback = playback.unwrap_or_else(|e| panic!("{e}"));
        media::assert_played(&playback, format, seconds, 1.0);
    }
}

#[test]
fn a_photo_deleted_after_indexing_is_left_out_with_a_warning_naming_it() {
    // What the user sees when photos go away between indexing and rendering (a long run while
    // the folder is being tidied): a warning that names each one, the movie made of the rest,
    // and, once none is left, the memory skipped; the page is written either way.
    let work = tempfile::tempdir().unwrap();
    let photos = work.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for entry in std::fs::read_dir(demo("outing")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), photos.join(entry.file_name())).unwrap();
    }
    let (plan, memories, root) = memories_in(&photos, &work.path().join("i.sqlite"));
    assert_eq!(memories[0].id, "event-0");
    let settings = settings(Theme::Uplifting, Length::Short);
    let movie = Movie::plan(&memories[0], settings, &SIMILAR);
    assert!(movie.shots.len() >= 2, "{} shots", movie.shots.len());
    let options = movie::output::Options {
        settings,
        only: vec!["event-0".to_string()],
        frames_dir: None,
        force_inside: false,
    };
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let write = |out: &Path| {
        let mut warnings = Vec::new();
        let written = movie::output::write_folder(&plan, &root, out, &options, &SIMILAR, |note| {
            if let movie::output::Note::Warning(line) = note {
                warnings.push(line.to_string());
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        (written, warnings)
    };

    // The poster's photo and another shot's: the movie and poster come from the rest.
    let shot = (0..movie.shots.len()).find(|&i| i != movie.cover).unwrap();
    let gone: Vec<PathBuf> = [movie.cover, shot]
        .map(|i| movie.memory.photos[movie.shots[i].photo].path.clone())
        .into();
    for path in &gone {
        std::fs::remove_file(path).unwrap();
    }
    let out = work.path().join("out-some");
    let (written, warnings) = write(&out);
    let expect: Vec<String> = gone
        .iter()
        .map(|p| {
            format!(
                "{} is gone since the folder was indexed; event-0 is made without it",
                p.display()
            )
        })
        .collect();
    let mut sorted = warnings.clone();
    sorted.sort();
    let mut expect_sorted = expect.clone();
    expect_sorted.sort();
    assert_eq!(sorted, expect_sorted);
    assert_eq!(written.len(), 1);
    let kept = &written[0].memory.photos;
    assert_eq!(kept.len(), memories[0].photos.len() - 2);
    assert!(kept.iter().all(|p| !gone.contains(&p.path)));
    assert_eq!(names(&out), ["event-0.jpg", "event-0.mp4", "index.html"]);

    // None left: the memory is skipped, and the page says there is nothing.
    for photo in &memories[0].photos {
        let _ = std::fs::remove_file(&photo.path);
    }
    let out = work.path().join("out-none");
    let (written, warnings) = write(&out);
    assert!(written.is_empty());
    assert_eq!(
        warnings.last().map(String::as_str),
        Some("event-0 is skipped: none of its photos are left")
    );
    assert_eq!(names(&out), ["index.html"]);
}

/// `--frames-dir` may name the `--out` folder itself: the run claims it once (a second claim
/// would wait for itself) and writes the frames beside the movie.
#[test]
fn frames_dir_may_be_the_out_folder() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("movies");
    let cache = work.path().join("i.sqlite");
    let result = memories_cmd(&[
        demo("outing").to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--today",
        TODAY,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--theme",
        "uplifting",
        "--length",
        "short",
        "--frames-dir",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in ["event-0.mp4", "event-0.jpg", "index.html"] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("event-0-") && n.ends_with(".png"))
    );
    assert!(
        names.iter().all(|n| !n.ends_with(".partial")),
        "temporary files left: {names:?}"
    );
}
