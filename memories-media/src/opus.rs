//! Opus encoding with libopus (built from its bundled source by the `opus` crate), packet by
//! packet as MP4 samples (ISO/IEC 14496-12 with the Opus-in-ISOBMFF mapping).

use super::Audio;
use super::mp4::Sample;
use opus::{Application, Bitrate, Channels, Encoder};

/// Opus's only sample rate in MP4 (the `Opus` sample entry and `mdhd` use 48 kHz).
pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms packets: the codec's default, best quality per bit for music.
const FRAME_SAMPLES: usize = 960;
/// 96 kbit/s per channel: transparent for synthesized music, a rounding error next to the video.
const BITS_PER_CHANNEL: i32 = 96_000;
/// libopus's limit for one packet.
const MAX_PACKET: usize = 4000;

/// An encoded track, ready for the muxer.
#[derive(Debug)]
pub struct EncodedAudio {
    pub channels: u16,
    /// Samples (per channel) the decoder discards at the start: the encoder's look-ahead.
    pub pre_skip: u16,
    /// Samples per channel of the original signal, without pre-skip or end padding.
    pub length: u64,
    pub packets: Vec<Sample>,
}

/// Encodes `audio` (48 kHz, mono or stereo, already validated) into 20 ms packets. The last
/// packet is padded with silence; the edit list trims it and the pre-skip away.
pub fn encode(audio: &Audio) -> Result<EncodedAudio, opus::Error> {
    let channels = usize::from(audio.channels);
    let layout = if channels == 1 {
        Channels::Mono
    } else {
        Channels::Stereo
    };
    let mut encoder = Encoder::new(SAMPLE_RATE, layout, Application::Audio)?;
    encoder.set_bitrate(Bitrate::Bits(BITS_PER_CHANNEL * channels as i32))?;
    let pre_skip = encoder.get_lookahead()? as usize;

    let length = audio.samples.len() / channels;
    let packet_count = (length + pre_skip).div_ceil(FRAME_SAMPLES);
    let mut padded = audio.samples.clone();
    padded.resize(packet_count * FRAME_SAMPLES * channels, 0.0);

    let mut packets = Vec::with_capacity(packet_count);
    for frame in padded.chunks_exact(FRAME_SAMPLES * channels) {
        packets.push(Sample {
            data: encoder.encode_vec_float(frame, MAX_PACKET)?,
            duration: FRAME_SAMPLES as u32,
            sync: true,
        });
    }
    Ok(EncodedAudio {
        channels: audio.channels,
        pre_skip: pre_skip as u16,
        length: length as u64,
        packets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_cover_the_signal_plus_pre_skip_and_decode_back_to_it() {
        let length = 48_000 / 2;
        let tone: Vec<f32> = (0..length)
            .flat_map(|i| {
                let s = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
                [s, s]
            })
            .collect();
        let audio = Audio {
            sample_rate: 48_000,
            channels: 2,
            samples: tone.clone(),
        };
        let encoded = encode(&audio).unwrap();
        let pre_skip = usize::from(encoded.pre_skip);
        assert!(pre_skip > 0 && pre_skip < FRAME_SAMPLES);
        assert_eq!(
            encoded.packets.len(),
            (length + pre_skip).div_ceil(FRAME_SAMPLES)
        );
        assert_eq!(encoded.length, length as u64);

        let mut decoder = opus::Decoder::new(48_000, Channels::Stereo).unwrap();
        let mut decoded = Vec::new();
        for packet in &encoded.packets {
            let mut out = vec![0f32; FRAME_SAMPLES * 2];
            let n = decoder.decode_float(&packet.data, &mut out, false).unwrap();
            decoded.extend_from_slice(&out[..n * 2]);
        }
        // After dropping the pre-skip the decoded tone lines up with the input.
        let aligned = &decoded[pre_skip * 2..pre_skip * 2 + tone.len()];
        let error: f32 = aligned
            .iter()
            .zip(&tone)
            .skip(4800)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
            / (tone.len() - 4800) as f32;
        assert!(error.sqrt() < 0.02, "rms error {}", error.sqrt());
    }
}
