//! Soundtracks synthesized per theme: no audio files are shipped or downloaded.
//!
//! Each [`Style`] fixes a key and mode, a four-bar chord progression (one chord per bar of four
//! beats), a melody over it and a set of instruments, each made by a classic synthesis method:
//!
//! - **Chill** (A minor, Am7-Fmaj7-Cmaj7-G): a filtered detuned-saw pad (subtractive), an FM
//!   electric piano playing the chords as slow eighth-note arpeggios, a round sine bass.
//! - **Gentle** (F major, F-Dm-Bb-C): Karplus-Strong plucked-string arpeggios, a soft pad, and
//!   an FM bell melody.
//! - **Uplifting** (C major, C-G-Am-F): kick on every beat, clap on 2 and 4, off-beat hi-hats,
//!   an eighth-note bass, a pad and an additive square-ish lead.
//!
//! Every note starts on the beat grid (beat 0 at t = 0), so the movie's cuts, which fall on beats,
//! land on the music. A small stereo Schroeder reverb gives the tails, then the track fades in and
//! out and is normalised to -1 dBFS. Noise (strings, drums) comes from a fixed-seed generator, so
//! the same call always gives the same samples.

use memories_media::Audio;
use std::f64::consts::TAU;

/// 48 kHz stereo, what the MP4 writer's Opus encoder takes.
pub const SAMPLE_RATE: u32 = 48_000;
const RATE: f64 = SAMPLE_RATE as f64;
/// Peak level after normalisation: -1 dBFS leaves room for the codec's overshoot.
const PEAK: f32 = 0.89;
/// Fade-in length in seconds: short, so the first cut's beat is already audible.
const FADE_IN: f64 = 0.5;
/// Fade-out length in seconds, shortened on very short movies.
const FADE_OUT: f64 = 2.5;

/// The soundtrack's character, chosen by the theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Chill,
    Gentle,
    Uplifting,
}

/// The musical content of a style: key and chords as MIDI note numbers.
struct Score {
    /// Chord tones (MIDI), one chord per bar, cycling.
    chords: [[i32; 4]; 4],
    /// Pitch classes of the scale (for the melody), root first.
    scale: [i32; 7],
    /// MIDI note of the scale's root in the melody's octave.
    melody_root: i32,
    /// The melody as (beat within a 4-bar phrase, length in beats, scale degree) — degrees
    /// count from the root, 7 is the octave.
    melody: &'static [(f64, f64, i32)],
}

const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];
const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

fn score(style: Style) -> Score {
    match style {
        Style::Chill => Score {
            // Am7, Fmaj7, Cmaj7, G6 around middle C.
            chords: [
                [57, 60, 64, 67],
                [53, 57, 60, 64],
                [48, 55, 59, 64],
                [55, 59, 62, 64],
            ],
            scale: MINOR,
            melody_root: 69, // A4
            melody: &[
                (0.0, 1.5, 4),
                (2.0, 2.0, 2),
                (5.0, 1.0, 0),
                (6.0, 2.0, 2),
                (8.0, 1.5, 4),
                (10.0, 1.5, 6),
                (12.0, 3.0, 4),
            ],
        },
        Style::Gentle => Score {
            // F, Dm, Bb, C.
            chords: [
                [53, 57, 60, 65],
                [50, 57, 62, 65],
                [46, 58, 62, 65],
                [48, 55, 60, 64],
            ],
            scale: MAJOR,
            melody_root: 77, // F5
            melody: &[
                (0.0, 1.0, 2),
                (1.0, 1.0, 4),
                (2.0, 2.0, 7),
                (4.0, 1.0, 5),
                (5.0, 1.0, 4),
                (6.0, 2.0, 2),
                (8.0, 1.0, 3),
                (9.0, 1.0, 2),
                (10.0, 2.0, 0),
                (12.0, 1.0, 1),
                (13.0, 1.0, 2),
                (14.0, 2.0, 4),
            ],
        },
        Style::Uplifting => Score {
            // C, G, Am, F.
            chords: [
                [48, 60, 64, 67],
                [43, 59, 62, 67],
                [45, 60, 64, 69],
                [41, 60, 65, 69],
            ],
            scale: MAJOR,
            melody_root: 72, // C5
            melody: &[
                (0.0, 0.5, 4),
                (0.5, 0.5, 4),
                (1.0, 1.0, 5),
                (2.0, 1.5, 4),
                (4.0, 0.5, 4),
                (4.5, 0.5, 2),
                (5.0, 1.0, 1),
                (6.0, 1.5, 4),
                (8.0, 0.5, 2),
                (8.5, 0.5, 4),
                (9.0, 1.0, 5),
                (10.0, 1.5, 7),
                (12.0, 0.5, 5),
                (12.5, 0.5, 4),
                (13.0, 1.0, 3),
                (14.0, 2.0, 4),
            ],
        },
    }
}

