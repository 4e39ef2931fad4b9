//! Decodes a clip's frames to upright RGB: H.264 with FFmpeg's libavcodec (the system's, through
//! `ffmpeg-next`), HEVC with libde265 (the system's, as libheif uses it for HEIC stills).
//!
//! Why not OpenH264, which the movies' encoder already builds: its decoder fails on iPhone
//! clips ("picture queue ran out of space", cisco/openh264#3872, still open), on the second
//! P-frame of the iPhone 6s Live Photo in `../shared/data/phone`. libavcodec decodes every
//! H.264 profile phones write.
//!
//! Frames are decoded from a sync sample forward, so reaching a frame costs at most the frames
//! between it and the sync sample before it. [`frames_at`] caps that run, which bounds a clip's
//! cost whatever its length.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::fmt;
use std::fs::File;

use crate::clip::{Clip, ClipError, Codec};

/// Largest picture converted (8K is 33 million pixels): a hostile stream that claims more is
/// an error, not a gigabyte allocation.
const MAX_PICTURE_PIXELS: usize = 64 << 20;

fn check_size(w: usize, h: usize) -> Result<(), ClipError> {
    if w == 0 || h == 0 || w.saturating_mul(h) > MAX_PICTURE_PIXELS {
        return Err(ClipError(format!(
            "its frames are {w}x{h} pixels, outside what is read"
        )));
    }
    Ok(())
}

/// An upright RGB frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// RGB, 3 bytes a pixel, rows top to bottom.
    pub rgb: Vec<u8>,
    /// The index of the sample this frame was decoded at.
    pub sample: usize,
}

/// One decoded picture in the coded orientation.
struct Picture {
    width: u32,
    height: u32,
    /// Empty for a picture decoded only to reach a later one.
    rgb: Vec<u8>,
}

impl Picture {
    fn skipped(width: usize, height: usize) -> Picture {
        Picture {
            width: width as u32,
            height: height as u32,
            rgb: Vec::new(),
        }
    }
}

/// The frames at (or, when reaching one would take more than `max_run` frames after its sync
/// sample, `max_run` frames after that sync sample) each of `targets`, sample indices in
/// increasing order. Each frame is turned upright by the clip's rotation.
pub fn frames_at(
    clip: &Clip,
    file: &mut File,
    targets: &[usize],
    max_run: usize,
) -> Result<Vec<Frame>, ClipError> {
    let mut frames = Vec::with_capacity(targets.len());
    for &target in targets {
        let target = target.min(clip.samples.len() - 1);
        let start = clip.sync_before(target);
        let end = target.min(start + max_run);
        let mut decoder = VideoDecoder::new(&clip.codec)?;
        let mut pictures = Vec::new();
        for index in start..=end {
            let bytes = clip.read_sample(file, index)?;
            // Only the last pictures are kept: the ones before are decoded, not converted.
            decoder.push(&bytes, &mut pictures, index == end)?;
        }
        decoder.flush(&mut pictures)?;
        // Pictures come out in display order; the last one is the frame at `end` or, with
        // reordered (B) frames, a frame or two before it.
        let picture = pictures
            .pop()
            .filter(|p| !p.rgb.is_empty())
            .ok_or_else(|| {
                ClipError(format!(
                    "the decoder gave no picture for frames {start} to {end}"
                ))
            })?;
        let (width, height, rgb) = rotate(picture, clip.rotation);
        frames.push(Frame {
            width,
            height,
            rgb,
            sample: end,
        });
    }
    Ok(frames)
}

