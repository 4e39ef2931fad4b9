//! The SQLite index of analysed photos, kept outside the photo folder.
//!
//! One row per photo, keyed by its path below the folder, with the size, modification time and
//! BLAKE3 hash of the bytes it was analysed from. A row whose size and time still match is
//! trusted without reading the file; a file whose bytes match another row's hash (a copy or a
//! move) reuses that analysis. Rows are written one by one in autocommit mode, so a run killed
//! half-way keeps everything it finished. The index is a cache: when it is unreadable, belongs
//! to another program or has an older schema, it is moved aside and rebuilt, never patched. An
//! index of a newer schema is refused and left alone. One run at a time uses an index: a
//! [`RunLock`] on a file beside it makes a second run wait.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::analysis::Analysis;
use crate::metadata::PhotoMeta;
use crate::scan::Format;
use memories_vision::faces::FaceBox;

/// Bump when the table layout or the meaning of stored analysis changes; older indexes are then
/// rebuilt rather than migrated, since everything in them can be recomputed.
/// Version 2 added the faces of each photo; version 3 their landmarks and identity descriptors;
/// version 4 finds them with YuNet instead of the face student.
pub const SCHEMA_VERSION: i64 = 4;
const APP: &str = "memories";

#[derive(Debug, Error)]
pub enum IndexError {
    #[error("index {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("index {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "index {} was written by a newer memories (schema version {version}; this one reads {SCHEMA_VERSION}): run the newer memories, or give this one another index with --cache",
        path.display()
    )]
    Newer { path: PathBuf, version: i64 },
    #[error(
        "cache folder {} is not a folder, so the index {} cannot be kept there; choose another --cache",
        folder.display(),
        index.display()
    )]
    CacheNotAFolder { folder: PathBuf, index: PathBuf },
    #[error("index {}: this process is already using it (an earlier report still holds it)", path.display())]
    InUse { path: PathBuf },
    #[error("index {}: stored analysis of {rel} is unreadable: {source}", path.display())]
    Row {
        path: PathBuf,
        rel: String,
        source: serde_json::Error,
    },
}

/// What analysing one photo produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoInfo {
    pub format: Format,
    pub meta: PhotoMeta,
    pub analysis: Analysis,
    /// Faces the detector found, in full-resolution upright pixels, best first.
    pub faces: Vec<FaceBox>,
    /// The identity descriptor of each face with landmarks, in the order of `faces` (`None`
    /// for a face without landmarks).
    #[serde(default)]
    pub descriptors: Vec<Option<Vec<f32>>>,
    /// For a clip ([`Format::Video`]): its length, codec and the frame the measures and faces
    /// come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<crate::clips::ClipInfo>,
    /// For a motion photo (a still with its video inside, as Samsung writes): that video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_motion: Option<crate::clips::ClipInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Analysed(Box<PhotoInfo>),
    /// The file could not be decoded; kept so later runs do not retry an unchanged broken file.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Path below the photo folder, `/`-separated.
    pub rel: String,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub modified_ns: i64,
    /// BLAKE3 of the file's bytes, hex.
    pub content_hash: String,
    pub outcome: Outcome,
}

/// How [`Index::open`] found the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Existing,
    Created,
    /// The old file was not a usable index; it now lives at `moved_to`.
    Rebuilt {
        moved_to: PathBuf,
        reason: String,
    },
}

#[derive(Debug)]
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

/// One run's exclusive hold on an index and the files beside it (the people book and face
/// graph), taken before the index is opened and released when dropped. The operating system
/// releases it when the process dies, so a killed run never leaves a stale lock.
#[derive(Debug)]
pub struct RunLock {
    _file: fs::File,
    path: PathBuf,
}

/// Lock files this process holds: a second lock of one of them would wait for itself.
static HELD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

impl Drop for RunLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|p| *p != self.path);
    }
}

impl RunLock {
    /// Where the lock of the index at `index_path` lives.
    pub fn path(index_path: &Path) -> PathBuf {
        let mut name = index_path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        index_path.with_file_name(name)
    }

