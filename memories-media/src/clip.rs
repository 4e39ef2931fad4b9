//! Reads a phone clip's container (QuickTime `.mov`, MP4, 3GP: ISO base media files): what the
//! video track is, how the phone shows it, when and where it was taken, and where each frame's
//! bytes are, without reading the media data.
//!
//! Only the `moov` box is read (a few kilobytes to a few megabytes, whatever the clip's length);
//! frames are then read one by one ([`Clip::read_sample`]). What is read:
//!
//! - the first video track (`hdlr` `vide`): codec (`avc1`/`avc3` H.264, `hvc1`/`hev1` HEVC, others
//!   by name), coded size, rotation from the track matrix (`tkhd`), the sample table (`stts`,
//!   `stsz`, `stsc`, `stco`/`co64`, `stss`) and duration (`mdhd`);
//! - the capture time: Apple's `com.apple.quicktime.creationdate` (local time with its offset)
//!   before the movie header's `creation_time` (UTC; files re-saved later carry the later time);
//! - the place: Apple's `com.apple.quicktime.location.ISO6709`, else the user-data `©xyz` that
//!   Android and older iPhones write; `+00.0000+000.0000/` is a placeholder, not a place;
//! - Apple's `com.apple.quicktime.content.identifier`, which a Live Photo's still also carries,
//!   and the make and model.
//!
//! Every size and offset read from the file is checked: a truncated or hostile file is an error
//! that says what is wrong, never a panic or a huge allocation.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Largest `moov` box read (a 3-hour 60 fps clip's sample table is about 10 MB).
const MAX_MOOV: u64 = 64 << 20;
/// Largest single frame read (an intra frame of 8K video is a few megabytes).
const MAX_SAMPLE: u32 = 64 << 20;

/// Why a clip cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipError(pub String);

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClipError {}

fn err<T>(message: impl Into<String>) -> Result<T, ClipError> {
    Err(ClipError(message.into()))
}

/// The video track's codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// H.264, with its `avcC` record (SPS and PPS, NAL length size).
    H264 { config: Vec<u8> },
    /// HEVC, with its `hvcC` record (VPS, SPS, PPS, NAL length size).
    Hevc { config: Vec<u8> },
    /// Anything else, by its sample entry's four-character code (`vp09`, `av01`, `apcn`...).
    Other(String),
}

impl Codec {
    pub fn name(&self) -> String {
        match self {
            Codec::H264 { .. } => "H.264".to_string(),
            Codec::Hevc { .. } => "HEVC".to_string(),
            Codec::Other(code) => match code.as_str() {
                "vp09" => "VP9".to_string(),
                "av01" => "AV1".to_string(),
                "apcn" | "apch" | "apcs" | "apco" | "ap4h" | "ap4x" => "ProRes".to_string(),
                "mp4v" => "MPEG-4 Part 2".to_string(),
                "jpeg" => "Motion JPEG".to_string(),
                other => format!("`{other}`"),
            },
        }
    }
}

/// One frame's place in the file and time in the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub offset: u64,
    pub size: u32,
    /// Decoding time in the track's timescale.
    pub time: u64,
    /// A sync sample (a frame decodable on its own).
    pub sync: bool,
}

/// A capture time as the clip states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipTime {
    /// Apple's creation date: the local time and its offset, as written
    /// (`2025-08-06T17:14:21-0500`).
    Local(String),
    /// The movie header's creation time, in seconds since 1970 UTC.
    Utc(i64),
}

/// A clip's container, read.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Where the container starts in the file (non-zero for a video inside another file, such
    /// as a motion photo's `mpvd` box).
    pub base: u64,
    pub codec: Codec,
    /// The coded size, before rotation.
    pub coded_width: u32,
    pub coded_height: u32,
    /// Clockwise turn, in degrees (0, 90, 180 or 270), that shows the frames upright.
    pub rotation: u32,
    pub timescale: u32,
    /// The video track's duration, in its timescale.
    pub duration: u64,
    pub samples: Vec<Sample>,
    pub time: Option<ClipTime>,
    /// Latitude and longitude as the file states them (ISO 6709), the null-island placeholder
    /// already dropped.
    pub location: Option<(f64, f64)>,
    pub content_identifier: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Whether the file has a sound track.
    pub has_audio: bool,
}

