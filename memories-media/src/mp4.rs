//! A small MP4 (ISO/IEC 14496-12 and 14496-15) muxer for one H.264 and one Opus track, written
//! whole at the end so that the index (`moov`) comes before the media data (`mdat`): a browser
//! can start playing after reading the first few kilobytes ("fast start").
//!
//! Layout: `ftyp`, `moov` (`mvhd`, then per track `tkhd`, an `edts` edit list where the track
//! starts later in its media, and `mdia` with the sample table), then one `mdat` in which the
//! tracks alternate in chunks of about one second, so that playback never has to read far ahead
//! in one track to find the other.

use std::io::{self, Write};

/// Movie-level time unit: milliseconds, as most muxers use; tracks keep their own finer units.
const MOVIE_TIMESCALE: u32 = 1000;
/// Seconds of media per chunk in `mdat`.
const CHUNK_SECONDS: f64 = 1.0;

/// One access unit: an H.264 frame (length-prefixed NAL units) or an Opus packet.
#[derive(Debug, Clone)]
pub struct Sample {
    pub data: Vec<u8>,
    /// In the track's timescale.
    pub duration: u32,
    /// Decoding can start here (`stss`; every Opus packet is one).
    pub sync: bool,
}

/// What a track carries, with what its sample entry needs.
#[derive(Debug, Clone)]
pub enum Codec {
    /// H.264 tagged BT.709 limited range (the `colr` box repeats the SPS's VUI for players that
    /// read only the container).
    Avc {
        width: u16,
        height: u16,
        sps: Vec<u8>,
        pps: Vec<u8>,
    },
    Opus {
        channels: u16,
        pre_skip: u16,
        /// The rate of the signal before encoding, for information (`dOps`).
        input_sample_rate: u32,
    },
}

/// A track and its samples in decoding order (no B-frames: decoding order is display order).
#[derive(Debug, Clone)]
pub struct Track {
    pub codec: Codec,
    pub timescale: u32,
    pub samples: Vec<Sample>,
    /// The part of the media that is presented, in the track's timescale, when it is not all of
    /// it: Opus's pre-skip at the start and the padding of its last packet.
    pub presented: Option<Presented>,
}

#[derive(Debug, Clone, Copy)]
pub struct Presented {
    pub media_start: u64,
    pub duration: u64,
}

impl Track {
    fn media_duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }

    fn presented_duration(&self) -> u64 {
        self.presented
            .map_or_else(|| self.media_duration(), |p| p.duration)
    }

    /// In the movie timescale, rounded to nearest.
    fn movie_duration(&self) -> u64 {
        rescale(self.presented_duration(), self.timescale, MOVIE_TIMESCALE)
    }
}

fn rescale(value: u64, from: u32, to: u32) -> u64 {
    (value * u64::from(to) + u64::from(from) / 2) / u64::from(from)
}

/// A run of consecutive samples of one track stored together in `mdat`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    track: usize,
    first_sample: usize,
    samples: usize,
    start_seconds: f64,
}

/// Writes the whole file: `ftyp`, `moov`, `mdat`.
pub fn write(out: &mut impl Write, tracks: &[Track]) -> io::Result<()> {
    let chunks = interleaved_chunks(tracks);
    let ftyp = ftyp();
    let data_size: u64 = tracks
        .iter()
        .flat_map(|t| &t.samples)
        .map(|s| s.data.len() as u64)
        .sum();
    // The moov's size depends on whether offsets need 64 bits, and the offsets on the moov's
    // size: try 32-bit offsets first and switch if the data would end past 4 GiB.
    let mut wide = false;
    loop {
        let placeholder = vec![0u64; chunks.len()];
        let moov_size = moov(tracks, &chunks, &placeholder, wide).len() as u64;
        let large_mdat = data_size + 8 > u64::from(u32::MAX);
        let header = if large_mdat { 16 } else { 8 };
        let data_start = ftyp.len() as u64 + moov_size + header;
        if !wide && data_start + data_size > u64::from(u32::MAX) {
            wide = true;
            continue;
        }
        let mut offsets = Vec::with_capacity(chunks.len());
        let mut at = data_start;
        for chunk in &chunks {
            offsets.push(at);
            at += chunk_bytes(tracks, chunk);
        }
        let moov = moov(tracks, &chunks, &offsets, wide);
        debug_assert_eq!(moov.len() as u64, moov_size);
        out.write_all(&ftyp)?;
        out.write_all(&moov)?;
        if large_mdat {
            out.write_all(&1u32.to_be_bytes())?;
            out.write_all(b"mdat")?;
            out.write_all(&(data_size + 16).to_be_bytes())?;
        } else {
            out.write_all(&((data_size + 8) as u32).to_be_bytes())?;
            out.write_all(b"mdat")?;
        }
        for chunk in &chunks {
            for sample in chunk_samples(tracks, chunk) {
                out.write_all(&sample.data)?;
            }
        }
        return Ok(());
    }
}

