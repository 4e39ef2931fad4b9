//! Writing the output folder: a poster and a movie per memory, sample frames on request, and
//! `index.html` listing them all. Every file is written atomically (a temporary file in the same
//! folder, then a rename), so an interrupted run leaves whole files or none.

use std::path::{Path, PathBuf};

use super::select::Similarity;
use super::{
    FrameSink, Memory, Movie, MovieError, PngFrames, RenderStats, Settings, Tee, encode_image,
    memories, page, poster, render, write_file,
};
use memories_fs::resolve;
use memories_library::plan::Plan;

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub settings: Settings,
    /// Memory ids to make; all when empty.
    pub only: Vec<String>,
    /// Where to keep sample frames (the middle of every shot and transition) as PNG.
    pub frames_dir: Option<PathBuf>,
    /// Allow the output folder inside the photo folder.
    pub force_inside: bool,
}

/// What [`write_folder`] tells the user as it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Note<'a> {
    /// A step done (shown unless the user asked for quiet).
    Progress(&'a str),
    /// Something the user should know even when quiet: a photo gone since it was indexed.
    Warning(&'a str),
}

/// What was written for one memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub memory: Memory,
    pub shots: usize,
    pub duration_secs: f64,
    pub poster: PathBuf,
    /// The movie file.
    pub movie: PathBuf,
    pub frames: Vec<PathBuf>,
    /// Present when frames were rendered.
    pub stats: Option<RenderStats>,
}

