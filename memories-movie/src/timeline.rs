//! The movie's timeline: a title card, then one shot per photo, every cut on a beat.
//!
//! Time is counted in beats of the theme's tempo. Each segment (the title card or a shot) lasts a
//! whole number of beats, so every cut falls on a beat of the soundtrack; a transition is centred
//! on its cut, so a crossfade is half-way, or a dip at its darkest, exactly on the beat. Frame
//! `f` shows beat `f * bpm / (60 * fps)`; the movie ends on a beat, fading to black.

use super::theme::{Theme, Transition};

/// Frames per second of every movie.
pub const FPS: u32 = 30;

/// How long a movie should be (`--length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Length {
    /// About 18 s (15 to 20): a story or a message, watched to the end.
    Short,
    /// About 36 s (30 to 45): a verse and a chorus of the soundtrack.
    Medium,
    /// About 72 s (60 to 90): a whole song section, for an event with many good photos.
    Long,
}

impl Length {
    /// The length aimed for, in seconds (the middle of the short and medium ranges, and the
    /// long range's low side, since few events have 30 distinct good photos).
    pub fn target_secs(self) -> f64 {
        match self {
            Length::Short => 18.0,
            Length::Medium => 36.0,
            Length::Long => 72.0,
        }
    }

    /// The shortest a movie with enough photos may be; with too few photos each is held longer
    /// (up to two bars) to come near it, rather than stretching a handful of photos thin.
    pub fn min_secs(self) -> f64 {
        match self {
            Length::Short => 15.0,
            Length::Medium => 30.0,
            Length::Long => 60.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Length::Short => "short",
            Length::Medium => "medium",
            Length::Long => "long",
        }
    }
}

/// How many shots a movie of this theme and length wants: the target length less the title
/// card, in whole shots.
pub fn wanted_shots(theme: Theme, length: Length) -> usize {
    let beats = length.target_secs() * theme.bpm() / 60.0 - f64::from(theme.title_beats());
    ((beats / f64::from(theme.beats_per_shot())).round() as usize).max(1)
}

/// The title card and shots of one movie, in beats.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub theme: Theme,
    pub fps: u32,
    /// Segment boundaries in beats: `bounds[0] = 0`, segment `i` (0 is the title card, `i >= 1`
    /// shot `i - 1`) runs from `bounds[i]` to `bounds[i + 1]`; the last entry is the end.
    pub bounds: Vec<f64>,
    /// `transitions[i]` leads from segment `i` into segment `i + 1`.
    pub transitions: Vec<Transition>,
}

/// What one segment shows in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Showing {
    /// 0 is the title card, `i >= 1` is shot `i - 1`.
    pub segment: usize,
    /// Progress through the segment's visible time, transitions included, in 0..=1: what the
    /// Ken Burns motion is eased over.
    pub progress: f32,
}

/// Everything a frame is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FramePlan {
    One(Showing),
    /// A transition from `from` to `to`, `t` of the way through (0..1).
    Blend {
        from: Showing,
        to: Showing,
        transition: Transition,
        t: f32,
    },
}

impl Timeline {
    /// The timeline for `shots` photos. With fewer photos than the length wants, each is held
    /// longer (whole beats, at most two bars) to come near the length's minimum.
    pub fn new(theme: Theme, length: Length, shots: usize) -> Timeline {
        let title = f64::from(theme.title_beats());
        let base = theme.beats_per_shot();
        let per_shot = if shots == 0 || shots >= wanted_shots(theme, length) {
            base
        } else {
            let need = length.min_secs() * theme.bpm() / 60.0 - title;
            ((need / shots as f64).ceil() as u32).clamp(base, 2 * base)
        };
        let mut bounds = vec![0.0, title];
        for i in 1..=shots {
            bounds.push(title + f64::from(per_shot) * i as f64);
        }
        let transitions = (0..shots).map(|n| theme.transition(n)).collect();
        Timeline {
            theme,
            fps: FPS,
            bounds,
            transitions,
        }
    }

    pub fn bpm(&self) -> f64 {
        self.theme.bpm()
    }

    pub fn segments(&self) -> usize {
        self.bounds.len() - 1
    }

    pub fn total_beats(&self) -> f64 {
        *self.bounds.last().expect("the title card is always there")
    }

    /// The frame on which `beat` falls (the nearest one; at 30 fps at most 17 ms early or late).
    pub fn frame_of(&self, beat: f64) -> usize {
        (beat * 60.0 * f64::from(self.fps) / self.bpm()).round() as usize
    }

    pub fn beat_of(&self, frame: usize) -> f64 {
        frame as f64 * self.bpm() / (60.0 * f64::from(self.fps))
    }

    pub fn total_frames(&self) -> usize {
        self.frame_of(self.total_beats())
    }

    /// The movie's duration in seconds: what the soundtrack must last.
    pub fn duration_secs(&self) -> f64 {
        self.total_frames() as f64 / f64::from(self.fps)
    }

    /// Half the beats of the transition into segment `i` (0 for the title card).
    fn half_in(&self, i: usize) -> f64 {
        if i == 0 {
            0.0
        } else {
            self.transitions[i - 1].beats / 2.0
        }
    }

    fn half_out(&self, i: usize) -> f64 {
        self.transitions.get(i).map_or(0.0, |t| t.beats / 2.0)
    }

    /// How long segment `segment` is on screen, transitions included, in seconds: the time
    /// its [`Showing::progress`] runs over.
    pub fn visible_secs(&self, segment: usize) -> f64 {
        let start = self.bounds[segment] - self.half_in(segment);
        let end = self.bounds[segment + 1] + self.half_out(segment);
        (end - start) * 60.0 / self.bpm()
    }