/// A soundtrack synthesized for the style: `bpm` beats per minute (the movie's cuts fall on
/// these beats, beat 0 at t=0), `seconds` long with fade in and fade out, stereo 48 kHz.
///
/// `bpm` is clamped to 30..=300 (a NaN is taken as 90), so a bad theme value gives odd music,
/// not a hang or an empty track.
pub fn synthesize(style: Style, bpm: f64, seconds: f64) -> Audio {
    let bpm = if bpm.is_nan() {
        90.0
    } else {
        bpm.clamp(30.0, 300.0)
    };
    let seconds = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    let frames = (seconds * RATE).round() as usize;
    let mut mix = Stereo::new(frames);
    let beat = 60.0 / bpm;
    let score = score(style);
    let beats = (seconds / beat).ceil() as usize + 1;
    let mut noise = Noise::new(0x5eed_2026);

    for bar in 0..beats.div_ceil(4) {
        let chord = score.chords[bar % 4];
        let bar_start = bar as f64 * 4.0 * beat;
        match style {
            Style::Chill => {
                for &note in &chord {
                    mix.add(
                        bar_start,
                        &pad(midi(note), 4.0 * beat, 0.05, 600.0),
                        pan(note),
                    );
                }
                // Slow arpeggio, one chord tone per eighth, up and back down.
                for (i, &tone) in [0usize, 1, 2, 3, 2, 1, 2, 3].iter().enumerate() {
                    let note = chord[tone] + 12;
                    let start = bar_start + i as f64 * beat / 2.0;
                    mix.add(start, &epiano(midi(note), 1.5 * beat, 0.07), pan(note));
                }
                for (offset, length) in [(0.0, 1.5), (2.0, 1.5)] {
                    let note = chord[0] - 12;
                    let start = bar_start + offset * beat;
                    mix.add(start, &bass(midi(note), length * beat, 0.22), 0.0);
                }
            }
            Style::Gentle => {
                for &note in &chord[1..] {
                    mix.add(
                        bar_start,
                        &pad(midi(note), 4.0 * beat, 0.03, 900.0),
                        pan(note),
                    );
                }
                for (i, &tone) in [0usize, 2, 1, 3, 2, 1, 3, 2].iter().enumerate() {
                    let note = chord[tone] + if tone == 0 { 12 } else { 0 };
                    let start = bar_start + i as f64 * beat / 2.0;
                    let string = pluck(midi(note), 2.0 * beat, 0.16, &mut noise);
                    mix.add(start, &string, pan(note));
                }
                mix.add(bar_start, &bass(midi(chord[0] - 12), 3.5 * beat, 0.16), 0.0);
            }
            Style::Uplifting => {
                for &note in &chord[1..] {
                    mix.add(
                        bar_start,
                        &pad(midi(note), 4.0 * beat, 0.035, 1800.0),
                        pan(note),
                    );
                }
                for eighth in 0..8 {
                    let start = bar_start + eighth as f64 * beat / 2.0;
                    let note = chord[0] - 12 + if eighth % 2 == 1 { 12 } else { 0 };
                    mix.add(start, &bass(midi(note), 0.45 * beat, 0.2), 0.0);
                    if eighth % 2 == 0 {
                        mix.add(start, &kick(0.55), 0.0);
                    } else {
                        mix.add(start, &hat(0.06, &mut noise), 0.3);
                    }
                    if eighth == 2 || eighth == 6 {
                        mix.add(start, &clap(0.22, &mut noise), -0.1);
                    }
                }
            }
        }
    }

    // The melody enters after the first phrase, so the opening is just the groove.
    let phrase = 16.0 * beat;
    let phrases = (seconds / phrase).ceil() as usize;
    for p in 1..phrases {
        for &(at, length, degree) in score.melody {
            let octave = degree.div_euclid(7);
            let note = score.melody_root + 12 * octave + score.scale[degree.rem_euclid(7) as usize];
            let start = p as f64 * phrase + at * beat;
            let voice = match style {
                Style::Chill => epiano(midi(note), length * beat, 0.10),
                Style::Gentle => bell(midi(note), length * beat + 1.0, 0.08),
                Style::Uplifting => lead(midi(note), length * beat, 0.07),
            };
            mix.add(start, &voice, 0.15);
        }
    }

    let wet = match style {
        Style::Chill => 0.35,
        Style::Gentle => 0.3,
        Style::Uplifting => 0.18,
    };
    mix.reverb(wet);
    mix.fade(FADE_IN.min(seconds / 4.0), FADE_OUT.min(seconds / 3.0));
    mix.normalise(PEAK);
    Audio {
        sample_rate: SAMPLE_RATE,
        channels: 2,
        samples: mix.interleaved(),
    }
}