/// Decodes every frame of samples `range`, starting from the sync sample before its start, and
/// calls `each` with each upright frame in display order from the range's start on.
pub fn decode_range(
    clip: &Clip,
    file: &mut File,
    range: std::ops::Range<usize>,
    mut each: impl FnMut(Frame),
) -> Result<(), ClipError> {
    let end = range.end.min(clip.samples.len());
    if range.start >= end {
        return Ok(());
    }
    let start = clip.sync_before(range.start);
    let skip = range.start - start;
    let mut decoder = VideoDecoder::new(&clip.codec)?;
    let mut seen = 0usize;
    let mut pictures = Vec::new();
    let mut emit = |pictures: &mut Vec<Picture>| {
        for picture in pictures.drain(..) {
            if seen >= skip && start + seen < end {
                let (width, height, rgb) = rotate(picture, clip.rotation);
                each(Frame {
                    width,
                    height,
                    rgb,
                    sample: start + seen,
                });
            }
            seen += 1;
        }
    };
    for index in start..end {
        let bytes = clip.read_sample(file, index)?;
        decoder.push(&bytes, &mut pictures, true)?;
        emit(&mut pictures);
    }
    decoder.flush(&mut pictures)?;
    emit(&mut pictures);
    Ok(())
}

/// Reads a clip's frames one by one, in display order, from a given frame on: what a movie
/// needs to play part of a clip while it composes each output frame.
pub struct FrameReader {
    clip: Clip,
    file: File,
    decoder: VideoDecoder,
    /// The next sample to push into the decoder.
    next_sample: usize,
    flushed: bool,
    /// Pictures decoded and not yet returned.
    ready: std::collections::VecDeque<Picture>,
    /// Pictures decoded so far, counting from the sync sample started at.
    seen: usize,
    /// The sync sample decoding started at, and how many pictures to skip after it.
    start: usize,
    skip: usize,
}

impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("codec", &self.clip.codec.name())
            .field("next_sample", &self.next_sample)
            .finish()
    }
}

impl FrameReader {
    /// Starts at sample `first` (decoding from the sync sample before it).
    pub fn new(clip: Clip, file: File, first: usize) -> Result<FrameReader, ClipError> {
        let first = first.min(clip.samples.len().saturating_sub(1));
        let start = clip.sync_before(first);
        let decoder = VideoDecoder::new(&clip.codec)?;
        Ok(FrameReader {
            decoder,
            next_sample: start,
            flushed: false,
            ready: Default::default(),
            seen: 0,
            start,
            skip: first - start,
            clip,
            file,
        })
    }

    pub fn clip(&self) -> &Clip {
        &self.clip
    }

    /// The next frame in display order, upright; `None` after the last.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ClipError> {
        loop {
            if let Some(picture) = self.ready.pop_front() {
                let index = self.start + self.seen;
                self.seen += 1;
                if self.seen <= self.skip {
                    continue;
                }
                let (width, height, rgb) = rotate(picture, self.clip.rotation);
                return Ok(Some(Frame {
                    width,
                    height,
                    rgb,
                    sample: index,
                }));
            }
            let mut out = Vec::new();
            if self.next_sample < self.clip.samples.len() {
                let bytes = self.clip.read_sample(&mut self.file, self.next_sample)?;
                self.next_sample += 1;
                self.decoder.push(&bytes, &mut out, true)?;
            } else if !self.flushed {
                self.flushed = true;
                self.decoder.flush(&mut out)?;
            } else {
                return Ok(None);
            }
            self.ready.extend(out);
        }
    }
}

fn rotate(picture: Picture, rotation: u32) -> (u32, u32, Vec<u8>) {
    let Picture { width, height, rgb } = picture;
    if rotation == 0 {
        return (width, height, rgb);
    }
    let (w, h) = (width as usize, height as usize);
    let (ow, oh) = if rotation == 180 { (w, h) } else { (h, w) };
    let mut out = vec![0u8; rgb.len()];
    for y in 0..h {
        for x in 0..w {
            let (ox, oy) = match rotation {
                90 => (h - 1 - y, x),
                180 => (w - 1 - x, h - 1 - y),
                _ => (y, w - 1 - x),
            };
            let from = (y * w + x) * 3;
            let to = (oy * ow + ox) * 3;
            out[to..to + 3].copy_from_slice(&rgb[from..from + 3]);
        }
    }
    (ow as u32, oh as u32, out)
}

