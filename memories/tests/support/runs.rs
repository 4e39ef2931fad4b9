//! What the crash and fault tests share: the index check run after every kill or failed write,
//! seeded delays, the files of an output folder, and a small tmpfs the test mounts.
//! Included by path (`#[path = "support/runs.rs"] mod runs;`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use memories_library::index::PhotoInfo;

/// xorshift64*, seeded: the same delays on every run of a test.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded(seed)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        let s = &mut self.0;
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Checks the index after a kill: SQLite's integrity check passes, and every photo row is
/// whole (its analysis parses, or it holds the problem that kept it from being analysed).
/// Returns the number of rows.
pub fn check_index(index: &Path) -> usize {
    if !index.exists() {
        return 0;
    }
    let conn = rusqlite::Connection::open(index).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", index.display());
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('schema_version', 'photos')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // Killed before the schema's one transaction committed: an empty database, which the next
    // run moves aside and rebuilds.
    if tables == 0 {
        return 0;
    }
    assert_eq!(tables, 2, "the schema appears whole or not at all");
    let mut stmt = conn
        .prepare("SELECT path, size, content_hash, info, problem FROM photos")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    for (path, size, hash, info, problem) in &rows {
        assert!(*size > 0, "{path}");
        match (info, problem) {
            (Some(info), None) => {
                assert_eq!(hash.len(), 64, "{path}");
                serde_json::from_str::<PhotoInfo>(info)
                    .unwrap_or_else(|e| panic!("{path}: analysis unreadable: {e}"));
            }
            (None, Some(problem)) => assert!(!problem.is_empty(), "{path}"),
            _ => panic!("{path}: a row has an analysis or a problem, never both or neither"),
        }
    }
    rows.len()
}

/// Starts `command` with its output thrown away, SIGKILLs it after `delay` (nothing in the
/// process runs after that), and reaps it. Returns whether it was still running when killed.
pub fn kill_after(command: &mut Command, delay: Duration) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

/// The rows of the index as (path, size, content hash, analysis JSON, problem), by path: what
/// must be equal between two indexes of the same folder.
pub fn index_rows(index: &Path) -> BTreeMap<String, (i64, String, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(index).unwrap();
    let mut stmt = conn
        .prepare("SELECT path, size, content_hash, info, problem FROM photos")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Every file directly in `dir`, by name, with its bytes.
pub fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A tmpfs this test mounted, of a chosen size; unmounted when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` at `path` (made if missing), read-only if asked. Where mounting
    /// is not allowed (not root, no CAP_SYS_ADMIN) it returns `None` after a message on stderr,
    /// unless `MEMORIES_REQUIRE_MOUNT=1` (set by `.ci/run`), where it panics: CI must not pass
    /// by skipping.
    pub fn mount(path: &Path, bytes: u64, read_only: bool) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let mut options = format!("size={}k,mode=0755", bytes.div_ceil(4096) * 4);
        if read_only {
            options += ",ro";
        }
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "memories-test"])
            .arg(path)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Tmpfs {
                path: path.to_path_buf(),
            }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                if std::env::var("MEMORIES_REQUIRE_MOUNT").is_ok_and(|v| v == "1") {
                    panic!(
                        "cannot mount a tmpfs ({why}) but MEMORIES_REQUIRE_MOUNT=1: run the tests as root"
                    );
                }
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: cannot mount a tmpfs here ({why}); run as root to test full disks"
                );
                None
            }
        }
    }

    /// Changes the size or the read-only flag of the mounted tmpfs; its files stay.
    pub fn remount(&self, bytes: u64, read_only: bool) {
        let options = format!(
            "remount,size={}k,{}",
            bytes.div_ceil(4096) * 4,
            if read_only { "ro" } else { "rw" }
        );
        let out = Command::new("mount")
            .args(["-o", &options])
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remount {}: {}",
            self.path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Every file under `dir`, by path below it, with its content hash: a photo folder before and
/// after a test must be the same, since Memories never writes into it.
pub fn tree_digest(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                let hash = blake3::hash(&std::fs::read(&path).unwrap_or_default());
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    hash.to_hex().to_string(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