fn chunk_samples<'a>(tracks: &'a [Track], chunk: &Chunk) -> &'a [Sample] {
    &tracks[chunk.track].samples[chunk.first_sample..chunk.first_sample + chunk.samples]
}

fn chunk_bytes(tracks: &[Track], chunk: &Chunk) -> u64 {
    chunk_samples(tracks, chunk)
        .iter()
        .map(|s| s.data.len() as u64)
        .sum()
}

/// Cuts each track into chunks of about `CHUNK_SECONDS` and orders all chunks by start time
/// (ties: the lower track index first).
fn interleaved_chunks(tracks: &[Track]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (index, track) in tracks.iter().enumerate() {
        let span = (CHUNK_SECONDS * f64::from(track.timescale)) as u64;
        let mut time = 0u64;
        let mut current: Option<Chunk> = None;
        for (i, sample) in track.samples.iter().enumerate() {
            match &mut current {
                Some(chunk)
                    if time
                        < (chunk.start_seconds * f64::from(track.timescale)).round() as u64
                            + span =>
                {
                    chunk.samples += 1;
                }
                _ => {
                    chunks.extend(current.take());
                    current = Some(Chunk {
                        track: index,
                        first_sample: i,
                        samples: 1,
                        start_seconds: time as f64 / f64::from(track.timescale),
                    });
                }
            }
            time += u64::from(sample.duration);
        }
        chunks.extend(current);
    }
    chunks.sort_by(|a, b| {
        a.start_seconds
            .total_cmp(&b.start_seconds)
            .then(a.track.cmp(&b.track))
    });
    chunks
}

