//! Checks of a finished movie with the tools a viewer's side would use: `ffprobe` for the
//! streams and tags, our own reading of the top-level MP4 boxes for fast start, and headless
//! Chromium for "does it actually play in a browser".
//!
//! The tools are test-only (Debian's `ffmpeg` and `chromium`, installed by `.ci/run`). When one is
//! missing, [`ffprobe`] and [`play_in_chromium`] return `None` after a loud message on stderr,
//! unless `MEMORIES_REQUIRE_MEDIA_TOOLS=1` (set on CI), where they panic instead: a CI run must
//! not pass by skipping.
//!
//! Browser checks run one at a time (a lock held by each [`Browser`]) and have no wall-clock
//! budget for playback: they give up only when nothing advances for [`STALL`], so a loaded
//! machine makes them slower, never failed. A failure of the harness itself (Chromium does not
//! start or answer, the page does not load) is a [`HarnessError`], never a [`MediaFailure`].
//!
//! Reuse from another test file: `mod support;` with `support/mod.rs` declaring `pub mod media;`.

#![allow(dead_code)]

use memories_media::VideoFormat;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Whether missing tools fail the test (CI) rather than skip it.
pub fn tools_required() -> bool {
    std::env::var("MEMORIES_REQUIRE_MEDIA_TOOLS").is_ok_and(|v| v == "1")
}

/// The first of `names` found on PATH.
pub fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn missing(tool: &str, check: &str) {
    assert!(
        !tools_required(),
        "{tool} is not on PATH but MEMORIES_REQUIRE_MEDIA_TOOLS=1: install it (see .ci/run)"
    );
    // Straight to stderr, not eprintln!: the test harness hides a passing test's eprintln.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {check}: {tool} is not on PATH (apt-get install ffmpeg chromium; CI sets \
         MEMORIES_REQUIRE_MEDIA_TOOLS=1 to make this a failure) ***\n"
    );
}

/// The top-level boxes of an MP4 file: (type, size).
pub fn top_level_boxes(path: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let data = std::fs::read(path)?;
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned();
        let size = match size32 {
            0 => (data.len() - at) as u64,
            1 => u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()),
            n => n,
        };
        if size < 8 || at as u64 + size > data.len() as u64 {
            return Err(std::io::Error::other(format!(
                "{}: box {kind:?} at {at} has size {size}, past the end ({} bytes)",
                path.display(),
                data.len()
            )));
        }
        boxes.push((kind, size));
        at += size as usize;
    }
    Ok(boxes)
}

/// What ffprobe says about a movie.
#[derive(Debug, Clone)]
pub struct Probe {
    pub json: Value,
}

impl Probe {
    fn stream(&self, kind: &str) -> Option<&Value> {
        self.json["streams"]
            .as_array()?
            .iter()
            .find(|s| s["codec_type"] == kind)
    }

    pub fn video(&self) -> &Value {
        self.stream("video").expect("a video stream")
    }

    pub fn audio(&self) -> Option<&Value> {
        self.stream("audio")
    }

    /// The container's duration in seconds.
    pub fn duration(&self) -> f64 {
        number(&self.json["format"]["duration"])
    }
}

