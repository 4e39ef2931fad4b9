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
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::{DECODE_SIDE, DEFAULT_MODEL, FaceBox, FaceDetector, Model};
use memories_vision::{Decoded, Networks};

use crate::analysis::{ANALYSIS_SIDE, analyse, decode_rgb, shrink};
use crate::clips;
use crate::index::{Index, IndexError, Opened, Outcome, PhotoInfo, Record, RunLock};
use crate::metadata::PhotoMeta;
use crate::scan::{self, Format, FoundPhoto, Problem, Skipped};

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

/// Indexes `root` with the default face detector of `networks` (Memories' are
/// `memories_networks::NETWORKS`), storing the index at `index_path` or the default cache
/// location.
pub fn index_folder(
    root: &Path,
    index_path: Option<&Path>,
    show_progress: bool,
    networks: &Networks,
) -> Result<IndexReport, IndexingError> {
    index_folder_with(root, index_path, show_progress, networks, DEFAULT_MODEL)
}

/// Indexes `root`, finding faces with `networks`' `detector`. An index whose faces another
/// detector found is rebuilt (every photo analysed again), as for a schema change.
pub fn index_folder_with(
    root: &Path,
    index_path: Option<&Path>,
    show_progress: bool,
    networks: &Networks,
    detector: Model,
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
    // The people book and face graph beside the index are written atomically; a run killed
    // while writing one leaves its temporary file, cleared here under the run lock.
    if let (Some(dir), Some(name)) = (index_path.parent(), index_path.file_name()) {
        let name = name.to_string_lossy();
        let ours = |target: &str| {
            target
                .strip_prefix(name.as_ref())
                .is_some_and(|rest| matches!(rest, ".people.json" | ".faces"))
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        memories_fs::remove_leftovers(dir, ours).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let found = scan::scan(&root);
    let (mut index, opened) = Index::open(&index_path, detector.name())?;

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
    // Photos that changed or vanished while they were read: not stored this run.
    let mut unsettled: Vec<(String, Unsettled)> = Vec::new();
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Analysed>();
    let stored: Result<(), IndexingError> = std::thread::scope(|s| {
        let (todo, known, stop) = (&todo, &known, &stop);
        let describe = detector.describe_score();
        s.spawn(move || {
            // Each rayon job makes one face detector (arena and weights) and reuses it for all of
            // its photos; rayon makes a few jobs per thread, not one per photo.
            todo.par_iter().for_each_init(
                || {
                    (
                        tx.clone(),
                        FaceDetector::compiled(networks, detector, detector.default_score()),
                        FaceEmbedder::new(networks),
                    )
                },
                |(tx, finder, embedder), photo| {
                    if !stop.load(Ordering::Relaxed) {
                        let _ = tx.send(analyse_file(photo, known, finder, describe, embedder));
                    }
                },
            );
            drop(tx);
        });
        for analysed_file in rx {
            let (record, copied) = match analysed_file {
                Analysed::Stored(record, copied) => (record, copied),
                Analysed::Unsettled(rel, why) => {
                    progress.inc(1);
                    unsettled.push((rel, why));
                    continue;
                }
            };
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

    // A photo gone while it was read is gone from the index too; one that changed keeps its
    // old row, which no longer matches its size or time, so the next run reads it again.
    let gone: HashSet<&str> = unsettled
        .iter()
        .filter(|(_, why)| *why == Unsettled::Gone)
        .map(|(rel, _)| rel.as_str())
        .collect();
    let present: HashSet<&str> = found
        .photos
        .iter()
        .map(|p| p.rel.as_str())
        .filter(|rel| !gone.contains(rel))
        .collect();
    let removed = index.retain(&present)?;
    let records = index.records()?;
    let mut problems = found.problems;
    problems.extend(unsettled.into_iter().map(|(rel, why)| Problem {
        rel,
        problem: why.to_string(),
    }));
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
        problems,
        records,
        lock,
    })
}

/// What analysing one file gave the storing thread.
enum Analysed {
    /// A record to store, and whether it was a copy of known bytes.
    Stored(Record, bool),
    /// Nothing to store this run.
    Unsettled(String, Unsettled),
}

/// Why a photo could not be read as one whole version of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Unsettled {
    #[error("changed while it was being read; it will be read again on the next run")]
    Changed,
    #[error("disappeared while the folder was being indexed")]
    Gone,
}

/// How reading a photo went.
#[derive(Debug)]
pub enum ReadPhoto {
    Whole(Vec<u8>),
    Unsettled(Unsettled),
    Failed(std::io::Error),
}

/// Reads `photo` whole, and makes sure that what was read is one version of it: the file must be
/// the size and age the scan saw before the read, the same size and age after it, still under
/// its path, and the bytes read its whole length. Otherwise someone is writing, replacing or
/// deleting it, and it is left for the next run. `after_read` runs between the read and the
/// checks after it: nothing in a real run, a test's change to the file in the tests.
pub fn read_photo(photo: &FoundPhoto, after_read: impl FnOnce()) -> ReadPhoto {
    use std::io::Read;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;

    let gone_or_failed = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadPhoto::Unsettled(Unsettled::Gone)
        } else {
            ReadPhoto::Failed(e)
        }
    };
    let mut file = match fs::File::open(&photo.path) {
        Ok(file) => file,
        Err(e) => return gone_or_failed(e),
    };
    let stamp = |m: &fs::Metadata| {
        #[cfg(unix)]
        let id = (m.dev(), m.ino());
        #[cfg(not(unix))]
        let id = (0u64, 0u64);
        (m.len(), m.modified().ok(), id)
    };
    let before = match file.metadata() {
        Ok(m) => stamp(&m),
        Err(e) => return ReadPhoto::Failed(e),
    };
    if (before.0, before.1) != (photo.size, Some(photo.modified)) {
        return ReadPhoto::Unsettled(Unsettled::Changed);
    }
    let mut bytes = Vec::with_capacity(photo.size as usize);
    if let Err(e) = file.read_to_end(&mut bytes) {
        return ReadPhoto::Failed(e);
    }
    after_read();
    let after = match file.metadata() {
        Ok(m) => stamp(&m),
        Err(e) => return ReadPhoto::Failed(e),
    };
    let under_path = match fs::metadata(&photo.path) {
        Ok(m) => stamp(&m),
        Err(e) => return gone_or_failed(e),
    };
    if after != before || under_path != before || bytes.len() as u64 != before.0 {
        return ReadPhoto::Unsettled(Unsettled::Changed);
    }
    ReadPhoto::Whole(bytes)
}