/// Silences libavcodec's own log, once per process. It prints each problem of a broken stream
/// to stderr ("[hevc @ 0x...] SPS 0 does not exist"), over the index's progress bar; the reader
/// reports the file's problem itself, with its name.
pub(crate) fn quiet_libav() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet));
}

/// The parameter sets and NAL length size of an `avcC` or `hvcC` record.
pub(crate) struct Config {
    pub(crate) length_size: usize,
    pub(crate) parameter_sets: Vec<Vec<u8>>,
}

fn avc_config(record: &[u8]) -> Option<Config> {
    let length_size = usize::from(record.get(4)? & 3) + 1;
    let mut sets = Vec::new();
    // SPS count in the low 5 bits, then the SPSs; PPS count, then the PPSs.
    let sps = usize::from(record.get(5)? & 0x1f);
    let at = read_sets(record, 6, sps, &mut sets)?;
    let pps = usize::from(*record.get(at)?);
    read_sets(record, at + 1, pps, &mut sets)?;
    Some(Config {
        length_size,
        parameter_sets: sets,
    })
}

pub(crate) fn hevc_config(record: &[u8]) -> Option<Config> {
    let length_size = usize::from(record.get(21)? & 3) + 1;
    let arrays = *record.get(22)?;
    let mut at = 23;
    let mut sets = Vec::new();
    // Each array: the NAL type, a 16-bit count, then the sets.
    for _ in 0..arrays {
        let count = u16::from_be_bytes([*record.get(at + 1)?, *record.get(at + 2)?]);
        at = read_sets(record, at + 3, usize::from(count), &mut sets)?;
    }
    Some(Config {
        length_size,
        parameter_sets: sets,
    })
}

/// Reads `count` parameter sets, each a 16-bit length and its bytes, from `at`; returns where
/// they end.
fn read_sets(record: &[u8], mut at: usize, count: usize, sets: &mut Vec<Vec<u8>>) -> Option<usize> {
    for _ in 0..count {
        let len = usize::from(u16::from_be_bytes([*record.get(at)?, *record.get(at + 1)?]));
        sets.push(record.get(at + 2..at + 2 + len)?.to_vec());
        at += 2 + len;
    }
    Some(at)
}

/// The NAL units of a length-prefixed sample.
pub(crate) fn nal_units(sample: &[u8], length_size: usize) -> Result<Vec<&[u8]>, ClipError> {
    let mut units = Vec::new();
    let mut at = 0;
    while at < sample.len() {
        let len = sample
            .get(at..at + length_size)
            .map(|b| b.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b)))
            .ok_or_else(|| ClipError("a frame ends inside a NAL length".to_string()))?;
        let unit = sample
            .get(at + length_size..at + length_size + len)
            .ok_or_else(|| ClipError("a NAL unit runs past its frame".to_string()))?;
        units.push(unit);
        at += length_size + len;
    }
    Ok(units)
}

enum VideoDecoder {
    H264 {
        decoder: ffmpeg_next::decoder::Video,
        length_size: usize,
        /// SPS and PPS in Annex B, sent before the first frame.
        header: Option<Vec<u8>>,
    },
    Hevc {
        decoder: Hevc,
        length_size: usize,
    },
}

fn av_error(e: ffmpeg_next::Error) -> ClipError {
    ClipError(format!("H.264 decoding failed: {e}"))
}