/// Box writer: `size` is patched in when the body is done.
fn boxed(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

fn full_box(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    boxed(out, kind, |out| {
        out.push(version);
        out.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(out);
    });
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn u32be(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn u64be(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// The identity transformation matrix of `mvhd` and `tkhd` (16.16 and 2.30 fixed point).
fn matrix(out: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        u32be(out, v);
    }
}

fn ftyp() -> Vec<u8> {
    let mut out = Vec::new();
    boxed(&mut out, b"ftyp", |out| {
        out.extend_from_slice(b"isom");
        u32be(out, 0x200);
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            out.extend_from_slice(brand);
        }
    });
    out
}

fn moov(tracks: &[Track], chunks: &[Chunk], offsets: &[u64], wide: bool) -> Vec<u8> {
    let duration = tracks.iter().map(Track::movie_duration).max().unwrap_or(0);
    let mut out = Vec::new();
    boxed(&mut out, b"moov", |out| {
        full_box(out, b"mvhd", 1, 0, |out| {
            u64be(out, 0); // creation time: left out, so the same input gives the same file
            u64be(out, 0); // modification time
            u32be(out, MOVIE_TIMESCALE);
            u64be(out, duration);
            u32be(out, 0x0001_0000); // rate 1.0
            u16be(out, 0x0100); // volume 1.0
            out.extend_from_slice(&[0; 10]);
            matrix(out);
            out.extend_from_slice(&[0; 24]);
            u32be(out, tracks.len() as u32 + 1); // next track ID
        });
        for (index, track) in tracks.iter().enumerate() {
            let track_chunks: Vec<(usize, &Chunk)> = chunks
                .iter()
                .enumerate()
                .filter(|(_, c)| c.track == index)
                .collect();
            let track_offsets: Vec<u64> = track_chunks.iter().map(|(i, _)| offsets[*i]).collect();
            let track_chunks: Vec<&Chunk> = track_chunks.into_iter().map(|(_, c)| c).collect();
            trak(
                out,
                index as u32 + 1,
                track,
                &track_chunks,
                &track_offsets,
                wide,
            );
        }
    });
    out
}

fn trak(out: &mut Vec<u8>, id: u32, track: &Track, chunks: &[&Chunk], offsets: &[u64], wide: bool) {
    let is_video = matches!(track.codec, Codec::Avc { .. });
    boxed(out, b"trak", |out| {
        // Flags: enabled, in movie, in preview.
        full_box(out, b"tkhd", 1, 0x7, |out| {
            u64be(out, 0);
            u64be(out, 0);
            u32be(out, id);
            u32be(out, 0);
            u64be(out, track.movie_duration());
            out.extend_from_slice(&[0; 8]);
            u16be(out, 0); // layer
            u16be(out, 0); // alternate group
            u16be(out, if is_video { 0 } else { 0x0100 }); // volume
            u16be(out, 0);
            matrix(out);
            let (width, height) = match track.codec {
                Codec::Avc { width, height, .. } => (width, height),
                Codec::Opus { .. } => (0, 0),
            };
            u32be(out, u32::from(width) << 16);
            u32be(out, u32::from(height) << 16);
        });
        if let Some(presented) = track.presented {
            boxed(out, b"edts", |out| {
                full_box(out, b"elst", 1, 0, |out| {
                    u32be(out, 1);
                    u64be(out, track.movie_duration());
                    u64be(out, presented.media_start);
                    u32be(out, 0x0001_0000); // media rate 1.0
                });
            });
        }
        boxed(out, b"mdia", |out| {
            full_box(out, b"mdhd", 1, 0, |out| {
                u64be(out, 0);
                u64be(out, 0);
                u32be(out, track.timescale);
                u64be(out, track.media_duration());
                u16be(out, 0x55c4); // language "und"
                u16be(out, 0);
            });
            full_box(out, b"hdlr", 0, 0, |out| {
                u32be(out, 0);
                out.extend_from_slice(if is_video { b"vide" } else { b"soun" });
                out.extend_from_slice(&[0; 12]);
                out.extend_from_slice(if is_video {
                    b"VideoHandler\0".as_slice()
                } else {
                    b"SoundHandler\0".as_slice()
                });
            });
            boxed(out, b"minf", |out| {
                if is_video {
                    full_box(out, b"vmhd", 0, 1, |out| out.extend_from_slice(&[0; 8]));
                } else {
                    full_box(out, b"smhd", 0, 0, |out| out.extend_from_slice(&[0; 4]));
                }
                boxed(out, b"dinf", |out| {
                    full_box(out, b"dref", 0, 0, |out| {
                        u32be(out, 1);
                        // Flag 1: the media is in this file.
                        full_box(out, b"url ", 0, 1, |_| {});
                    });
                });
                stbl(out, track, chunks, offsets, wide);
            });
        });
    });
}

fn stbl(out: &mut Vec<u8>, track: &Track, chunks: &[&Chunk], offsets: &[u64], wide: bool) {
    boxed(out, b"stbl", |out| {
        full_box(out, b"stsd", 0, 0, |out| {
            u32be(out, 1);
            sample_entry(out, &track.codec);
        });
        // stts: run-length coded durations.
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for sample in &track.samples {
            match runs.last_mut() {
                Some((count, duration)) if *duration == sample.duration => *count += 1,
                _ => runs.push((1, sample.duration)),
            }
        }
        full_box(out, b"stts", 0, 0, |out| {
            u32be(out, runs.len() as u32);
            for (count, duration) in &runs {
                u32be(out, *count);
                u32be(out, *duration);
            }
        });
        // stss: only when some samples are not sync samples (absent means all are).
        if track.samples.iter().any(|s| !s.sync) {
            let sync: Vec<u32> = (1..)
                .zip(&track.samples)
                .filter(|(_, s)| s.sync)
                .map(|(n, _)| n)
                .collect();
            full_box(out, b"stss", 0, 0, |out| {
                u32be(out, sync.len() as u32);
                for n in sync {
                    u32be(out, n);
                }
            });
        }
        // stsc: a new entry wherever the samples-per-chunk count changes.
        let mut entries: Vec<(u32, u32)> = Vec::new();
        for (n, chunk) in (1..).zip(chunks) {
            if entries
                .last()
                .is_none_or(|&(_, count)| count != chunk.samples as u32)
            {
                entries.push((n, chunk.samples as u32));
            }
        }
        full_box(out, b"stsc", 0, 0, |out| {
            u32be(out, entries.len() as u32);
            for (first_chunk, samples) in entries {
                u32be(out, first_chunk);
                u32be(out, samples);
                u32be(out, 1); // sample description index
            }
        });
        full_box(out, b"stsz", 0, 0, |out| {
            u32be(out, 0); // sizes vary: one entry per sample
            u32be(out, track.samples.len() as u32);
            for sample in &track.samples {
                u32be(out, sample.data.len() as u32);
            }
        });
        if wide {
            full_box(out, b"co64", 0, 0, |out| {
                u32be(out, offsets.len() as u32);
                for &offset in offsets {
                    u64be(out, offset);
                }
            });
        } else {
            full_box(out, b"stco", 0, 0, |out| {
                u32be(out, offsets.len() as u32);
                for &offset in offsets {
                    u32be(out, offset as u32);
                }
            });
        }
    });
}

fn sample_entry(out: &mut Vec<u8>, codec: &Codec) {
    match codec {
        Codec::Avc {
            width,
            height,
            sps,
            pps,
        } => boxed(out, b"avc1", |out| {
            out.extend_from_slice(&[0; 6]);
            u16be(out, 1); // data reference index
            out.extend_from_slice(&[0; 16]);
            u16be(out, *width);
            u16be(out, *height);
            u32be(out, 0x0048_0000); // 72 dpi
            u32be(out, 0x0048_0000);
            u32be(out, 0);
            u16be(out, 1); // frames per sample
            out.extend_from_slice(&[0; 32]); // compressor name
            u16be(out, 0x0018); // depth: colour
            u16be(out, 0xffff);
            avcc(out, sps, pps);
            // nclx: BT.709 primaries, transfer and matrix, limited range.
            boxed(out, b"colr", |out| {
                out.extend_from_slice(b"nclx");
                u16be(out, 1);
                u16be(out, 1);
                u16be(out, 1);
                out.push(0);
            });
            boxed(out, b"pasp", |out| {
                u32be(out, 1);
                u32be(out, 1);
            });
        }),
        Codec::Opus {
            channels,
            pre_skip,
            input_sample_rate,
        } => boxed(out, b"Opus", |out| {
            out.extend_from_slice(&[0; 6]);
            u16be(out, 1); // data reference index
            out.extend_from_slice(&[0; 8]);
            u16be(out, *channels);
            u16be(out, 16); // sample size
            u32be(out, 0);
            u32be(out, 48_000 << 16);
            boxed(out, b"dOps", |out| {
                out.push(0); // version
                out.push(*channels as u8);
                u16be(out, *pre_skip);
                u32be(out, *input_sample_rate);
                u16be(out, 0); // output gain
                out.push(0); // channel mapping family 0: mono or stereo
            });
        }),
    }
}

/// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1).
fn avcc(out: &mut Vec<u8>, sps: &[u8], pps: &[u8]) {
    boxed(out, b"avcC", |out| {
        let profile = sps[1];
        out.push(1);
        out.extend_from_slice(&sps[1..4]); // profile, compatibility, level
        out.push(0xff); // 4-byte NAL lengths
        out.push(0xe1); // one SPS
        u16be(out, sps.len() as u16);
        out.extend_from_slice(sps);
        out.push(1); // one PPS
        u16be(out, pps.len() as u16);
        out.extend_from_slice(pps);
        if matches!(profile, 100 | 110 | 122 | 144) {
            out.push(0xfc | 1); // chroma format 4:2:0
            out.push(0xf8); // 8-bit luma
            out.push(0xf8); // 8-bit chroma
            out.push(0); // no SPS extensions
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, offset, size) of the boxes in `data[start..end]`.
    fn boxes(data: &[u8], start: usize, end: usize) -> Vec<([u8; 4], usize, usize)> {
        let mut found = Vec::new();
        let mut at = start;
        while at < end {
            let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
            assert!(size >= 8 && at + size <= end, "box {:?} at {at}", kind);
            found.push((kind, at, size));
            at += size;
        }
        assert_eq!(at, end);
        found
    }

    fn find(data: &[u8], path: &[&[u8; 4]]) -> (usize, usize) {
        let (mut start, mut end) = (0, data.len());
        for (depth, kind) in path.iter().enumerate() {
            let (_, at, size) = *boxes(data, start, end)
                .iter()
                .find(|(k, _, _)| k == *kind)
                .unwrap_or_else(|| panic!("no {:?} at depth {depth}", kind));
            let header = if **kind == *b"stsd" || **kind == *b"dref" {
                16
            } else {
                8
            };
            (start, end) = (at + header, at + size);
        }
        (start, end)
    }

    fn sample_tracks() -> Vec<Track> {
        let video = Track {
            codec: Codec::Avc {
                width: 64,
                height: 48,
                sps: vec![0x67, 66, 0xc0, 30, 0xaa],
                pps: vec![0x68, 0xce],
            },
            timescale: 30_000,
            samples: (0..75u8)
                .map(|i| Sample {
                    data: vec![i; 10 + usize::from(i)],
                    duration: 1000,
                    sync: i % 30 == 0,
                })
                .collect(),
            presented: None,
        };
        let audio = Track {
            codec: Codec::Opus {
                channels: 2,
                pre_skip: 312,
                input_sample_rate: 48_000,
            },
            timescale: 48_000,
            samples: (0..126u8)
                .map(|i| Sample {
                    data: vec![200u8.wrapping_add(i); 7],
                    duration: 960,
                    sync: true,
                })
                .collect(),
            presented: Some(Presented {
                media_start: 312,
                duration: 120_000,
            }),
        };
        vec![video, audio]
    }

    #[test]
    fn moov_precedes_mdat_and_every_chunk_offset_points_at_its_samples() {
        let tracks = sample_tracks();
        let mut file = Vec::new();
        write(&mut file, &tracks).unwrap();
        let top: Vec<[u8; 4]> = boxes(&file, 0, file.len()).iter().map(|b| b.0).collect();
        assert_eq!(top, [*b"ftyp", *b"moov", *b"mdat"]);

        for (index, track) in tracks.iter().enumerate() {
            let trak_path: &[&[u8; 4]] = &[b"moov", b"trak"];
            let (moov_start, moov_end) = find(&file, &trak_path[..1]);
            let trak = boxes(&file, moov_start, moov_end)
                .into_iter()
                .filter(|b| b.0 == *b"trak")
                .nth(index)
                .unwrap();
            let trak = &file[trak.1..trak.1 + trak.2];
            let (s, e) = find(trak, &[b"trak", b"mdia", b"minf", b"stbl", b"stco"]);
            let stco = &trak[s..e];
            let read = |at: usize| u32::from_be_bytes(stco[at..at + 4].try_into().unwrap());
            let count = read(4) as usize;
            let (s, e) = find(trak, &[b"trak", b"mdia", b"minf", b"stbl", b"stsc"]);
            let stsc = &trak[s..e];
            let stsc_read = |at: usize| u32::from_be_bytes(stsc[at..at + 4].try_into().unwrap());
            let runs = stsc_read(4) as usize;
            let mut sample = 0;
            for chunk in 0..count {
                let per_chunk = (0..runs)
                    .rev()
                    .find(|r| stsc_read(8 + r * 12) as usize <= chunk + 1)
                    .map(|r| stsc_read(12 + r * 12))
                    .unwrap() as usize;
                let mut at = read(8 + chunk * 4) as usize;
                for _ in 0..per_chunk {
                    let want = &track.samples[sample].data;
                    assert_eq!(
                        &file[at..at + want.len()],
                        want.as_slice(),
                        "track {index} sample {sample}"
                    );
                    at += want.len();
                    sample += 1;
                }
            }
            assert_eq!(sample, track.samples.len());
        }
    }

    #[test]
    fn the_sample_entries_carry_avcc_colr_and_dops() {
        let mut file = Vec::new();
        write(&mut file, &sample_tracks()).unwrap();
        let (s, e) = find(
            &file,
            &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"],
        );
        let avc1 = boxes(&file, s, e);
        assert_eq!(avc1[0].0, *b"avc1");
        // Children of avc1 start after its 78 bytes of fields.
        let children: Vec<[u8; 4]> = boxes(&file, avc1[0].1 + 86, avc1[0].1 + avc1[0].2)
            .iter()
            .map(|b| b.0)
            .collect();
        assert_eq!(children, [*b"avcC", *b"colr", *b"pasp"]);
        let colr = file.windows(4).position(|w| w == b"colr").unwrap();
        assert_eq!(&file[colr + 4..colr + 15], b"nclx\0\x01\0\x01\0\x01\0");
        let dops = file.windows(4).position(|w| w == b"dOps").unwrap();
        assert_eq!(
            &file[dops + 4..dops + 15],
            &[0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]
        );
    }

    #[test]
    fn chunks_alternate_between_tracks_about_every_second() {
        let chunks = interleaved_chunks(&sample_tracks());
        let order: Vec<(usize, usize)> = chunks.iter().map(|c| (c.track, c.samples)).collect();
        // 75 frames at 30 fps: 30, 30, 15; 126 packets of 20 ms: 50, 50, 26.
        assert_eq!(
            order,
            [(0, 30), (1, 50), (0, 30), (1, 50), (0, 15), (1, 26)]
        );
    }
}
