//! Themes: the tempo, pacing, transitions, colour grade and soundtrack style of a movie.
//!
//! Every number a theme sets lives here, so one file says how chill, gentle and uplifting movies
//! differ. The tempos (76, 90 and 120 bpm) are shared with the soundtrack synthesizer: cuts fall
//! on its beats only because both sides use the same numbers.

use std::fmt;

/// How a movie looks, moves and sounds (`--theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Theme {
    /// Slow and cool: long shots, long crossfades and a dip to black, desaturated with lifted blacks.
    Chill,
    /// Soft and warm: medium shots, crossfades and a dip to white.
    Gentle,
    /// Quick and vivid: short shots, push (slide) transitions and quick crossfades.
    Uplifting,
}

/// The soundtrack the synthesizer plays under a movie; one per theme.
pub use crate::soundtrack::Style as SoundtrackStyle;

/// How one picture gives way to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransitionKind {
    /// Both pictures mixed, the new one fading in.
    Crossfade,
    /// The old picture fades to black, then the new one fades up from it.
    DipToBlack,
    /// The same through white: softer, brighter.
    DipToWhite,
    /// The new picture slides in from the right, pushing the old one out to the left.
    Push,
}

/// A transition and its length in beats; it is centred on the cut, which falls on a beat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    pub kind: TransitionKind,
    pub beats: f64,
}