impl VideoDecoder {
    fn new(codec: &Codec) -> Result<VideoDecoder, ClipError> {
        match codec {
            Codec::H264 { config } => {
                let config = avc_config(config)
                    .ok_or_else(|| ClipError("its H.264 `avcC` record is broken".to_string()))?;
                let mut header = Vec::new();
                for set in &config.parameter_sets {
                    header.extend_from_slice(&[0, 0, 0, 1]);
                    header.extend_from_slice(set);
                }
                quiet_libav();
                let h264 = ffmpeg_next::decoder::find(ffmpeg_next::codec::Id::H264)
                    .ok_or_else(|| ClipError("libavcodec has no H.264 decoder".to_string()))?;
                let mut context = ffmpeg_next::codec::Context::new_with_codec(h264);
                // One thread: the index decodes several clips and photos in parallel already.
                context.set_threading(ffmpeg_next::threading::Config {
                    kind: ffmpeg_next::threading::Type::None,
                    count: 1,
                    ..Default::default()
                });
                let decoder = context.decoder().video().map_err(av_error)?;
                Ok(VideoDecoder::H264 {
                    decoder,
                    length_size: config.length_size,
                    header: Some(header),
                })
            }
            Codec::Hevc { config } => {
                let config = hevc_config(config)
                    .ok_or_else(|| ClipError("its HEVC `hvcC` record is broken".to_string()))?;
                let mut decoder = Hevc::new()?;
                for set in &config.parameter_sets {
                    decoder.push_nal(set)?;
                }
                Ok(VideoDecoder::Hevc {
                    decoder,
                    length_size: config.length_size,
                })
            }
            Codec::Other(_) => Err(ClipError(format!(
                "its video is {}, which this build cannot decode",
                codec.name()
            ))),
        }
    }