/// A JSON number or a number in a string (ffprobe writes both).
pub fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// `ffprobe` on the movie, counting the decoded video frames; `None` when ffprobe is missing
/// and not required.
pub fn ffprobe(path: &Path) -> Option<Result<Probe, String>> {
    let Some(tool) = find_tool(&["ffprobe"]) else {
        missing("ffprobe", "stream checks");
        return None;
    };
    let output = Command::new(tool)
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_format",
            "-show_streams",
        ])
        .args(["-print_format", "json"])
        .arg(path)
        .output();
    Some(match output {
        Err(e) => Err(format!("cannot run ffprobe: {e}")),
        Ok(out) if !out.status.success() || !out.stderr.is_empty() => Err(format!(
            "ffprobe {}: {}\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(out) => serde_json::from_slice(&out.stdout)
            .map(|json| Probe { json })
            .map_err(|e| format!("ffprobe printed invalid JSON: {e}")),
    })
}

/// The movie is H.264 at `format`, tagged BT.709 limited range, 4:2:0, with every frame there,
/// an Opus or AAC stereo track, and lasts `seconds` to within one frame.
pub fn assert_movie(probe: &Probe, format: VideoFormat, seconds: f64) {
    let video = probe.video();
    assert_eq!(video["codec_name"], "h264", "{video:#}");
    assert_eq!(video["width"], format.width);
    assert_eq!(video["height"], format.height);
    assert_eq!(video["pix_fmt"], "yuv420p");
    assert_eq!(video["r_frame_rate"], format!("{}/1", format.fps));
    assert_eq!(video["avg_frame_rate"], format!("{}/1", format.fps));
    for key in ["color_primaries", "color_transfer", "color_space"] {
        assert_eq!(video[key], "bt709", "{key}: {video:#}");
    }
    assert_eq!(video["color_range"], "tv", "limited range");
    let frames = (seconds * f64::from(format.fps)).round();
    assert_eq!(number(&video["nb_read_frames"]), frames, "decoded frames");
    let frame = 1.0 / f64::from(format.fps);
    for (what, duration) in [
        ("video stream", number(&video["duration"])),
        ("container", probe.duration()),
    ] {
        assert!(
            (duration - seconds).abs() <= frame,
            "{what} lasts {duration} s, expected {seconds} s"
        );
    }
    let audio = probe.audio().expect("an audio stream");
    let codec = audio["codec_name"].as_str().unwrap_or_default();
    assert!(matches!(codec, "opus" | "aac"), "audio codec {codec}");
    assert_eq!(number(&audio["sample_rate"]), 48_000.0);
    assert_eq!(audio["channels"], 2);
    let audio_seconds = number(&audio["duration"]);
    assert!(
        (audio_seconds - seconds).abs() <= frame,
        "audio lasts {audio_seconds} s, expected {seconds} s"
    );
}

/// ffmpeg's raw RGB8 output for the movie with `filter_args` (the frame selection); `None` when
/// ffmpeg is missing and not required.
fn ffmpeg_rgb(path: &Path, filter_args: &[&str]) -> Option<Result<Vec<u8>, String>> {
    let Some(tool) = find_tool(&["ffmpeg"]) else {
        missing("ffmpeg", "decoded frame check");
        return None;
    };
    let output = Command::new(tool)
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(filter_args)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output();
    Some(match output {
        Err(e) => Err(format!("cannot run ffmpeg: {e}")),
        Ok(out) if !out.status.success() => Err(format!(
            "ffmpeg {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(out) => Ok(out.stdout),
    })
}

/// Frame `index` of the movie decoded by ffmpeg to RGB8 (ffmpeg converts with the matrix and
/// range the stream is tagged with); `None` when ffmpeg is missing and not required.
pub fn decode_frame(path: &Path, index: u32) -> Option<Result<Vec<u8>, String>> {
    let select = format!("select=eq(n\\,{index})");
    ffmpeg_rgb(path, &["-vf", &select, "-frames:v", "1"])
}

/// Frames `indices` of the movie decoded by ffmpeg to RGB8, in one pass, in the order asked;
/// `None` when ffmpeg is missing and not required.
pub fn decode_frames(
    path: &Path,
    indices: &[usize],
    (width, height): (usize, usize),
) -> Option<Result<Vec<Vec<u8>>, String>> {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let select: Vec<String> = sorted.iter().map(|n| format!("eq(n\\,{n})")).collect();
    let select = format!("select={}", select.join("+"));
    let size = width * height * 3;
    let frames = ffmpeg_rgb(path, &["-vf", &select, "-fps_mode", "passthrough"])?;
    Some(frames.and_then(|raw| {
        if raw.len() != sorted.len() * size {
            return Err(format!(
                "ffmpeg {}: {} bytes for {} frames of {width}x{height}",
                path.display(),
                raw.len(),
                sorted.len()
            ));
        }
        Ok(indices
            .iter()
            .map(|n| {
                let at = sorted.binary_search(n).expect("sorted holds every index");
                raw[at * size..(at + 1) * size].to_vec()
            })
            .collect())
    }))
}

/// The browser check could not be made: Chromium did not start, did not answer, could not load
/// the page, or the page's script failed. Never the movie's fault, so never a test's expected
/// outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessError(pub String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the browser harness failed: {}", self.0)
    }
}

impl From<String> for HarnessError {
    fn from(message: String) -> Self {
        HarnessError(message)
    }
}

/// How the movie failed to play in a page that loaded: the media's fault.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaFailure {
    /// The `<video>` element's error: its `MediaError` code (3 is a decode error, 4 a source
    /// Chromium cannot play) and Chromium's message.
    Error { code: u32, message: String },
    /// `play()` was refused.
    PlayRefused(String),
    /// Playback stopped advancing before reaching the wanted time: nothing (ready state,
    /// position, frames, decoded bytes) changed for [`STALL`] while the page kept answering.
    Stalled { at: f64 },
    /// The movie ended before the wanted time.
    EndedEarly { at: f64 },
}

