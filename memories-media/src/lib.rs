//! Movie files: H.264 video (OpenH264) and Opus audio (libopus) in an MP4 with fast start,
//! written atomically.
//!
//! The caller pushes RGB frames one by one ([`Mp4Writer::push_frame`]); each is converted to
//! BT.709 limited-range 4:2:0 ([`yuv`]) on the caller's thread and handed to an encoder thread
//! ([`h264`]), so composing the next frame overlaps with encoding this one on a 2-core machine.
//! [`Mp4Writer::finish`] encodes the soundtrack ([`opus`]), lays out the file with the index
//! first ([`mp4`]), fsyncs it and renames it into place. Until then the output exists only as a
//! temporary file beside the target, removed if the writer is dropped.
//!
//! Why these codecs: H.264 is what every browser plays; OpenH264 is BSD-licensed and builds
//! from source with the crate (nasm for its SIMD kernels). AAC would need FDK-AAC, whose
//! licence is not an open-source one; Opus is royalty-free (BSD), plays in MP4 in Chromium
//! (checked by the tests with Debian's build) and Firefox (recent Safari too), and sounds better
//! than AAC-LC at the same rate.
//!
//! Cost (`cargo bench -p memories --bench encode -- 30`, on the shared 2-core machine): about
//! 18 ms of CPU per 1080p frame and 7 ms per 720p frame, conversion and encoding together, so
//! encoding a 1080p movie in real time takes about 0.55 of one core.

pub mod clip;
pub mod frames;
mod h264;
pub mod heic;
mod mp4;
mod opus;
mod yuv;

use memories_fs::{AtomicFile, WriteError};
use std::fmt;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use yuv::Yuv420;

/// Frames in flight between the caller and the encoder thread: enough to absorb jitter, few
/// enough that a 1080p picture queue stays at a few megabytes.
const QUEUE_FRAMES: usize = 2;

/// The video's size and rate. The formats are 1280x720 and 1920x1080 at 30 fps; any even
/// size up to 3840x2160 works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl VideoFormat {
    pub const HD_720: VideoFormat = VideoFormat {
        width: 1280,
        height: 720,
        fps: 30,
    };
    pub const HD_1080: VideoFormat = VideoFormat {
        width: 1920,
        height: 1080,
        fps: 30,
    };

    /// Bytes in one RGB8 frame.
    pub fn frame_bytes(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }
}

/// PCM audio: interleaved samples in -1..1. The writer takes 48 kHz mono or stereo.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

impl Audio {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.channels.max(1)) / f64::from(self.sample_rate)
    }
}

/// What went wrong, and with which output file.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("{}: unsupported video format {}x{} at {} fps: {reason}", path.display(), format.width, format.height, format.fps)]
    Format {
        path: PathBuf,
        format: VideoFormat,
        reason: &'static str,
    },
    #[error("{}: frame {frame} has {got} bytes, expected {expected} ({}x{} RGB8)", path.display(), format.width, format.height)]
    FrameSize {
        path: PathBuf,
        frame: u64,
        got: usize,
        expected: usize,
        format: VideoFormat,
    },
    #[error("{}: unsupported audio ({sample_rate} Hz, {channels} channels, {samples} samples): the soundtrack must be 48000 Hz mono or stereo", path.display())]
    AudioFormat {
        path: PathBuf,
        sample_rate: u32,
        channels: u16,
        samples: usize,
    },
    #[error("{}: no video frames were pushed", path.display())]
    NoFrames { path: PathBuf },
    #[error("{}: H.264 encoder: {message}", path.display())]
    Video { path: PathBuf, message: String },
    #[error("{}: Opus encoder: {message}", path.display())]
    Audio { path: PathBuf, message: String },
}

