//! Crash safety: `memories plan` killed with SIGKILL at seeded moments while it indexes the demo
//! folder, clusters its faces and writes the people files. After every kill the index passes
//! SQLite's integrity check and every photo row is whole; the next run finishes; and the plan
//! of the run that finally completes equals the plan of a run never interrupted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

#[allow(dead_code)]
#[path = "support/runs.rs"]
mod runs;
use runs::{Seeded, check_index};

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

#[test]
fn killing_a_run_at_random_moments_loses_and_corrupts_nothing() {
    let photos = runs::tree_digest(&demo());
    let reference_cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let reference = run_to_end(&reference_cache.path().join("i.sqlite"));
    let full_run = started.elapsed();

    // Seeded: the same delays on every run of the test, scaled to this machine's speed.
    let mut seeded = Seeded::new(0x2545_F491_4F6C_DD1D);
    let mut uniform = move || seeded.uniform();
    let (mut kills, mut killed_running) = (0, 0);
    for chain in 0..CHAINS {
        let cache = tempfile::tempdir().unwrap();
        let index = cache.path().join("i.sqlite");
        let mut rows_after = Vec::new();
        for _ in 0..KILLS {
            // Each run starts where the last was killed, so kills up to half a full run apart
            // land in every stage: scan, analysis, clustering, the people files, and after.
            let delay = full_run.mul_f64(0.05 + 0.45 * uniform());
            if runs::kill_after(&mut plan(&index), delay) {
                killed_running += 1;
            }
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
    assert_eq!(
        runs::tree_digest(&demo()),
        photos,
        "the photo folder changed"
    );
    eprintln!(
        "{kills} kills, {killed_running} of them while the run was going (a full run takes {full_run:?}); 0 damaged indexes, 0 plans that differ, 0 photos lost or changed"
    );
}

/// The date the movie tests render for: only the outing's event is a memory (see `movie.rs`).
const MOVIE_TODAY: &str = "2026-04-10";
const RENDER_KILLS: usize = 6;

fn render(cache: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memories"));
    command
        .arg(demo().join("outing"))
        .arg("--cache")
        .arg(cache)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--today", MOVIE_TODAY])
        .args(["--theme", "chill", "--length", "short"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn finish(mut command: Command) {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `memories DIR --out OUT` killed with SIGKILL while it renders: every file under a final
/// name in OUT is whole (equal to the one an uninterrupted run writes, byte for byte), and the
/// next run removes the killed runs' temporary files and writes everything whole.
#[test]
fn killing_a_render_leaves_whole_files_or_none() {
    let photos = runs::tree_digest(&demo());
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("i.sqlite");
    // Indexed first, so that the kills land in the rendering.
    finish(render(&cache, &work.path().join("warm-up")));
    let reference = work.path().join("reference");
    let started = Instant::now();
    finish(render(&cache, &reference));
    let full_run = started.elapsed();
    let whole = runs::files_in(&reference);
    assert_eq!(
        whole.keys().collect::<Vec<_>>(),
        ["event-0.jpg", "event-0.mp4", "index.html"]
    );

    let out = work.path().join("out");
    let mut seeded = Seeded::new(0x9E37_79B9_7F4A_7C15);
    let (mut killed_running, mut left_behind) = (0, 0);
    let mut seen = Vec::new();
    for kill in 0..RENDER_KILLS {
        let delay = full_run.mul_f64(0.1 + 0.85 * seeded.uniform());
        if runs::kill_after(&mut render(&cache, &out), delay) {
            killed_running += 1;
        }
        let mut names = Vec::new();
        for (name, bytes) in runs::files_in(&out) {
            if memories_fs::leftover_target(&name).is_some() {
                left_behind += 1;
                continue;
            }
            let expected = whole
                .get(&name)
                .unwrap_or_else(|| panic!("kill {kill}: unexpected file {name}"));
            assert!(
                bytes == *expected,
                "kill {kill} at {delay:?}: {name} is not whole ({} bytes of {})",
                bytes.len(),
                expected.len()
            );
            names.push(name);
        }
        seen.push((delay.as_millis(), names));
    }
    finish(render(&cache, &out));
    assert_eq!(
        runs::files_in(&out),
        whole,
        "after the kills, the next run writes every file whole and leaves no temporary file"
    );
    assert_eq!(
        runs::tree_digest(&demo()),
        photos,
        "the photo folder changed"
    );
    eprintln!("(ms after start, whole files) after each kill: {seen:?}");
    eprintln!(
        "{RENDER_KILLS} kills during rendering, {killed_running} while it ran (a render takes {full_run:?}); {left_behind} temporary files left by kills, all removed by the next run; 0 partial files under a final name"
    );
    assert!(
        killed_running >= RENDER_KILLS / 2,
        "most kills must land while the render runs"
    );
}

const PEOPLE_KILLS: usize = 20;

fn people(cache: &Path, corrections: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memories"));
    command
        .arg("people")
        .arg(demo())
        .arg("--cache")
        .arg(cache)
        .args(["--quiet", "--json"])
        .args(corrections)
        .stdin(Stdio::null());
    command
}

fn book(cache: &Path) -> serde_json::Value {
    let path = memories_library::people::book_path(cache);
    serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not a whole people book: {e}", path.display()))
}

/// Copies the cache (index, people book, face graph) from `from` into the folder `to`.
fn copy_cache(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for (name, bytes) in runs::files_in(from) {
        if !name.ends_with(".lock") {
            std::fs::write(to.join(name), bytes).unwrap();
        }
    }
}

/// `memories people --name ID NAME --merge FROM INTO` killed with SIGKILL at seeded moments:
/// the people book afterwards is the book before the corrections or the book with all of them,
/// never a half, and never unreadable.
#[test]
fn killing_a_people_correction_applies_all_of_it_or_none() {
    let work = tempfile::tempdir().unwrap();
    let pristine = work.path().join("pristine");
    std::fs::create_dir(&pristine).unwrap();
    let index = pristine.join("i.sqlite");
    let listed = people(&index, &[]).output().unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let mut found: Vec<(usize, u64)> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|p| {
            (
                p["faces"].as_array().unwrap().len(),
                p["id"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    assert!(
        found.len() >= 2,
        "the demo has two people or more: {found:?}"
    );
    let (a, b) = (
        found[found.len() - 1].1.to_string(),
        found[found.len() - 2].1.to_string(),
    );
    let corrections = [
        "--name",
        a.as_str(),
        "Ada \"the first\"",
        "--merge",
        b.as_str(),
        a.as_str(),
    ];
    let before = book(&index);

    let reference = work.path().join("reference");
    copy_cache(&pristine, &reference);
    let started = Instant::now();
    finish(people(&reference.join("i.sqlite"), &corrections));
    let full_run = started.elapsed();
    let after = book(&reference.join("i.sqlite"));
    assert_ne!(before, after);

    let mut seeded = Seeded::new(0xD1B5_4A32_D192_ED03);
    let (mut none, mut all, mut killed_running) = (0, 0, 0);
    let trial = work.path().join("trial");
    for kill in 0..PEOPLE_KILLS {
        copy_cache(&pristine, &trial);
        let cache = trial.join("i.sqlite");
        // Up to a little past a whole run, so that some kills land after the book is written.
        let delay = full_run.mul_f64(1.1 * seeded.uniform());
        if runs::kill_after(&mut people(&cache, &corrections), delay) {
            killed_running += 1;
        }
        check_index(&cache);
        let now = book(&cache);
        if now == before {
            none += 1;
            // Not applied: the user runs the corrections again.
            finish(people(&cache, &corrections));
        } else {
            assert!(
                now == after,
                "kill {kill} at {delay:?}: the book is half applied"
            );
            all += 1;
        }
        assert_eq!(book(&cache), after);
        // And the book reads back: a plain run lists the same people, and clears what the
        // killed run left.
        finish(people(&cache, &[]));
        assert_eq!(
            book(&cache),
            after,
            "kill {kill}: a later run changed the book"
        );
        let left: Vec<String> = runs::files_in(&trial)
            .into_keys()
            .filter(|n| memories_fs::leftover_target(n).is_some())
            .collect();
        assert!(left.is_empty(), "kill {kill}: left behind {left:?}");
    }
    eprintln!(
        "{PEOPLE_KILLS} kills of a people correction ({killed_running} while it ran; a run takes {full_run:?}): {none} left the book as it was, {all} with every correction, 0 half applied or unreadable"
    );
    assert!(killed_running >= PEOPLE_KILLS / 2);
}
