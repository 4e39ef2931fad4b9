//! The face detector network side by side in the runtimes people would pick instead of nnc:
//! single-threaded, on the same inputs, for each scale of a 640x480 five-scale pyramid and for the
//! whole pyramid.
//!
//! ```text
//! bash benches/setup-onnxruntime.sh          # once: a venv with the onnxruntime wheel's library
//! cargo run --release --manifest-path benches/compare/Cargo.toml
//! ```
//!
//! Runtimes: the nnc-generated code (AVX2+FMA and portable paths), the nnc reference interpreter,
//! ONNX Runtime (the `ort` crate loading the wheel's `libonnxruntime.so`, one intra-op thread, all
//! graph optimisations) and tract (`into_optimized`, one concrete input shape per scale). The run:
//!
//! 1. checks every runtime's outputs against the interpreter's on every scale before timing, and
//!    every ONNX file in `models/` (face_student, testnet) against the interpreter at two other
//!    sizes;
//! 2. times each scale and the whole pyramid, and prints one table (also written to
//!    `target/nnc-compare.json` at the repository root), with GFLOP/s as a fraction of the
//!    single-core FMA peak measured in the same run. The runtimes of a case take turns, round by
//!    round (nnc, ONNX Runtime, tract, nnc, ...), and each ratio to nnc is the median of the ten
//!    rounds' ratios, printed with the middle half of them (`support::interleaved`);
//! 3. starts this binary once per runtime (`--first-result RUNTIME`) to measure the time to the
//!    first pyramid in a fresh process and that process's peak resident memory;
//! 4. sizes the code and weights each runtime needs;
//! 5. times each fused step of the network alone at each scale (the per-layer breakdown).
//!
//! The table also has YuNet-s and YuNet-n at 640x480 (cases `yunet_s` and `yunet_n`: nnc
//! compiling `models/yunet_*.onnx` from ONNX, against ONNX Runtime and tract on the same file;
//! see `yunet.rs`). `--yunet` runs only those, into `target/nnc-compare-yunet.json`.
//!
//! The face embedding, one 150x150 chip, is in the table too (case `embedding`: nnc and the
//! interpreter from `models/face_embedding.nnc`, ONNX Runtime and tract from the ONNX file nnc
//! exports from it), with a per-layer breakdown in nnc (cases `embedding:LAYER`; see
//! `embedding.rs`). `--embedding` runs only those, into `target/nnc-compare-embedding.json`.
//! So is `models/testnet.nnc` over the same pyramid (case `testnet:pyramid`, `testnet.rs`).
//!
//! `--embedding-loop SECONDS [portable]` runs nothing but nnc's embedding (on the portable path
//! with `portable`), over and over, for a profiler (`perf record`, `perf stat`) to watch.
//!
//! `--quick` shortens every timing budget. ONNX Runtime's library is found through
//! `ORT_DYLIB_PATH`, else in `benches/.venv`; without it the run says so and goes on.

#[path = "../../support/mod.rs"]
mod support;

mod embedding;
mod runners;
mod steps;
mod testnet;
mod yunet;

use nnc::ir::testing::{Rng, random_input};
use runners::{Inputs, Runtime};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use support::{fma_peak, fma_peak_avx512};

