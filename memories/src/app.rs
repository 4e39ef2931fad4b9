//! One indexing pass over a photo folder, and the application's error type.
//!
//! The pass scans the folder, trusts index rows whose size and modification time still match,
//! analyses everything else on rayon's thread pool and stores each result on this thread as soon
//! as it arrives, so that killing the program loses at most the photos being analysed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use thiserror::Error;

use crate::analysis::{ANALYSIS_SIDE, Decoded, analyse, decode_rgb, shrink};
use crate::config::ConfigError;
use crate::embedding::FaceEmbedder;
use crate::faces::{DECODE_SIDE, DEFAULT_SCORE, FaceDetector};
use crate::index::{FaceBox, Index, IndexError, Opened, Outcome, PhotoInfo, Record};
use crate::metadata::PhotoMeta;
use crate::scan::{self, FoundPhoto, Problem, Skipped};

/// Everything that stops a run. Problems with single photos are not errors: they are reported
/// and the run goes on.
#[derive(Debug, Error)]
pub enum AppError {
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
    #[error(
        "output {} is inside the photo folder, which memories never writes to; choose a path outside it",
        path.display()
    )]
    OutputInsideFolder { path: PathBuf },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    People(#[from] crate::people::BookError),
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
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
    #[error(transparent)]
    Movie(#[from] crate::movie::MovieError),
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
}

/// Indexes `root`, storing the index at `index_path` or the default cache location.
pub fn index_folder(
    root: &Path,
    index_path: Option<&Path>,
    show_progress: bool,
) -> Result<IndexReport, AppError> {
    let root = root.canonicalize().map_err(|source| AppError::Folder {
        path: root.to_path_buf(),
        source,
    })?;
    if !root.is_dir() {
        return Err(AppError::NotAFolder { path: root });
    }
    let index_path = match index_path {
        Some(path) => path.to_path_buf(),
        None => crate::index::default_location(&root).ok_or(AppError::NoCacheDir)?,
    };
    // Rebuilding a bad index moves the file aside, so an index path inside the folder could
    // rename a photo; the folder is read-only to us.
    if file_inside_folder(&index_path, &root) {
        return Err(AppError::IndexInsideFolder { path: index_path });
    }
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
    let stored: Result<(), AppError> = std::thread::scope(|s| {
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

/// Whether the file `path` (which, like the folders above it, need not exist yet) would land
/// inside the folder `root`, once both are resolved: links and `..` cannot smuggle an output into
/// the photo folder, and neither can a folder the write would create first.
pub fn file_inside_folder(path: &Path, root: &Path) -> bool {
    let (Ok(path), Ok(root)) = (resolve(path), root.canonicalize()) else {
        return false;
    };
    path.starts_with(root)
}

/// `path` made absolute, with links, `.` and `..` resolved, even where it does not exist yet:
/// the part that exists is resolved by the file system, and the rest, which cannot hold a link,
/// by hand. So a folder that a write would create first is compared with the photo folder as
/// the place it will be.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = std::path::absolute(path)?;
    let mut rest = Vec::new();
    let mut resolved = loop {
        match existing.canonicalize() {
            Ok(resolved) => break resolved,
            Err(e) => {
                let Some(last) = existing.components().next_back() else {
                    return Err(e);
                };
                rest.push(last.as_os_str().to_owned());
                if !existing.pop() {
                    return Err(e);
                }
            }
        }
    };
    for part in rest.iter().rev() {
        match Path::new(part).components().next() {
            Some(std::path::Component::ParentDir) => {
                resolved.pop();
            }
            Some(std::path::Component::CurDir) | None => {}
            Some(_) => resolved.push(part),
        }
    }
    Ok(resolved)
}

/// Refuses to write `path` if it is inside the photo folder `root`.
pub fn check_output(path: &Path, root: &Path) -> Result<(), AppError> {
    if file_inside_folder(path, root) {
        return Err(AppError::OutputInsideFolder {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes `contents` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// readers see the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), AppError> {
    write_file_atomically(path, contents).map_err(|source| AppError::Output {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_atomically`] with the plain I/O error, for modules with their own error type.
pub fn write_file_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    // Readable like any file the user writes (the umask applies), not 0600 as temporary files
    // are by default: reports, posters and pages are for reading and sharing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"first version, longer").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o044, 0o044, "{mode:o}: others cannot read it");
        }
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary files left"
        );
        assert!(write_atomically(&dir.path().join("missing/out.txt"), b"x").is_err());
    }

    /// A write that fails part-way (here the file-size limit a full disk would give, set for a
    /// child process that runs [`atomic_write_cut_short`]) leaves the old file as it was and no
    /// temporary file behind.
    #[test]
    #[cfg(unix)]
    fn atomic_write_that_fails_halfway_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"the old report").unwrap();
        // The shell ignores SIGXFSZ (so the write fails with EFBIG rather than killing the
        // process) and limits files to 8 blocks (4 or 8 KiB), then becomes the test binary.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "app::tests::atomic_write_cut_short"])
            .args(["--ignored", "--nocapture", "--test-threads", "1"])
            .env("MEMORIES_TEST_ATOMIC_PATH", &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("write cut short: "),
            "{}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "the old report");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a file was left"
        );
    }

    /// Run only by [`atomic_write_that_fails_halfway_keeps_the_old_file`], under a file-size limit.
    #[test]
    #[ignore = "run by atomic_write_that_fails_halfway_keeps_the_old_file"]
    fn atomic_write_cut_short() {
        let path = std::env::var_os("MEMORIES_TEST_ATOMIC_PATH").expect("run by the parent test");
        let err = write_atomically(Path::new(&path), &vec![b'x'; 1 << 20]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("out.txt"), "{message}");
        println!("write cut short: {message}");
    }

    #[test]
    fn outputs_inside_the_folder_are_found_through_links_dots_and_folders_not_made_yet() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        fs::create_dir(&root).unwrap();
        let inside = |p: &Path| file_inside_folder(p, &root);
        assert!(inside(&root.join("i.sqlite")));
        // Folders the write would create first, before the check could see them.
        assert!(inside(&root.join("new/deeper/i.sqlite")));
        assert!(inside(&dir.path().join("elsewhere/../photos/new/i.sqlite")));
        assert!(!inside(&dir.path().join("cache/new/i.sqlite")));
        assert!(!inside(&dir.path().join("photos-2/i.sqlite")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&root, dir.path().join("link")).unwrap();
            assert!(inside(&dir.path().join("link/new/i.sqlite")));
        }
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