/// Refuses an output folder inside the (canonical) photo folder unless forced: memories
/// never writes to the photo folder, and posters there would be indexed as photos next time.
pub fn check_out_dir(out: &Path, root: &Path, force: bool) -> Result<PathBuf, MovieError> {
    let resolved = resolve(out).map_err(|source| MovieError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    if resolved.starts_with(root) && !force {
        return Err(MovieError::OutInsideFolder {
            out: out.to_path_buf(),
            root: root.to_path_buf(),
        });
    }
    Ok(resolved)
}

/// Writes posters, movies, sample frames and `index.html` for the plan's memories into `out`.
/// `root` is the canonical photo folder; `log` hears one line per step for the user.
///
/// A photo deleted since the folder was indexed is left out of its memory with a warning, and a
/// memory with none of its photos left is skipped with one; the other memories are still made.
/// A memory's poster is written only once its movie is, so a failed movie leaves neither.
pub fn write_folder(
    plan: &Plan,
    root: &Path,
    out: &Path,
    options: &Options,
    similar: &Similarity,
    mut log: impl FnMut(Note<'_>),
) -> Result<Vec<Written>, MovieError> {
    let out = check_out_dir(out, root, options.force_inside)?;
    let frames_dir = match &options.frames_dir {
        Some(dir) => Some(check_out_dir(dir, root, options.force_inside)?),
        None => None,
    };
    // Each folder is claimed for the whole run: a second run into it waits, and what runs killed
    // part way left there (temporary files under `.NAME.XXXXXX.partial`) is cleared.
    // One claim per folder: a second claim of the same folder by this process would wait for
    // itself (`--frames-dir` may be the `--out` folder).
    let mut claims = Vec::new();
    let mut folders = vec![&out];
    folders.extend(frames_dir.as_ref().filter(|dir| **dir != out));
    for dir in folders {
        std::fs::create_dir_all(dir).map_err(|source| MovieError::Write {
            path: dir.clone(),
            source,
        })?;
        claims.push(memories_fs::FolderLock::take(dir, |dir| {
            log(Note::Progress(&format!(
                "another memories run is writing into {}; waiting for it to finish",
                dir.display()
            )))
        })?);
        let ours = |target: &str| {
            target == "index.html"
                || [".mp4", ".jpg", ".png"]
                    .iter()
                    .any(|ext| target.ends_with(ext))
        };
        let removed =
            memories_fs::remove_leftovers(dir, ours).map_err(|source| MovieError::Write {
                path: dir.clone(),
                source,
            })?;
        if !removed.is_empty() {
            log(Note::Progress(&format!(
                "removed {} unfinished files that an interrupted run left in {}",
                removed.len(),
                dir.display()
            )));
        }
    }
    let all = memories(plan, root);
    for id in &options.only {
        if !all.iter().any(|m| &m.id == id) {
            return Err(MovieError::UnknownMemory {
                id: id.clone(),
                known: all.iter().map(|m| m.id.clone()).collect(),
            });
        }
    }
    let chosen: Vec<&Memory> = all
        .iter()
        .filter(|m| options.only.is_empty() || options.only.contains(&m.id))
        .collect();
    let (w, h) = options.settings.resolution.size();
    let mut written = Vec::new();
    for memory in chosen {
        let Some(memory) = still_there(memory, &mut log) else {
            continue;
        };
        let movie = Movie::plan(&memory, options.settings, similar);
        let poster_path = out.join(format!("{}.jpg", memory.id));
        let jpeg =
            encode_image(&poster(&movie)?, w, h, image::ImageFormat::Jpeg).map_err(|source| {
                MovieError::Write {
                    path: poster_path.clone(),
                    source,
                }
            })?;
        let Rendered {
            movie: movie_path,
            frames,
            stats,
        } = render_movie(&movie, &out, frames_dir.as_deref())?;
        write_file(&poster_path, &jpeg)?;
        let mut line = format!(
            "{} \"{}\": {} shots of {} photos, {:.1} s; poster {}",
            memory.id,
            memory.title,
            movie.shots.len(),
            memory.photos.len(),
            movie.timeline.duration_secs(),
            poster_path.display()
        );
        if let Some(s) = &stats {
            line += &format!(
                "; {} frames rendered: decode {:.2} s, compose {:.2} s ({:.0} frames/s), output {:.2} s",
                s.frames,
                s.decode.as_secs_f64(),
                s.compose.as_secs_f64(),
                s.frames as f64 / s.compose.as_secs_f64().max(1e-9),
                s.sink.as_secs_f64()
            );
        }
        log(Note::Progress(&line));
        written.push(Written {
            memory: memory.clone(),
            shots: movie.shots.len(),
            duration_secs: movie.timeline.duration_secs(),
            poster: poster_path,
            movie: movie_path,
            frames,
            stats,
        });
    }
    let entries: Vec<page::Entry> = written
        .iter()
        .map(|w| page::Entry {
            id: w.memory.id.clone(),
            title: w.memory.title.clone(),
            dates: w.memory.dates.clone(),
            place: w.memory.place.clone(),
            photos: w.memory.photos.len(),
            poster: file_name(&w.poster),
            movie: Some(file_name(&w.movie)),
        })
        .collect();
    let folder = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    let index = out.join("index.html");
    write_file(&index, page::html(&folder, &entries).as_bytes())?;
    log(Note::Progress(&format!(
        "wrote {} memories to {}",
        written.len(),
        index.display()
    )));
    Ok(written)
}

/// `memory` without the photos deleted since the folder was indexed (each one warned about), or
/// `None` (with a warning) when none is left.
fn still_there(memory: &Memory, log: &mut impl FnMut(Note<'_>)) -> Option<Memory> {
    let (kept, gone): (Vec<_>, Vec<_>) = memory
        .photos
        .iter()
        .cloned()
        .partition(|photo| photo.path.is_file());
    for photo in &gone {
        log(Note::Warning(&format!(
            "{} is gone since the folder was indexed; {} is made without it",
            photo.path.display(),
            memory.id
        )));
    }
    if kept.is_empty() {
        log(Note::Warning(&format!(
            "{} is skipped: none of its photos are left",
            memory.id
        )));
        return None;
    }
    Some(Memory {
        photos: kept,
        ..memory.clone()
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What [`render_movie`] wrote.
struct Rendered {
    movie: PathBuf,
    frames: Vec<PathBuf>,
    stats: Option<RenderStats>,
}

/// Renders `movie` into the MP4 writer and every other sink that wants its frames, then lays
/// the theme's soundtrack under it. The movie appears at `<out>/<id>.mp4` only once whole.
fn render_movie(
    movie: &Movie,
    out: &Path,
    frames_dir: Option<&Path>,
) -> Result<Rendered, MovieError> {
    let path = out.join(format!("{}.mp4", movie.memory.id));
    let encode_error = |e: memories_media::EncodeError| MovieError::Encode {
        path: path.clone(),
        source: Box::new(e),
    };
    let (width, height) = movie.frame_size();
    let format = memories_media::VideoFormat {
        width: width as u32,
        height: height as u32,
        fps: movie.timeline.fps,
    };
    let writer = memories_media::Mp4Writer::create(&path, format).map_err(encode_error)?;
    let mut mp4 = Mp4Sink {
        writer,
        path: path.clone(),
    };
    let mut frames = frames_dir.map(|dir| {
        PngFrames::new(
            dir,
            &movie.memory.id,
            movie.frame_size(),
            &movie.timeline.key_frames(),
        )
    });
    let mut sinks: Vec<&mut dyn FrameSink> = vec![&mut mp4];
    if let Some(f) = frames.as_mut() {
        sinks.push(f);
    }
    let stats = render(movie, &mut Tee(sinks))?;
    let (style, bpm, seconds) = movie.soundtrack();
    let audio = crate::soundtrack::synthesize(style, bpm, seconds);
    mp4.writer.finish(&audio).map_err(encode_error)?;
    Ok(Rendered {
        movie: path,
        frames: frames.map(|f| f.written).unwrap_or_default(),
        stats: Some(stats),
    })
}

/// The MP4 writer as a frame sink.
struct Mp4Sink {
    writer: memories_media::Mp4Writer,
    path: PathBuf,
}

impl FrameSink for Mp4Sink {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        self.writer.push_frame(rgb).map_err(|e| MovieError::Encode {
            path: self.path.clone(),
            source: Box::new(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_inside_the_photo_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join("photos");
        std::fs::create_dir(&root).unwrap();
        let refused = |out: &Path| check_out_dir(out, &root, false).is_err();
        assert!(refused(&root));
        assert!(refused(&root.join("movies")));
        assert!(refused(&root.join("not/yet/there")));
        assert!(refused(&root.join("../photos/./x")));
        assert!(!refused(&root.join("../movies")));
        // `..` after folders that do not exist yet lands where creating them would.
        assert!(refused(&dir.path().join("nope/../photos/new")));
        assert!(!refused(&root.join("new/../../movies")));
        assert!(check_out_dir(&root.join("movies"), &root, true).is_ok());
        // A symlink pointing into the folder is inside it too.
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&root, &link).unwrap();
            assert!(refused(&link.join("movies")));
        }
    }
}