/// A cheap per-pixel colour grade: a saturation change, then one tone curve per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grade {
    /// 1 leaves colours alone, below 1 mutes them, above 1 makes them vivid.
    pub saturation: f32,
    /// Added to each channel's shadows (0..1 of full scale): lifted, tinted blacks.
    pub lift: [f32; 3],
    /// Multiplies each channel's highlights: the white balance shift.
    pub gain: [f32; 3],
    /// Above 1 an S-curve around mid-grey (more punch); below 1 flatter.
    pub contrast: f32,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Chill, Theme::Gentle, Theme::Uplifting];

    pub fn name(self) -> &'static str {
        match self {
            Theme::Chill => "chill",
            Theme::Gentle => "gentle",
            Theme::Uplifting => "uplifting",
        }
    }

    /// Beats per minute of the soundtrack; the synthesizer uses the same numbers.
    pub fn bpm(self) -> f64 {
        match self {
            Theme::Chill => 76.0,
            Theme::Gentle => 90.0,
            Theme::Uplifting => 120.0,
        }
    }

    pub fn soundtrack_style(self) -> SoundtrackStyle {
        match self {
            Theme::Chill => SoundtrackStyle::Chill,
            Theme::Gentle => SoundtrackStyle::Gentle,
            Theme::Uplifting => SoundtrackStyle::Uplifting,
        }
    }

    /// Beats each photo stays on screen: one bar of 4/4 in every theme, which gives 3.2 s at
    /// 76 bpm, 2.7 s at 90 and 2.0 s at 120, the 2-3 s per photo that photo-slideshow apps use.
    /// Shorter than 2 s and faces cannot be recognised; longer than 3.5 s and the Ken Burns
    /// motion becomes the only thing happening.
    pub fn beats_per_shot(self) -> u32 {
        4
    }

    /// Beats the title card is shown: about 3 s in each theme, time to read a short title and a
    /// date line twice.
    pub fn title_beats(self) -> u32 {
        match self {
            Theme::Chill => 4,
            Theme::Gentle => 4,
            Theme::Uplifting => 6,
        }
    }

    /// The transition into shot `n` (0 is the cut from the title card to the first photo). A
    /// fixed cycle per theme: deterministic and varied enough not to feel mechanical.
    pub fn transition(self, n: usize) -> Transition {
        use TransitionKind::*;
        let (cycle, beats): (&[TransitionKind], f64) = match self {
            Theme::Chill => (&[Crossfade, Crossfade, DipToBlack], 2.0),
            Theme::Gentle => (&[Crossfade, DipToWhite, Crossfade], 1.5),
            Theme::Uplifting => (&[Push, Crossfade, Push, DipToWhite], 1.0),
        };
        Transition {
            kind: cycle[n % cycle.len()],
            beats,
        }
    }

    /// Beats of the fade to black at the end of the movie.
    pub fn fade_out_beats(self) -> f64 {
        match self {
            Theme::Chill => 3.0,
            Theme::Gentle => 2.0,
            Theme::Uplifting => 2.0,
        }
    }

    /// How far a Ken Burns shot zooms: the close framing's width as a fraction of the wide one.
    /// Slow themes move less, so the motion stays calm over their longer shots.
    pub fn zoom(self) -> f32 {
        match self {
            Theme::Chill => 0.85,
            Theme::Gentle => 0.82,
            Theme::Uplifting => 0.75,
        }
    }

    pub fn grade(self) -> Grade {
        match self {
            // Cool and muted with lifted, bluish blacks.
            Theme::Chill => Grade {
                saturation: 0.78,
                lift: [0.035, 0.045, 0.07],
                gain: [0.96, 0.99, 1.03],
                contrast: 0.94,
            },
            // Warm and soft: amber highlights, gently lifted warm shadows.
            Theme::Gentle => Grade {
                saturation: 0.92,
                lift: [0.045, 0.03, 0.015],
                gain: [1.04, 1.0, 0.92],
                contrast: 0.96,
            },
            // Vivid: more saturation and an S-curve, a touch warm.
            Theme::Uplifting => Grade {
                saturation: 1.28,
                lift: [0.0, 0.0, 0.0],
                gain: [1.03, 1.01, 0.98],
                contrast: 1.12,
            },
        }
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The grade as lookup tables: a fixed-point saturation factor (256 = unchanged) and one
/// 256-entry curve per channel, so grading a pixel is a few integer operations and three loads.
#[derive(Debug, Clone)]
pub struct GradeLut {
    saturation: i32,
    curves: [[u8; 256]; 3],
}

impl Grade {
    pub fn lut(&self) -> GradeLut {
        let mut curves = [[0u8; 256]; 3];
        for (c, curve) in curves.iter_mut().enumerate() {
            for (i, out) in curve.iter_mut().enumerate() {
                let v = i as f32 / 255.0;
                // S-curve (or its inverse) around mid-grey through a smooth blend with smoothstep.
                let s = v * v * (3.0 - 2.0 * v);
                let v = v + (self.contrast - 1.0) * 2.0 * (s - v);
                let v = self.lift[c] + v * (self.gain[c] - self.lift[c]);
                *out = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        GradeLut {
            saturation: (self.saturation * 256.0).round() as i32,
            curves,
        }
    }
}

impl GradeLut {
    /// Grades packed RGB8 pixels in place.
    pub fn apply(&self, rgb: &mut [u8]) {
        for p in rgb.chunks_exact_mut(3) {
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            // BT.601 luma in 8-bit fixed point; exact enough for a saturation change.
            let y = (77 * r + 150 * g + 29 * b) >> 8;
            let sat = |v: i32| (y + (((v - y) * self.saturation) >> 8)).clamp(0, 255) as usize;
            p[0] = self.curves[0][sat(r)];
            p[1] = self.curves[1][sat(g)];
            p[2] = self.curves[2][sat(b)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_grade_is_identity() {
        let lut = Grade {
            saturation: 1.0,
            lift: [0.0; 3],
            gain: [1.0; 3],
            contrast: 1.0,
        }
        .lut();
        let mut pixels: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 2]).collect();
        let before = pixels.clone();
        lut.apply(&mut pixels);
        assert_eq!(pixels, before);
    }

    #[test]
    fn grades_do_what_their_theme_says() {
        let grade = |theme: Theme, rgb: [u8; 3]| {
            let mut p = rgb.to_vec();
            theme.grade().lut().apply(&mut p);
            [p[0], p[1], p[2]]
        };
        let grey = [128, 128, 128];
        let chill = grade(Theme::Chill, grey);
        assert!(chill[2] > chill[0], "chill is cool: {chill:?}");
        let gentle = grade(Theme::Gentle, grey);
        assert!(gentle[0] > gentle[2], "gentle is warm: {gentle:?}");
        assert!(
            grade(Theme::Chill, [0, 0, 0])[2] >= 15,
            "chill lifts blacks"
        );
        let spread = |p: [u8; 3]| i32::from(p[0]) - i32::from(p[2]);
        let red = [180, 90, 60];
        assert!(
            spread(grade(Theme::Uplifting, red)) > spread(red),
            "uplifting is vivid"
        );
        assert!(
            spread(grade(Theme::Chill, red)) < spread(red),
            "chill is muted"
        );
    }
}