/// What the encoder thread hands back at the end.
#[derive(Debug)]
struct EncodedVideo {
    samples: Vec<mp4::Sample>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

/// Writes one MP4 movie. See the module documentation for the pipeline.
pub struct Mp4Writer {
    path: PathBuf,
    format: VideoFormat,
    /// The output being written; taken by `finish` to rename it into place.
    temp: Option<AtomicFile>,
    frames: u64,
    /// Pictures to encode; `None` once finished or after the encoder thread stopped.
    to_encoder: Option<SyncSender<Yuv420>>,
    /// Pictures the encoder is done with, reused to avoid a 3 MB allocation per 1080p frame.
    recycled: Receiver<Yuv420>,
    encoder: Option<JoinHandle<Result<EncodedVideo, String>>>,
}

impl fmt::Debug for Mp4Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mp4Writer")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Mp4Writer {
    /// Writes to a temporary file beside `path`; nothing appears at `path` until `finish`.
    pub fn create(path: &Path, format: VideoFormat) -> Result<Mp4Writer, EncodeError> {
        let format_error = |reason| EncodeError::Format {
            path: path.to_path_buf(),
            format,
            reason,
        };
        if format.width == 0
            || format.height == 0
            || !format.width.is_multiple_of(2)
            || !format.height.is_multiple_of(2)
        {
            return Err(format_error(
                "width and height must be even and non-zero (4:2:0)",
            ));
        }
        if format.width.max(format.height) > 3840 || format.width.min(format.height) > 2160 {
            return Err(format_error("larger than 3840x2160, OpenH264's limit"));
        }
        if !(1..=120).contains(&format.fps) {
            return Err(format_error("the frame rate must be 1 to 120"));
        }
        let temp = AtomicFile::create(path)?;
        let mut encoder = h264::H264Encoder::new(format).map_err(|e| EncodeError::Video {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let (to_encoder, pictures) = sync_channel::<Yuv420>(QUEUE_FRAMES);
        let (give_back, recycled) = sync_channel::<Yuv420>(QUEUE_FRAMES + 2);
        let frame_duration = 1000; // in a timescale of fps * 1000
        let handle = std::thread::Builder::new()
            .name("h264-encoder".into())
            .spawn(move || {
                let mut samples: Vec<mp4::Sample> = Vec::new();
                for picture in pictures {
                    let frame = encoder.encode(&picture).map_err(|e| e.to_string())?;
                    // The queue is bounded and may be full if the caller stopped reusing.
                    let _ = give_back.try_send(picture);
                    if frame.data.is_empty() {
                        // A skipped frame (rate control): the previous picture stays longer.
                        match samples.last_mut() {
                            Some(previous) => previous.duration += frame_duration,
                            None => return Err("the first frame produced no data".into()),
                        }
                    } else {
                        samples.push(mp4::Sample {
                            data: frame.data,
                            duration: frame_duration,
                            sync: frame.sync,
                        });
                    }
                }
                Ok(EncodedVideo {
                    samples,
                    sps: encoder.sps.take(),
                    pps: encoder.pps.take(),
                })
            })
            .map_err(memories_fs::step(path, "cannot start the encoder thread"))?;
        Ok(Mp4Writer {
            path: path.to_path_buf(),
            format,
            temp: Some(temp),
            frames: 0,
            to_encoder: Some(to_encoder),
            recycled,
            encoder: Some(handle),
        })
    }

    /// One frame: width*height*3 bytes, RGB8 full range (sRGB), row-major.
    pub fn push_frame(&mut self, rgb: &[u8]) -> Result<(), EncodeError> {
        let expected = self.format.frame_bytes();
        if rgb.len() != expected {
            return Err(EncodeError::FrameSize {
                path: self.path.clone(),
                frame: self.frames,
                got: rgb.len(),
                expected,
                format: self.format,
            });
        }
        let mut picture = self.recycled.try_recv().unwrap_or_else(|_| {
            Yuv420::new(self.format.width as usize, self.format.height as usize)
        });
        picture.fill_from_rgb(rgb);
        let sent = match &self.to_encoder {
            Some(sender) => sender.send(picture).is_ok(),
            None => false,
        };
        if !sent {
            // The encoder thread stopped: it failed, and says why when joined.
            self.to_encoder = None;
            return Err(self
                .join_encoder()
                .err()
                .unwrap_or_else(|| EncodeError::Video {
                    path: self.path.clone(),
                    message: "the encoder stopped early".into(),
                }));
        }
        self.frames += 1;
        Ok(())
    }

    /// Encodes the audio, muxes video+audio with the index (moov) before the media data (fast
    /// start), fsyncs and renames into place atomically. Dropping a writer without finish
    /// leaves no file at `path`.
    ///
    /// The audio is cut or padded with silence to the video's length, so a soundtrack made for
    /// the planned duration fits even if its last sample falls a little either side.
    pub fn finish(mut self, audio: &Audio) -> Result<(), EncodeError> {
        if audio.sample_rate != opus::SAMPLE_RATE
            || !(1..=2).contains(&audio.channels)
            || !audio
                .samples
                .len()
                .is_multiple_of(usize::from(audio.channels))
        {
            return Err(EncodeError::AudioFormat {
                path: self.path.clone(),
                sample_rate: audio.sample_rate,
                channels: audio.channels,
                samples: audio.samples.len(),
            });
        }
        self.to_encoder = None;
        let video = self.join_encoder()?;
        let (Some(sps), Some(pps)) = (video.sps, video.pps) else {
            return Err(EncodeError::NoFrames {
                path: self.path.clone(),
            });
        };
        let video_timescale = self.format.fps * 1000;
        let video_seconds = self.frames as f64 / f64::from(self.format.fps);

        let fitted = fit_audio(audio, video_seconds);
        let encoded = opus::encode(&fitted).map_err(|e| EncodeError::Audio {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let tracks = [
            mp4::Track {
                codec: mp4::Codec::Avc {
                    width: self.format.width as u16,
                    height: self.format.height as u16,
                    sps,
                    pps,
                },
                timescale: video_timescale,
                samples: video.samples,
                presented: None,
            },
            mp4::Track {
                codec: mp4::Codec::Opus {
                    channels: encoded.channels,
                    pre_skip: encoded.pre_skip,
                    input_sample_rate: opus::SAMPLE_RATE,
                },
                timescale: opus::SAMPLE_RATE,
                samples: encoded.packets,
                presented: Some(mp4::Presented {
                    media_start: u64::from(encoded.pre_skip),
                    duration: encoded.length,
                }),
            },
        ];

        let temp = self.temp.take().ok_or_else(|| EncodeError::NoFrames {
            path: self.path.clone(),
        })?;
        let mut out = BufWriter::with_capacity(1 << 20, temp.file());
        let written = mp4::write(&mut out, &tracks).and_then(|()| out.flush());
        drop(out);
        written.map_err(memories_fs::step(
            &self.path,
            "cannot write the temporary file",
        ))?;
        temp.commit()?;
        Ok(())
    }

    fn join_encoder(&mut self) -> Result<EncodedVideo, EncodeError> {
        let handle = self.encoder.take().ok_or_else(|| EncodeError::Video {
            path: self.path.clone(),
            message: "the encoder already stopped".into(),
        })?;
        match handle.join() {
            Ok(Ok(video)) => Ok(video),
            Ok(Err(message)) => Err(EncodeError::Video {
                path: self.path.clone(),
                message,
            }),
            Err(_) => Err(EncodeError::Video {
                path: self.path.clone(),
                message: "the encoder thread panicked".into(),
            }),
        }
    }
}

impl Drop for Mp4Writer {
    fn drop(&mut self) {
        // Stop the encoder thread; the temporary file is removed by its own drop.
        self.to_encoder = None;
        if let Some(handle) = self.encoder.take() {
            let _ = handle.join();
        }
    }
}

/// `audio` cut or padded with silence to `seconds`.
fn fit_audio(audio: &Audio, seconds: f64) -> Audio {
    let channels = usize::from(audio.channels);
    let frames = (seconds * f64::from(audio.sample_rate)).round() as usize;
    let mut samples = audio.samples.clone();
    samples.resize(frames * channels, 0.0);
    Audio {
        sample_rate: audio.sample_rate,
        channels: audio.channels,
        samples,
    }
}