/// Frequency of a MIDI note (A4 = 69 = 440 Hz, equal temperament).
fn midi(note: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(note - 69) / 12.0)
}

/// Higher notes a little to the right, lower to the left, as on a piano seen from the bench.
fn pan(note: i32) -> f64 {
    (f64::from(note - 60) / 24.0).clamp(-0.6, 0.6)
}

/// A stereo mix being built.
struct Stereo {
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Stereo {
    fn new(frames: usize) -> Stereo {
        Stereo {
            left: vec![0.0; frames],
            right: vec![0.0; frames],
        }
    }

    /// Mixes a mono voice in at `start` seconds, panned (-1 left .. 1 right, constant power).
    fn add(&mut self, start: f64, voice: &[f32], pan: f64) {
        let first = (start * RATE).round() as usize;
        if first >= self.left.len() {
            return;
        }
        let angle = (pan.clamp(-1.0, 1.0) + 1.0) * std::f64::consts::FRAC_PI_4;
        let (gain_l, gain_r) = (angle.cos() as f32, angle.sin() as f32);
        let end = (first + voice.len()).min(self.left.len());
        for (i, &s) in voice[..end - first].iter().enumerate() {
            self.left[first + i] += s * gain_l;
            self.right[first + i] += s * gain_r;
        }
    }

    /// Schroeder reverb: four parallel feedback combs then two allpasses per channel, with
    /// slightly different delays left and right for width. `wet` is the reverb's share.
    fn reverb(&mut self, wet: f32) {
        const COMBS: [[usize; 4]; 2] = [[1557, 1617, 1491, 1422], [1577, 1637, 1511, 1442]];
        const ALLPASSES: [[usize; 2]; 2] = [[225, 556], [247, 578]];
        for (channel, signal) in [&mut self.left, &mut self.right].into_iter().enumerate() {
            let mut tail = vec![0f32; signal.len()];
            for &delay in &COMBS[channel] {
                // Delays are in samples at 44.1 kHz in the classic design; scale to 48 kHz.
                let delay = delay * 48 / 44;
                let mut line = vec![0f32; delay];
                let mut damped = 0f32;
                for (i, out) in tail.iter_mut().enumerate() {
                    let delayed = line[i % delay];
                    damped = delayed * 0.7 + damped * 0.3;
                    line[i % delay] = signal[i] + damped * 0.82;
                    *out += delayed * 0.25;
                }
            }
            for &delay in &ALLPASSES[channel] {
                let delay = delay * 48 / 44;
                let mut line = vec![0f32; delay];
                for (i, out) in tail.iter_mut().enumerate() {
                    let delayed = line[i % delay];
                    let input = *out;
                    line[i % delay] = input + delayed * 0.5;
                    *out = delayed - input * 0.5;
                }
            }
            for (s, t) in signal.iter_mut().zip(&tail) {
                *s = *s * (1.0 - wet) + t * wet;
            }
        }
    }

    /// Raised-cosine fades to and from silence.
    fn fade(&mut self, fade_in: f64, fade_out: f64) {
        let frames = self.left.len();
        let fade_in = (fade_in * RATE) as usize;
        let fade_out = (fade_out * RATE) as usize;
        for i in 0..frames {
            let mut gain = 1.0;
            if i < fade_in {
                gain *= 0.5 - 0.5 * (std::f64::consts::PI * i as f64 / fade_in as f64).cos();
            }
            let from_end = frames - 1 - i;
            if from_end < fade_out {
                gain *=
                    0.5 - 0.5 * (std::f64::consts::PI * from_end as f64 / fade_out as f64).cos();
            }
            self.left[i] *= gain as f32;
            self.right[i] *= gain as f32;
        }
    }

    fn normalise(&mut self, peak: f32) {
        let max = self
            .left
            .iter()
            .chain(&self.right)
            .fold(0f32, |m, s| m.max(s.abs()));
        if max > 0.0 {
            let gain = peak / max;
            for s in self.left.iter_mut().chain(self.right.iter_mut()) {
                *s *= gain;
            }
        }
    }

    fn interleaved(&self) -> Vec<f32> {
        self.left
            .iter()
            .zip(&self.right)
            .flat_map(|(l, r)| [*l, *r])
            .collect()
    }
}

/// A fixed-seed xorshift generator: noise for strings and drums that is the same every run.
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Noise {
        Noise(seed)
    }