/// What the page saw when Chromium played the movie: `readyState`, `duration`, size, how far
/// playback got (`maxTime`), the frames presented (`requestVideoFrameCallback`), the bytes of
/// audio and video decoded, and how it ended (`error`, `errorCode`, `playError`, `ended`,
/// `stalled`).
#[derive(Debug, Clone)]
pub struct Playback {
    pub json: Value,
    /// The time playback was asked to reach.
    pub play_to: f64,
}

impl Playback {
    pub fn get(&self, key: &str) -> f64 {
        number(&self.json[key])
    }

    /// Why playback did not reach `play_to`, or `None` when it did.
    pub fn failure(&self) -> Option<MediaFailure> {
        let json = &self.json;
        let at = self.get("maxTime");
        if !json["errorCode"].is_null() {
            Some(MediaFailure::Error {
                code: self.get("errorCode") as u32,
                message: json["error"].as_str().unwrap_or_default().to_owned(),
            })
        } else if let Some(refused) = json["playError"].as_str() {
            Some(MediaFailure::PlayRefused(refused.to_owned()))
        } else if json["stalled"] == true {
            Some(MediaFailure::Stalled { at })
        } else if at < self.play_to {
            Some(MediaFailure::EndedEarly { at })
        } else {
            None
        }
    }
}

/// How long playback may make no progress at all before it counts as stalled. Generous: the
/// page is polled all along, and any change (ready state, position, a frame, decoded bytes)
/// restarts it, so a slow machine only makes the test slower, never fail.
pub const STALL: Duration = Duration::from_secs(30);

/// The longest a DevTools command may go unanswered before the harness gives up.
const ANSWER: Duration = Duration::from_secs(60);

/// Opens a page with a muted `<video>` of `movie` in headless Chromium, plays it until
/// `play_to` seconds (or the end), and returns what the page measured. `None` when Chromium is
/// missing and not required.
pub fn play_in_chromium(movie: &Path, play_to: f64) -> Option<Result<Playback, HarnessError>> {
    let browser = chromium()?;
    Some(play_movie(&browser, movie, play_to))
}

/// The Chromium binary; `None` (after the skip message) when missing and not required.
pub fn chromium() -> Option<PathBuf> {
    let found = find_tool(&["chromium", "chromium-browser", "google-chrome"]);
    if found.is_none() {
        missing("chromium", "browser playback check");
    }
    found
}

fn play_movie(browser: &Path, movie: &Path, play_to: f64) -> Result<Playback, HarnessError> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let movie = movie
        .canonicalize()
        .map_err(|e| format!("{}: {e}", movie.display()))?;
    let page = dir.path().join("play.html");
    let html = PAGE.replace("MOVIE_URL", &file_url(&movie));
    std::fs::write(&page, html).map_err(|e| e.to_string())?;
    play_page(browser, &page, play_to)
}