    /// Takes the lock of the index at `index_path`. When another run holds it, calls `waiting`
    /// once and waits for that run to end.
    pub fn take(index_path: &Path, waiting: impl FnOnce(&Path)) -> Result<RunLock, IndexError> {
        let path = Self::path(index_path);
        let io = |source| IndexError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A file in the way gives "File exists" from mkdir: say what it means.
            let in_the_way = parent
                .ancestors()
                .find(|p| p.exists())
                .filter(|p| !p.is_dir());
            if let Some(folder) = in_the_way {
                return Err(IndexError::CacheNotAFolder {
                    folder: folder.to_path_buf(),
                    index: index_path.to_path_buf(),
                });
            }
            fs::create_dir_all(parent).map_err(io)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let canonical = path.canonicalize().map_err(io)?;
        if HELD
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&canonical)
        {
            return Err(IndexError::InUse {
                path: index_path.to_path_buf(),
            });
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                waiting(index_path);
                file.lock().map_err(io)?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(canonical.clone());
        Ok(RunLock {
            _file: file,
            path: canonical,
        })
    }
}

/// The default index file for a folder: in the user's cache directory, named after the folder
/// and a hash of its canonical path, so two folders called `Photos` do not share an index.
pub fn default_location(canonical_root: &Path) -> Option<PathBuf> {
    let name: String = canonical_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_string())
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = blake3::hash(canonical_root.as_os_str().as_encoded_bytes()).to_hex();
    Some(
        dirs::cache_dir()?
            .join("memories")
            .join(format!("{name}-{}.sqlite", &hash[..16])),
    )
}

