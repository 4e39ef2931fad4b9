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
mod memory;
pub mod motion;
pub mod output;
pub mod page;
pub mod plan_page;
mod render;
pub mod select;
mod sink;
pub mod soundtrack;
pub mod theme;
pub mod timeline;
pub mod title;

use std::path::PathBuf;

use thiserror::Error;

use memories_library::analysis::DecodeError;
pub use memory::{Memory, MemoryPhoto, Motion, memories};
use motion::{Direction, KenBurns};
pub use render::{Moving, RenderStats, Source, Still, contact_frames, poster, render};
use select::{Candidate, Similarity};
pub use sink::{FrameSink, PngFrames, Tee, encode_image, write_file};
pub use theme::{SoundtrackStyle, Theme};
pub use timeline::{FPS, FramePlan, Length, Timeline};

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
    #[error("cannot play clip {}: {reason}", path.display())]
    Clip { path: PathBuf, reason: String },
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

/// One photo on screen with its motion.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    /// Index into the memory's photos.
    pub photo: usize,
    pub motion: KenBurns,
    /// For a clip or a Live Photo: the part of its video that plays, at its own speed, from
    /// the shot's first visible frame (held on its last frame if the shot outlasts it).
    pub play: Option<Play>,
}

/// The part of a clip a shot plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    pub path: PathBuf,
    /// Where the video lies in the file when it is inside a still (a motion photo).
    pub range: Option<(u64, u64)>,
    /// Seconds from the clip's start.
    pub start: f64,
    pub end: f64,
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
                let play = memory.photos[photo].motion.as_ref().map(|m| {
                    let (start, end) = m.clip.part();
                    Play {
                        path: m.path.clone(),
                        range: m.clip.range,
                        start,
                        end,
                    }
                });
                Shot {
                    photo,
                    motion,
                    play,
                }
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
