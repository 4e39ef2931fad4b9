//! Checks of a finished movie with the tools a viewer's side would use: `ffprobe` for the
//! streams and tags, our own reading of the top-level MP4 boxes for fast start, and headless
//! Chromium for "does it actually play in a browser".
//!
//! The tools are test-only (Debian's `ffmpeg` and `chromium`, installed by `.ci/run`). When one is
//! missing, [`ffprobe`] and [`play_in_chromium`] return `None` after a loud message on stderr,
//! unless `MEMORIES_REQUIRE_MEDIA_TOOLS=1` (set on CI), where they panic instead: a CI run must
//! not pass by skipping.
//!
//! Reuse from another test file: `mod support;` with `support/mod.rs` declaring `pub mod media;`.

#![allow(dead_code)]

use memories::encode::VideoFormat;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
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

/// Frame `index` of the movie decoded by ffmpeg to RGB8 (ffmpeg converts with the matrix and
/// range the stream is tagged with); `None` when ffmpeg is missing and not required.
pub fn decode_frame(path: &Path, index: u32) -> Option<Result<Vec<u8>, String>> {
    let Some(tool) = find_tool(&["ffmpeg"]) else {
        missing("ffmpeg", "decoded frame check");
        return None;
    };
    let output = Command::new(tool)
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", &format!("select=eq(n\\,{index})"), "-frames:v", "1"])
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

/// What the test page saw when Chromium played the movie.
#[derive(Debug, Clone)]
pub struct Playback {
    pub json: Value,
}

impl Playback {
    pub fn get(&self, key: &str) -> f64 {
        number(&self.json[key])
    }
}

/// Opens a page with a muted `<video>` of `movie` in headless Chromium, plays it until
/// `play_to` seconds (or the end), and returns what the page measured: readyState, duration,
/// size, how far playback got, the frames presented (requestVideoFrameCallback) and the bytes of
/// audio and video decoded. `None` when Chromium is missing and not required.
pub fn play_in_chromium(movie: &Path, play_to: f64) -> Option<Result<Playback, String>> {
    let browser = chromium()?;
    Some(play(&browser, movie, play_to))
}

/// The Chromium binary; `None` (after the skip message) when missing and not required.
pub fn chromium() -> Option<PathBuf> {
    let found = find_tool(&["chromium", "chromium-browser", "google-chrome"]);
    if found.is_none() {
        missing("chromium", "browser playback check");
    }
    found
}

fn play(browser: &Path, movie: &Path, play_to: f64) -> Result<Playback, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let movie = movie
        .canonicalize()
        .map_err(|e| format!("{}: {e}", movie.display()))?;
    let page = dir.path().join("play.html");
    let html = PAGE
        .replace("MOVIE_URL", &file_url(&movie))
        .replace("PLAY_TO", &play_to.to_string());
    std::fs::write(&page, html).map_err(|e| e.to_string())?;
    let mut session = Browser::open(browser, &dir.path().join("profile"))?;
    session.navigate(&file_url(&page))?;
    // The page fills <pre id="result"> when it is done; wait for that (in real time: media
    // plays on the wall clock, so Chromium's virtual time budget cannot be used).
    let report = session.evaluate(
        "new Promise(done => { const poll = () => { \
           const r = document.getElementById('result'); \
           if (r && r.textContent) done(r.textContent); else setTimeout(poll, 50); }; poll(); })",
        Duration::from_secs(40),
    )?;
    let text = report
        .as_str()
        .ok_or_else(|| format!("the page reported {report}"))?;
    serde_json::from_str(text)
        .map(|json| Playback { json })
        .map_err(|e| format!("the page's report is not JSON ({e}): {text}"))
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

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands in on fd 3, replies out on fd 4, each message JSON ended by a NUL byte). A fresh
/// profile, no network services, no sandbox (CI runs as root). The browser is closed on drop.
pub struct Browser {
    child: Child,
    commands: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
}

impl Browser {
    pub fn open(binary: &Path, profile: &Path) -> Result<Browser, String> {
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
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.call_within(method, params, Duration::from_secs(30))
    }

    fn call_within(
        &mut self,
        method: &str,
        params: Value,
        limit: Duration,
    ) -> Result<Value, String> {
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
            Some(error) => Err(format!("{method}: {error}")),
            None => Ok(reply["result"].clone()),
        }
    }

    /// The next message that `wanted` accepts, skipping others (events).
    fn wait_for(
        &mut self,
        limit: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(message) if wanted(&message) => return Ok(message),
                Ok(_) => {}
                Err(_) => return Err(format!("no answer from chromium within {limit:?}")),
            }
        }
    }

    /// Loads `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        let result = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(error) = result.get("errorText") {
            return Err(format!("cannot load {url}: {error}"));
        }
        self.wait_for(Duration::from_secs(30), |m| {
            m["method"] == "Page.loadEventFired"
        })?;
        Ok(())
    }

    /// Evaluates a JavaScript expression in the page, awaiting a promise, and returns its value.
    pub fn evaluate(&mut self, expression: &str, limit: Duration) -> Result<Value, String> {
        let params = json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
        let result = self.call_within("Runtime.evaluate", params, limit)?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(format!("the page threw: {exception}"));
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
    assert!(json["error"].is_null(), "media error: {json:#}");
    assert!(json["playError"].is_null(), "play() failed: {json:#}");
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

/// The test page: plays the movie muted and writes its measurements as JSON into
/// `<pre id="result">` when playback passes PLAY_TO, ends, fails, or after 20 s.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>playback</title></head>
<body>
<video id="v" src="MOVIE_URL" muted playsinline preload="auto"></video>
<pre id="result"></pre>
<script>
const v = document.getElementById('v');
let frames = 0, maxTime = 0, reported = false;
function report(extra) {
  if (reported) return;
  reported = true;
  const r = Object.assign({
    readyState: v.readyState, duration: v.duration, videoWidth: v.videoWidth,
    videoHeight: v.videoHeight, currentTime: v.currentTime, maxTime: maxTime, frames: frames,
    videoBytes: v.webkitVideoDecodedByteCount, audioBytes: v.webkitAudioDecodedByteCount,
    error: v.error ? (v.error.code + ' ' + v.error.message) : null
  }, extra);
  document.getElementById('result').textContent = JSON.stringify(r);
}
if ('requestVideoFrameCallback' in v) {
  const onFrame = (now, meta) => { frames++; maxTime = Math.max(maxTime, meta.mediaTime); v.requestVideoFrameCallback(onFrame); };
  v.requestVideoFrameCallback(onFrame);
}
v.addEventListener('timeupdate', () => {
  maxTime = Math.max(maxTime, v.currentTime);
  if (v.currentTime >= PLAY_TO) report({});
});
v.addEventListener('ended', () => report({ended: true}));
v.addEventListener('error', () => report({}));
v.play().catch(e => report({playError: String(e)}));
setTimeout(() => report({timedOut: true}), 20000);
</script>
</body></html>
"#;