    /// Uniform in -1..1.
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// Attack-decay-sustain-release envelope value at `t` seconds of a note held for `held`.
fn adsr(t: f64, held: f64, attack: f64, decay: f64, sustain: f64, release: f64) -> f64 {
    let level = if t < attack {
        t / attack
    } else if t < attack + decay {
        1.0 - (1.0 - sustain) * (t - attack) / decay
    } else {
        sustain
    };
    if t < held {
        level
    } else {
        let at_release = adsr(held, f64::INFINITY, attack, decay, sustain, release);
        (at_release * (1.0 - (t - held) / release)).max(0.0)
    }
}

fn samples(seconds: f64) -> usize {
    (seconds * RATE) as usize
}

/// Subtractive pad: three detuned band-limited saws through a two-pole low-pass at `cutoff` Hz,
/// slow attack and release.
fn pad(freq: f64, held: f64, gain: f64, cutoff: f64) -> Vec<f32> {
    let release = 1.2;
    let n = samples(held + release);
    let alpha = 1.0 - (-TAU * cutoff / RATE).exp();
    let mut phases = [0.0f64, 0.33, 0.67];
    let detune = [0.997, 1.0, 1.004];
    let (mut lp1, mut lp2) = (0.0, 0.0);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let mut saw = 0.0;
            for (phase, d) in phases.iter_mut().zip(detune) {
                let step = freq * d / RATE;
                saw += poly_blep_saw(*phase, step);
                *phase = (*phase + step).fract();
            }
            lp1 += alpha * (saw / 3.0 - lp1);
            lp2 += alpha * (lp1 - lp2);
            (lp2 * gain * adsr(t, held, 0.5, 0.5, 0.8, release)) as f32
        })
        .collect()
}