impl Clip {
    /// Reads the container that starts at `base` in `file` and runs for `len` bytes.
    pub fn read(file: &mut File, base: u64, len: u64) -> Result<Clip, ClipError> {
        let moov = find_moov(file, base, len)?;
        parse_moov(&moov, base, len)
    }

    /// The width and height as the phone shows the clip.
    pub fn upright_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 {
            (self.coded_height, self.coded_width)
        } else {
            (self.coded_width, self.coded_height)
        }
    }

    /// The duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.duration as f64 / f64::from(self.timescale.max(1))
    }

    /// A sample's time in seconds.
    pub fn sample_seconds(&self, index: usize) -> f64 {
        self.samples[index].time as f64 / f64::from(self.timescale.max(1))
    }

    /// Reads one frame's bytes.
    pub fn read_sample(&self, file: &mut File, index: usize) -> Result<Vec<u8>, ClipError> {
        let sample = self.samples[index];
        let mut bytes = vec![0; sample.size as usize];
        file.seek(SeekFrom::Start(sample.offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| ClipError(format!("cannot read frame {index}: {e}")))?;
        Ok(bytes)
    }

    /// The sample to start decoding from to reach `target`: the last sync sample at or before it.
    pub fn sync_before(&self, target: usize) -> usize {
        (0..=target.min(self.samples.len().saturating_sub(1)))
            .rev()
            .find(|&i| self.samples[i].sync)
            .unwrap_or(0)
    }
}

/// A box header: its type, where its payload starts and how long the payload is.
#[derive(Debug, Clone, Copy)]
struct Header {
    kind: [u8; 4],
    payload: u64,
    len: u64,
}