    /// Decodes one sample; finished pictures go to `out`, converted to RGB when `convert` (else
    /// with no pixels: a picture is being skipped over).
    fn push(
        &mut self,
        sample: &[u8],
        out: &mut Vec<Picture>,
        convert: bool,
    ) -> Result<(), ClipError> {
        match self {
            VideoDecoder::H264 {
                decoder,
                length_size,
                header,
            } => {
                let mut annex_b = header.take().unwrap_or_default();
                for unit in nal_units(sample, *length_size)? {
                    annex_b.extend_from_slice(&[0, 0, 0, 1]);
                    annex_b.extend_from_slice(unit);
                }
                decoder
                    .send_packet(&ffmpeg_next::Packet::copy(&annex_b))
                    .map_err(av_error)?;
                receive(decoder, out, convert)
            }
            VideoDecoder::Hevc {
                decoder,
                length_size,
            } => {
                for unit in nal_units(sample, *length_size)? {
                    decoder.push_nal(unit)?;
                }
                decoder.decode(false, out, convert)
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Picture>) -> Result<(), ClipError> {
        match self {
            VideoDecoder::H264 { decoder, .. } => {
                decoder.send_eof().map_err(av_error)?;
                receive(decoder, out, true)
            }
            VideoDecoder::Hevc { decoder, .. } => decoder.decode(true, out, true),
        }
    }
}

/// Takes every finished picture out of libavcodec.
fn receive(
    decoder: &mut ffmpeg_next::decoder::Video,
    out: &mut Vec<Picture>,
    convert: bool,
) -> Result<(), ClipError> {
    use ffmpeg_next::format::Pixel;
    let mut frame = ffmpeg_next::frame::Video::empty();
    while decoder.receive_frame(&mut frame).is_ok() {
        if !matches!(frame.format(), Pixel::YUV420P | Pixel::YUVJ420P) {
            return Err(ClipError(format!(
                "its H.264 video is {:?}, not 8-bit 4:2:0, which this reader does not convert",
                frame.format()
            )));
        }
        let colour = Colour::of_frame(&frame);
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        check_size(w, h)?;
        if !convert {
            out.push(Picture::skipped(w, h));
            continue;
        }
        let planes = Planes {
            y: (frame.data(0), frame.stride(0)),
            u: (frame.data(1), frame.stride(1)),
            v: (frame.data(2), frame.stride(2)),
            shift: 0,
            wide: false,
        };
        out.push(Picture {
            width: w as u32,
            height: h as u32,
            rgb: yuv420_to_rgb(&planes, w, h, colour),
        });
    }
    Ok(())
}

/// Three 4:2:0 planes with their strides in bytes; `wide` planes hold 16-bit little-endian
/// samples, shifted right by `shift` to 8 bits.
pub(crate) struct Planes<'a> {
    pub(crate) y: (&'a [u8], usize),
    pub(crate) u: (&'a [u8], usize),
    pub(crate) v: (&'a [u8], usize),
    pub(crate) shift: u32,
    pub(crate) wide: bool,
}

impl Planes<'_> {
    pub(crate) fn at(&self, plane: (&[u8], usize), x: usize, y: usize) -> i32 {
        let (data, stride) = plane;
        if self.wide {
            let i = y * stride + 2 * x;
            i32::from(u16::from_le_bytes([data[i], data[i + 1]]) >> self.shift)
        } else {
            i32::from(data[y * stride + x])
        }
    }
}

/// How a stream's YCbCr maps to RGB, from its VUI: the matrix (BT.601, BT.709, BT.2020) and
/// whether the samples use the full 0..255 range or the limited 16..235 one. iPhones write
/// full-range BT.601 for their clips; most others limited-range BT.709. An unstated matrix is
/// read as ffmpeg reads it: BT.601.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Colour {
    /// The VUI's `matrix_coefficients` (1 BT.709, 5 and 6 BT.601, 9 and 10 BT.2020).
    pub(crate) matrix: u8,
    pub(crate) full_range: bool,
}

impl Colour {
    /// The colour a libavcodec picture states (from its stream's VUI): an unstated matrix is
    /// BT.601, and the range is full when the pixel format or the range says so.
    pub(crate) fn of_frame(frame: &ffmpeg_next::frame::Video) -> Colour {
        use ffmpeg_next::color::{Range, Space};
        Colour {
            matrix: match frame.color_space() {
                Space::BT709 => 1,
                Space::BT2020NCL | Space::BT2020CL => 9,
                _ => 6,
            },
            full_range: frame.format() == ffmpeg_next::format::Pixel::YUVJ420P
                || frame.color_range() == Range::JPEG,
        }
    }

    /// Fixed-point (16 fractional bits) factors: luma scale, then Cr to R, Cb to G, Cr to G,
    /// Cb to B.
    pub(crate) fn factors(self) -> [i32; 5] {
        let (kr, kb) = match self.matrix {
            1 => (0.2126, 0.0722),
            9 | 10 => (0.2627, 0.0593),
            _ => (0.299, 0.114),
        };
        let kg = 1.0 - kr - kb;
        let (luma, chroma) = if self.full_range {
            (1.0, 1.0)
        } else {
            (255.0 / 219.0, 255.0 / 224.0)
        };
        let fixed = |v: f64| (v * 65536.0).round() as i32;
        [
            fixed(luma),
            fixed(2.0 * (1.0 - kr) * chroma),
            fixed(2.0 * kb * (1.0 - kb) / kg * chroma),
            fixed(2.0 * kr * (1.0 - kr) / kg * chroma),
            fixed(2.0 * (1.0 - kb) * chroma),
        ]
    }
}

fn yuv420_to_rgb(planes: &Planes<'_>, w: usize, h: usize, colour: Colour) -> Vec<u8> {
    let [luma, cr_r, cb_g, cr_g, cb_b] = colour.factors();
    let black = if colour.full_range { 0 } else { 16 };
    let mut rgb = vec![0u8; w * h * 3];
    let clamp = |v: i32| ((v + (1 << 15)) >> 16).clamp(0, 255) as u8;
    for y in 0..h {
        for x in 0..w {
            let l = luma * (planes.at(planes.y, x, y) - black);
            let cb = planes.at(planes.u, x / 2, y / 2) - 128;
            let cr = planes.at(planes.v, x / 2, y / 2) - 128;
            let i = (y * w + x) * 3;
            rgb[i] = clamp(l + cr_r * cr);
            rgb[i + 1] = clamp(l - cb_g * cb - cr_g * cr);
            rgb[i + 2] = clamp(l + cb_b * cb);
        }
    }
    rgb
}

// libde265's C API (de265.h, 1.0), the few calls used here.
#[allow(non_camel_case_types)]
type de265_error = c_int;
#[repr(C)]
struct De265Context {
    _private: [u8; 0],
}
#[repr(C)]
struct De265Image {
    _private: [u8; 0],
}

#[link(name = "de265")]
unsafe extern "C" {
    fn de265_new_decoder() -> *mut De265Context;
    fn de265_free_decoder(ctx: *mut De265Context) -> de265_error;
    fn de265_push_NAL(
        ctx: *mut De265Context,
        data: *const c_void,
        length: c_int,
        pts: i64,
        user_data: *mut c_void,
    ) -> de265_error;
    fn de265_flush_data(ctx: *mut De265Context) -> de265_error;
    fn de265_decode(ctx: *mut De265Context, more: *mut c_int) -> de265_error;
    fn de265_get_next_picture(ctx: *mut De265Context) -> *const De265Image;
    fn de265_get_image_width(img: *const De265Image, channel: c_int) -> c_int;
    fn de265_get_image_height(img: *const De265Image, channel: c_int) -> c_int;
    fn de265_get_chroma_format(img: *const De265Image) -> c_int;
    fn de265_get_bits_per_pixel(img: *const De265Image, channel: c_int) -> c_int;
    fn de265_get_image_plane(
        img: *const De265Image,
        channel: c_int,
        out_stride: *mut c_int,
    ) -> *const u8;
    fn de265_get_image_full_range_flag(img: *const De265Image) -> c_int;
    fn de265_get_image_matrix_coefficients(img: *const De265Image) -> c_int;
    fn de265_get_error_text(err: de265_error) -> *const c_char;
    fn de265_isOK(err: de265_error) -> c_int;
}

/// `DE265_ERROR_WAITING_FOR_INPUT_DATA`: decode more after pushing more.
const WAITING_FOR_INPUT: de265_error = 13;
/// `DE265_ERROR_IMAGE_BUFFER_FULL`: take pictures out, then decode on.
const IMAGE_BUFFER_FULL: de265_error = 9;
/// The chroma format code of 4:2:0.
const CHROMA_420: c_int = 1;

/// A libde265 decoder context, freed on drop.
struct Hevc {
    ctx: *mut De265Context,
}

impl Hevc {
    fn new() -> Result<Hevc, ClipError> {
        // SAFETY: no preconditions; a null return is checked.
        let ctx = unsafe { de265_new_decoder() };
        if ctx.is_null() {
            return Err(ClipError("cannot start the HEVC decoder".to_string()));
        }
        Ok(Hevc { ctx })
    }

    fn check(err: de265_error) -> Result<(), ClipError> {
        // SAFETY: both take any error code; the text is a static C string.
        if unsafe { de265_isOK(err) } != 0 {
            return Ok(());
        }
        let text = unsafe { CStr::from_ptr(de265_get_error_text(err)) };
        Err(ClipError(format!(
            "HEVC decoding failed: {}",
            text.to_string_lossy()
        )))
    }

    fn push_nal(&mut self, unit: &[u8]) -> Result<(), ClipError> {
        let len = c_int::try_from(unit.len())
            .map_err(|_| ClipError("a NAL unit over 2 GB".to_string()))?;
        // SAFETY: the context is live; libde265 copies the bytes before returning.
        Self::check(unsafe {
            de265_push_NAL(self.ctx, unit.as_ptr().cast(), len, 0, std::ptr::null_mut())
        })
    }

    /// Decodes what was pushed (all of it, when `flush`) and collects the finished pictures
    /// (converted when `convert`).
    fn decode(
        &mut self,
        flush: bool,
        out: &mut Vec<Picture>,
        convert: bool,
    ) -> Result<(), ClipError> {
        if flush {
            // SAFETY: the context is live.
            Self::check(unsafe { de265_flush_data(self.ctx) })?;
        }
        loop {
            let mut more: c_int = 0;
            // SAFETY: the context is live and `more` a valid out-pointer.
            let err = unsafe { de265_decode(self.ctx, &mut more) };
            if err == WAITING_FOR_INPUT {
                more = 0;
            } else if err == IMAGE_BUFFER_FULL {
                // Collect the pictures below, then go on.
                more = 1;
            } else {
                Self::check(err)?;
            }
            self.collect(out, convert)?;
            if more == 0 {
                return Ok(());
            }
        }
    }

    fn collect(&mut self, out: &mut Vec<Picture>, convert: bool) -> Result<(), ClipError> {
        loop {
            // SAFETY: the context is live; the picture stays valid until the next call on the
            // context, and is copied out before that.
            let image = unsafe { de265_get_next_picture(self.ctx) };
            if image.is_null() {
                return Ok(());
            }
            out.push(if convert {
                unsafe { Self::copy(image) }?
            } else {
                let (w, h) = unsafe {
                    (
                        de265_get_image_width(image, 0).max(0) as usize,
                        de265_get_image_height(image, 0).max(0) as usize,
                    )
                };
                Picture::skipped(w, h)
            });
        }
    }

    /// # Safety
    /// `image` must be a live picture of this decoder.
    unsafe fn copy(image: *const De265Image) -> Result<Picture, ClipError> {
        // SAFETY: the caller's guarantee; every plane pointer is checked and read within its
        // stride times height.
        unsafe {
            if de265_get_chroma_format(image) != CHROMA_420 {
                return Err(ClipError(
                    "its HEVC video is not 4:2:0, which this reader does not convert".to_string(),
                ));
            }
            let bits = de265_get_bits_per_pixel(image, 0);
            let colour = Colour {
                matrix: de265_get_image_matrix_coefficients(image).clamp(0, 255) as u8,
                full_range: de265_get_image_full_range_flag(image) != 0,
            };
            let width = de265_get_image_width(image, 0).max(0) as usize;
            let height = de265_get_image_height(image, 0).max(0) as usize;
            check_size(width, height)?;
            let plane = |channel: c_int| {
                let mut stride: c_int = 0;
                let data = de265_get_image_plane(image, channel, &mut stride);
                let rows = de265_get_image_height(image, channel).max(0) as usize;
                if data.is_null() || stride <= 0 {
                    return None;
                }
                let stride = stride as usize;
                Some((std::slice::from_raw_parts(data, stride * rows), stride))
            };
            let (Some(y), Some(u), Some(v)) = (plane(0), plane(1), plane(2)) else {
                return Err(ClipError(
                    "the HEVC decoder gave an empty picture".to_string(),
                ));
            };
            let planes = Planes {
                y,
                u,
                v,
                shift: (bits - 8).max(0) as u32,
                wide: bits > 8,
            };
            Ok(Picture {
                width: width as u32,
                height: height as u32,
                rgb: yuv420_to_rgb(&planes, width, height, colour),
            })
        }
    }
}

// SAFETY: a libde265 context has no thread affinity; `Hevc` owns it and `&mut self` keeps its
// use to one thread at a time.
unsafe impl Send for Hevc {}

impl Drop for Hevc {
    fn drop(&mut self) {
        // SAFETY: the context is live and freed once.
        unsafe {
            de265_free_decoder(self.ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_turns_clockwise() {
        // 2x1: red, green.
        let picture = || Picture {
            width: 2,
            height: 1,
            rgb: vec![255, 0, 0, 0, 255, 0],
        };
        assert_eq!(rotate(picture(), 90), (1, 2, vec![255, 0, 0, 0, 255, 0]));
        assert_eq!(rotate(picture(), 180), (2, 1, vec![0, 255, 0, 255, 0, 0]));
        assert_eq!(rotate(picture(), 270), (1, 2, vec![0, 255, 0, 255, 0, 0]));
    }

    #[test]
    fn nal_lengths_are_checked() {
        assert_eq!(
            nal_units(&[0, 0, 0, 2, 9, 9, 0, 0, 0, 1, 7], 4).unwrap(),
            [&[9, 9][..], &[7][..]]
        );
        assert!(nal_units(&[0, 0, 0, 9, 1], 4).is_err());
        assert!(nal_units(&[0, 0], 4).is_err());
    }
}
