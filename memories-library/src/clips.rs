//! Phone clips in the index: a clip is one item, like a photo, with its capture time, place,
//! measures and faces. The container is read by `memories_media::clip` (only its `moov` box) and
//! a few frames are decoded by `memories_media::frames`; nothing else of the file is read, so a
//! clip's cost does not grow with its length beyond its sample table.
//!
//! Which frames: [`PROBES`] evenly inside the clip (at 1/6, 1/2 and 5/6 of its frames, so
//! never the first shaky instant), each reached from the sync frame before it in at most
//! [`MAX_RUN`] frames. The item's measures and faces are those of the probe with the most faces,
//! then the best quality: the frame a person would pick to stand for the clip.

use std::fs::File;
use std::path::Path;
use std::time::SystemTime;

use chrono::DateTime;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use memories_media::clip::{Clip, ClipTime};
use memories_media::frames::{self, Frame};
use memories_vision::Decoded;

use crate::analysis::shrink;
use crate::metadata::{CaptureTime, PhotoMeta, TimeSource, file_time, valid_point};

/// Frames probed per clip.
pub const PROBES: usize = 3;
/// Most frames decoded to reach one probe from the sync frame before it (one second at 30
/// fps): a clip with one sync frame a minute costs no more than one with a sync frame a second.
pub const MAX_RUN: usize = 30;

/// Longest part of a clip one memory shows: a shot lasts 2 to 4 s at the themes' tempos.
pub const PART_SECONDS: f64 = 3.0;
/// Left out at a longer clip's start, where the phone is still being raised and steadied.
pub const SETTLE_SECONDS: f64 = 1.0;

/// What the index keeps about a clip beyond what it keeps about a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipInfo {
    /// "H.264" or "HEVC".
    pub codec: String,
    /// Length in seconds, as shown (the edit list's, when there is one).
    pub seconds: f64,
    /// Frames in the video track.
    pub frames: usize,
    /// The frame whose measures and faces stand for the clip, and its time in seconds.
    pub poster_frame: usize,
    pub poster_seconds: f64,
    /// Clockwise turn applied to show it upright.
    pub rotation: u32,
    pub has_audio: bool,
    /// Where the video lies in its file (offset and length in bytes) when it is inside another
    /// file: a Samsung motion photo's `mpvd` box. `None` for a clip file of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<(u64, u64)>,
}

/// A clip's container, read from the file at `path` (or the part of it from `base`, `len`
/// bytes long).
pub fn open(path: &Path, base: u64, len: u64) -> Result<(File, Clip), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let clip = Clip::read(&mut file, base, len).map_err(|e| e.to_string())?;
    Ok((file, clip))
}

/// The video a Samsung motion photo carries after its HEIC or JPEG image, in a top-level
/// `mpvd` box: its offset and length in `bytes`. `None` for any other file.
pub fn embedded_video(bytes: &[u8]) -> Option<(u64, u64)> {
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
        let kind = &bytes[at + 4..at + 8];
        let (header, size) = match size {
            0 => (8, bytes.len() - at),
            1 => (
                16,
                usize::try_from(u64::from_be_bytes(
                    bytes.get(at + 8..at + 16)?.try_into().ok()?,
                ))
                .ok()?,
            ),
            n => (8, n),
        };
        if size < header || at + size > bytes.len() {
            return None;
        }
        if kind == b"mpvd" {
            return Some(((at + header) as u64, (size - header) as u64));
        }
        at += size;
    }
    None
}

/// The motion of a still that carries its video inside ([`embedded_video`]): what the index
/// stores for it, with the middle frame as the poster (no frame is decoded).
pub fn embedded_motion(path: &Path, bytes: &[u8]) -> Option<ClipInfo> {
    let (base, len) = embedded_video(bytes)?;
    let (_, clip) = open(path, base, len).ok()?;
    let mut info = info(&clip, clip.samples.len() / 2);
    info.range = Some((base, len));
    Some(info)
}

/// The capture time, place and camera the clip states.
pub fn meta(clip: &Clip, modified: SystemTime) -> PhotoMeta {
    let taken = match &clip.time {
        Some(ClipTime::Local(text)) => DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
            .ok()
            .map(|t| CaptureTime {
                local: t.naive_local(),
                offset_minutes: Some(t.offset().local_minus_utc() / 60),
                source: TimeSource::ClipCreationDate,
            }),
        Some(ClipTime::Utc(secs)) => DateTime::from_timestamp(*secs, 0).map(|t| CaptureTime {
            local: t.naive_utc(),
            offset_minutes: Some(0),
            source: TimeSource::ClipContainer,
        }),
        None => None,
    }
    .unwrap_or_else(|| file_time(modified));
    PhotoMeta {
        taken,
        gps: clip.location.and_then(|(lat, lon)| valid_point(lat, lon)),
        orientation: 1,
        make: clip.make.clone(),
        model: clip.model.clone(),
        content_identifier: clip.content_identifier.clone(),
    }
}

/// The sample indices probed: evenly inside the clip, never its first or last frame when it
/// has more than two.
pub fn probes(frames: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..PROBES)
        .map(|i| (frames * (2 * i + 1)) / (2 * PROBES))
        .map(|i| i.min(frames.saturating_sub(1)))
        .collect();
    out.dedup();
    out
}

