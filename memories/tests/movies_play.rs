//! The README's main job as a viewer meets it: `memories` on the demo photos with `--out` makes,
//! for every theme and length, an MP4 that `ffprobe` finds well formed (H.264 + Opus, 30 fps,
//! BT.709, every frame, fast start) and that plays from the generated `index.html` in headless
//! Chromium with the duration ffprobe measured.

mod support;

use memories::encode::VideoFormat;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::media::{self, Browser};

/// The lengths' ranges in seconds. The demo outing has only 9 photos and a photo is held for
/// two bars at most, so its long movie ends below the long range (39 s for uplifting, 51 s for
/// gentle): it is checked to be longer than the medium one instead.
const LENGTHS: [(&str, f64, f64); 3] = [
    ("short", 15.0, 20.0),
    ("medium", 30.0, 45.0),
    ("long", 0.0, 90.0),
];

/// Plays the page's `<video>` for a second and reports what Chromium saw.
const PLAY: &str = "new Promise(done => { \
    const v = document.querySelector('video'); \
    if (!v) { done({missing: true}); return; } \
    v.muted = true; \
    const report = extra => done(Object.assign({readyState: v.readyState, duration: v.duration, \
        videoWidth: v.videoWidth, currentTime: v.currentTime, \
        videoBytes: v.webkitVideoDecodedByteCount, audioBytes: v.webkitAudioDecodedByteCount, \
        error: v.error ? v.error.message || String(v.error.code) : null}, extra)); \
    v.addEventListener('timeupdate', () => { if (v.currentTime >= 1.0) report({}); }); \
    v.addEventListener('error', () => report({})); \
    v.play().catch(e => report({playError: String(e)})); \
    setTimeout(() => report({timedOut: true}), 20000); })";

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

            let Some(binary) = &browser else { continue };
            let profile = tempfile::tempdir().unwrap();
            let mut session = Browser::open(binary, profile.path()).unwrap();
            session
                .navigate(&media::file_url(
                    &out.join("index.html").canonicalize().unwrap(),
                ))
                .unwrap();
            let seen = session.evaluate(PLAY, Duration::from_secs(40)).unwrap();
            let get = |key: &str| media::number(&seen[key]);
            assert!(
                seen["error"].is_null() && seen["playError"].is_null(),
                "{seen:#}"
            );
            assert!(seen["timedOut"].is_null(), "did not play: {seen:#}");
            assert!(get("readyState") >= 2.0, "{seen:#}");
            assert!((get("duration") - seconds).abs() <= 1.0 / 30.0, "{seen:#}");
            assert_eq!(get("videoWidth"), 1280.0, "{seen:#}");
            assert!(get("currentTime") >= 1.0, "{seen:#}");
            assert!(
                get("videoBytes") > 0.0 && get("audioBytes") > 0.0,
                "{seen:#}"
            );
        }
    }
}
