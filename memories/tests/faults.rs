//! Faults other than a kill: a disk that fills while the index or a movie is written, and a
//! cache folder that is read-only, missing, or not a folder. Each ends with a clear error that
//! names the file, an index as it was before the failing write, and no partial output; once
//! the fault is gone, the next run finishes and makes what an untroubled run makes.
//!
//! The small disks are tmpfs mounts the tests make (as root; `.ci/run` sets
//! `MEMORIES_REQUIRE_MOUNT=1` so that CI cannot pass by skipping them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[allow(dead_code)]
#[path = "support/runs.rs"]
mod runs;
use runs::{Tmpfs, check_index, files_in, index_rows};

const TODAY: &str = "2026-04-10";

fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(sub)
}

fn memories(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn plan(dir: &Path, cache: &Path) -> Output {
    memories(&[
        "plan".as_ref(),
        dir.as_os_str(),
        "--cache".as_ref(),
        cache.as_os_str(),
        "--json".as_ref(),
        "--quiet".as_ref(),
        "--today".as_ref(),
        TODAY.as_ref(),
    ])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean_failure(out: &Output, names: &str, problem: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "the run should have failed:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(names) && err.contains(problem),
        "the error should name {names} and say {problem:?}:\n{err}"
    );
}

/// The index's folder fills while the demo is indexed, on three sizes of disk. Each run stops
/// with the full file named; the index passes its checks and every row it has is the row an
/// untroubled run stores; no temporary file is left; with room again, the next run finishes
/// with the untroubled run's plan and rows.
#[test]
fn a_disk_that_fills_while_indexing_leaves_the_index_whole() {
    let work = tempfile::tempdir().unwrap();
    let reference_index = work.path().join("reference/i.sqlite");
    let reference = plan(&demo(""), &reference_index);
    assert!(reference.status.success(), "{}", stderr(&reference));
    let index_size = std::fs::metadata(&reference_index).unwrap().len();
    let whole_rows = index_rows(&reference_index);

    // The write-ahead log holds about four times the index while the photos are stored, so
    // all three disks fill while photos are stored; a whole run needs about 5.2 times the
    // index, a little more or less with the order the photos are stored in.
    let (mut stored, mut messages) = (Vec::new(), Vec::new());
    for (i, times) in [1.0, 2.0, 3.0].into_iter().enumerate() {
        let size = (index_size as f64 * times) as u64;
        let Some(disk) = Tmpfs::mount(&work.path().join(format!("small-{i}")), size, false) else {
            return;
        };
        let index = disk.path.join("i.sqlite");
        let failed = plan(&demo(""), &index);
        let err = stderr(&failed);
        assert!(!failed.status.success(), "{size} bytes were enough:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        // Which write meets the full disk depends on the order the photos finish in, which
        // rayon decides: it is a row of the index, or (at most) the face graph or people file.
        let line = err
            .lines()
            .find(|l| l.starts_with("memories: error: "))
            .unwrap_or_else(|| panic!("no error line:\n{err}"));
        assert!(
            line.contains(&index.display().to_string())
                && (line.contains("database or disk is full")
                    || line.contains("No space left on device")),
            "the error should name the file that did not fit, and why:\n{err}"
        );
        messages.push(line.to_string());
        // Room again (the files stay as they were), then check what the failed run left.
        disk.remount(64 << 20, false);
        let rows = check_index(&index);
        let kept = index_rows(&index);
        assert_eq!(kept.len(), rows);
        for (path, row) in &kept {
            assert_eq!(Some(row), whole_rows.get(path), "{path}: a row differs");
        }
        let left: Vec<String> = files_in(&disk.path)
            .into_keys()
            .filter(|n| memories_fs::leftover_target(n).is_some())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        let finished = plan(&demo(""), &index);
        assert!(finished.status.success(), "{}", stderr(&finished));
        assert_eq!(finished.stdout, reference.stdout);
        assert_eq!(index_rows(&index), whole_rows);
        stored.push((size, kept.len()));
    }
    eprintln!("{}", messages.join("\n"));
    eprintln!(
        "disks of (bytes, photos stored when it filled): {stored:?} of {} photos; 0 damaged rows, 0 temporary files left; every next run's plan equals the reference",
        whole_rows.len()
    );
    assert!(
        stored.iter().any(|&(_, n)| n > 0 && n < whole_rows.len()),
        "some disk must fill part way through the photos"
    );
}

fn render(cache: &Path, out: &Path) -> Output {
    memories(&[
        demo("outing").as_os_str(),
        "--cache".as_ref(),
        cache.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
        "--today".as_ref(),
        TODAY.as_ref(),
        "--theme".as_ref(),
        "chill".as_ref(),
        "--length".as_ref(),
        "short".as_ref(),
    ])
}

/// The movie folder fills while the movie is written: the run stops naming the movie and "No
/// space left"; the folder holds no file at all, not even a temporary one; with room again the
/// next run writes the same files an untroubled run writes.
#[test]
fn a_disk_that_fills_while_a_movie_is_written_leaves_no_partial_output() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("i.sqlite");
    let reference = work.path().join("reference");
    let done = render(&cache, &reference);
    assert!(done.status.success(), "{}", stderr(&done));
    let whole = files_in(&reference);
    let movie = whole["event-0.mp4"].len() as u64;

    let Some(disk) = Tmpfs::mount(&work.path().join("small"), movie / 2, false) else {
        return;
    };
    let out = disk.path.join("movies");
    let failed = render(&cache, &out);
    assert_clean_failure(&failed, "event-0.mp4", "No space left on device");
    assert!(
        files_in(&out).is_empty(),
        "left behind: {:?}",
        files_in(&out).keys().collect::<Vec<_>>()
    );
    disk.remount(64 << 20, false);
    let done = render(&cache, &out);
    assert!(done.status.success(), "{}", stderr(&done));
    assert_eq!(files_in(&out), whole);
}

/// A read-only cache folder: an error naming the file and the problem, whether the index is
/// there yet or not, and the index untouched.
#[test]
fn a_read_only_cache_is_a_clear_error_and_the_index_is_untouched() {
    let work = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&work.path().join("ro"), 16 << 20, true) else {
        return;
    };
    let index = disk.path.join("i.sqlite");
    let refused = plan(&demo("outing"), &index);
    assert_clean_failure(
        &refused,
        &disk.path.display().to_string(),
        "Read-only file system",
    );

    // An index made while the folder was writable, then the folder turned read-only.
    disk.remount(16 << 20, false);
    let made = plan(&demo("outing"), &index);
    assert!(made.status.success(), "{}", stderr(&made));
    let before = files_in(&disk.path);
    disk.remount(16 << 20, true);
    let refused = plan(&demo("outing"), &index);
    assert_clean_failure(
        &refused,
        &disk.path.display().to_string(),
        "Read-only file system",
    );
    assert_eq!(files_in(&disk.path), before);
}

/// A cache folder that does not exist yet is made; a cache path under a file is a clear error.
#[test]
fn a_missing_cache_folder_is_made_and_a_file_in_the_way_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let index = work.path().join("not/made/yet/i.sqlite");
    let made = plan(&demo("outing"), &index);
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(check_index(&index) > 0);

    std::fs::write(work.path().join("a-file"), b"not a folder").unwrap();
    let index = work.path().join("a-file/i.sqlite");
    let refused = plan(&demo("outing"), &index);
    assert_clean_failure(&refused, "a-file", "is not a folder");

    // The default cache (XDG_CACHE_HOME) missing: made.
    let home = work.path().join("xdg-cache-not-yet");
    let out = Command::new(env!("CARGO_BIN_EXE_memories"))
        .arg("plan")
        .arg(demo("outing"))
        .args(["--quiet", "--today", TODAY])
        .env("XDG_CACHE_HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.join("memories").is_dir());
}