impl Index {
    /// Opens the index at `path`, creating it (and its folder) when missing and rebuilding it
    /// when the file there is not a current memories index.
    ///
    /// `detector` names the face detector this run uses: an index whose faces another one found
    /// is rebuilt.
    pub fn open(path: &Path, detector: &str) -> Result<(Index, Opened), IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io)?;
        }
        let mut opened = Opened::Created;
        if path.exists() {
            match Self::open_existing(path, detector)? {
                Ok(index) => return Ok((index, Opened::Existing)),
                Err(reason) => {
                    let moved_to = move_aside(path).map_err(io)?;
                    opened = Opened::Rebuilt { moved_to, reason };
                }
            }
        }
        let index = Self::create(path, detector)?;
        Ok((index, opened))
    }

    /// `Ok(Err(reason))` when the file is not a usable index; `Err` for failures that say
    /// nothing about the file (it is locked, or we may not read it), which must not cost the
    /// user their index.
    fn open_existing(path: &Path, detector: &str) -> Result<Result<Index, String>, IndexError> {
        let sql = |source| IndexError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql)?;
        let version = conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .and_then(|()| conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)))
            .and_then(|check| {
                if check != "ok" {
                    return Ok(Err(format!("damaged ({check})")));
                }
                conn.query_row("SELECT app, version FROM schema_version", [], |r| {
                    Ok(Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                })
            });
        let reason = match version {
            Ok(Ok((app, SCHEMA_VERSION))) if app == APP => {
                let found: Option<String> = conn
                    .query_row("SELECT name FROM detector", [], |r| r.get(0))
                    .ok();
                if found.as_deref() != Some(detector) {
                    return Ok(Err(format!(
                        "its faces were found by the {} detector, and this run uses {detector}",
                        found.as_deref().unwrap_or("unknown")
                    )));
                }
                let index = Index {
                    conn,
                    path: path.to_path_buf(),
                };
                index.configure()?;
                return Ok(Ok(index));
            }
            // Rebuilding would throw away what a newer program stored and hand it back an
            // index of the old schema: refused, and the file is left as it is.
            Ok(Ok((app, version))) if app == APP && version > SCHEMA_VERSION => {
                return Err(IndexError::Newer {
                    path: path.to_path_buf(),
                    version,
                });
            }
            Ok(Ok((app, version))) if app == APP => {
                format!("it has schema version {version}, this program uses {SCHEMA_VERSION}")
            }
            Ok(Ok((app, _))) => format!("it belongs to another program ({app:?})"),
            Ok(Err(reason)) => reason,
            Err(e) if is_not_ours(&e) => format!("it is not a memories index ({e})"),
            Err(e) => return Err(sql(e)),
        };
        Ok(Err(reason))
    }

    fn create(path: &Path, detector: &str) -> Result<Index, IndexError> {
        let sql = |source| IndexError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        // The schema and its version row appear together or not at all.
        let tx = conn.transaction().map_err(sql)?;
        tx.execute_batch(
            "CREATE TABLE schema_version (app TEXT NOT NULL, version INTEGER NOT NULL);
             CREATE TABLE detector (name TEXT NOT NULL);
             CREATE TABLE photos (
                 path TEXT PRIMARY KEY,
                 size INTEGER NOT NULL,
                 modified_ns INTEGER NOT NULL,
                 content_hash TEXT NOT NULL,
                 info TEXT,
                 problem TEXT,
                 CHECK ((info IS NULL) <> (problem IS NULL))
             );
             CREATE INDEX photos_by_hash ON photos (content_hash);",
        )
        .and_then(|()| {
            tx.execute(
                "INSERT INTO schema_version VALUES (?1, ?2)",
                params![APP, SCHEMA_VERSION],
            )
        })
        .and_then(|_| tx.execute("INSERT INTO detector VALUES (?1)", params![detector]))
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        let index = Index {
            conn,
            path: path.to_path_buf(),
        };
        index.configure()?;
        Ok(index)
    }

    /// WAL with `synchronous = NORMAL` makes each per-photo commit cheap (no fsync per row) while
    /// a killed process still loses nothing it committed; only a power cut can drop the last few.
    fn configure(&self) -> Result<(), IndexError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .and_then(|()| {
                self.conn
                    .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            })
            .and_then(|()| self.conn.execute_batch("PRAGMA synchronous = NORMAL"))
            .map_err(|source| self.sql(source))
    }

    fn sql(&self, source: rusqlite::Error) -> IndexError {
        IndexError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All rows, in path order.
    pub fn records(&self) -> Result<Vec<Record>, IndexError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, size, modified_ns, content_hash, info, problem FROM photos \
                 ORDER BY path",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut records = Vec::new();
        for row in rows {
            let (rel, size, modified_ns, content_hash, info, problem) =
                row.map_err(|e| self.sql(e))?;
            let outcome = match (info, problem) {
                (Some(info), _) => match serde_json::from_str(&info) {
                    Ok(info) => Outcome::Analysed(Box::new(info)),
                    Err(source) => {
                        return Err(IndexError::Row {
                            path: self.path.clone(),
                            rel,
                            source,
                        });
                    }
                },
                (None, problem) => Outcome::Failed(problem.unwrap_or_default()),
            };
            records.push(Record {
                rel,
                size: size as u64,
                modified_ns,
                content_hash,
                outcome,
            });
        }
        Ok(records)
    }

    /// Stores one record, replacing any row for the same path; committed when it returns.
    pub fn put(&self, record: &Record) -> Result<(), IndexError> {
        let (info, problem) = match &record.outcome {
            Outcome::Analysed(info) => (
                Some(serde_json::to_string(info).expect("PhotoInfo always serialises")),
                None,
            ),
            Outcome::Failed(problem) => (None, Some(problem.as_str())),
        };
        self.conn
            .execute(
                "INSERT OR REPLACE INTO photos VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    record.rel,
                    record.size as i64,
                    record.modified_ns,
                    record.content_hash,
                    info,
                    problem
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Drops rows of files no longer in the folder; returns how many.
    pub fn retain(&mut self, present: &HashSet<&str>) -> Result<usize, IndexError> {
        let path = self.path.clone();
        let sql = |source| IndexError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let stored: Vec<String> = {
            let mut stmt = tx.prepare("SELECT path FROM photos").map_err(sql)?;
            stmt.query_map([], |r| r.get(0))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?
        };
        let mut removed = 0;
        for rel in stored.iter().filter(|rel| !present.contains(rel.as_str())) {
            removed += tx
                .execute("DELETE FROM photos WHERE path = ?1", [rel])
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(removed)
    }

    /// A stored row for `rel` if it still has this size and modification time.
    pub fn fresh(&self, rel: &str, size: u64, modified_ns: i64) -> Result<bool, IndexError> {
        self.conn
            .query_row(
                "SELECT 1 FROM photos WHERE path = ?1 AND size = ?2 AND modified_ns = ?3",
                params![rel, size as i64, modified_ns],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.sql(e))
    }
}

fn is_not_ours(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, message) => match f.code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => true,
            // "no such table" and friends: a valid SQLite file of some other program.
            ErrorCode::Unknown => message.as_deref().is_some_and(|m| m.contains("no such")),
            _ => false,
        },
        rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::QueryReturnedNoRows => true,
        _ => false,
    }
}

