//! Themed mini-movies of memories: which photos, how they move, how they are cut to the beat.
//!
//! The pipeline for one memory, top to bottom:
//!
//! - [`memories`] turns the [`Plan`]'s candidate events and trips into [`Memory`] values (id,
//!   title, dates, place, photos in time order).
//! - [`Movie::plan`] picks the photos ([`select`]), lays out the [`Timeline`] (a title card, then
//!   one shot per photo, whole beats of the theme's tempo) and plans each shot's face-aware
//!   Ken Burns motion ([`motion`]).
//! - [`render`] decodes each chosen photo once, at the size its tightest crop needs, grades it
//!   with the theme's lookup tables ([`theme::GradeLut`]), and composes every frame in order
//!   ([`compose`], [`title`]) into a [`FrameSink`]: the encoder, or [`PngFrames`] for looking at
//!   frames.
//! - [`output`] writes a folder: posters, sample frames, the movies, and `index.html`
//!   ([`page`]).
//!
//! Rendering is deterministic: the same photos and settings give the same frames, byte for byte.

pub mod compose;
pub mod motion;
pub mod output;
pub mod page;
pub mod plan_page;
pub mod select;
pub mod soundtrack;
pub mod theme;
pub mod timeline;
pub mod title;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use thiserror::Error;

use memories_library::analysis::{DecodeError, decode_rgb};
use memories_library::index::PhotoInfo;
use memories_library::plan::Plan;
use motion::{Direction, KenBurns, Rect};
use select::{Candidate, Similarity};
pub use theme::{SoundtrackStyle, Theme};
pub use timeline::{FPS, FramePlan, Length, Timeline};
use title::Caption;

