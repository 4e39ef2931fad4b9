//! Memories on libraries of 1,000, 5,000 and 20,000 photos made by `make_library` (real photos
//! and LFW faces from `../shared/data`, ten years of outings, bursts, trips and screenshots; see
//! `examples/support/library.rs`).
//!
//! For each size, `memories plan LIB --json --html PAGE` runs as its own process on every core,
//! twice: from an empty cache, and again with nothing changed. Each run's wall time, CPU time
//! (user and system) and peak resident memory come from `wait4`. Throughput is given as photos
//! per second of wall time and as photos per CPU-second, which is photos per second per core.
//! The largest library's re-run is then broken down in this process, stage by stage: the
//! re-index (scan and freshness check), the people graph and book, `plan::make`, and the plan
//! page, whose size and lazy images are counted.
//!
//! ```text
//! cargo bench -p memories --bench scale                         # 1,000, 5,000 and 20,000
//! SCALE_BENCH_PHOTOS=1000 cargo bench -p memories --bench scale
//! ```
//!
//! The libraries are kept in `target/scale-bench/` (about 150 KB a photo) and reused; results go
//! to `target/scale-bench/results.json`.

use chrono::NaiveDate;
use memories_library::config::{Config, PathRules};
use memories_library::{indexing, people, plan};
use memories_networks::NETWORKS;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../examples/support/library.rs"]
mod library;

#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

const SEED: u64 = 1;
const TODAY: &str = "2026-12-01";

/// What `wait4` says of a finished child.
struct Usage {
    wall: Duration,
    cpu: Duration,
    peak_rss_mb: f64,
}

/// Runs `command` to its end. The child is forked, not spawned with `posix_spawn`: a child that
/// shares this process's memory until it execs inherits its high-water mark, and a forked one
/// only this process's resident size at the fork (printed as the floor of the measure).
fn run(command: &mut Command) -> Usage {
    use std::os::unix::process::CommandExt;
    // SAFETY: the hook does nothing, so it is async-signal-safe.
    unsafe { command.pre_exec(|| Ok(())) };
    let start = Instant::now();
    // Reaped by wait4 below, which also gives its usage: Child::wait would not.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("memories starts");
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our own child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "memories failed: {command:?}"
    );
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

fn library_dir(out: &Path, n: usize) -> PathBuf {
    out.join(format!("library-{n}-seed{SEED}"))
}

fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => bytes_under(&e.path()),
                _ => e.metadata().map_or(0, |m| m.len()),
            })
            .sum()
    })
}