/// Renames `path` (and SQLite's side files, which belong to it) to a free `.broken-N` name.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let moved = (1..)
        .map(|n| with_suffix(&format!(".broken-{n}")))
        .find(|p| !p.exists())
        .expect("some suffix is free");
    fs::rename(path, &moved)?;
    for side in ["-wal", "-shm"] {
        let from = with_suffix(side);
        if from.exists() {
            let mut to = moved.as_os_str().to_owned();
            to.push(side);
            fs::rename(from, to)?;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(rel: &str, outcome: Outcome) -> Record {
        Record {
            rel: rel.to_string(),
            size: 10,
            modified_ns: 20,
            content_hash: "ab".into(),
            outcome,
        }
    }

    /// Writes `existing` bytes at the index path (if any), opens it and reports how it was found.
    fn check_open(existing: Option<&[u8]>, expect: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/index.sqlite");
        if let Some(bytes) = existing {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, bytes).unwrap();
        }
        let (index, opened) = Index::open(&path, "yunet").unwrap();
        let got = match opened {
            Opened::Existing => "existing".to_string(),
            Opened::Created => "created".to_string(),
            Opened::Rebuilt { moved_to, reason } => {
                assert!(moved_to.exists());
                format!("rebuilt: {reason}")
            }
        };
        assert!(got.starts_with(expect), "{got}");
        index
            .put(&record("a.jpg", Outcome::Failed("x".into())))
            .unwrap();
        assert_eq!(index.records().unwrap().len(), 1);
    }

    #[test]
    fn opening() {
        check_open(None, "created");
        check_open(
            Some(b"this is not sqlite at all, just some text that is long enough"),
            "rebuilt: it is not a memories index",
        );
        // An empty file is what a crash before the first commit leaves behind.
        check_open(Some(b""), "rebuilt: it is not a memories index");
    }

    #[test]
    fn foreign_and_outdated_databases_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE other (x)")
            .unwrap();
        let (_, opened) = Index::open(&path, "yunet").unwrap();
        assert!(matches!(opened, Opened::Rebuilt { .. }), "{opened:?}");

        let (index, _) = Index::open(&path, "yunet").unwrap();
        index
            .conn
            .execute("UPDATE schema_version SET version = 0", [])
            .unwrap();
        drop(index);
        let (_, opened) = Index::open(&path, "yunet").unwrap();
        let Opened::Rebuilt { reason, .. } = opened else {
            panic!("{opened:?}")
        };
        assert_eq!(
            reason,
            format!("it has schema version 0, this program uses {SCHEMA_VERSION}")
        );
        let (_, opened) = Index::open(&path, "yunet").unwrap();
        assert_eq!(opened, Opened::Existing);
    }

    #[test]
    fn an_index_made_with_another_detector_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let (index, _) = Index::open(&path, "student").unwrap();
        index
            .put(&record("a.jpg", Outcome::Failed("x".into())))
            .unwrap();
        drop(index);
        let (index, opened) = Index::open(&path, "yunet").unwrap();
        let Opened::Rebuilt { reason, .. } = opened else {
            panic!("{opened:?}")
        };
        assert_eq!(
            reason,
            "its faces were found by the student detector, and this run uses yunet"
        );
        assert!(index.records().unwrap().is_empty());
        drop(index);
        let (_, opened) = Index::open(&path, "yunet").unwrap();
        assert_eq!(opened, Opened::Existing);
    }

    #[test]
    fn a_newer_index_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let (index, _) = Index::open(&path, "yunet").unwrap();
        index
            .put(&record("a.jpg", Outcome::Failed("x".into())))
            .unwrap();
        index
            .conn
            .execute(
                "UPDATE schema_version SET version = ?1",
                [SCHEMA_VERSION + 1],
            )
            .unwrap();
        drop(index);
        let before = std::fs::read(&path).unwrap();
        let err = Index::open(&path, "yunet")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("newer memories")
                && err.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
                && err.contains("index.sqlite"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_second_lock_in_one_process_is_an_error_not_a_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let lock = RunLock::take(&path, |_| panic!("nothing else holds it")).unwrap();
        let err = RunLock::take(&path, |_| panic!("must not wait for itself"))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("already using it"), "{err}");
        drop(lock);
        RunLock::take(&path, |_| panic!("released")).unwrap();
    }

    #[test]
    fn rows_round_trip_and_vanished_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = Index::open(&dir.path().join("i.sqlite"), "yunet").unwrap();
        index
            .put(&record("b.jpg", Outcome::Failed("corrupt".into())))
            .unwrap();
        index
            .put(&record("a.jpg", Outcome::Failed("first".into())))
            .unwrap();
        index
            .put(&record("a.jpg", Outcome::Failed("second".into())))
            .unwrap();
        assert!(index.fresh("a.jpg", 10, 20).unwrap());
        assert!(!index.fresh("a.jpg", 10, 21).unwrap());
        let got: Vec<_> = index
            .records()
            .unwrap()
            .into_iter()
            .map(|r| (r.rel, r.outcome))
            .collect();
        assert_eq!(
            got,
            [
                ("a.jpg".to_string(), Outcome::Failed("second".into())),
                ("b.jpg".to_string(), Outcome::Failed("corrupt".into()))
            ]
        );
        assert_eq!(index.retain(&["b.jpg"].into()).unwrap(), 1);
        assert_eq!(index.records().unwrap().len(), 1);
    }

    #[test]
    fn default_location_differs_per_folder() {
        let a = default_location(Path::new("/home/me/Photos"));
        let b = default_location(Path::new("/mnt/old/Photos"));
        let (a, b) = (
            a.expect("a cache folder ($HOME is set)"),
            b.expect("a cache folder"),
        );
        assert_ne!(a, b);
        assert_eq!(a.parent(), b.parent());
        assert!(
            a.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("Photos-"),
            "{}",
            a.display()
        );
    }

    /// An index whose pages are damaged (SQLite's `quick_check` finds it) is moved aside whole
    /// and a new one built in its place.
    #[test]
    fn damaged_index_is_moved_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let (index, _) = Index::open(&path, "yunet").unwrap();
        for n in 0..300 {
            let problem = format!("{n:0>200}");
            index
                .put(&record(&format!("p{n:04}.jpg"), Outcome::Failed(problem)))
                .unwrap();
        }
        drop(index); // the last connection checkpoints the WAL into the file
        let mut bytes = fs::read(&path).unwrap();
        assert!(bytes.len() >= 8 * 4096, "{} bytes", bytes.len());
        // Page 6's cell pointers (just after its 8-byte header) point past the page's end.
        let at = 5 * 4096 + 8;
        bytes[at..at + 4].fill(0xff);
        fs::write(&path, &bytes).unwrap();

        let (index, opened) = Index::open(&path, "yunet").unwrap();
        let Opened::Rebuilt { moved_to, reason } = opened else {
            panic!("{opened:?}")
        };
        assert!(
            reason.starts_with("damaged (*** in database main ***"),
            "{reason}"
        );
        assert_eq!(moved_to, dir.path().join("i.sqlite.broken-1"));
        assert_eq!(fs::read(&moved_to).unwrap(), bytes);
        assert!(index.records().unwrap().is_empty());
    }

    /// Failures that say nothing about the file never cost the user their index: a file another
    /// process holds locked, or a path that cannot be opened, is an error and stays where it is.
    #[test]
    fn locked_or_unopenable_index_is_an_error_and_stays_put() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let (index, _) = Index::open(&path, "yunet").unwrap();
        index
            .put(&record("a.jpg", Outcome::Failed("x".into())))
            .unwrap();
        drop(index);
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; \
                 UPDATE photos SET problem = 'y'; COMMIT;",
            )
            .unwrap();
        // Waits out the busy timeout (10 s), then gives up.
        let err = Index::open(&path, "yunet").unwrap_err().to_string();
        assert!(err.contains("i.sqlite") && err.contains("locked"), "{err}");
        drop(holder);
        let listing = |dir: &Path| {
            let mut names: Vec<String> = fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert!(!listing(dir.path()).iter().any(|n| n.contains("broken")));
        let (index, opened) = Index::open(&path, "yunet").unwrap();
        assert_eq!(opened, Opened::Existing);
        assert_eq!(index.records().unwrap().len(), 1);

        // A folder where the index should be: SQLite cannot open it, and it is not moved.
        let folder = dir.path().join("folder.sqlite");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("keep"), "mine").unwrap();
        let err = Index::open(&folder, "yunet").unwrap_err().to_string();
        assert!(err.contains("folder.sqlite"), "{err}");
        assert_eq!(fs::read_to_string(folder.join("keep")).unwrap(), "mine");
        assert!(!listing(dir.path()).iter().any(|n| n.contains("broken")));
    }
}