/// A sawtooth with its discontinuity smoothed (polyBLEP), so high notes do not alias.
fn poly_blep_saw(phase: f64, step: f64) -> f64 {
    let mut value = 2.0 * phase - 1.0;
    if phase < step {
        let x = phase / step;
        value -= x + x - x * x - 1.0;
    } else if phase > 1.0 - step {
        let x = (phase - 1.0) / step;
        value -= x * x + x + x + 1.0;
    }
    value
}

/// FM electric piano: a sine carrier modulated at the same frequency, the modulation index
/// decaying faster than the note, so the attack is bright and the tail pure.
fn epiano(freq: f64, held: f64, gain: f64) -> Vec<f32> {
    let release = 0.4;
    let n = samples(held + release);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let index = 1.8 * (-t * 6.0).exp() + 0.2;
            let modulator = (TAU * freq * t).sin();
            let carrier = (TAU * freq * t + index * modulator).sin();
            let env = (-t * 1.6).exp() * adsr(t, held, 0.004, 0.0, 1.0, release);
            (carrier * env * gain) as f32
        })
        .collect()
}

/// FM bell: inharmonic modulator ratio 3.5, long exponential decay.
fn bell(freq: f64, length: f64, gain: f64) -> Vec<f32> {
    let n = samples(length);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let index = 2.0 * (-t * 3.0).exp();
            let carrier = (TAU * freq * t + index * (TAU * 3.5 * freq * t).sin()).sin();
            let attack = (t / 0.003).min(1.0);
            let end = ((length - t) / 0.05).clamp(0.0, 1.0);
            (carrier * (-t * 2.2).exp() * attack * end * gain) as f32
        })
        .collect()
}

/// Karplus-Strong plucked string: a burst of fixed-seed noise circulating in a delay line of one
/// period, averaged each pass (the string's damping).
fn pluck(freq: f64, length: f64, gain: f64, noise: &mut Noise) -> Vec<f32> {
    let period = (RATE / freq).round() as usize;
    let mut line: Vec<f32> = (0..period).map(|_| noise.next()).collect();
    // A softer pluck: low-pass the initial burst once.
    for i in 1..period {
        line[i] = 0.5 * (line[i] + line[i - 1]);
    }
    let n = samples(length);
    let mut out = Vec::with_capacity(n);
    let mut previous = 0f32;
    for i in 0..n {
        let at = i % period;
        let current = line[at];
        line[at] = 0.996 * 0.5 * (current + previous);
        previous = current;
        let end = ((n - i) as f32 / (0.05 * RATE as f32)).min(1.0);
        out.push(current * gain as f32 * end);
    }
    out
}

/// Additive bass: fundamental plus a little second and third harmonic, plucked envelope.
fn bass(freq: f64, held: f64, gain: f64) -> Vec<f32> {
    let release = 0.08;
    let n = samples(held + release);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let w = TAU * freq * t;
            let tone = w.sin() + 0.3 * (2.0 * w).sin() + 0.1 * (3.0 * w).sin();
            (tone * gain * adsr(t, held, 0.005, 0.2, 0.6, release)) as f32
        })
        .collect()
}

/// Additive lead: odd harmonics at 1/n (a rounded square), light vibrato after the attack.
fn lead(freq: f64, held: f64, gain: f64) -> Vec<f32> {
    let release = 0.15;
    let n = samples(held + release);
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let vibrato = 1.0 + 0.004 * (TAU * 5.5 * t).sin() * (t / 0.3).min(1.0);
            phase += freq * vibrato / RATE;
            let w = TAU * phase;
            let tone =
                w.sin() + (3.0 * w).sin() / 3.0 + (5.0 * w).sin() / 5.0 + (7.0 * w).sin() / 7.0;
            (tone * gain * adsr(t, held, 0.01, 0.1, 0.7, release)) as f32
        })
        .collect()
}

/// Kick drum: a sine swept down from 130 to 45 Hz with a fast decay.
fn kick(gain: f64) -> Vec<f32> {
    let n = samples(0.35);
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let freq = 45.0 + 85.0 * (-t * 30.0).exp();
            phase += freq / RATE;
            ((TAU * phase).sin() * (-t * 9.0).exp() * gain) as f32
        })
        .collect()
}

