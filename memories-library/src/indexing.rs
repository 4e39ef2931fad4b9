//! One indexing pass over a photo folder.
//!
//! The pass scans the folder, trusts index rows whose size and modification time still match,
//! analyses everything else on rayon's thread pool and stores each result on this thread as soon
//! as it arrives, so that killing the program loses at most the photos being analysed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use thiserror::Error;

use memories_fs::file_inside_folder;
use memories_vision::Decoded;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_SCORE, FaceBox, FaceDetector};

use crate::analysis::{ANALYSIS_SIDE, analyse, decode_rgb, shrink};
use crate::index::{Index, IndexError, Opened, Outcome, PhotoInfo, Record, RunLock};
use crate::metadata::PhotoMeta;
use crate::scan::{self, FoundPhoto, Problem, Skipped};

/// Everything that stops an indexing pass. Problems with single photos are not errors: they are
/// reported and the pass goes on.
#[derive(Debug, Error)]
pub enum IndexingError {
    #[error("photo folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("photo folder {}: not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("this system has no cache directory for the index; choose a file with --cache")]
    NoCacheDir,
    #[error(
        "index file {} is inside the photo folder, which memories never writes to; choose another --cache",
        path.display()
    )]
    IndexInsideFolder { path: PathBuf },
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// What an indexing pass did and found.
#[derive(Debug)]
pub struct IndexReport {
    pub root: PathBuf,
    pub index_path: PathBuf,
    pub opened: Opened,
    /// Photos found by the scan.
    pub found: usize,
    /// Photos decoded and measured in this run.
    pub analysed: usize,
    /// Photos whose index row was still valid.
    pub unchanged: usize,
    /// New or changed paths whose bytes were already analysed under another path or time.
    pub copies: usize,
    /// Index rows dropped because their file is gone.
    pub removed: usize,
    pub skipped: Vec<Skipped>,
    /// Files and folders the scan could not read.
    pub problems: Vec<Problem>,
    /// The whole index after the pass, in path order.
    pub records: Vec<Record>,
    /// Held while the report lives, so that the people book and face graph written after the
    /// pass are this run's alone.
    pub lock: RunLock,
}

