//! H.264 encoding with OpenH264 (built from source by the `openh264` crate), turning each
//! frame's Annex B output into one MP4 sample: length-prefixed NAL units, with the sequence
//! and picture parameter sets kept aside for the `avcC` box.

use super::VideoFormat;
use super::yuv::Yuv420;
use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode,
    UsageType, VuiConfig,
};

/// Bits per pixel per frame that the rate control aims at: 6.2 Mbit/s at 1080p30, 2.8 Mbit/s at
/// 720p30. Slow pans over photos are easy content; at this rate OpenH264 keeps fine texture
/// (hair, foliage) without visible blocking, and a 30-second 1080p movie is about 23 MB.
const BITS_PER_PIXEL: f64 = 0.1;

/// A key frame every 2 seconds, so a browser can seek to any point within 2 s of decoding.
const KEY_FRAME_SECONDS: u32 = 2;

/// NAL unit types (ITU-T H.264 table 7-1) the muxer treats specially.
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

/// One encoded frame as an MP4 sample.
#[derive(Debug)]
pub struct EncodedFrame {
    /// NAL units, each preceded by its length as 4 big-endian bytes.
    pub data: Vec<u8>,
    /// An IDR frame: decoding can start here (listed in `stss`).
    pub sync: bool,
}

/// The encoder and the parameter sets it has announced.
pub struct H264Encoder {
    encoder: Encoder,
    frame_duration_ms: f64,
    frames: u64,
    /// Sequence parameter set (without start code), from the first IDR frame.
    pub sps: Option<Vec<u8>>,
    /// Picture parameter set (without start code), from the first IDR frame.
    pub pps: Option<Vec<u8>>,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    pub fn new(format: VideoFormat) -> Result<H264Encoder, openh264::Error> {
        let pixels = f64::from(format.width) * f64::from(format.height);
        let bitrate = (pixels * f64::from(format.fps) * BITS_PER_PIXEL) as u32;
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bitrate))
            .max_frame_rate(FrameRate::from_hz(format.fps as f32))
            // Every frame must come out: a skipped frame would leave a hole in the movie.
            .skip_frames(false)
            .complexity(Complexity::Medium)
            .intra_frame_period(IntraFramePeriod::from_num_frames(
                format.fps * KEY_FRAME_SECONDS,
            ))
            // One thread: OpenH264 only parallelises across slices, and the caller's frame
            // composition runs beside this encoder on the other core.
            .num_threads(1)
            .vui(VuiConfig::bt709());
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        quiet(&mut encoder);
        Ok(H264Encoder {
            encoder,
            frame_duration_ms: 1000.0 / f64::from(format.fps),
            frames: 0,
            sps: None,
            pps: None,
        })
    }

    /// Encodes one picture. OpenH264 emits the parameter sets before every IDR frame; they go to
    /// `avcC` (once), not into the samples.
    pub fn encode(&mut self, picture: &Yuv420) -> Result<EncodedFrame, openh264::Error> {
        let timestamp =
            Timestamp::from_millis((self.frames as f64 * self.frame_duration_ms) as u64);
        self.frames += 1;
        let stream = self.encoder.encode_at(picture, timestamp)?;
        let mut frame = EncodedFrame {
            data: Vec::new(),
            sync: false,
        };
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)) {
                let nal = strip_start_code(nal);
                let Some(&header) = nal.first() else { continue };
                match header & 0x1f {
                    NAL_SPS => {
                        self.sps.get_or_insert_with(|| nal.to_vec());
                    }
                    NAL_PPS => {
                        self.pps.get_or_insert_with(|| nal.to_vec());
                    }
                    NAL_AUD => {}
                    kind => {
                        frame.sync |= kind == 5;
                        frame
                            .data
                            .extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        frame.data.extend_from_slice(nal);
                    }
                }
            }
        }
        Ok(frame)
    }
}

/// Turns OpenH264's own logging off before its first initialisation. The wrapper only quiets it
/// after initialising, and initialisation warns on stderr that without frame skipping the
/// bitrate is not strictly held: true, and wanted (a skipped frame is a visible stutter; the rate
/// still lands within a few percent of the target), so the warning would only be noise in the
/// CLI's output.
fn quiet(encoder: &mut Encoder) {
    let mut level = openh264_sys2::WELS_LOG_QUIET as std::os::raw::c_int;
    // SAFETY: the encoder was created (its pointer is valid); the trace level is an int option
    // that OpenH264 reads during the call and accepts before initialisation.
    unsafe {
        encoder.raw_api().set_option(
            openh264_sys2::ENCODER_OPTION_TRACE_LEVEL,
            (&raw mut level).cast(),
        );
    }
}

/// Drops the Annex B start code (`00 00 01` or `00 00 00 01`) in front of a NAL unit.
fn strip_start_code(nal: &[u8]) -> &[u8] {
    match nal {
        [0, 0, 0, 1, rest @ ..] | [0, 0, 1, rest @ ..] => rest,
        _ => nal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_codes_of_either_length_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x67, 1]), [0x67, 1]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x68]), [0x68]);
        assert_eq!(strip_start_code(&[0x65, 0]), [0x65, 0]);
    }

    #[test]
    fn the_first_frame_is_an_idr_with_parameter_sets_and_the_sps_signals_bt709() {
        let format = VideoFormat {
            width: 320,
            height: 240,
            fps: 30,
        };
        let mut encoder = H264Encoder::new(format).unwrap();
        let mut picture = Yuv420::new(320, 240);
        picture.fill_from_rgb(&[90u8, 140, 200].repeat(320 * 240));
        let first = encoder.encode(&picture).unwrap();
        let second = encoder.encode(&picture).unwrap();
        assert!(first.sync && !second.sync);
        let sps = encoder.sps.as_ref().unwrap();
        assert_eq!(sps[0] & 0x1f, NAL_SPS);
        assert_eq!(encoder.pps.as_ref().unwrap()[0] & 0x1f, NAL_PPS);
        // The sample holds length-prefixed NAL units that add up to the sample.
        let mut at = 0;
        while at < first.data.len() {
            let len = u32::from_be_bytes(first.data[at..at + 4].try_into().unwrap()) as usize;
            at += 4 + len;
        }
        assert_eq!(at, first.data.len());
        // The VUI ends its video signal type with video_full_range_flag 0,
        // colour_description_present_flag 1, then primaries, transfer and matrix all 1 (BT.709):
        // 26 bits at an arbitrary bit offset near the end of the SPS.
        let limited_range_bt709 = (0b01 << 24) | 0x01_01_01;
        assert!(
            contains_bits(sps, limited_range_bt709, 26),
            "SPS {sps:02x?}"
        );
    }

    fn contains_bits(bytes: &[u8], pattern: u32, bits: u32) -> bool {
        let total = bytes.len() * 8;
        (0..=total.saturating_sub(bits as usize)).any(|start| {
            (0..bits as usize).all(|i| {
                let bit = start + i;
                let value = (bytes[bit / 8] >> (7 - bit % 8)) & 1;
                u32::from(value) == (pattern >> (bits as usize - 1 - i)) & 1
            })
        })
    }
}