/// Loads `page` (a file) in a fresh headless Chromium and plays its first `<video>`, muted,
/// until `play_to` seconds, the end, an error, or a stall; returns what the page measured.
pub fn play_page(browser: &Path, page: &Path, play_to: f64) -> Result<Playback, HarnessError> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let page = page
        .canonicalize()
        .map_err(|e| format!("{}: {e}", page.display()))?;
    let mut session = Browser::open(browser, &dir.path().join("profile"))?;
    session.navigate(&file_url(&page))?;
    let started = session.evaluate(
        &format!("({WATCH})(document.querySelector('video'), {play_to})"),
        ANSWER,
    )?;
    if started != true {
        return Err(HarnessError(format!(
            "{} has no <video> to play: {started}",
            page.display()
        )));
    }
    // Media plays on the wall clock, so Chromium's virtual time cannot stand in for it; instead
    // poll the page and give up only when nothing at all has changed for STALL.
    let mut last_progress = Value::Null;
    let mut since = Instant::now();
    loop {
        let state = session.evaluate("window.memoriesPlayback()", ANSWER)?;
        if state["done"] == true {
            return Ok(Playback {
                json: state["report"].clone(),
                play_to,
            });
        }
        if state["progress"] != last_progress {
            last_progress = state["progress"].clone();
            since = Instant::now();
        } else if since.elapsed() >= STALL {
            let mut json = state["report"].clone();
            json["stalled"] = json!(true);
            return Ok(Playback { json, play_to });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `file://` URL of an absolute path, percent-encoding what a URL cannot hold.
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(byte as char)
            }
            _ => url.push_str(&format!("%{byte:02X}")),
        }
    }
    url
}

/// One browser session at a time, machine-wide: an exclusive `flock` on a file in the
/// temporary folder, held for the life of a [`Browser`]. Cargo runs test binaries one after
/// another but the tests inside one binary in parallel; playback runs on the wall clock, so
/// two browsers (or a browser beside another test's encoding on a 2-core runner) would only
/// starve each other. The lock is released when its file is closed, also if the test process
/// dies.
struct BrowserLock(std::fs::File);

impl BrowserLock {
    fn acquire() -> Result<BrowserLock, String> {
        let path = std::env::temp_dir().join("memories-tests-browser.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        Ok(BrowserLock(file))
    }
}

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands in on fd 3, replies out on fd 4, each message JSON ended by a NUL byte). A fresh
/// profile, no network services, no sandbox (CI runs as root). Only one is open at a time (see
/// [`BrowserLock`]); the browser is closed on drop.
pub struct Browser {
    child: Child,
    commands: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
    /// Dropped after the browser is closed (fields drop after `Drop::drop`).
    _lock: BrowserLock,
}

