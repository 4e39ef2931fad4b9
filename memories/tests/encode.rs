//! The movie writer end to end: a 2-second 720p clip of a moving gradient with a synthesized
//! soundtrack, checked by `ffprobe` (streams, frame rate, duration, BT.709 tags), by our own
//! reading of the top-level boxes (fast start), and by headless Chromium playing it.
//!
//! ffprobe and Chromium are test-only tools (`.ci/run` installs them and sets
//! `MEMORIES_REQUIRE_MEDIA_TOOLS=1`, which turns a missing tool into a failure); without them
//! those checks are skipped with a message on stderr.

mod support;

use memories_media::{Audio, EncodeError, Mp4Writer, VideoFormat};
use memories_movie::soundtrack::{Style, synthesize};
use std::path::Path;
use support::media::{self, MediaFailure};

const SECONDS: u32 = 2;

/// A diagonal gradient that slides right and a bright square that crosses the frame, so every
/// frame differs and the encoder has motion to predict.
fn frame(format: VideoFormat, n: u32) -> Vec<u8> {
    let (w, h) = (format.width as usize, format.height as usize);
    let shift = n as usize * 8;
    let square = (n as usize * 20) % w;
    let mut rgb = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let px = &mut rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            let in_square = (square..square + 96).contains(&x) && (h / 3..h / 3 + 96).contains(&y);
            if in_square {
                px.copy_from_slice(&[250, 240, 60]);
            } else {
                px[0] = ((x + shift) * 255 / (w + shift)) as u8;
                px[1] = (y * 255 / h) as u8;
                px[2] = (((x + y + shift) / 4) % 256) as u8;
            }
        }
    }
    rgb
}

fn write_clip(path: &Path, format: VideoFormat, seconds: u32) {
    let mut writer = Mp4Writer::create(path, format).unwrap();
    for n in 0..seconds * format.fps {
        writer.push_frame(&frame(format, n)).unwrap();
    }
    assert!(!path.exists(), "nothing at the target before finish");
    writer
        .finish(&synthesize(Style::Uplifting, 120.0, f64::from(seconds)))
        .unwrap();
}

#[test]
fn a_720p_clip_has_the_right_streams_tags_and_layout_and_plays_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    write_clip(&path, VideoFormat::HD_720, SECONDS);

    // Only the movie is left in the folder: the temporary file was renamed, not copied.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["clip.mp4"]);
    // Readable by others (a web page, a share), as the user's umask allows; not 0600.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_ne!(mode & 0o044, 0, "mode {mode:o}");

    let boxes = media::top_level_boxes(&path).unwrap();
    let kinds: Vec<&str> = boxes.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ftyp", "moov", "mdat"],
        "fast start: index before media"
    );

    if let Some(probe) = media::ffprobe(&path) {
        let probe = probe.unwrap();
        media::assert_movie(&probe, VideoFormat::HD_720, f64::from(SECONDS));
    }
    // Decoded colours match what went in: a wrong matrix (BT.601) or range (full) would shift
    // the saturated yellow square and the gradient by 10 to 30 levels.
    for n in [0, 45] {
        if let Some(decoded) = media::decode_frame(&path, n) {
            let decoded = decoded.unwrap();
            let original = frame(VideoFormat::HD_720, n);
            assert_eq!(decoded.len(), original.len());
            let mean_error = decoded
                .iter()
                .zip(&original)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / original.len() as f64;
            eprintln!("frame {n}: mean absolute error {mean_error:.2} levels");
            assert!(mean_error < 3.0, "frame {n}: mean error {mean_error:.2}");
        }
    }

    if let Some(report) = media::play_in_chromium(&path, 1.0) {
        let report = report.unwrap();
        eprintln!("chromium: {}", report.json);
        media::assert_played(&report, VideoFormat::HD_720, f64::from(SECONDS), 1.0);
    }
}

