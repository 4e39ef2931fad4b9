//! Where nnc's time goes: each fused step of the face network compiled alone, for the exact input
//! size it has at each scale of the 640x480 pyramid, and timed on the path `Network::new()` takes
//! (AVX-512 where the CPU has it). The steps' sum is
//! set beside the whole pyramid's time, so the difference (arena traffic between steps, call
//! overhead) shows too.

use crate::support::{Row, time};
use nnc::__private::Pyramid;
use nnc::ir::testing::{Rng, random_input};
use std::time::Duration;

/// One module per step (`nnc!` needs its paths as literals), and `all_steps` listing them.
macro_rules! steps {
    ($(
        $module:ident: $model:literal, $weights:literal, $what:literal, $channels:literal,
            [$($w:literal x $h:literal => $variant:ident),*];
    )*) => {
        $(
            mod $module {
                nnc::nnc! {
                    pub mod net {
                        model: $model,
                        weights: $weights,
                        inputs: [$($w x $h),*],
                    }
                }
            }
        )*

        /// Each step: its name, what it computes, a fresh network, its input channels, and
        /// `(height, width, flops)` of each scale.
        fn all_steps() -> Vec<Step> {
            vec![$(
                Step {
                    name: stringify!($module),
                    what: $what,
                    net: Box::new($module::net::Network::new()),
                    channels: $channels,
                    scales: vec![$(($h, $w, $module::net::$variant::TOTAL_FLOPS)),*],
                },
            )*]
        }
    };
}

struct Step {
    name: &'static str,
    what: &'static str,
    net: Box<dyn Pyramid>,
    channels: usize,
    scales: Vec<(usize, usize, u64)>,
}

steps! {
    conv1: "models/conv1.nnc", "models/conv1.safetensors",
        "3x3 conv 3->16 + ReLU + 2x2 max-pool", 3,
        [640 x 480 => v640x480, 320 x 240 => v320x240, 160 x 120 => v160x120, 80 x 60 => v80x60, 40 x 30 => v40x30];
    conv2: "models/conv2.nnc", "models/conv2.safetensors",
        "3x3 conv 16->16 + ReLU + 2x2 max-pool", 16,
        [320 x 240 => v320x240, 160 x 120 => v160x120, 80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15];
    conv3: "models/conv3.nnc", "models/conv3.safetensors",
        "3x3 conv 16->32 + ReLU", 16,
        [160 x 120 => v160x120, 80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15, 10 x 7 => v10x7];
    conv4: "models/conv4.nnc", "models/conv4.safetensors",
        "3x3 conv 32->32 + ReLU + 2x2 max-pool", 32,
        [160 x 120 => v160x120, 80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15, 10 x 7 => v10x7];
    conv5: "models/conv5.nnc", "models/conv5.safetensors",
        "3x3 conv 32->48 + ReLU", 32,
        [80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15, 10 x 7 => v10x7, 5 x 3 => v5x3];
    conv6: "models/conv6.nnc", "models/conv6.safetensors",
        "3x3 conv 48->48 + ReLU", 48,
        [80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15, 10 x 7 => v10x7, 5 x 3 => v5x3];
    heads: "models/heads.nnc", "models/heads.safetensors",
        "1x1 convs 48->1 (+sigmoid), 48->4, 48->10", 48,
        [80 x 60 => v80x60, 40 x 30 => v40x30, 20 x 15 => v20x15, 10 x 7 => v10x7, 5 x 3 => v5x3];
}

/// Times every step at every scale and prints the breakdown: milliseconds per scale, the step's
/// share of the summed time, and its GFLOP/s and fraction of peak over the pyramid.
pub fn breakdown(budget: Duration, peak: Option<f64>, rows: &[Row]) {
    let budget = budget / 4;
    let mut rng = Rng::new(2);
    let mut measured = Vec::new();
    for mut step in all_steps() {
        let mut per_scale = Vec::new();
        for (variant, &(h, w, _)) in step.scales.iter().enumerate() {
            let input = random_input(&mut rng, h, w, step.channels);
            let (median, _) = time(budget, || {
                step.net.run_scale(variant, 0, &input, &mut |head| {
                    std::hint::black_box(head.data[0]);
                });
            });
            per_scale.push(median);
        }
        measured.push((step, per_scale));
    }
    let total: f64 = measured.iter().map(|(_, t)| t.iter().sum::<f64>()).sum();
    println!(
        "per-step breakdown of nnc (the path Network::new() takes: AVX-512 where the CPU has it): each fused step compiled alone at its size in the pyramid, median ms"
    );
    println!(
        "{:<6} {:<42} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>6} {:>8} {:>6}",
        "step",
        "what",
        "scale0",
        "scale1",
        "scale2",
        "scale3",
        "scale4",
        "pyramid",
        "share",
        "GFLOP/s",
        "peak"
    );
    for (step, per_scale) in &measured {
        let sum: f64 = per_scale.iter().sum();
        let flops: u64 = step.scales.iter().map(|s| s.2).sum();
        let gflops = flops as f64 / (sum * 1e-3) / 1e9;
        let cells: Vec<String> = per_scale.iter().map(|t| format!("{t:>7.3}")).collect();
        println!(
            "{:<6} {:<42} {} {:>8.3} {:>5.1}% {:>8.1} {:>6}",
            step.name,
            step.what,
            cells.join(" "),
            sum,
            100.0 * sum / total,
            gflops,
            peak.map_or("-".to_string(), |p| format!("{:.0}%", 100.0 * gflops / p))
        );
    }
    let whole = rows
        .iter()
        .find(|r| r.runtime == "nnc" && r.case == "pyramid")
        .map(|r| r.median_ms);
    match whole {
        Some(whole) => println!(
            "sum of steps {total:.3} ms; the whole pyramid in one network {whole:.3} ms ({:+.1}%)",
            100.0 * (whole - total) / total
        ),
        None => println!("sum of steps {total:.3} ms"),
    }
}
