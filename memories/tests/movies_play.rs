//! The README's main job as a viewer meets it: `memories` on the demo photos with `--out` makes,
//! for every theme and length, an MP4 that `ffprobe` finds well formed (H.264 + Opus, 30 fps,
//! BT.709, every frame, fast start) and that plays from the generated `index.html` in headless
//! Chromium with the duration ffprobe measured.

mod support;

use memories_media::VideoFormat;
use std::path::Path;
use std::process::Command;
use support::media;

/// The lengths' ranges in seconds. The demo outing has only 9 photos and a photo is held for
/// two bars at most, so its long movie ends below the long range (39 s for uplifting, 51 s for
/// gentle): it is checked to be longer than the medium one instead.
const LENGTHS: [(&str, f64, f64); 3] = [
    ("short", 15.0, 20.0),
    ("medium", 30.0, 45.0),
    ("long", 0.0, 90.0),
];

#[test]
fn demo_movies_of_every_theme_and_length_play_in_a_browser() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("index.sqlite");
    let browser = media::chromium();
    for theme in ["chill", "gentle", "uplifting"] {
        let mut medium = 0.0;
        for (length, low, high) in LENGTHS {
            let out = work.path().join(format!("{theme}-{length}"));
            let run = Command::new(env!("CARGO_BIN_EXE_memories"))
                .arg(&demo)
                .args([
                    "--cache",
                    cache.to_str().unwrap(),
                    "-q",
                    "--today",
                    "2026-04-10",
                    "--memory",
                    "event-0",
                ])
                .args([
                    "--out",
                    out.to_str().unwrap(),
                    "--theme",
                    theme,
                    "--length",
                    length,
                ])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(run.status.success(), "{theme} {length}: {stderr}");
            let movie = out.join("event-0.mp4");
            let boxes = media::top_level_boxes(&movie).unwrap();
            let order: Vec<&str> = boxes.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(
                order,
                ["ftyp", "moov", "mdat"],
                "{theme} {length}: fast start"
            );

            let Some(probe) = media::ffprobe(&movie) else {
                continue;
            };
            let probe = probe.unwrap();
            let seconds = probe.duration();
            assert!(
                (low..=high).contains(&seconds),
                "{theme} {length}: {seconds} s, expected {low} to {high}"
            );
            let format = VideoFormat {
                width: 1280,
                height: 720,
                fps: 30,
            };
            media::assert_movie(&probe, format, seconds);
            match length {
                "medium" => medium = seconds,
                "long" => assert!(seconds > medium + 1.0, "{theme}: long {seconds} s"),
                _ => {}
            }

            // The page's own player: one browser at a time, given as long as it keeps
            // making progress (see support::media::play_page).
            let Some(binary) = &browser else { continue };
            let playback = media::play_page(binary, &out.join("index.html"), 1.0)
                .unwrap_or_else(|e| panic!("{theme} {length}: {e}"));
            media::assert_played(&playback, format, seconds, 1.0);
        }
    }
}
