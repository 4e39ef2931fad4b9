//! What the benchmarks share: timing, the single-core FMA peak probe, and the table and JSON rows
//! they print. Included by path (`#[path = ...] mod support;`) from `benches/pyramid.rs` and from the
//! runtime comparison in `benches/compare`, which is its own Cargo package.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `f` run after run for about `seconds` (at least once) and says how long they took: the
/// runs, median, fastest and slowest, in milliseconds. For the comparison's loop modes, A/B
/// runs of two builds alternated by hand.
#[allow(dead_code)] // The runtime comparison's, not `benches/pyramid.rs`'s.
pub fn loop_for(seconds: f64, mut f: impl FnMut()) -> String {
    let start = Instant::now();
    let mut times = Vec::new();
    while times.is_empty() || start.elapsed().as_secs_f64() < seconds {
        let run = Instant::now();
        f();
        times.push(run.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    format!(
        "{} runs, median {:.3} ms, fastest {:.3}, slowest {:.3}",
        times.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    )
}

/// The load average as `/proc/loadavg` gives it, printed beside every figure.
#[allow(dead_code)] // Not every bench prints it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (clock ticks of
/// 10 ms); zero where there is no `/proc`.
#[allow(dead_code)] // Not every bench measures CPU time.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Median and minimum milliseconds of repeated runs of `f`: three warm-up runs, then at least 10
/// runs and about `budget` of time.
pub fn time(budget: Duration, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let samples = samples(10, budget, &mut f);
    (samples[samples.len() / 2], samples[0])
}

/// Milliseconds of each of at least `runs` runs of `f`, and about `budget` of them, fastest first.
fn samples(runs: usize, budget: Duration, f: &mut dyn FnMut()) -> Vec<f64> {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < runs || start.elapsed() < budget {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// Rounds in [`interleaved`]: enough for a median and quartiles of the per-round ratios.
#[allow(dead_code)] // Not every bench compares runtimes.
pub const ROUNDS: usize = 10;

/// One runtime's figures from [`interleaved`].
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// The median of the rounds' medians, in milliseconds.
    pub median_ms: f64,
    /// The fastest single run of any round.
    pub min_ms: f64,
    /// This runtime's time over the first runtime's, round by round: the median and the middle
    /// half of the rounds' ratios.
    pub ratio: Spread,
}

/// The median and the quartiles of a few numbers.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
}

impl Spread {
    /// Of `values` (at least one).
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        // Linear interpolation between the closest ranks.
        let at = |q: f64| {
            let x = q * (values.len() - 1) as f64;
            let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
            values[lo] + (values[hi] - values[lo]) * (x - lo as f64)
        };
        Spread {
            median: at(0.5),
            q1: at(0.25),
            q3: at(0.75),
        }
    }
}

/// Times several runtimes on one case, interleaved: three warm-up runs of each, then [`ROUNDS`]
/// rounds in which each runtime in turn runs for about `budget / ROUNDS` (at least three runs)
/// and gives that round's median. A runtime's ratio to the first is taken within each round, so
/// a slow spell of the machine (another process, a frequency change) moves both sides of it; the
/// figure is the median of those ratios, with its quartiles.
#[allow(dead_code)] // Not every bench compares runtimes.
pub fn interleaved(budget: Duration, runs: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    for run in runs.iter_mut() {
        for _ in 0..3 {
            run();
        }
    }
    let share = budget / ROUNDS as u32;
    // rounds[r][i]: runtime i's median in round r; min[i] its fastest run.
    let mut rounds = Vec::with_capacity(ROUNDS);
    let mut min = vec![f64::INFINITY; runs.len()];
    for _ in 0..ROUNDS {
        let mut medians = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter_mut().enumerate() {
            let samples = samples(3, share, *run);
            min[i] = min[i].min(samples[0]);
            medians.push(samples[samples.len() / 2]);
        }
        rounds.push(medians);
    }
    (0..runs.len())
        .map(|i| Timing {
            median_ms: Spread::of(rounds.iter().map(|m| m[i]).collect()).median,
            min_ms: min[i],
            ratio: Spread::of(rounds.iter().map(|m| m[i] / m[0]).collect()),
        })
        .collect()
}

/// GFLOP/s of one core running independent FMA chains: 12 accumulators hide the FMA latency.
#[cfg(target_arch = "x86_64")]
pub fn fma_peak() -> Option<f64> {
    if !nnc::__private::has_avx2_fma() {
        return None;
    }
    #[target_feature(enable = "avx2,fma")]
    fn chains(iterations: usize) -> f32 {
        use std::arch::x86_64::*;
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let a = _mm256_set1_ps(0.999_99);
        let b = _mm256_set1_ps(1e-7);
        for _ in 0..iterations {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut sum = 0.0;
        for x in acc {
            let mut lanes = [0.0f32; 8];
            // SAFETY: eight writable floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), x) };
            sum += lanes.iter().sum::<f32>();
        }
        sum
    }
    let iterations = 20_000_000;
    // SAFETY: AVX2 and FMA were detected above.
    let (median, _) = time(Duration::from_millis(500), || {
        black_box(unsafe { chains(black_box(iterations)) });
    });
    Some(12.0 * 8.0 * 2.0 * iterations as f64 / (median * 1e-3) / 1e9)
}

#[cfg(not(target_arch = "x86_64"))]
pub fn fma_peak() -> Option<f64> {
    None
}

/// The same probe at sixteen lanes, where the CPU has AVX-512F (the `peak` columns stay at the
/// eight-lane figure of [`fma_peak`], so that they compare across machines; nnc's AVX-512 path
/// and ONNX Runtime's AVX-512 kernels can exceed 100% of it).
#[cfg(target_arch = "x86_64")]
#[allow(dead_code, reason = "only the runtime comparison prints it")]
pub fn fma_peak_avx512() -> Option<f64> {
    if !nnc::__private::has_avx512() {
        return None;
    }
    #[target_feature(enable = "avx512f")]
    fn chains(iterations: usize) -> f32 {
        use std::arch::x86_64::*;
        let mut acc = [_mm512_set1_ps(0.0); 12];
        let a = _mm512_set1_ps(0.999_99);
        let b = _mm512_set1_ps(1e-7);
        for _ in 0..iterations {
            for x in &mut acc {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        let mut sum = 0.0;
        for x in acc {
            sum += _mm512_reduce_add_ps(x);
        }
        sum
    }
    let iterations = 20_000_000;
    // SAFETY: AVX-512F was detected above.
    let (median, _) = time(Duration::from_millis(500), || {
        black_box(unsafe { chains(black_box(iterations)) });
    });
    Some(12.0 * 16.0 * 2.0 * iterations as f64 / (median * 1e-3) / 1e9)
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(dead_code, reason = "only the runtime comparison prints it")]
pub fn fma_peak_avx512() -> Option<f64> {
    None
}

/// One timed case of one runtime.
#[derive(Clone, Debug)]
pub struct Row {
    pub runtime: &'static str,
    pub case: String,
    pub median_ms: f64,
    pub min_ms: f64,
    /// Effective GFLOP/s: the direct-convolution FLOP count over the median time.
    pub gflops: f64,
    /// `gflops` over the FMA-chain peak, when the peak was measured.
    pub peak_fraction: Option<f64>,
    /// The ratio to nnc measured round by round ([`interleaved`]); without it the report divides
    /// the medians.
    pub ratio: Option<Spread>,
}

impl Row {
    pub fn new(
        runtime: &'static str,
        case: String,
        (median_ms, min_ms): (f64, f64),
        flops: u64,
        peak: Option<f64>,
    ) -> Row {
        let gflops = flops as f64 / (median_ms * 1e-3) / 1e9;
        Row {
            runtime,
            case,
            median_ms,
            min_ms,
            gflops,
            peak_fraction: peak.map(|p| gflops / p),
            ratio: None,
        }
    }

    /// A row from [`interleaved`]'s figures, keeping its round-by-round ratio.
    #[allow(dead_code)] // Not every bench compares runtimes.
    pub fn timed(
        runtime: &'static str,
        case: String,
        timing: Timing,
        flops: u64,
        peak: Option<f64>,
    ) -> Row {
        Row {
            ratio: Some(timing.ratio),
            ..Row::new(
                runtime,
                case,
                (timing.median_ms, timing.min_ms),
                flops,
                peak,
            )
        }
    }
}

/// Prints the rows as one table, each with its ratio to the `nnc` row of the same case (the
/// round-by-round median and quartiles where the row has them, else the ratio of the medians),
/// and writes them as a JSON list of objects to `out`.
pub fn report(rows: &[Row], out: &Path) {
    println!(
        "{:<13} {:<36} {:>10} {:>10} {:>9} {:>7} {:>10} {:>13}",
        "runtime", "case", "median ms", "min ms", "GFLOP/s", "peak", "vs nnc", "middle half"
    );
    let nnc_median = |case: &str| {
        rows.iter()
            .find(|r| r.runtime == "nnc" && r.case == case)
            .map(|r| r.median_ms)
    };
    let number = |x: Option<f64>, digits: usize| match x {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "null".to_string(),
    };
    let mut json = Vec::new();
    for r in rows {
        let ratio = match r.ratio {
            Some(spread) => spread.median,
            None => nnc_median(&r.case)
                .map(|m| r.median_ms / m)
                .unwrap_or(f64::NAN),
        };
        let peak_text = r
            .peak_fraction
            .map_or("-".to_string(), |f| format!("{:.0}%", f * 100.0));
        let spread_text = r
            .ratio
            .map_or("-".to_string(), |s| format!("{:.2}-{:.2}", s.q1, s.q3));
        println!(
            "{:<13} {:<36} {:>10.3} {:>10.3} {:>9.1} {:>7} {:>9.2}x {:>13}",
            r.runtime, r.case, r.median_ms, r.min_ms, r.gflops, peak_text, ratio, spread_text
        );
        json.push(format!(
            "{{\"runtime\": \"{}\", \"case\": \"{}\", \"median_ms\": {:.4}, \"min_ms\": {:.4}, \"gflops\": {:.3}, \"peak_fraction\": {}, \"ratio_to_nnc\": {}, \"ratio_q1\": {}, \"ratio_q3\": {}}}",
            r.runtime,
            r.case,
            r.median_ms,
            r.min_ms,
            r.gflops,
            number(r.peak_fraction, 4),
            number(Some(ratio), 3),
            number(r.ratio.map(|s| s.q1), 3),
            number(r.ratio.map(|s| s.q3), 3),
        ));
    }
    write_atomically(out, &format!("[\n  {}\n]\n", json.join(",\n  ")));
}

/// Writes `text` to `out` through a temporary file, so a reader never sees half a file.
pub fn write_atomically(out: &Path, text: &str) {
    let tmp = out.with_extension("tmp");
    let written = out
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, out));
    match written {
        Ok(()) => println!("wrote {}", out.display()),
        Err(e) => eprintln!("could not write {}: {e}", out.display()),
    }
}