fn seconds(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../../shared/data");
    let out = root.join("../target/scale-bench");
    let sizes: Vec<usize> = std::env::var("SCALE_BENCH_PHOTOS")
        .unwrap_or_else(|_| "1000,5000,20000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SCALE_BENCH_PHOTOS: counts separated by commas")
        })
        .collect();
    // Each library is made by a child process (this bench run again with SCALE_BENCH_MAKE set),
    // so this process stays small: its resident size is the floor of every child's peak.
    if let Ok(n) = std::env::var("SCALE_BENCH_MAKE") {
        let n: usize = n.parse().unwrap();
        let sources = match library::Sources::load(&shared, SEED) {
            Ok(sources) => sources,
            Err(e) => {
                println!("SKIPPED: {e}");
                std::process::exit(3);
            }
        };
        let t = Instant::now();
        let written = library::write(&sources, &library_dir(&out, n), n, SEED)
            .expect("the library is written");
        println!(
            "library of {n}: {} made, {} kept, {:.0} MB, {:.0} s",
            written.made,
            written.kept,
            written.bytes as f64 / 1e6,
            seconds(t)
        );
        return;
    }
    // Make every library first, so that no timing overlaps with making one.
    let mut libraries = Vec::new();
    for &n in &sizes {
        let status = Command::new(std::env::current_exe().unwrap())
            .env("SCALE_BENCH_MAKE", n.to_string())
            .status()
            .unwrap();
        if status.code() == Some(3) {
            return;
        }
        assert!(status.success(), "making the library of {n} failed");
        let dir = library_dir(&out, n);
        libraries.push((n, dir.clone(), bytes_under(&dir)));
    }

    let before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", before.trim());
    let peak = support::fma_peak();
    println!("FMA probe: {peak:.1?} GFLOP/s");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let own_rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0)
                / 1024.0
        })
        .unwrap_or(0.0);
    println!("this process's resident size, the floor of the children's peaks: {own_rss:.0} MB");
    let mut rows = Vec::new();
    for (n, dir, bytes) in &libraries {
        let cache = out.join(format!("cache-{n}"));
        let _ = std::fs::remove_dir_all(&cache);
        std::fs::create_dir_all(&cache).unwrap();
        let index = cache.join("index.sqlite");
        let page = cache.join("plan.html");
        let mut plan_cmd = Command::new(env!("CARGO_BIN_EXE_memories"));
        plan_cmd
            .arg("plan")
            .arg(dir)
            .arg("--cache")
            .arg(&index)
            .args(["--json", "--quiet", "--today", TODAY, "--output"])
            .arg(cache.join("plan.json"))
            .arg("--html")
            .arg(&page);
        let fresh = run(&mut plan_cmd);
        let again = run(&mut plan_cmd);
        let page_bytes = std::fs::metadata(&page).map_or(0, |m| m.len());
        let html = std::fs::read_to_string(&page).unwrap_or_default();
        let images = html.matches("<img ").count();
        let lazy = html.matches("loading=\"lazy\"").count();
        let per_core = *n as f64 / fresh.cpu.as_secs_f64();
        println!(
            "{n} photos ({:.0} MB): first run {:.1} s on {cores} cores ({:.1} photos/s; {per_core:.2} photos per CPU-second; CPU {:.0} s), peak RSS {:.0} MB",
            *bytes as f64 / 1e6,
            fresh.wall.as_secs_f64(),
            *n as f64 / fresh.wall.as_secs_f64(),
            fresh.cpu.as_secs_f64(),
            fresh.peak_rss_mb,
        );
        println!(
            "  nothing changed: {:.2} s (CPU {:.2} s), peak RSS {:.0} MB; page {:.1} MB, {images} images, {lazy} lazy",
            again.wall.as_secs_f64(),
            again.cpu.as_secs_f64(),
            again.peak_rss_mb,
            page_bytes as f64 / 1e6
        );
        let mut row = serde_json::json!({
            "photos": n,
            "library_bytes": bytes,
            "cores": cores,
            "first_run_s": fresh.wall.as_secs_f64(),
            "first_run_cpu_s": fresh.cpu.as_secs_f64(),
            "first_run_photos_per_s": *n as f64 / fresh.wall.as_secs_f64(),
            "first_run_photos_per_cpu_s": per_core,
            "first_run_peak_rss_mb": fresh.peak_rss_mb,
            "rerun_s": again.wall.as_secs_f64(),
            "rerun_cpu_s": again.cpu.as_secs_f64(),
            "rerun_peak_rss_mb": again.peak_rss_mb,
            "page_bytes": page_bytes,
            "page_images": images,
            "page_lazy_images": lazy,
        });
        if Some(n) == sizes.iter().max() {
            // The re-run's stages, in this process (rayon on every core, as the binary).
            let t = Instant::now();
            let report = indexing::index_folder(dir, Some(&index), false, &NETWORKS).unwrap();
            let t_index = seconds(t);
            let t = Instant::now();
            let faces = people::library_faces(&report.records);
            let params = people::Params::default();
            let (graph, _) = people::library_graph(&index, &faces, params);
            let mut book = people::Book::load(&people::book_path(&index)).unwrap();
            let found = book.assign_library(&faces, &graph, params);
            let in_photos = people::photo_people(&report.records, &faces, &found);
            let t_people = seconds(t);
            let config = Config::default();
            let rules = PathRules::new(&config.exclude.paths).unwrap();
            let today = NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap();
            let mut plan_ms = Vec::new();
            let mut made = None;
            for _ in 0..5 {
                let t = Instant::now();
                made = Some(plan::make(
                    &report.records,
                    &config,
                    &rules,
                    today,
                    &in_photos,
                ));
                plan_ms.push(seconds(t) * 1e3);
            }
            plan_ms.sort_by(f64::total_cmp);
            let made = made.unwrap();
            let t = Instant::now();
            let html = memories_movie::plan_page::html(&made, &report);
            let t_page = seconds(t);
            println!(
                "  {n} photos, the re-run in this process: re-index {t_index:.2} s, people {t_people:.2} s ({} faces, {} people), plan::make {:.0} ms (median of 5, min {:.0}), page {:.2} s ({:.1} MB), {} events and {} trips are memories",
                faces.len(),
                found.len(),
                plan_ms[2],
                plan_ms[0],
                t_page,
                html.len() as f64 / 1e6,
                made.candidate_events().count(),
                made.candidate_trips().count(),
            );
            row["stages"] = serde_json::json!({
                "reindex_s": t_index,
                "people_s": t_people,
                "faces": faces.len(),
                "people": found.len(),
                "plan_ms_median": plan_ms[2],
                "plan_ms_min": plan_ms[0],
                "page_s": t_page,
            });
        }
        rows.push(row);
    }
    let after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", after.trim());
    let json = serde_json::json!({
        "load_average_before": before.trim(),
        "load_average_after": after.trim(),
        "fma_peak_gflops": peak,
        "bench_rss_mb_at_fork": own_rss,
        "seed": SEED,
        "today": TODAY,
        "rows": rows,
    });
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    println!("wrote {}", out.join("results.json").display());
}
