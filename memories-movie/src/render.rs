//! Rendering a planned [`Movie`]: decode and grade each photo once, compose every frame in order.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use memories_library::analysis::decode_rgb;
use rayon::prelude::*;

use crate::motion::{KenBurns, Rect};
use crate::{
    FramePlan, FrameSink, MemoryPhoto, Movie, MovieError, compose, theme, timeline, title,
};

/// A photo decoded and graded for one shot, with the scale from full-resolution pixels to its
/// pixels.
#[derive(Debug, Clone)]
pub struct Source {
    pub image: compose::Packed,
    scale_x: f32,
    scale_y: f32,
}

impl Source {
    /// Reads and decodes `photo` just large enough that the narrowest crop of `motion` has at
    /// least `frame_width` pixels across (so frames are never upscaled from a small decode while
    /// JPEG DCT scaling skips what is not needed), then grades it.
    pub fn load(
        photo: &MemoryPhoto,
        motion: &KenBurns,
        frame_width: usize,
        grade: &theme::GradeLut,
    ) -> Result<Source, MovieError> {
        let bytes = std::fs::read(&photo.path).map_err(|source| MovieError::Read {
            path: photo.path.clone(),
            source,
        })?;
        let info = &photo.info;
        let (fw, fh) = (info.analysis.width.max(1), info.analysis.height.max(1));
        let long = fw.max(fh) as f32;
        let needed = (long * frame_width as f32 / motion.min_width().max(1.0)).ceil() as u32;
        let decoded = decode_rgb(&bytes, info.format, info.meta.orientation, needed.max(16))
            .map_err(|source| MovieError::Decode {
                path: photo.path.clone(),
                source,
            })?;
        let mut image = decoded.image;
        grade.apply(&mut image);
        Ok(Source {
            scale_x: image.width() as f32 / decoded.full_width.max(1) as f32,
            scale_y: image.height() as f32 / decoded.full_height.max(1) as f32,
            image: compose::Packed::from_rgb(&image),
        })
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
    let mut sources: Vec<Option<Source>> = vec![None; movie.shots.len()];
    let load = |sources: &mut Vec<Option<Source>>, shot: usize, stats: &mut RenderStats| {
        if sources[shot].is_some() {
            return Ok(());
        }
        let start = Instant::now();
        let end = (shot + DECODE_AHEAD).min(movie.shots.len());
        let loaded: Vec<(usize, Result<Source, MovieError>)> = (shot..end)
            .into_par_iter()
            .filter(|&i| sources[i].is_none())
            .map(|i| {
                let s = &movie.shots[i];
                (
                    i,
                    Source::load(&movie.memory.photos[s.photo], &s.motion, w, &grade),
                )
            })
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
    let source = Source::load(&movie.memory.photos[shot.photo], &shot.motion, w, &grade)?;
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