    fn showing(&self, segment: usize, beat: f64) -> Showing {
        let start = self.bounds[segment] - self.half_in(segment);
        let end = self.bounds[segment + 1] + self.half_out(segment);
        Showing {
            segment,
            progress: ((beat - start) / (end - start)).clamp(0.0, 1.0) as f32,
        }
    }

    /// What frame `frame` shows.
    pub fn at(&self, frame: usize) -> FramePlan {
        let beat = self.beat_of(frame);
        let last = self.segments() - 1;
        let segment = (0..=last)
            .rev()
            .find(|&i| self.bounds[i] <= beat)
            .unwrap_or(0);
        let blend = |from: usize| {
            let cut = self.bounds[from + 1];
            let half = self.half_out(from);
            let t = ((beat - (cut - half)) / (2.0 * half)) as f32;
            FramePlan::Blend {
                from: self.showing(from, beat),
                to: self.showing(from + 1, beat),
                transition: self.transitions[from],
                t: t.clamp(0.0, 1.0),
            }
        };
        if segment > 0 && beat < self.bounds[segment] + self.half_in(segment) {
            blend(segment - 1)
        } else if segment < last && beat >= self.bounds[segment + 1] - self.half_out(segment) {
            blend(segment)
        } else {
            FramePlan::One(self.showing(segment, beat))
        }
    }

    /// How bright the whole frame is, 0 to 1: a half-beat fade in from black at the start and
    /// the theme's fade to black at the end.
    pub fn brightness(&self, frame: usize) -> f32 {
        let beat = self.beat_of(frame);
        let fade_in = (beat / 0.5).min(1.0);
        let fade_out = ((self.total_beats() - beat) / self.theme.fade_out_beats()).min(1.0);
        fade_in.min(fade_out).max(0.0) as f32
    }

    /// Frames worth looking at: the middle of each segment's own time, and each transition a
    /// quarter of the way through (its middle is a plain white or black frame for a dip). Used
    /// for `--frames-dir`.
    pub fn key_frames(&self) -> Vec<usize> {
        let mut frames = Vec::new();
        for i in 0..self.segments() {
            frames.push(self.frame_of((self.bounds[i] + self.bounds[i + 1]) / 2.0));
            if i + 1 < self.segments() {
                let half = self.half_out(i);
                frames.push(self.frame_of(self.bounds[i + 1] - half / 2.0));
            }
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_fall_in_their_ranges_for_every_theme() {
        let ranges = [
            (Length::Short, 15.0, 20.0),
            (Length::Medium, 30.0, 45.0),
            (Length::Long, 60.0, 90.0),
        ];
        for theme in Theme::ALL {
            for (length, lo, hi) in ranges {
                let timeline = Timeline::new(theme, length, wanted_shots(theme, length));
                let secs = timeline.duration_secs();
                assert!(
                    (lo..=hi).contains(&secs),
                    "{theme} {length:?}: {secs:.1} s with {} shots",
                    wanted_shots(theme, length)
                );
            }
        }
    }

    #[test]
    fn few_photos_are_held_longer_but_at_most_two_bars() {
        let nine = Timeline::new(Theme::Gentle, Length::Medium, 9);
        assert!(nine.duration_secs() >= 30.0, "{}", nine.duration_secs());
        let two = Timeline::new(Theme::Gentle, Length::Long, 2);
        assert_eq!(two.bounds, [0.0, 4.0, 12.0, 20.0]);
    }

    #[test]
    fn cuts_fall_on_whole_beats() {
        for theme in Theme::ALL {
            let timeline = Timeline::new(theme, Length::Medium, 7);
            for b in &timeline.bounds {
                assert_eq!(b.fract(), 0.0);
            }
            // The middle of each transition is the frame nearest its cut's beat.
            for (i, transition) in timeline.transitions.iter().enumerate() {
                let cut = timeline.frame_of(timeline.bounds[i + 1]);
                let beat_secs = 60.0 / theme.bpm();
                assert!(
                    (cut as f64 / 30.0 - timeline.bounds[i + 1] * beat_secs).abs() <= 1.0 / 60.0
                );
                match timeline.at(cut) {
                    FramePlan::Blend { from, to, t, .. } => {
                        assert_eq!((from.segment, to.segment), (i, i + 1));
                        let tolerance = 1.0 / (transition.beats * 60.0 / theme.bpm() * 30.0);
                        assert!((t - 0.5).abs() <= tolerance as f32, "{theme}: t {t}");
                    }
                    other => panic!("{theme}: frame {cut} is no blend: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn frames_walk_through_segments_in_order() {
        let timeline = Timeline::new(Theme::Chill, Length::Short, 3);
        let mut last = (0, 0.0f32);
        for frame in 0..timeline.total_frames() {
            let shown = match timeline.at(frame) {
                FramePlan::One(s) => s,
                FramePlan::Blend { from, to, t, .. } => {
                    assert!((0.0..=1.0).contains(&t));
                    assert_eq!(from.segment + 1, to.segment);
                    to
                }
            };
            assert!(
                (shown.segment, shown.progress) >= last,
                "frame {frame} goes back"
            );
            last = (shown.segment, shown.progress);
        }
        assert_eq!(last.0, 3, "ends on the last shot");
        assert_eq!(timeline.brightness(0), 0.0);
        assert_eq!(timeline.brightness(timeline.total_frames()), 0.0);
        assert_eq!(timeline.brightness(timeline.total_frames() / 2), 1.0);
    }
}
