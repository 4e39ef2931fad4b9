//! Rendering a planned [`Movie`]: decode and grade each photo once, compose every frame in order.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use image::RgbImage;
use memories_library::analysis::decode_rgb;
use memories_library::clips;
use memories_library::index::PhotoInfo;
use memories_media::frames::{Frame, FrameReader};
use rayon::prelude::*;

use crate::motion::{KenBurns, Rect};
use crate::{
    FramePlan, FrameSink, MemoryPhoto, Movie, MovieError, Play, compose, theme, timeline, title,
};

/// A photo decoded and graded for one shot, with the scale from full-resolution pixels to its
/// pixels.
#[derive(Debug, Clone)]
pub struct Still {
    pub image: compose::Packed,
    scale_x: f32,
    scale_y: f32,
}

/// What one shot draws from: a still, or a clip playing.
#[derive(Debug)]
pub enum Source {
    Still(Still),
    Moving(Box<Moving>),
}

/// The long side, in pixels, a shot's picture must have so that the narrowest crop of `motion`
/// has at least `frame_width` pixels across (so frames are never upscaled from a small decode
/// while JPEG DCT scaling skips what is not needed).
fn needed_side(photo: &MemoryPhoto, motion: &KenBurns, frame_width: usize) -> u32 {
    let info = &photo.info;
    let (fw, fh) = (info.analysis.width.max(1), info.analysis.height.max(1));
    let long = fw.max(fh) as f32;
    ((long * frame_width as f32 / motion.min_width().max(1.0)).ceil() as u32).max(16)
}

impl Still {
    /// Reads and decodes `photo` large enough for `motion` ([`needed_side`]), then grades it. A
    /// clip's still is its poster frame.
    pub fn load(
        photo: &MemoryPhoto,
        motion: &KenBurns,
        frame_width: usize,
        grade: &theme::GradeLut,
    ) -> Result<Still, MovieError> {
        let info = &photo.info;
        let needed = needed_side(photo, motion, frame_width);
        let decoded = match &info.clip {
            Some(clip) => {
                clips::frame(&photo.path, clip.poster_frame, needed).map_err(|reason| {
                    MovieError::Clip {
                        path: photo.path.clone(),
                        reason,
                    }
                })?
            }
            None => {
                let bytes = std::fs::read(&photo.path).map_err(|source| MovieError::Read {
                    path: photo.path.clone(),
                    source,
                })?;
                decode_rgb(&bytes, info.format, info.meta.orientation, needed).map_err(
                    |source| MovieError::Decode {
                        path: photo.path.clone(),
                        source,
                    },
                )?
            }
        };
        Ok(Still::graded(decoded.image, info, grade))
    }

    /// `image` graded, with the scale from `info`'s full-resolution pixels to it. A Live
    /// Photo's motion has the still's shape, so the still's face boxes and crops fit it too.
    fn graded(mut image: RgbImage, info: &PhotoInfo, grade: &theme::GradeLut) -> Still {
        grade.apply(&mut image);
        Still {
            scale_x: image.width() as f32 / info.analysis.width.max(1) as f32,
            scale_y: image.height() as f32 / info.analysis.height.max(1) as f32,
            image: compose::Packed::from_rgb(&image),
        }
    }

    /// Composes this photo's `crop` (full-resolution pixels) into a frame.
    pub fn draw(&self, crop: Rect, out: &mut [u8], width: usize, height: usize) {
        let scaled = Rect {
            x: crop.x * self.scale_x,
            y: crop.y * self.scale_y,
            w: crop.w * self.scale_x,
            h: crop.h * self.scale_y,
        };
        compose::sample(&self.image, scaled, out, width, height);
    }
}

/// A clip playing in a shot: frames are decoded as the shot's progress reaches them, at the
/// clip's own speed, from the part's start; past the part's end the last frame holds.
#[derive(Debug)]
pub struct Moving {
    reader: FrameReader,
    path: std::path::PathBuf,
    info: PhotoInfo,
    grade: theme::GradeLut,
    needed: u32,
    start: f64,
    end: f64,
    /// Seconds the shot is visible: progress 0..1 runs over them.
    visible: f64,
    /// The frame on screen and its time in the clip.
    current: Option<(f64, Still)>,
    /// The frame after it, decoded while looking for the next one to show.
    pending: Option<Frame>,
    finished: bool,
}