#[test]
fn a_writer_dropped_before_finish_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interrupted.mp4");
    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 30,
    };
    let mut writer = Mp4Writer::create(&path, format).unwrap();
    for n in 0..5 {
        writer.push_frame(&frame(format, n)).unwrap();
    }
    drop(writer);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.mp4");
    let odd = VideoFormat {
        width: 321,
        height: 240,
        fps: 30,
    };
    let error = Mp4Writer::create(&path, odd).unwrap_err().to_string();
    assert!(
        error.contains("bad.mp4") && error.contains("even"),
        "{error}"
    );

    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 30,
    };
    let mut writer = Mp4Writer::create(&path, format).unwrap();
    let error = writer.push_frame(&[0; 10]).unwrap_err().to_string();
    assert!(
        error.contains("bad.mp4") && error.contains("10 bytes"),
        "{error}"
    );

    writer.push_frame(&frame(format, 0)).unwrap();
    let mono_44k = Audio {
        sample_rate: 44_100,
        channels: 1,
        samples: vec![0.0; 44_100],
    };
    let error = writer.finish(&mono_44k).unwrap_err();
    assert!(matches!(error, EncodeError::AudioFormat { .. }));
    assert!(error.to_string().contains("48000 Hz"), "{error}");
    assert!(!path.exists());

    let missing = dir.path().join("no/such/dir/movie.mp4");
    let error = Mp4Writer::create(&missing, format).unwrap_err().to_string();
    assert!(error.contains("no/such/dir/movie.mp4"), "{error}");

    let empty = Mp4Writer::create(&path, format).unwrap();
    let error = empty
        .finish(&synthesize(Style::Chill, 76.0, 1.0))
        .unwrap_err();
    assert!(error.to_string().contains("no video frames"), "{error}");
}

#[test]
fn the_browser_check_fails_on_a_movie_whose_media_data_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.mp4");
    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 30,
    };
    write_clip(&path, format, SECONDS);
    // The control: intact, the same clip plays, so what fails below is the damage.
    let Some(intact) = media::play_in_chromium(&path, 1.0) else {
        return;
    };
    let intact = intact.unwrap_or_else(|e| panic!("{e}"));
    media::assert_played(&intact, format, f64::from(SECONDS), 1.0);

    // Zero everything after the first kilobyte of mdat: the NAL lengths and slices are gone,
    // while the index (moov) is intact.
    let mut data = std::fs::read(&path).unwrap();
    let boxes = media::top_level_boxes(&path).unwrap();
    let mdat_start: u64 = boxes.iter().take(2).map(|(_, size)| size).sum();
    for byte in &mut data[mdat_start as usize + 1024..] {
        *byte = 0;
    }
    std::fs::write(&path, &data).unwrap();
    // The harness must work (Chromium starts, loads the page, the page reports): its failure
    // is never the expected outcome. Only then may the movie fail, and by the media's fault.
    let playback = media::play_in_chromium(&path, 1.0)
        .expect("chromium was found above")
        .unwrap_or_else(|e| panic!("{e}"));
    let json = &playback.json;
    eprintln!("chromium on the damaged movie: {json}");
    // Chromium read the intact index: the failure is in the media data, not a missing or
    // unreadable file (which also gives a MediaError, code 4).
    assert!(playback.get("readyState") >= 1.0, "no metadata: {json:#}");
    assert!(
        (playback.get("duration") - f64::from(SECONDS)).abs() < 0.1,
        "{json:#}"
    );
    let failure = playback.failure();
    assert!(
        matches!(
            failure,
            Some(MediaFailure::Error { code: 3, .. } | MediaFailure::Stalled { .. })
        ),
        "expected a decode error or a stall, got {failure:?}: {json:#}"
    );
    let check = std::panic::catch_unwind(|| {
        media::assert_played(&playback, format, f64::from(SECONDS), 1.0)
    });
    assert!(check.is_err(), "a damaged movie passed the browser check");
}