/// Hi-hat: noise through a one-pole high-pass, very short decay.
fn hat(gain: f64, noise: &mut Noise) -> Vec<f32> {
    let n = samples(0.05);
    let mut previous = 0f32;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let white = noise.next();
            let high = white - previous;
            previous = white;
            high * ((-t * 70.0).exp() * gain) as f32
        })
        .collect()
}

/// Clap: noise with a 200 Hz body, in three quick bursts like several hands.
fn clap(gain: f64, noise: &mut Noise) -> Vec<f32> {
    let n = samples(0.2);
    let mut low = 0f32;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let white = noise.next();
            low += 0.3 * (white - low);
            let band = white - low;
            let burst = (t % 0.011 / 0.011).min(1.0);
            let env = if t < 0.033 {
                1.0 - burst
            } else {
                (-(t - 0.033) * 25.0).exp()
            };
            let body = 0.3 * (TAU * 200.0 * t).sin() * (-t * 30.0).exp();
            ((f64::from(band) * env + body) * gain) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mono mix-down of a stereo track.
    fn mono(audio: &Audio) -> Vec<f32> {
        audio
            .samples
            .chunks_exact(2)
            .map(|f| 0.5 * (f[0] + f[1]))
            .collect()
    }

    fn rms(signal: &[f32]) -> f32 {
        (signal.iter().map(|s| s * s).sum::<f32>() / signal.len().max(1) as f32).sqrt()
    }

    /// Energy of `signal` at `freq` (Goertzel).
    fn goertzel(signal: &[f32], freq: f64) -> f64 {
        let coeff = 2.0 * (TAU * freq / RATE).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in signal {
            let s0 = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    }

    #[test]
    fn length_level_and_fades_are_right_for_every_style() {
        for style in [Style::Chill, Style::Gentle, Style::Uplifting] {
            let audio = synthesize(style, 90.0, 6.0);
            assert_eq!((audio.sample_rate, audio.channels), (48_000, 2));
            assert_eq!(audio.samples.len(), 6 * 48_000 * 2);
            let peak = audio.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!((peak - PEAK).abs() < 1e-4, "{style:?}: peak {peak}");
            let signal = mono(&audio);
            let edge = 480; // 10 ms
            assert!(rms(&signal[..edge]) < 1e-3, "{style:?} starts from silence");
            assert!(
                rms(&signal[signal.len() - edge..]) < 1e-3,
                "{style:?} ends in silence"
            );
            assert!(
                rms(&signal[2 * 48_000..4 * 48_000]) > 0.05,
                "{style:?} is audible"
            );
        }
    }

    #[test]
    fn uplifting_pulses_on_the_beat() {
        let bpm = 120.0;
        let audio = synthesize(Style::Uplifting, bpm, 8.0);
        let signal = mono(&audio);
        // Low band (kick, and the bass's root below the off-beat octave) through a one-pole
        // low-pass at 100 Hz.
        let alpha = (1.0 - (-TAU * 100.0 / RATE).exp()) as f32;
        let mut low = 0f32;
        let lows: Vec<f32> = signal
            .iter()
            .map(|&s| {
                low += alpha * (s - low);
                low
            })
            .collect();
        let beat = (60.0 / bpm * RATE) as usize;
        let window = 2400; // 50 ms
        let (mut on, mut off) = (0.0, 0.0);
        for b in 2..14 {
            on += rms(&lows[b * beat..b * beat + window]);
            off += rms(&lows[b * beat + beat / 2..b * beat + beat / 2 + window]);
        }
        assert!(
            on > 2.0 * off,
            "low-band energy on beats {on}, between {off}"
        );
    }

    #[test]
    fn each_style_is_in_its_key() {
        // Pitch-class energy over three octaves; the scale's notes dominate the others.
        let keys = [
            (Style::Chill, 76.0, 57, MINOR),
            (Style::Gentle, 90.0, 53, MAJOR),
            (Style::Uplifting, 120.0, 48, MAJOR),
        ];
        for (style, bpm, root, scale) in keys {
            let signal = mono(&synthesize(style, bpm, 8.0));
            let middle = &signal[48_000..7 * 48_000];
            let profile: Vec<f64> = (0..12)
                .map(|pc| {
                    (0..3)
                        .map(|octave| goertzel(middle, midi(48 + pc + 12 * octave)))
                        .sum()
                })
                .collect();
            let in_key = |pc: i32| scale.contains(&(pc - root).rem_euclid(12));
            let inside: f64 = (0..12)
                .filter(|&pc| in_key(pc))
                .map(|pc| profile[pc as usize])
                .sum::<f64>()
                / 7.0;
            let outside: f64 = (0..12)
                .filter(|&pc| !in_key(pc))
                .map(|pc| profile[pc as usize])
                .sum::<f64>()
                / 5.0;
            assert!(
                inside > 5.0 * outside,
                "{style:?}: in key {inside:.3e}, outside {outside:.3e}"
            );
        }
    }

    /// Pitch classes by name, C first.
    const PITCH_CLASSES: [&str; 12] = [
        "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
    ];

    #[test]
    fn each_style_plays_its_own_chord_progression_in_the_bass() {
        // A minor (chill) and C major (uplifting) share their notes, so being in key does not
        // tell them apart; the chords do. The bass plays each bar's root: the strongest pitch
        // class from C1 to B3, measured in the second half of every beat (where uplifting's
        // kick has died away), must be that root, bar after bar, well ahead of the next one.
        for (style, bpm, roots) in [
            (Style::Chill, 76.0, ["A", "F", "C", "G"]),
            (Style::Gentle, 90.0, ["F", "D", "Bb", "C"]),
            (Style::Uplifting, 120.0, ["C", "G", "A", "F"]),
        ] {
            let beat = 60.0 / bpm;
            let signal = mono(&synthesize(style, bpm, 16.0 * beat + 0.5));
            let heard: Vec<&str> = (0..4)
                .map(|bar| {
                    let energy: Vec<f64> = (0..12)
                        .map(|pc| {
                            (bar * 4..bar * 4 + 4)
                                .map(|b| {
                                    let start = (b as f64 + 0.5) * beat * RATE;
                                    let end = (b as f64 + 1.0) * beat * RATE;
                                    let window = &signal[start as usize..end as usize];
                                    (24 + pc..60)
                                        .step_by(12)
                                        .map(|note| goertzel(window, midi(note)))
                                        .sum::<f64>()
                                })
                                .sum()
                        })
                        .collect();
                    let mut order: Vec<usize> = (0..12).collect();
                    order.sort_by(|&a, &b| energy[b].total_cmp(&energy[a]));
                    let (first, second) = (order[0], order[1]);
                    assert!(
                        energy[first] > 2.0 * energy[second],
                        "{style:?} bar {bar}: {} only {:.1} times {}",
                        PITCH_CLASSES[first],
                        energy[first] / energy[second],
                        PITCH_CLASSES[second]
                    );
                    PITCH_CLASSES[first]
                })
                .collect();
            assert_eq!(heard, roots, "{style:?}: the bass line");
        }
    }

    #[test]
    fn odd_arguments_give_a_track_of_the_asked_length_or_an_empty_one() {
        assert!(synthesize(Style::Chill, 76.0, 0.0).samples.is_empty());
        assert!(synthesize(Style::Chill, 76.0, f64::NAN).samples.is_empty());
        let clamped = synthesize(Style::Uplifting, 0.0, 1.0);
        assert_eq!(clamped.samples.len(), 2 * 48_000);
        assert!(clamped.samples.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn the_same_call_gives_the_same_samples() {
        let a = synthesize(Style::Gentle, 90.0, 3.0);
        let b = synthesize(Style::Gentle, 90.0, 3.0);
        assert_eq!(a, b);
    }
}