/// Reads, hashes and (unless its bytes are known) decodes and measures one photo.
fn analyse_file(
    photo: &FoundPhoto,
    known: &HashMap<String, PhotoInfo>,
    detector: &mut FaceDetector,
    describe_score: f32,
    embedder: &mut FaceEmbedder,
) -> Analysed {
    // Size and time come from the scan, and the read checks that the file still has them.
    let record = |content_hash: String, outcome| scanned_record(photo, content_hash, outcome);
    if photo.format == Format::Video {
        return analyse_clip(photo, known, detector, describe_score, embedder);
    }
    let bytes = match read_photo(photo, || {}) {
        ReadPhoto::Whole(bytes) => bytes,
        ReadPhoto::Unsettled(why) => return Analysed::Unsettled(photo.rel.clone(), why),
        ReadPhoto::Failed(e) => {
            return Analysed::Stored(
                record(String::new(), Outcome::Failed(format!("cannot read: {e}"))),
                false,
            );
        }
    };
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if let Some(info) = known.get(&hash) {
        return Analysed::Stored(
            record(hash, Outcome::Analysed(Box::new(info.clone()))),
            true,
        );
    }
    let meta = PhotoMeta::read(&bytes, photo.modified);
    // One decode serves both: the detector's size, then a smaller copy for the measures, whose
    // thresholds were chosen at ANALYSIS_SIDE.
    let outcome = match decode_rgb(&bytes, photo.format, meta.orientation, DECODE_SIDE) {
        Ok(decoded) => {
            let faces = find_faces(detector, &decoded);
            let descriptors = embedder.describe(&decoded, &faces, describe_score);
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
                clip: None,
                embedded_motion: clips::embedded_motion(&photo.path, &bytes),
            }))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    };
    Analysed::Stored(record(hash, outcome), false)
}