/// The probed frames, each as a decoded photo of at most `max_side` pixels on its long side.
pub fn probe_frames(
    file: &mut File,
    clip: &Clip,
    max_side: u32,
) -> Result<Vec<(usize, Decoded)>, String> {
    let frames = frames::frames_at(clip, file, &probes(clip.samples.len()), MAX_RUN)
        .map_err(|e| e.to_string())?;
    Ok(frames
        .into_iter()
        .map(|frame| (frame.sample, decoded(frame, max_side)))
        .collect())
}

/// One frame as a [`Decoded`] photo of at most `max_side` pixels on its long side.
pub fn decoded(frame: Frame, max_side: u32) -> Decoded {
    let (width, height) = (frame.width, frame.height);
    let image = RgbImage::from_raw(width, height, frame.rgb).expect("frames are whole");
    Decoded {
        image: shrink(image, max_side),
        full_width: width,
        full_height: height,
    }
}

/// One frame of the clip at `path` (the sample `index`, or the nearest the decoder reaches),
/// upright, at most `max_side` pixels on its long side: what the movies show for a clip.
pub fn frame(path: &Path, index: usize, max_side: u32) -> Result<Decoded, String> {
    frame_picked(path, |_| index, max_side)
}

/// The middle frame of the clip at `path`, at most `max_side` pixels on its long side: what
/// `memories detect` looks at.
pub fn middle_frame(path: &Path, max_side: u32) -> Result<Decoded, String> {
    frame_picked(path, |clip| clip.samples.len() / 2, max_side)
}

fn frame_picked(
    path: &Path,
    pick: impl FnOnce(&Clip) -> usize,
    max_side: u32,
) -> Result<Decoded, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    let (mut file, clip) = open(path, 0, len)?;
    let index = pick(&clip);
    let mut frames =
        frames::frames_at(&clip, &mut file, &[index], MAX_RUN).map_err(|e| e.to_string())?;
    let frame = frames.pop().ok_or("no frame decoded")?;
    Ok(decoded(frame, max_side))
}

/// The clip's identity for the index's content hash, without reading its media: a hash of its
/// size and of everything read from its `moov` box (codec set-up, every frame's place, size and
/// time, the metadata). A re-encoded or trimmed clip differs in its sample table.
pub fn fingerprint(clip: &Clip, size: u64) -> String {
    let mut hash = blake3::Hasher::new();
    hash.update(b"clip");
    hash.update(&size.to_le_bytes());
    hash.update(format!("{:?}", clip.codec).as_bytes());
    for sample in &clip.samples {
        hash.update(&sample.offset.to_le_bytes());
        hash.update(&sample.size.to_le_bytes());
        hash.update(&sample.time.to_le_bytes());
    }
    hash.update(
        format!(
            "{:?} {:?} {:?}",
            clip.time, clip.location, clip.content_identifier
        )
        .as_bytes(),
    );
    hash.finalize().to_hex().to_string()
}

impl ClipInfo {
    /// The part of the clip a memory shows, in seconds: all of a clip up to [`PART_SECONDS`]
    /// long (a Live Photo's motion), else [`PART_SECONDS`] around the poster frame (the probe
    /// with the most faces, then the best quality), never in the first [`SETTLE_SECONDS`].
    pub fn part(&self) -> (f64, f64) {
        if self.seconds <= PART_SECONDS {
            return (0.0, self.seconds);
        }
        let earliest = SETTLE_SECONDS.min(self.seconds - PART_SECONDS);
        let start =
            (self.poster_seconds - PART_SECONDS / 2.0).clamp(earliest, self.seconds - PART_SECONDS);
        (start, start + PART_SECONDS)
    }

    /// "video, HEVC, 12.3 s; shows 4.1–7.1 s".
    pub fn describe(&self) -> String {
        let (start, end) = self.part();
        format!(
            "video, {}, {:.1} s; shows {start:.1}–{end:.1} s",
            self.codec, self.seconds
        )
    }
}

/// What the index stores about `clip`, given the probe that stands for it.
pub fn info(clip: &Clip, poster_frame: usize) -> ClipInfo {
    ClipInfo {
        codec: clip.codec.name(),
        seconds: clip.seconds(),
        frames: clip.samples.len(),
        poster_frame,
        poster_seconds: clip.sample_seconds(poster_frame),
        rotation: clip.rotation,
        has_audio: clip.has_audio,
        range: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(seconds: f64, poster_seconds: f64) -> ClipInfo {
        ClipInfo {
            codec: "H.264".to_string(),
            seconds,
            frames: (seconds * 30.0) as usize,
            poster_frame: (poster_seconds * 30.0) as usize,
            poster_seconds,
            rotation: 0,
            has_audio: true,
            range: None,
        }
    }

    #[test]
    fn the_part_shown_is_around_the_poster_and_past_the_first_second() {
        // A Live Photo: all of it.
        assert_eq!(info(1.8, 0.9).part(), (0.0, 1.8));
        // A long clip: three seconds centred on the poster frame.
        assert_eq!(info(20.0, 10.0).part(), (8.5, 11.5));
        // A poster near the start: not before the first second.
        assert_eq!(info(20.0, 0.5).part(), (1.0, 4.0));
        // Near the end: the last three seconds.
        assert_eq!(info(20.0, 19.9).part(), (17.0, 20.0));
        // Too short to skip a whole second.
        assert_eq!(info(3.5, 0.2).part(), (0.5, 3.5));
    }

    #[test]
    fn probes_are_inside_the_clip() {
        assert_eq!(probes(60), [10, 30, 50]);
        assert_eq!(probes(3), [0, 1, 2]);
        assert_eq!(probes(2), [0, 1]);
        assert_eq!(probes(1), [0]);
    }
}
