//! Crash safety: `memories plan` killed with SIGKILL at seeded moments while it indexes the demo
//! folder, clusters its faces and writes the people files. After every kill the index passes
//! SQLite's integrity check and every photo row is whole; the next run finishes; and the plan
//! of the run that finally completes equals the plan of a run never interrupted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use memories_library::index::PhotoInfo;

/// The date the plans are made for (see `cli.rs`).
const TODAY: &str = "2026-11-28";
/// Five runs from an empty cache to a whole plan, each killed four times on the way.
const CHAINS: usize = 5;
const KILLS: usize = 4;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo")
}

fn plan(cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memories"));
    command
        .arg("plan")
        .arg(demo())
        .arg("--cache")
        .arg(cache)
        .args(["--json", "--quiet", "--today", TODAY])
        .stdin(Stdio::null());
    command
}

fn run_to_end(cache: &Path) -> Output {
    let out = plan(cache).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

/// Checks the index after a kill: SQLite's integrity check passes, and every photo row is
/// whole (its analysis parses, or it holds the problem that kept it from being analysed).
/// Returns the number of rows.
fn check_index(index: &Path) -> usize {
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

#[test]
fn killing_a_run_at_random_moments_loses_and_corrupts_nothing() {
    let reference_cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let reference = run_to_end(&reference_cache.path().join("i.sqlite"));
    let full_run = started.elapsed();

    // xorshift64*, seeded: the same delays on every run of the test, scaled to this machine's
    // speed.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut kills, mut killed_running) = (0, 0);
    for chain in 0..CHAINS {
        let cache = tempfile::tempdir().unwrap();
        let index = cache.path().join("i.sqlite");
        let mut rows_after = Vec::new();
        for _ in 0..KILLS {
            // Each run starts where the last was killed, so kills up to half a full run apart
            // land in every stage: scan, analysis, clustering, the people files, and after.
            let delay = full_run.mul_f64(0.05 + 0.45 * uniform());
            let mut child = plan(&index)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_none() {
                killed_running += 1;
            }
            // SIGKILL: nothing in the process runs after it.
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            rows_after.push((delay.as_millis(), check_index(&index)));
        }
        let finished = run_to_end(&index);
        check_index(&index);
        eprintln!("chain {chain}: (ms after start, rows) after each kill: {rows_after:?}");
        assert_eq!(
            String::from_utf8_lossy(&finished.stdout),
            String::from_utf8_lossy(&reference.stdout),
            "the plan after the kills equals the plan of a run never interrupted"
        );
        // The people files are whole: a run that reads them finishes, and says the same.
        assert_eq!(run_to_end(&index).stdout, reference.stdout);
    }
    eprintln!(
        "{kills} kills, {killed_running} of them while the run was going (a full run takes {full_run:?}); 0 damaged indexes, 0 plans that differ"
    );
}