impl Moving {
    fn load(
        photo: &MemoryPhoto,
        play: &Play,
        motion: &KenBurns,
        visible: f64,
        frame_width: usize,
        grade: &theme::GradeLut,
    ) -> Result<Moving, MovieError> {
        let failed = |reason: String| MovieError::Clip {
            path: play.path.clone(),
            reason,
        };
        let (base, len) = match play.range {
            Some(range) => range,
            None => (
                0,
                std::fs::metadata(&play.path)
                    .map_err(|source| MovieError::Read {
                        path: play.path.clone(),
                        source,
                    })?
                    .len(),
            ),
        };
        let (file, clip) = clips::open(&play.path, base, len).map_err(failed)?;
        let rate = f64::from(clip.timescale.max(1));
        let first = clip
            .samples
            .iter()
            .position(|s| s.time as f64 / rate >= play.start)
            .unwrap_or(0);
        let reader = FrameReader::new(clip, file, first).map_err(|e| failed(e.to_string()))?;
        let mut moving = Moving {
            reader,
            path: play.path.clone(),
            info: photo.info.clone(),
            grade: grade.clone(),
            needed: needed_side(photo, motion, frame_width),
            start: play.start,
            end: play.end,
            visible,
            current: None,
            pending: None,
            finished: false,
        };
        moving.advance(0.0)?;
        if moving.current.is_none() {
            return Err(failed("no frame could be decoded".to_string()));
        }
        Ok(moving)
    }

    /// Brings the frame on screen up to the shot's `progress`.
    fn advance(&mut self, progress: f32) -> Result<(), MovieError> {
        let want = (self.start + f64::from(progress) * self.visible).min(self.end);
        loop {
            let frame = match self.pending.take() {
                Some(frame) => frame,
                None if self.finished => return Ok(()),
                None => match self.reader.next_frame().map_err(|e| MovieError::Clip {
                    path: self.path.clone(),
                    reason: e.to_string(),
                })? {
                    Some(frame) => frame,
                    None => {
                        self.finished = true;
                        return Ok(());
                    }
                },
            };
            let time = self.reader.clip().sample_seconds(frame.sample);
            if self.current.is_some() && time > want {
                self.pending = Some(frame);
                return Ok(());
            }
            let decoded = clips::decoded(frame, self.needed);
            self.current = Some((time, Still::graded(decoded.image, &self.info, &self.grade)));
        }
    }
}

impl Source {
    /// The still, or the clip that plays, of `shot`'s photo.
    pub fn load(
        movie: &Movie,
        shot: usize,
        frame_width: usize,
        grade: &theme::GradeLut,
    ) -> Result<Source, MovieError> {
        let s = &movie.shots[shot];
        let photo = &movie.memory.photos[s.photo];
        match &s.play {
            Some(play) => {
                let visible = movie.timeline.visible_secs(shot + 1);
                Moving::load(photo, play, &s.motion, visible, frame_width, grade)
                    .map(|m| Source::Moving(Box::new(m)))
            }
            None => Still::load(photo, &s.motion, frame_width, grade).map(Source::Still),
        }
    }

    fn advance(&mut self, progress: f32) -> Result<(), MovieError> {
        match self {
            Source::Still(_) => Ok(()),
            Source::Moving(moving) => moving.advance(progress),
        }
    }

    /// Composes `crop` (full-resolution pixels of the shot's photo) of what is on screen now.
    pub fn draw(&self, crop: Rect, out: &mut [u8], width: usize, height: usize) {
        match self {
            Source::Still(still) => still.draw(crop, out, width, height),
            Source::Moving(moving) => {
                let (_, still) = moving.current.as_ref().expect("loaded with a frame");
                still.draw(crop, out, width, height)
            }
        }
    }
}

/// Where the time of a render went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderStats {
    pub frames: usize,
    pub decode: Duration,
    pub compose: Duration,
    /// Time spent in the sink (encoding, or writing PNGs).
    pub sink: Duration,
}

/// How many shots ahead are decoded at once, in parallel: enough to keep both cores busy
/// decoding, few enough that a long 1080p movie does not hold every photo in memory.
const DECODE_AHEAD: usize = 4;

/// Renders every frame of `movie`, in order, into `sink`.
pub fn render(movie: &Movie, sink: &mut dyn FrameSink) -> Result<RenderStats, MovieError> {
    render_frames(movie, None, sink)
}