fn read_exact_at(file: &mut File, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// Walks the top-level boxes from `base` and returns the `moov` payload.
fn find_moov(file: &mut File, base: u64, len: u64) -> Result<Vec<u8>, ClipError> {
    let end = base + len;
    let mut at = base;
    let mut saw_ftyp = false;
    while at + 8 <= end {
        let mut head = [0u8; 16];
        let n = (end - at).min(16) as usize;
        read_exact_at(file, at, &mut head[..n])
            .map_err(|e| ClipError(format!("cannot read a box header at byte {at}: {e}")))?;
        let Some(header) = parse_header(&head[..n], end - at) else {
            let kind = String::from_utf8_lossy(&head[4..8]).to_string();
            return match parse_header(&head[..n], u64::MAX) {
                Some(h) if h.payload + h.len > end - at => err(format!(
                    "truncated: its `{kind}` box at byte {} runs {} bytes past the end of the file",
                    at - base,
                    h.payload + h.len - (end - at)
                )),
                _ => err(format!(
                    "its `{kind}` box at byte {} has an impossible size",
                    at - base
                )),
            };
        };
        if &header.kind == b"ftyp" {
            saw_ftyp = true;
        }
        if &header.kind == b"moov" {
            if header.len > MAX_MOOV {
                return err(format!(
                    "its `moov` box is {} bytes, over the limit",
                    header.len
                ));
            }
            let mut moov = vec![0; header.len as usize];
            read_exact_at(file, at + header.payload, &mut moov)
                .map_err(|e| ClipError(format!("cannot read the `moov` box: {e}")))?;
            return Ok(moov);
        }
        at += header.payload + header.len;
    }
    if saw_ftyp {
        err("no `moov` box (truncated, or the recording never finished)")
    } else {
        err("not an MP4 or QuickTime file (no `ftyp` box)")
    }
}

/// Parses a box header from `bytes` (at least 8 of them), given how many bytes remain in the
/// parent. Size 0 means "to the end"; size 1 means a 64-bit size follows.
fn parse_header(bytes: &[u8], remaining: u64) -> Option<Header> {
    let size32 = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (payload, total) = match size32 {
        0 => (8, remaining),
        1 => (16, u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    (total >= payload && total <= remaining).then(|| Header {
        kind,
        payload,
        len: total - payload,
    })
}

/// The child boxes of a payload held in memory.
pub(crate) fn children(payload: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = payload.get(at..)?;
        if rest.len() < 8 {
            return None;
        }
        let header = parse_header(rest, rest.len() as u64)?;
        let start = header.payload as usize;
        let body = rest.get(start..start + header.len as usize)?;
        at += start + header.len as usize;
        Some((header.kind, body))
    })
}

pub(crate) fn child<'a>(payload: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(payload).find(|(k, _)| k == kind).map(|(_, b)| b)
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
pub(crate) fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Seconds from 1904-01-01 (the QuickTime epoch) to 1970-01-01.
const QUICKTIME_EPOCH: i64 = 2_082_844_800;

fn parse_moov(moov: &[u8], base: u64, len: u64) -> Result<Clip, ClipError> {
    let mut video = None;
    let mut has_audio = false;
    for (kind, trak) in children(moov) {
        if &kind != b"trak" {
            continue;
        }
        match handler(trak).as_ref() {
            Some(b"vide") if video.is_none() => video = Some(trak),
            Some(b"soun") => has_audio = true,
            _ => {}
        }
    }
    let Some(trak) = video else {
        return err("no video track");
    };
    let mut clip = parse_video_track(trak, base, len)?;
    clip.has_audio = has_audio;
    // The edit list says how much of the track is shown: a Live Photo holds its last frame
    // for most of a second in `stts`, but shows only up to the edit's end (as ffprobe reports).
    let movie_scale = child(moov, b"mvhd").and_then(|mvhd| match mvhd.first()? {
        1 => be32(mvhd, 20),
        _ => be32(mvhd, 12),
    });
    if let (Some(shown), Some(movie_scale)) = (edited_duration(trak), movie_scale)
        && movie_scale > 0
        && shown > 0
    {
        let shown = u128::from(shown) * u128::from(clip.timescale) / u128::from(movie_scale);
        clip.duration = clip.duration.min(shown as u64);
    }
    let mvhd_time = child(moov, b"mvhd").and_then(|mvhd| {
        let created = match mvhd.first()? {
            1 => be64(mvhd, 4)? as i64,
            _ => i64::from(be32(mvhd, 4)?),
        };
        // Zero means "not set"; some cameras write a time before 1970 when their clock is unset.
        let unix = created - QUICKTIME_EPOCH;
        (created != 0 && unix > 0).then_some(ClipTime::Utc(unix))
    });
    let apple = apple_metadata(moov);
    let text = |key: &str| {
        apple
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    clip.time = text("com.apple.quicktime.creationdate")
        .map(ClipTime::Local)
        .or(mvhd_time);
    clip.location = text("com.apple.quicktime.location.ISO6709")
        .or_else(|| user_data_location(moov))
        .and_then(|text| parse_iso6709(&text));
    clip.content_identifier = text("com.apple.quicktime.content.identifier");
    clip.make = text("com.apple.quicktime.make");
    clip.model = text("com.apple.quicktime.model");
    Ok(clip)
}

/// The total length of a track's edits that show media (`elst` entries whose media time is not
/// -1), in the movie's timescale.
fn edited_duration(trak: &[u8]) -> Option<u64> {
    let elst = child(child(trak, b"edts")?, b"elst")?;
    let version = *elst.first()?;
    let count = be32(elst, 4)? as usize;
    let mut total = 0u64;
    let mut at = 8;
    for _ in 0..count.min(1024) {
        let (segment, media_time, step) = if version == 1 {
            (be64(elst, at)?, be64(elst, at + 8)? as i64, 20)
        } else {
            (
                u64::from(be32(elst, at)?),
                i64::from(be32(elst, at + 4)? as i32),
                12,
            )
        };
        if media_time != -1 {
            total += segment;
        }
        at += step;
    }
    Some(total)
}

/// A track's handler type (`vide`, `soun`, `meta`...).
fn handler(trak: &[u8]) -> Option<[u8; 4]> {
    let hdlr = child(child(trak, b"mdia")?, b"hdlr")?;
    hdlr.get(8..12)?.try_into().ok()
}

fn parse_video_track(trak: &[u8], base: u64, len: u64) -> Result<Clip, ClipError> {
    let bad = |what: &str| ClipError(format!("its video track has a missing or broken {what}"));
    let tkhd = child(trak, b"tkhd").ok_or_else(|| bad("`tkhd`"))?;
    // Version 1 has 64-bit times and duration: 12 more bytes before the matrix.
    let matrix_at = if tkhd.first() == Some(&1) { 52 } else { 40 };
    let a = be32(tkhd, matrix_at).ok_or_else(|| bad("`tkhd`"))? as i32;
    let b = be32(tkhd, matrix_at + 4).ok_or_else(|| bad("`tkhd`"))? as i32;
    let rotation = rotation_of(a, b);
    let mdia = child(trak, b"mdia").ok_or_else(|| bad("`mdia`"))?;
    let mdhd = child(mdia, b"mdhd").ok_or_else(|| bad("`mdhd`"))?;
    let (timescale, duration) = match mdhd.first() {
        Some(1) => (be32(mdhd, 20), be64(mdhd, 24)),
        _ => (be32(mdhd, 12), be32(mdhd, 16).map(u64::from)),
    };
    let (timescale, duration) = timescale.zip(duration).ok_or_else(|| bad("`mdhd`"))?;
    if timescale == 0 {
        return Err(bad("`mdhd` (timescale 0)"));
    }
    let stbl = child(child(mdia, b"minf").ok_or_else(|| bad("`minf`"))?, b"stbl")
        .ok_or_else(|| bad("`stbl`"))?;
    let stsd = child(stbl, b"stsd").ok_or_else(|| bad("`stsd`"))?;
    // Full box header (4), entry count (4), then the first sample entry.
    let entry = stsd.get(8..).ok_or_else(|| bad("`stsd`"))?;
    let header = parse_header(entry, entry.len() as u64).ok_or_else(|| bad("`stsd`"))?;
    let body = &entry[header.payload as usize..][..header.len as usize];
    // A visual sample entry: 6 reserved, 2 data reference, 16 predefined, then width and height,
    // then 50 more bytes before the child boxes.
    let coded_width = u32::from(be16(body, 24).ok_or_else(|| bad("sample entry"))?);
    let coded_height = u32::from(be16(body, 26).ok_or_else(|| bad("sample entry"))?);
    let boxes = body.get(78..).unwrap_or_default();
    let code = String::from_utf8_lossy(&header.kind).to_string();
    let codec = match &header.kind {
        b"avc1" | b"avc3" => Codec::H264 {
            config: child(boxes, b"avcC").ok_or_else(|| bad("`avcC`"))?.to_vec(),
        },
        b"hvc1" | b"hev1" => Codec::Hevc {
            config: child(boxes, b"hvcC").ok_or_else(|| bad("`hvcC`"))?.to_vec(),
        },
        _ => Codec::Other(code),
    };
    let (samples, sampled) = sample_table(stbl, base, len).map_err(bad)?;
    // The frames' own times, not `mdhd`'s duration: a Live Photo's track header can run past
    // its last frame (ffprobe reports the same).
    let duration = if sampled > 0 { sampled } else { duration };
    if samples.is_empty() {
        return err("its video track has no frames");
    }
    Ok(Clip {
        base,
        codec,
        coded_width,
        coded_height,
        rotation,
        timescale,
        duration,
        samples,
        time: None,
        location: None,
        content_identifier: None,
        make: None,
        model: None,
        has_audio: false,
    })
}

/// The clockwise turn of a track matrix whose first row is (a, b) in 16.16 fixed point: (0, 1)
/// is a quarter turn clockwise, as iPhones write for portrait video.
fn rotation_of(a: i32, b: i32) -> u32 {
    let degrees = f64::from(b).atan2(f64::from(a)).to_degrees();
    (((degrees / 90.0).round() as i32).rem_euclid(4) * 90) as u32
}

/// The sample table: every frame's offset, size, time and whether it is a sync sample.
/// Also returns the time after the last frame (the sum of the frame durations).
fn sample_table(stbl: &[u8], base: u64, len: u64) -> Result<(Vec<Sample>, u64), &'static str> {
    let stsz = child(stbl, b"stsz").ok_or("`stsz`")?;
    let fixed = be32(stsz, 4).ok_or("`stsz`")?;
    let count = be32(stsz, 8).ok_or("`stsz`")? as usize;
    if fixed == 0 && stsz.len() < 12 + count * 4 {
        return Err("`stsz` (shorter than its count)");
    }
    let size = |i: usize| {
        if fixed != 0 {
            fixed
        } else {
            be32(stsz, 12 + 4 * i).unwrap_or(0)
        }
    };
    let offsets: Vec<u64> = if let Some(stco) = child(stbl, b"stco") {
        let n = be32(stco, 4).ok_or("`stco`")? as usize;
        (0..n)
            .map(|i| be32(stco, 8 + 4 * i).map(u64::from))
            .collect::<Option<_>>()
            .ok_or("`stco`")?
    } else {
        let co64 = child(stbl, b"co64").ok_or("`stco`")?;
        let n = be32(co64, 4).ok_or("`co64`")? as usize;
        (0..n)
            .map(|i| be64(co64, 8 + 8 * i))
            .collect::<Option<_>>()
            .ok_or("`co64`")?
    };
    // Samples per chunk, in runs: (first chunk, 1-based; samples in each chunk).
    let stsc = child(stbl, b"stsc").ok_or("`stsc`")?;
    let runs = be32(stsc, 4).ok_or("`stsc`")? as usize;
    let runs: Vec<(usize, u32)> = (0..runs)
        .map(|i| Some((be32(stsc, 8 + 12 * i)? as usize, be32(stsc, 12 + 12 * i)?)))
        .collect::<Option<_>>()
        .ok_or("`stsc`")?;
    let stts = child(stbl, b"stts").ok_or("`stts`")?;
    let deltas = be32(stts, 4).ok_or("`stts`")? as usize;
    let deltas: Vec<(u32, u32)> = (0..deltas)
        .map(|i| Some((be32(stts, 8 + 8 * i)?, be32(stts, 12 + 8 * i)?)))
        .collect::<Option<_>>()
        .ok_or("`stts`")?;
    // No `stss` means every sample is a sync sample.
    let sync: Option<Vec<u32>> = match child(stbl, b"stss") {
        Some(stss) => {
            let n = be32(stss, 4).ok_or("`stss`")? as usize;
            Some(
                (0..n)
                    .map(|i| be32(stss, 8 + 4 * i))
                    .collect::<Option<_>>()
                    .ok_or("`stss`")?,
            )
        }
        None => None,
    };

    let mut samples = Vec::with_capacity(count.min(1 << 20));
    let mut run = 0;
    for (chunk, &chunk_offset) in offsets.iter().enumerate() {
        while run + 1 < runs.len() && runs[run + 1].0 <= chunk + 1 {
            run += 1;
        }
        let Some(&(_, per_chunk)) = runs.get(run) else {
            return Err("`stsc`");
        };
        let mut offset = base + chunk_offset;
        for _ in 0..per_chunk {
            if samples.len() == count {
                break;
            }
            let size = size(samples.len());
            if size > MAX_SAMPLE || offset + u64::from(size) > base + len {
                return Err("sample table (a frame lies outside the file)");
            }
            samples.push(Sample {
                offset,
                size,
                time: 0,
                sync: false,
            });
            offset += u64::from(size);
        }
    }
    if samples.len() != count {
        return Err("sample table (fewer frames in chunks than `stsz` counts)");
    }
    let mut time = 0u64;
    let mut deltas = deltas
        .iter()
        .flat_map(|&(n, d)| std::iter::repeat_n(d, n as usize));
    for sample in &mut samples {
        sample.time = time;
        time += u64::from(deltas.next().unwrap_or(0));
    }
    match sync {
        None => samples.iter_mut().for_each(|s| s.sync = true),
        Some(sync) => {
            for n in sync {
                if let Some(s) = samples.get_mut((n as usize).wrapping_sub(1)) {
                    s.sync = true;
                }
            }
        }
    }
    Ok((samples, time))
}

/// QuickTime metadata (`moov/meta` with `keys` and `ilst`, or the same under `udta`): each key
/// with its value when the value is text.
fn apple_metadata(moov: &[u8]) -> Vec<(String, String)> {
    let metas = [
        child(moov, b"meta"),
        child(moov, b"udta").and_then(|udta| child(udta, b"meta")),
    ];
    let mut out = Vec::new();
    for meta in metas.into_iter().flatten() {
        // QuickTime's `meta` is a plain box; ISO's is a full box with 4 bytes of version and
        // flags first.
        let meta = if meta.get(4..8) == Some(b"hdlr") {
            meta
        } else {
            meta.get(4..).unwrap_or_default()
        };
        let Some(keys) = child(meta, b"keys") else {
            continue;
        };
        let count = be32(keys, 4).unwrap_or(0) as usize;
        let mut names = Vec::new();
        let mut at = 8;
        for _ in 0..count.min(4096) {
            let Some(size) = be32(keys, at).map(|s| s as usize) else {
                break;
            };
            if size < 8 {
                break;
            }
            let Some(name) = keys.get(at + 8..at + size) else {
                break;
            };
            names.push(String::from_utf8_lossy(name).to_string());
            at += size;
        }
        let Some(ilst) = child(meta, b"ilst") else {
            continue;
        };
        for (kind, item) in children(ilst) {
            let index = u32::from_be_bytes(kind) as usize;
            let Some(name) = index.checked_sub(1).and_then(|i| names.get(i)) else {
                continue;
            };
            // `data`: type (1 = UTF-8), locale, value.
            if let Some(data) = child(item, b"data")
                && be32(data, 0) == Some(1)
                && let Some(value) = data.get(8..)
            {
                out.push((name.clone(), String::from_utf8_lossy(value).to_string()));
            }
        }
    }
    out
}

/// The user-data location `©xyz`: a 16-bit length, a 16-bit language, then ISO 6709 text.
fn user_data_location(moov: &[u8]) -> Option<String> {
    let xyz = child(child(moov, b"udta")?, b"\xa9xyz")?;
    let len = usize::from(be16(xyz, 0)?);
    let text = xyz.get(4..4 + len)?;
    Some(String::from_utf8_lossy(text).to_string())
}

/// Parses ISO 6709 decimal degrees, `+34.7309-086.5870+191.315/`: signed latitude, signed
/// longitude, optional altitude. Out-of-range values and the `+00.0000+000.0000` placeholder
/// (phones write it without a fix) are no place.
pub fn parse_iso6709(text: &str) -> Option<(f64, f64)> {
    let text = text.trim().trim_end_matches('/');
    let mut starts = text
        .char_indices()
        .filter(|&(_, c)| c == '+' || c == '-')
        .map(|(i, _)| i);
    let (lat_at, lon_at) = (starts.next()?, starts.next()?);
    if lat_at != 0 {
        return None;
    }
    let end = starts.next().unwrap_or(text.len());
    let lat: f64 = text[lat_at..lon_at].parse().ok()?;
    let lon: f64 = text[lon_at..end].parse().ok()?;
    let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    (in_range && !(lat == 0.0 && lon == 0.0)).then_some((lat, lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso6709() {
        assert_eq!(
            parse_iso6709("+34.7309-086.5870+191.315/"),
            Some((34.7309, -86.587))
        );
        assert_eq!(
            parse_iso6709("+27.2939+112.6932/"),
            Some((27.2939, 112.6932))
        );
        assert_eq!(
            parse_iso6709("+51.4169-000.0806/"),
            Some((51.4169, -0.0806))
        );
        assert_eq!(parse_iso6709("+00.0000+000.0000/"), None);
        assert_eq!(parse_iso6709("+91.0000+000.0000/"), None);
        assert_eq!(parse_iso6709("garbage"), None);
        assert_eq!(parse_iso6709(""), None);
    }

    #[test]
    fn rotations() {
        let one = 1 << 16;
        assert_eq!(rotation_of(one, 0), 0);
        assert_eq!(rotation_of(0, one), 90);
        assert_eq!(rotation_of(-one, 0), 180);
        assert_eq!(rotation_of(0, -one), 270);
    }

    #[test]
    fn box_headers_never_overrun() {
        assert!(parse_header(b"\0\0\0\x10moov", 8).is_none());
        assert!(parse_header(b"\0\0\0\x04moov", 100).is_none());
        let h = parse_header(b"\0\0\0\0mdat", 100).unwrap();
        assert_eq!((h.payload, h.len), (8, 92));
        let h = parse_header(b"\0\0\0\x01mdat\0\0\0\0\0\0\0\x20", 100).unwrap();
        assert_eq!((h.payload, h.len), (16, 16));
    }
}