/// Reads a clip's container and measures a few of its frames ([`clips`]): the same record as a
/// photo's, from the frame with the most faces. Only the container and those frames are read.
/// The file must be the size and age the scan saw before and after, as for a photo.
fn analyse_clip(
    photo: &FoundPhoto,
    known: &HashMap<String, PhotoInfo>,
    detector: &mut FaceDetector,
    describe_score: f32,
    embedder: &mut FaceEmbedder,
) -> Analysed {
    let record = |content_hash: String, outcome| scanned_record(photo, content_hash, outcome);
    let failed = |why: String| Analysed::Stored(record(String::new(), Outcome::Failed(why)), false);
    let stamp = |path: &Path| {
        fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    if stamp(&photo.path) != Some((photo.size, Some(photo.modified))) {
        return Analysed::Unsettled(photo.rel.clone(), Unsettled::Changed);
    }
    let (mut file, clip) = match clips::open(&photo.path, 0, photo.size) {
        Ok(opened) => opened,
        Err(why) => return failed(why),
    };
    let hash = clips::fingerprint(&clip, photo.size);
    if let Some(info) = known.get(&hash) {
        return Analysed::Stored(
            record(hash, Outcome::Analysed(Box::new(info.clone()))),
            true,
        );
    }
    let probes = clips::probe_frames(&mut file, &clip, DECODE_SIDE);
    if stamp(&photo.path) != Some((photo.size, Some(photo.modified))) {
        return Analysed::Unsettled(photo.rel.clone(), Unsettled::Changed);
    }
    let probes = match probes {
        Ok(probes) if !probes.is_empty() => probes,
        Ok(_) => return failed("no frame could be decoded".to_string()),
        Err(why) => return failed(why),
    };
    let meta = clips::meta(&clip, photo.modified);
    let best = probes
        .into_iter()
        .map(|(sample, decoded)| {
            let faces = find_faces(detector, &decoded);
            let small = Decoded {
                image: shrink(decoded.image.clone(), ANALYSIS_SIDE),
                ..decoded
            };
            // A clip counts as camera footage even without a make and model (Android writes
            // none): a 1080p frame of a plain wall is otherwise "screen-sized and flat", a
            // screenshot. Screen recordings that look like documents are still caught.
            let analysis = analyse(&small, true);
            (sample, decoded, faces, analysis)
        })
        .max_by(|a, b| {
            (a.2.len(), a.3.quality())
                .partial_cmp(&(b.2.len(), b.3.quality()))
                .unwrap_or(std::cmp::Ordering::Equal)
                // The earlier probe wins a tie.
                .then(b.0.cmp(&a.0))
        })
        .expect("at least one probe");
    let (sample, decoded, faces, analysis) = best;
    let descriptors = embedder.describe(&decoded, &faces, describe_score);
    let outcome = Outcome::Analysed(Box::new(PhotoInfo {
        format: photo.format,
        meta,
        analysis,
        faces,
        descriptors,
        clip: Some(clips::info(&clip, sample)),
        embedded_motion: None,
    }));
    Analysed::Stored(record(hash, outcome), false)
}

/// The faces the detector finds in a decoded photo or frame, best first.
fn find_faces(detector: &mut FaceDetector, decoded: &Decoded) -> Vec<FaceBox> {
    detector
        .detect_decoded(decoded)
        .faces
        .iter()
        .map(FaceBox::from)
        .collect()
}

/// The index row of `photo` with the size and time the scan saw.
fn scanned_record(photo: &FoundPhoto, content_hash: String, outcome: Outcome) -> Record {
    Record {
        rel: photo.rel.clone(),
        size: photo.size,
        modified_ns: nanos(photo.modified),
        content_hash,
        outcome,
    }
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

    /// A photo file as the scan found it.
    fn scanned(dir: &Path, name: &str, bytes: &[u8]) -> FoundPhoto {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        let meta = fs::metadata(&path).unwrap();
        FoundPhoto {
            path,
            rel: name.to_string(),
            format: crate::scan::Format::Jpeg,
            size: meta.len(),
            modified: meta.modified().unwrap(),
        }
    }

    fn outcome(read: ReadPhoto) -> String {
        match read {
            ReadPhoto::Whole(bytes) => format!("whole {}", bytes.len()),
            ReadPhoto::Unsettled(why) => format!("{why:?}"),
            ReadPhoto::Failed(e) => format!("failed {e}"),
        }
    }

    #[test]
    fn a_photo_that_changes_or_vanishes_while_it_is_read_is_left_for_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let photo = scanned(dir.path(), "a.jpg", b"the whole photo");
        assert_eq!(outcome(read_photo(&photo, || {})), "whole 15");

        // Appended to while read.
        let grown = || {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&photo.path)
                .unwrap();
            std::io::Write::write_all(&mut f, b" and more").unwrap();
        };
        assert_eq!(outcome(read_photo(&photo, grown)), "Changed");

        // Replaced by another file of the same size and time (an editor's save by rename).
        let photo = scanned(dir.path(), "b.jpg", b"version one");
        let replaced = || {
            let other = dir.path().join("b.jpg.new");
            fs::write(&other, b"version two").unwrap();
            fs::File::options()
                .write(true)
                .open(&other)
                .unwrap()
                .set_modified(photo.modified)
                .unwrap();
            fs::rename(&other, &photo.path).unwrap();
        };
        assert_eq!(outcome(read_photo(&photo, replaced)), "Changed");

        // Deleted while read, or between the scan and the read.
        let photo = scanned(dir.path(), "c.jpg", b"soon gone");
        let deleted = || fs::remove_file(&photo.path).unwrap();
        assert_eq!(outcome(read_photo(&photo, deleted)), "Gone");
        assert_eq!(outcome(read_photo(&photo, || {})), "Gone");

        // Changed between the scan and the read.
        let photo = scanned(dir.path(), "d.jpg", b"as scanned");
        fs::write(&photo.path, b"rewritten since, longer").unwrap();
        assert_eq!(outcome(read_photo(&photo, || {})), "Changed");
    }

    #[test]
    fn times_before_the_epoch_are_negative() {
        assert_eq!(nanos(UNIX_EPOCH), 0);
        assert_eq!(
            nanos(UNIX_EPOCH - std::time::Duration::from_secs(1)),
            -1_000_000_000
        );
    }
}