/// Renders the frames of `movie` in `only` (all when `None`), in order, into `sink`.
fn render_frames(
    movie: &Movie,
    only: Option<&BTreeSet<usize>>,
    sink: &mut dyn FrameSink,
) -> Result<RenderStats, MovieError> {
    let (w, h) = movie.frame_size();
    let grade = movie.settings.theme.grade().lut();
    let timeline = &movie.timeline;
    let mut stats = RenderStats::default();
    let mut sources: Vec<Option<Source>> = (0..movie.shots.len()).map(|_| None).collect();
    let load = |sources: &mut Vec<Option<Source>>, shot: usize, stats: &mut RenderStats| {
        if sources[shot].is_some() {
            return Ok(());
        }
        let start = Instant::now();
        let end = (shot + DECODE_AHEAD).min(movie.shots.len());
        let missing: Vec<usize> = (shot..end).filter(|&i| sources[i].is_none()).collect();
        let loaded: Vec<(usize, Result<Source, MovieError>)> = missing
            .into_par_iter()
            .map(|i| (i, Source::load(movie, i, w, &grade)))
            .collect();
        for (i, source) in loaded {
            sources[i] = Some(source?);
        }
        stats.decode += start.elapsed();
        Ok::<(), MovieError>(())
    };

    // The title card is one still frame, made once.
    let title_frame = if movie.shots.is_empty() {
        title::title_card(&vec![40u8; w * h * 3], w, h, &movie.memory.caption())
    } else {
        load(&mut sources, 0, &mut stats)?;
        let start = Instant::now();
        let mut background = vec![0u8; w * h * 3];
        let first = sources[0].as_ref().expect("loaded above");
        first.draw(wide(&movie.shots[0].motion), &mut background, w, h);
        let card = title::title_card(&background, w, h, &movie.memory.caption());
        stats.compose += start.elapsed();
        card
    };

    let mut frame = vec![0u8; w * h * 3];
    let mut layer_a = vec![0u8; w * h * 3];
    let mut layer_b = vec![0u8; w * h * 3];
    for index in 0..timeline.total_frames() {
        if only.is_some_and(|only| !only.contains(&index)) {
            continue;
        }
        let plan = timeline.at(index);
        let (first_segment, last_segment) = match plan {
            FramePlan::One(s) => (s.segment, s.segment),
            FramePlan::Blend { from, to, .. } => (from.segment, to.segment),
        };
        for segment in first_segment.max(1)..=last_segment {
            load(&mut sources, segment - 1, &mut stats)?;
        }
        // Photos of shots that are over are dropped as soon as they are.
        for over in sources.iter_mut().take(first_segment.saturating_sub(1)) {
            *over = None;
        }
        // Clips playing in this frame's shots move on to its time (decoding counts as decoding).
        let start = Instant::now();
        let showings = match plan {
            FramePlan::One(s) => [Some(s), None],
            FramePlan::Blend { from, to, .. } => [Some(from), Some(to)],
        };
        for showing in showings.into_iter().flatten().filter(|s| s.segment > 0) {
            let source = sources[showing.segment - 1].as_mut().expect("loaded above");
            source.advance(showing.progress)?;
        }
        stats.decode += start.elapsed();
        let start = Instant::now();
        let draw = |showing: timeline::Showing, out: &mut [u8]| match showing.segment {
            0 => out.copy_from_slice(&title_frame),
            s => {
                let shot = &movie.shots[s - 1];
                let source = sources[s - 1].as_ref().expect("loaded above");
                source.draw(shot.motion.at(showing.progress), out, w, h);
            }
        };
        match plan {
            FramePlan::One(showing) => draw(showing, &mut frame),
            FramePlan::Blend {
                from,
                to,
                transition,
                t,
            } => {
                let (need_a, need_b) = compose::needs(transition.kind, t);
                if need_a {
                    draw(from, &mut layer_a);
                }
                if need_b {
                    draw(to, &mut layer_b);
                }
                compose::transition(transition.kind, &layer_a, &layer_b, t, w, &mut frame);
            }
        }
        compose::toward_level(&mut frame, 0, 1.0 - timeline.brightness(index));
        stats.compose += start.elapsed();
        let start = Instant::now();
        sink.push(&frame)?;
        stats.sink += start.elapsed();
        stats.frames += 1;
    }
    Ok(stats)
}

/// The wider end of a shot's motion: the title card's and poster's framing.
fn wide(motion: &KenBurns) -> Rect {
    if motion.from.w >= motion.to.w {
        motion.from
    } else {
        motion.to
    }
}

/// The poster of a movie: its best photo, framed wide on the faces, graded, with the caption.
/// Returns packed RGB8 of the movie's frame size.
pub fn poster(movie: &Movie) -> Result<Vec<u8>, MovieError> {
    let (w, h) = movie.frame_size();
    let Some(shot) = movie.shots.get(movie.cover) else {
        return Ok(title::title_card(
            &vec![40u8; w * h * 3],
            w,
            h,
            &movie.memory.caption(),
        ));
    };
    let grade = movie.settings.theme.grade().lut();
    // A clip's poster is its poster frame; a Live Photo's, its still.
    let source = Still::load(&movie.memory.photos[shot.photo], &shot.motion, w, &grade)?;
    let mut picture = vec![0u8; w * h * 3];
    source.draw(wide(&shot.motion), &mut picture, w, h);
    Ok(title::poster(&picture, w, h, &movie.memory.caption()))
}

/// Renders only the frames `wanted` and returns them, in frame order, as (frame, packed RGB8),
/// without composing the rest: for looking at a movie and for tests. Frames past the end are
/// left out.
pub fn contact_frames(
    movie: &Movie,
    wanted: &[usize],
) -> Result<Vec<(usize, Vec<u8>)>, MovieError> {
    struct Keep(Vec<Vec<u8>>);
    impl FrameSink for Keep {
        fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
            self.0.push(rgb.to_vec());
            Ok(())
        }
    }
    let wanted: BTreeSet<usize> = wanted
        .iter()
        .copied()
        .filter(|&f| f < movie.timeline.total_frames())
        .collect();
    let mut keep = Keep(Vec::new());
    render_frames(movie, Some(&wanted), &mut keep)?;
    Ok(wanted.into_iter().zip(keep.0).collect())
}