nnc::nnc! {
    /// The face detector at a 640x480 frame, five scales, f32 weights (the same numbers every
    /// other runtime computes with).
    pub mod face {
        model: "../../models/face_student.nnc",
        weights: "../../models/face_student.safetensors",
        input: 640 x 480,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

/// Where the inputs' seeds and the model files are.
pub struct Files {
    pub root: PathBuf,
}

impl Files {
    fn new() -> Files {
        Files {
            root: Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        }
    }
    pub fn model(&self) -> PathBuf {
        self.root.join("models/face_student.nnc")
    }
    pub fn weights(&self) -> PathBuf {
        self.root.join("models/face_student.safetensors")
    }
    pub fn onnx(&self) -> PathBuf {
        self.root.join("models/face_student.onnx")
    }
}

/// The same seeded random image at every scale, NHWC, values in the model's [0, 1] range.
fn make_inputs() -> Inputs {
    let mut rng = Rng::new(1);
    let nhwc: Vec<Vec<f32>> = face::v640x480::SIZES
        .iter()
        .map(|&(h, w)| {
            random_input(&mut rng, h, w, 3)
                .into_iter()
                .map(|x| 0.5 + 0.5 * x)
                .collect()
        })
        .collect();
    Inputs::new(face::v640x480::SIZES.to_vec(), nhwc)
}

/// The eight-lane probe's peak (what the `peak` columns divide by), and the sixteen-lane one where
/// the CPU has AVX-512.
fn print_peaks(avx2: f64) {
    println!("single-core FP32 peak (FMA-chain probe): {avx2:.1} GFLOP/s");
    if let Some(wide) = fma_peak_avx512() {
        println!(
            "single-core FP32 peak at sixteen lanes (AVX-512 FMA-chain probe): {wide:.1} GFLOP/s; \
             the peak columns are of the eight-lane figure"
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, runtime] = args.as_slice()
        && flag == "--first-result"
    {
        return first_result_child(runtime);
    }
    match args.as_slice() {
        [flag, seconds, runtime] if flag == "--pyramid-loop" => {
            return pyramid_loop(seconds, runtime);
        }
        [flag, seconds] if flag == "--embedding-loop" => return embedding::run_for(seconds, false),
        [flag, seconds, path] if flag == "--embedding-loop" && path == "portable" => {
            return embedding::run_for(seconds, true);
        }
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 200 } else { 1500 });
    let files = Files::new();
    if args.iter().any(|a| a == "--embedding") {
        println!("load average before timing: {}", load_average());
        let peak = fma_peak();
        let (mut rows, agree) = embedding::rows(&files.root, budget, peak);
        if agree {
            rows.extend(embedding::breakdown(budget, peak, &rows));
        }
        match peak {
            Some(p) => print_peaks(p),
            None => println!("single-core FP32 peak: not measured"),
        }
        println!("face embedding, one 150x150 chip, one thread:");
        support::report(&rows, &files.root.join("target/nnc-compare-embedding.json"));
        println!("load average after timing: {}", load_average());
        return if agree && !rows.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if args.iter().any(|a| a == "--yunet") {
        println!("load average before timing: {}", load_average());
        let peak = fma_peak();
        let (rows, agree) = yunet::rows(&files.root, budget, peak);
        match peak {
            Some(p) => print_peaks(p),
            None => println!("single-core FP32 peak: not measured"),
        }
        println!("YuNet-s and YuNet-n at 640x480, one thread:");
        support::report(&rows, &files.root.join("target/nnc-compare-yunet.json"));
        println!("load average after timing: {}", load_average());
        return if agree && !rows.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let inputs = make_inputs();

    // Prepare every runtime that is available, then check them all against the interpreter.
    let mut runners: runners::Named<'_> = Vec::new();
    for runtime in Runtime::ALL {
        match runners::prepare(runtime, &files, &inputs) {
            Ok(runner) => runners.push((runtime.name(), runner)),
            Err(why) => println!("{}: skipped: {why}", runtime.name()),
        }
    }
    let reference = runners
        .iter_mut()
        .find(|(name, _)| *name == Runtime::Interpreter.name())
        .map(|(_, runner)| {
            (0..inputs.scales())
                .map(|s| runner.outputs(s))
                .collect::<Vec<_>>()
        })
        .expect("the interpreter is always available");
    let mut all_agree = true;
    for (runtime, runner) in &mut runners {
        let worst = (0..inputs.scales())
            .map(|s| runners::worst_difference(&reference[s], &runner.outputs(s)))
            .fold(runners::Difference::default(), runners::Difference::max);
        println!(
            "{:<12} outputs vs interpreter: max abs difference {:.2e} (relative {:.2e}) on all 5 scales{}",
            runtime,
            worst.abs,
            worst.relative,
            if worst.relative <= 1e-3 {
                ""
            } else {
                "  MISMATCH"
            }
        );
        all_agree &= worst.relative <= 1e-3;
    }
    let (lines, files_agree) = runners::check_onnx_files(&files.root, 1e-3);
    for line in lines {
        println!("{line}");
    }
    if !(all_agree && files_agree) {
        eprintln!("error: some runtime's outputs differ from the interpreter's by more than 1e-3");
        return ExitCode::FAILURE;
    }

    // Other processes on the machine slow every runtime and the peak probe alike; say how busy it was.
    println!(
        "load average before timing (1, 5, 15 min): {}",
        load_average()
    );
    let peak = fma_peak();
    // Each case times every runtime round by round (nnc, ONNX Runtime, tract, nnc, ...): each
    // ratio to nnc is the median of the rounds' ratios.
    let mut rows = Vec::new();
    for scale in 0..inputs.scales() {
        let flops = face::v640x480::FLOPS[scale];
        let case = format!("scale{scale}");
        rows.extend(runners::time_case(
            &mut runners,
            &case,
            scale..scale + 1,
            flops,
            budget,
            peak,
        ));
    }
    let flops = face::v640x480::TOTAL_FLOPS;
    let all_scales = 0..inputs.scales();
    rows.extend(runners::time_case(
        &mut runners,
        "pyramid",
        all_scales,
        flops,
        budget,
        peak,
    ));
    drop(runners);
    // YuNet-s and YuNet-n, compiled from their ONNX files, in the same table.
    let (yunet_rows, yunet_agree) = yunet::rows(&files.root, budget, peak);
    if !yunet_agree {
        eprintln!("error: some runtime's YuNet heads differ from ONNX Runtime's by more than 1e-3");
        return ExitCode::FAILURE;
    }
    rows.extend(yunet_rows);
    // The face embedding (one chip, every runtime), and its per-layer breakdown in nnc.
    let (embedding_rows, embedding_agree) = embedding::rows(&files.root, budget, peak);
    if !embedding_agree {
        eprintln!(
            "error: some runtime's embedding differs from the interpreter's by more than 1e-3"
        );
        return ExitCode::FAILURE;
    }
    rows.extend(embedding_rows);
    let layer_rows = embedding::breakdown(budget, peak, &rows);
    rows.extend(layer_rows);
    // testnet over the same pyramid, every runtime.
    let (testnet_rows, testnet_agree) = testnet::rows(&files.root, budget, peak);
    if !testnet_agree {
        eprintln!(
            "error: some runtime's testnet heads differ from the interpreter's by more than 1e-3"
        );
        return ExitCode::FAILURE;
    }
    rows.extend(testnet_rows);
    println!(
        "load average after timing (1, 5, 15 min): {}",
        load_average()
    );

    match peak {
        Some(p) => print_peaks(p),
        None => println!("single-core FP32 peak: no AVX2+FMA on this CPU, not measured"),
    }
    println!(
        "face_student, 640x480 frame, scales {:?} ({:?} h x w), {} MFLOP per pyramid, single thread",
        face::v640x480::SCALES,
        face::v640x480::SIZES,
        face::v640x480::TOTAL_FLOPS / 1_000_000
    );
    support::report(&rows, &files.root.join("target/nnc-compare.json"));

    println!();
    fresh_processes();
    println!();
    runners::print_sizes(&files);
    println!();
    steps::breakdown(budget, peak, &rows);
    ExitCode::SUCCESS
}

/// The load averages over 1, 5 and 15 minutes.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one fresh process running one runtime reports.
struct FirstResult {
    /// From the start of `main` (after making the inputs) to the first whole pyramid's outputs:
    /// loading libraries and files, session creation and planning, and the first run.
    first_ms: f64,
    /// The whole child process, as the parent sees it: exec, dynamic linking, inputs included.
    process_ms: f64,
    /// The part of `first_ms` spent before the first run: loading and preparing.
    prepare_ms: f64,
    /// A second whole pyramid in the same process, warm.
    second_ms: f64,
    /// Peak resident memory of the child (`VmHWM`) after the first result.
    max_rss_kib: i64,
}

/// Starts this binary once per runtime and prints the time to the first result and peak memory.
fn fresh_processes() {
    let exe = std::env::current_exe().expect("the path of this binary");
    println!(
        "fresh process per runtime (`{} --first-result RUNTIME`): no warm-up, load + prepare + first pyramid; then a second pyramid, warm",
        exe.file_name().unwrap_or_default().to_string_lossy()
    );
    println!(
        "{:<13} {:>16} {:>11} {:>10} {:>12} {:>14} {:>16}",
        "runtime",
        "first result ms",
        "prepare ms",
        "second ms",
        "process ms",
        "peak RSS MiB",
        "RSS - baseline"
    );
    let run_child = |name: &str| -> Result<FirstResult, String> {
        let start = Instant::now();
        let out = Command::new(&exe)
            .args(["--first-result", name])
            .output()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let process_ms = start.elapsed().as_secs_f64() * 1e3;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "{}{}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let field = |key: &str| {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("no {key} in the child's output: {stdout}"))
        };
        Ok(FirstResult {
            first_ms: field("first_ms=")?,
            prepare_ms: field("prepare_ms=")?,
            second_ms: field("second_ms=")?,
            process_ms,
            max_rss_kib: field("max_rss_kib=")? as i64,
        })
    };
    let baseline = run_child("none").ok();
    if let Some(b) = &baseline {
        println!(
            "{:<13} {:>16} {:>11} {:>10} {:>12.1} {:>14.1} {:>16}",
            "(none)",
            "-",
            "-",
            "-",
            b.process_ms,
            b.max_rss_kib as f64 / 1024.0,
            "-"
        );
    }
    for runtime in Runtime::ALL {
        match run_child(runtime.name()) {
            Ok(r) => println!(
                "{:<13} {:>16.1} {:>11.1} {:>10.1} {:>12.1} {:>14.1} {:>16}",
                runtime.name(),
                r.first_ms,
                r.prepare_ms,
                r.second_ms,
                r.process_ms,
                r.max_rss_kib as f64 / 1024.0,
                baseline.as_ref().map_or("-".to_string(), |b| format!(
                    "{:.1}",
                    (r.max_rss_kib - b.max_rss_kib) as f64 / 1024.0
                )),
            ),
            Err(why) => println!("{:<13} skipped: {why}", runtime.name()),
        }
    }
}

/// The child side of [`fresh_processes`]: prepares one runtime, runs the pyramid once, and prints
/// `first_ms=… prepare_ms=… max_rss_kib=…`, then runs it again and prints `second_ms=…` (a warm
/// run in the same process, for what the first one pays on top). `none` prepares nothing: the
/// process's own baseline.
/// `--pyramid-loop SECONDS RUNTIME`: the face pyramid in one runtime, run after run for about
/// `SECONDS` (after one warm-up pyramid), and the median, fastest and slowest run: for A/B runs
/// of two builds alternated, cheaper than the whole comparison.
fn pyramid_loop(seconds: &str, name: &str) -> ExitCode {
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("error: --pyramid-loop wants a number of seconds, not {seconds:?}");
        return ExitCode::from(2);
    };
    let Some(runtime) = Runtime::ALL.into_iter().find(|r| r.name() == name) else {
        eprintln!("error: unknown runtime `{name}`");
        return ExitCode::FAILURE;
    };
    let inputs = make_inputs();
    let files = Files::new();
    let mut runner = match runners::prepare(runtime, &files, &inputs) {
        Ok(runner) => runner,
        Err(why) => {
            println!("{why}");
            return ExitCode::FAILURE;
        }
    };
    let pyramid = |runner: &mut Box<dyn runners::Runner + '_>| {
        for scale in 0..inputs.scales() {
            runner.run(scale);
        }
    };
    pyramid(&mut runner);
    let runs = support::loop_for(seconds, || pyramid(&mut runner));
    println!("{name} pyramid: {runs}; load {}", load_average());
    ExitCode::SUCCESS
}

fn first_result_child(name: &str) -> ExitCode {
    let inputs = make_inputs();
    let files = Files::new();
    let start = Instant::now();
    let mut runner = None;
    let mut prepare_ms = 0.0;
    if name != "none" {
        let Some(runtime) = Runtime::ALL.into_iter().find(|r| r.name() == name) else {
            eprintln!("error: unknown runtime `{name}`");
            return ExitCode::FAILURE;
        };
        let mut prepared = match runners::prepare(runtime, &files, &inputs) {
            Ok(runner) => runner,
            Err(why) => {
                println!("{why}");
                return ExitCode::FAILURE;
            }
        };
        prepare_ms = start.elapsed().as_secs_f64() * 1e3;
        for scale in 0..inputs.scales() {
            prepared.run(scale);
        }
        runner = Some(prepared);
    }
    let first_ms = start.elapsed().as_secs_f64() * 1e3;
    // Peak memory is read before the second run, so that it is the first result's.
    match runners::max_rss_kib() {
        Some(kib) => print!("first_ms={first_ms:.3} prepare_ms={prepare_ms:.3} max_rss_kib={kib}"),
        None => print!(
            "first_ms={first_ms:.3} prepare_ms={prepare_ms:.3} (peak memory unknown: no /proc/self/status)"
        ),
    }
    let mut second_ms = 0.0;
    if let Some(mut runner) = runner {
        let again = Instant::now();
        for scale in 0..inputs.scales() {
            runner.run(scale);
        }
        second_ms = again.elapsed().as_secs_f64() * 1e3;
    }
    println!(" second_ms={second_ms:.3}");
    ExitCode::SUCCESS
}