impl Browser {
    pub fn open(binary: &Path, profile: &Path) -> Result<Browser, HarnessError> {
        let lock = BrowserLock::acquire()?;
        // bash maps the pipes onto fds 3 and 4, which std::process cannot do by itself.
        let script = "exec \"$0\" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync \
             --mute-audio --autoplay-policy=no-user-gesture-required \
             --user-data-dir=\"$1\" --remote-debugging-pipe about:blank 3<&0 4>&1 1>/dev/null";
        let mut child = Command::new("bash")
            .args(["-c", script])
            .arg(binary)
            .arg(profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let commands = child.stdin.take().expect("piped stdin");
        let mut out = child.stdout.take().expect("piped stdout");
        let (send, replies) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 65536];
            while let Ok(n @ 1..) = out.read(&mut chunk) {
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = buffer.drain(..=end).collect();
                    if let Ok(value) = serde_json::from_slice(&message[..end])
                        && send.send(value).is_err()
                    {
                        return;
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            commands,
            replies,
            next_id: 0,
            session: None,
            _lock: lock,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}))?;
        let target_id = target["targetId"].clone();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )?;
        browser.session = attached["sessionId"].as_str().map(str::to_owned);
        browser.call("Page.enable", json!({}))?;
        Ok(browser)
    }

    /// Sends a command (to the page once attached) and waits for its reply.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, HarnessError> {
        self.call_within(method, params, ANSWER)
    }

    fn call_within(
        &mut self,
        method: &str,
        params: Value,
        limit: Duration,
    ) -> Result<Value, HarnessError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .and_then(|()| self.commands.flush())
            .map_err(|e| format!("chromium closed its pipe: {e}"))?;
        let reply = self.wait_for(limit, |m| m["id"] == id)?;
        match reply.get("error") {
            Some(error) => Err(HarnessError(format!("{method}: {error}"))),
            None => Ok(reply["result"].clone()),
        }
    }

    /// The next message that `wanted` accepts, skipping others (events).
    fn wait_for(
        &mut self,
        limit: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value, HarnessError> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(message) if wanted(&message) => return Ok(message),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(HarnessError(format!(
                        "no answer from chromium within {limit:?}"
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.try_wait().ok().flatten();
                    return Err(HarnessError(format!(
                        "chromium closed its end of the pipe (exit status {status:?})"
                    )));
                }
            }
        }
    }

    /// Loads `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) -> Result<(), HarnessError> {
        let result = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(error) = result.get("errorText") {
            return Err(HarnessError(format!("cannot load {url}: {error}")));
        }
        self.wait_for(ANSWER, |m| m["method"] == "Page.loadEventFired")?;
        Ok(())
    }

    /// Evaluates a JavaScript expression in the page, awaiting a promise, and returns its value.
    pub fn evaluate(&mut self, expression: &str, limit: Duration) -> Result<Value, HarnessError> {
        let params = json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
        let result = self.call_within("Runtime.evaluate", params, limit)?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(HarnessError(format!("the page threw: {exception}")));
        }
        Ok(result["result"]["value"].clone())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.session = None;
        let _ = self.call_within("Browser.close", json!({}), Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The movie decoded in Chromium: metadata loaded with the right duration and size, playback
/// advanced to `played_to` with frames presented, and both tracks decoded.
pub fn assert_played(playback: &Playback, format: VideoFormat, seconds: f64, played_to: f64) {
    let json = &playback.json;
    assert_eq!(playback.failure(), None, "did not play: {json:#}");
    assert!(playback.get("readyState") >= 2.0, "readyState: {json:#}");
    let duration = playback.get("duration");
    assert!(
        (duration - seconds).abs() <= 1.0 / f64::from(format.fps),
        "duration {duration}, expected {seconds}: {json:#}"
    );
    assert_eq!(
        playback.get("videoWidth"),
        f64::from(format.width),
        "{json:#}"
    );
    assert_eq!(
        playback.get("videoHeight"),
        f64::from(format.height),
        "{json:#}"
    );
    assert!(
        playback.get("maxTime") >= played_to,
        "playback did not advance: {json:#}"
    );
    assert!(
        playback.get("frames") >= 5.0,
        "too few frames presented: {json:#}"
    );
    assert!(
        playback.get("videoBytes") > 0.0,
        "no video decoded: {json:#}"
    );
    assert!(
        playback.get("audioBytes") > 0.0,
        "no audio decoded: {json:#}"
    );
}

/// The test page: a muted `<video>` of MOVIE_URL, nothing else; [`WATCH`] plays it.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>playback</title></head>
<body><video src="MOVIE_URL" muted playsinline preload="auto"></video></body></html>
"#;

/// `(video, playTo) => started`: plays `video` muted and defines `window.memoriesPlayback()`,
/// which returns `{done, report, progress}`: `report` holds the measurements, final once
/// `done` (playback passed playTo, ended, failed, or play() was refused); `progress` changes
/// whenever anything advances. Returns false when there is no video.
const WATCH: &str = r#"(v, playTo) => {
  if (!v) return false;
  let frames = 0, maxTime = 0, final = null;
  const state = extra => Object.assign({
    readyState: v.readyState, networkState: v.networkState, duration: v.duration,
    videoWidth: v.videoWidth, videoHeight: v.videoHeight, currentTime: v.currentTime,
    maxTime: maxTime, frames: frames,
    videoBytes: v.webkitVideoDecodedByteCount, audioBytes: v.webkitAudioDecodedByteCount,
    errorCode: v.error ? v.error.code : null,
    error: v.error ? (v.error.code + ' ' + v.error.message) : null
  }, extra);
  const report = extra => { if (!final) final = state(extra); };
  if ('requestVideoFrameCallback' in v) {
    const onFrame = (now, meta) => {
      frames++; maxTime = Math.max(maxTime, meta.mediaTime); v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }
  v.addEventListener('timeupdate', () => {
    maxTime = Math.max(maxTime, v.currentTime);
    if (v.currentTime >= playTo) report({});
  });
  v.addEventListener('ended', () => report({ended: true}));
  v.addEventListener('error', () => report({}));
  window.memoriesPlayback = () => {
    if (v.error) report({});
    const now = state({});
    return {
      done: final !== null, report: final || now,
      progress: [now.readyState, now.networkState, now.currentTime, now.maxTime, now.frames,
                 now.videoBytes, now.audioBytes]
    };
  };
  v.muted = true;
  v.play().catch(e => report({playError: String(e)}));
  return true;
}"#;