/// Everything that can stop a movie.
#[derive(Debug, Error)]
pub enum MovieError {
    #[error("cannot read photo {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decode photo {}: {source}", path.display())]
    Decode { path: PathBuf, source: DecodeError },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Save(#[from] memories_fs::WriteError),
    #[error(
        "output folder {} is inside the photo folder {}, which memories never writes to; choose another --out (or add --force-out-inside)",
        out.display(), root.display()
    )]
    OutInsideFolder { out: PathBuf, root: PathBuf },
    #[error(
        "no memory {id:?}; the memories are: {}",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )]
    UnknownMemory { id: String, known: Vec<String> },
    /// The encoder's error names the movie file.
    #[error("{source}")]
    Encode {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The frame size of a movie (`--resolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Resolution {
    /// 1280x720.
    #[value(name = "720p")]
    Hd720,
    /// 1920x1080.
    #[value(name = "1080p")]
    Hd1080,
}

impl Resolution {
    pub fn size(self) -> (usize, usize) {
        match self {
            Resolution::Hd720 => (1280, 720),
            Resolution::Hd1080 => (1920, 1080),
        }
    }
}

/// What kind of movie to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    pub theme: Theme,
    pub length: Length,
    pub resolution: Resolution,
}

/// Where the frames of a movie go, one packed RGB8 frame (width x height x 3 bytes) at a time,
/// in order. The encoder implements it; so does [`PngFrames`].
pub trait FrameSink {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError>;
}

/// Sends each frame to several sinks.
pub struct Tee<'a>(pub Vec<&'a mut dyn FrameSink>);

impl std::fmt::Debug for Tee<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tee({} sinks)", self.0.len())
    }
}

impl FrameSink for Tee<'_> {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        for sink in &mut self.0 {
            sink.push(rgb)?;
        }
        Ok(())
    }
}

/// Keeps chosen frames of a movie as PNG files `<dir>/<stem>-<frame>.png`, written atomically:
/// the way to look at a movie's frames without decoding it.
#[derive(Debug)]
pub struct PngFrames {
    dir: PathBuf,
    stem: String,
    width: usize,
    height: usize,
    wanted: BTreeSet<usize>,
    next: usize,
    pub written: Vec<PathBuf>,
}

impl PngFrames {
    pub fn new(dir: &Path, stem: &str, (width, height): (usize, usize), frames: &[usize]) -> Self {
        PngFrames {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            width,
            height,
            wanted: frames.iter().copied().collect(),
            next: 0,
            written: Vec::new(),
        }
    }
}

impl FrameSink for PngFrames {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        let frame = self.next;
        self.next += 1;
        if !self.wanted.contains(&frame) {
            return Ok(());
        }
        let path = self.dir.join(format!("{}-{frame:05}.png", self.stem));
        let bytes = encode_image(rgb, self.width, self.height, image::ImageFormat::Png).map_err(
            |source| MovieError::Write {
                path: path.clone(),
                source,
            },
        )?;
        write_file(&path, &bytes)?;
        self.written.push(path);
        Ok(())
    }
}

/// Encodes a packed RGB8 frame as PNG or JPEG (quality 90) in memory.
pub fn encode_image(
    rgb: &[u8],
    width: usize,
    height: usize,
    format: image::ImageFormat,
) -> std::io::Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let result = if format == image::ImageFormat::Jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode(
            rgb,
            width as u32,
            height as u32,
            image::ExtendedColorType::Rgb8,
        )
    } else {
        image::RgbImage::from_raw(width as u32, height as u32, rgb.to_vec())
            .expect("frame buffer matches its size")
            .write_to(&mut bytes, format)
    };
    result.map_err(std::io::Error::other)?;
    Ok(bytes.into_inner())
}

/// Writes a file atomically ([`memories_fs::write_atomically`]).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), MovieError> {
    Ok(memories_fs::write_atomically(path, bytes)?)
}

/// One photo of a memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPhoto {
    /// Path below the photo folder.
    pub rel: String,
    pub path: PathBuf,
    pub info: PhotoInfo,
}

/// A memory a movie can be made of: a candidate event or trip of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// Stable within a plan and safe as a file name: `event-3`, `trip-0`.
    pub id: String,
    pub title: String,
    pub dates: String,
    pub place: Option<String>,
    /// In time order.
    pub photos: Vec<MemoryPhoto>,
}

impl Memory {
    pub fn caption(&self) -> Caption {
        Caption {
            title: self.title.clone(),
            lines: std::iter::once(self.dates.clone())
                .chain(self.place.clone())
                .collect(),
        }
    }
}

/// The plan's memories: every candidate event (`event-N`, N as in `memories --json`), every
/// trip of two or more events with enough photos (`trip-N`) and every person's memory
/// (`person-ID`, the id of `memories people`). Photos are found below `root`.
pub fn memories(plan: &Plan, root: &Path) -> Vec<Memory> {
    let photos = |ids: &[usize]| -> Vec<MemoryPhoto> {
        ids.iter()
            .map(|&i| {
                let p = &plan.photos[i];
                MemoryPhoto {
                    rel: p.rel.clone(),
                    path: root.join(&p.rel),
                    info: p.info.clone(),
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for (n, e) in plan.candidate_events() {
        out.push(Memory {
            id: format!("event-{n}"),
            title: e.title.clone(),
            dates: memories_library::titles::dates(e.start, e.end),
            place: plan.place_line(e),
            photos: photos(&e.photos),
        });
    }
    for (n, t) in plan.candidate_trips() {
        let ids: Vec<usize> = t
            .events
            .iter()
            .flat_map(|&e| plan.events[e].photos.iter().copied())
            .collect();
        let first = &plan.events[t.events[0]];
        let last = &plan.events[*t.events.last().expect("trips are never empty")];
        out.push(Memory {
            id: format!("trip-{n}"),
            title: t.title.clone(),
            dates: memories_library::titles::dates(first.start, last.end),
            place: Some(memories_library::titles::trip_line(t.farthest_km)),
            photos: photos(&ids),
        });
    }
    for m in &plan.people {
        let taken = |i: usize| plan.photos[i].info.meta.taken.local;
        let (first, last) = (
            taken(m.photos[0]),
            taken(*m.photos.last().expect("never empty")),
        );
        out.push(Memory {
            id: format!("person-{}", m.person.id),
            title: m.title.clone(),
            dates: memories_library::titles::dates(first, last),
            place: None,
            photos: photos(&m.photos),
        });
    }
    out
}

/// One photo on screen with its motion.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    /// Index into the memory's photos.
    pub photo: usize,
    pub motion: KenBurns,
}

/// Everything needed to render one memory's movie, decided before any pixel is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub memory: Memory,
    pub settings: Settings,
    pub timeline: Timeline,
    /// In time order; shot `i` is timeline segment `i + 1`.
    pub shots: Vec<Shot>,
    /// The shot of the best photo: the poster's picture.
    pub cover: usize,
}

impl Movie {
    /// Selects the photos and plans the timeline and every shot's motion.
    pub fn plan(memory: &Memory, settings: Settings, similar: &Similarity) -> Movie {
        let theme = settings.theme;
        let candidates: Vec<Candidate> = memory
            .photos
            .iter()
            .map(|p| Candidate::new(&p.rel, &p.info))
            .collect();
        let wanted = timeline::wanted_shots(theme, settings.length);
        let chosen = select::select(&candidates, wanted, similar);
        let timeline = Timeline::new(theme, settings.length, chosen.len());
        let (w, h) = settings.resolution.size();
        let aspect = w as f32 / h as f32;
        let shots: Vec<Shot> = chosen
            .iter()
            .enumerate()
            .map(|(n, &photo)| {
                let info = &memory.photos[photo].info;
                // Alternate zooming in and out, and the pan direction of face-less photos, so
                // consecutive shots do not repeat one move.
                let direction = if n % 2 == 0 {
                    Direction::ZoomIn
                } else {
                    Direction::ZoomOut
                };
                let motion = motion::plan(
                    info.analysis.width,
                    info.analysis.height,
                    &info.faces,
                    aspect,
                    theme.zoom(),
                    direction,
                    n % 4 < 2,
                );
                Shot { photo, motion }
            })
            .collect();
        let cover = (0..shots.len())
            .max_by(|&a, &b| {
                let score = |i: usize| candidates[shots[i].photo].score;
                score(a).total_cmp(&score(b)).then(b.cmp(&a))
            })
            .unwrap_or(0);
        Movie {
            memory: memory.clone(),
            settings,
            timeline,
            shots,
            cover,
        }
    }

    pub fn frame_size(&self) -> (usize, usize) {
        self.settings.resolution.size()
    }

    /// The soundtrack this movie needs: style, tempo and length in seconds.
    pub fn soundtrack(&self) -> (SoundtrackStyle, f64, f64) {
        (
            self.settings.theme.soundtrack_style(),
            self.timeline.bpm(),
            self.timeline.duration_secs(),
        )
    }
}

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

#[cfg(test)]
mod sink_tests {
    use super::*;

    #[test]
    fn png_frames_keep_exactly_the_chosen_frames() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (4, 2);
        let mut sink = PngFrames::new(dir.path(), "m", (w, h), &[1, 3]);
        for n in 0..3u8 {
            sink.push(&vec![n * 50; w * h * 3]).unwrap();
        }
        assert_eq!(sink.written, [dir.path().join("m-00001.png")]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary files left");
        let png = image::open(&sink.written[0]).unwrap().into_rgb8();
        assert_eq!(png.as_raw(), &vec![50u8; w * h * 3]);
    }
}