/// Indexes `root`, storing the index at `index_path` or the default cache location.
pub fn index_folder(
    root: &Path,
    index_path: Option<&Path>,
    show_progress: bool,
) -> Result<IndexReport, IndexingError> {
    let root = root
        .canonicalize()
        .map_err(|source| IndexingError::Folder {
            path: root.to_path_buf(),
            source,
        })?;
    if !root.is_dir() {
        return Err(IndexingError::NotAFolder { path: root });
    }
    let index_path = match index_path {
        Some(path) => path.to_path_buf(),
        None => crate::index::default_location(&root).ok_or(IndexingError::NoCacheDir)?,
    };
    // Rebuilding a bad index moves the file aside, so an index path inside the folder could
    // rename a photo; the folder is read-only to us.
    if file_inside_folder(&index_path, &root) {
        return Err(IndexingError::IndexInsideFolder { path: index_path });
    }
    let lock = RunLock::take(&index_path, |path| {
        if show_progress {
            eprintln!(
                "memories: another memories run is using the index {}; waiting for it to finish",
                path.display()
            );
        }
    })?;
    let found = scan::scan(&root);
    let (mut index, opened) = Index::open(&index_path)?;

    let mut todo = Vec::new();
    for photo in &found.photos {
        if !index.fresh(&photo.rel, photo.size, nanos(photo.modified))? {
            todo.push(photo);
        }
    }
    let unchanged = found.photos.len() - todo.len();
    // Analyses by content hash, so a copied, moved or merely touched file is not decoded again.
    // File-dated photos are left out: their date would be the old file's.
    let known: HashMap<String, PhotoInfo> = index
        .records()?
        .into_iter()
        .filter_map(|r| match r.outcome {
            Outcome::Analysed(info) if !info.meta.taken.is_file_time() => {
                Some((r.content_hash, *info))
            }
            _ => None,
        })
        .collect();

    let progress = if show_progress && !todo.is_empty() {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(
            "analysing {bar:30} {pos}/{len} photos, {eta} left  {wide_msg}",
        )
        .expect("the template is valid"),
    );
    let (mut analysed, mut copies) = (0, 0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(Record, bool)>();
    let stored: Result<(), IndexingError> = std::thread::scope(|s| {
        let (todo, known, stop) = (&todo, &known, &stop);
        s.spawn(move || {
            // Each rayon job makes one face detector (arena and weights) and reuses it for all of
            // its photos; rayon makes a few jobs per thread, not one per photo.
            todo.par_iter().for_each_init(
                || {
                    (
                        tx.clone(),
                        FaceDetector::new(DEFAULT_SCORE),
                        FaceEmbedder::new(),
                    )
                },
                |(tx, detector, embedder), photo| {
                    if !stop.load(Ordering::Relaxed) {
                        let _ = tx.send(analyse_file(photo, known, detector, embedder));
                    }
                },
            );
            drop(tx);
        });
        for (record, copied) in rx {
            if let Err(e) = index.put(&record) {
                // Tell the workers to stop; the channel drains as they notice.
                stop.store(true, Ordering::Relaxed);
                return Err(e.into());
            }
            if copied {
                copies += 1
            } else {
                analysed += 1
            }
            progress.set_message(record.rel);
            progress.inc(1);
        }
        Ok(())
    });
    progress.finish_and_clear();
    stored?;

    let present: HashSet<&str> = found.photos.iter().map(|p| p.rel.as_str()).collect();
    let removed = index.retain(&present)?;
    let records = index.records()?;
    Ok(IndexReport {
        root,
        index_path: index.path().to_path_buf(),
        opened,
        found: found.photos.len(),
        analysed,
        unchanged,
        copies,
        removed,
        skipped: found.skipped,
        problems: found.problems,
        records,
        lock,
    })
}

/// Reads, hashes and (unless its bytes are known) decodes and measures one photo. Returns the
/// record and whether it was a copy of known bytes.
fn analyse_file(
    photo: &FoundPhoto,
    known: &HashMap<String, PhotoInfo>,
    detector: &mut FaceDetector,
    embedder: &mut FaceEmbedder,
) -> (Record, bool) {
    // Size and time come from the scan, taken before reading: if the file changes while we read
    // it, the next run sees a newer time and analyses it again.
    let record = |content_hash: String, outcome| Record {
        rel: photo.rel.clone(),
        size: photo.size,
        modified_ns: nanos(photo.modified),
        content_hash,
        outcome,
    };
    let bytes = match fs::read(&photo.path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return (
                record(String::new(), Outcome::Failed(format!("cannot read: {e}"))),
                false,
            );
        }
    };
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if let Some(info) = known.get(&hash) {
        return (
            record(hash, Outcome::Analysed(Box::new(info.clone()))),
            true,
        );
    }
    let meta = PhotoMeta::read(&bytes, photo.modified);
    // One decode serves both: the detector's size, then a smaller copy for the measures, whose
    // thresholds were chosen at ANALYSIS_SIDE.
    let outcome = match decode_rgb(&bytes, photo.format, meta.orientation, DECODE_SIDE) {
        Ok(decoded) => {
            let faces: Vec<FaceBox> = detector
                .detect_decoded(&decoded)
                .faces
                .iter()
                .map(FaceBox::from)
                .collect();
            let descriptors = embedder.describe(&decoded, &faces);
            let small = Decoded {
                image: shrink(decoded.image, ANALYSIS_SIDE),
                ..decoded
            };
            let analysis = analyse(&small, meta.camera().is_some());
            Outcome::Analysed(Box::new(PhotoInfo {
                format: photo.format,
                meta,
                analysis,
                faces,
                descriptors,
            }))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    };
    (record(hash, outcome), false)
}

fn nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_the_epoch_are_negative() {
        assert_eq!(nanos(UNIX_EPOCH), 0);
        assert_eq!(
            nanos(UNIX_EPOCH - std::time::Duration::from_secs(1)),
            -1_000_000_000
        );
    }
}
