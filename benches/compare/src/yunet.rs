//! YuNet-s at 640x480 (`--yunet`): nnc compiles `models/yunet_s.onnx` straight from ONNX, and
//! ONNX Runtime and tract run the same file, single-threaded, on the same input. Each runtime's
//! heads are checked against ONNX Runtime's before any timing.

use crate::runners::{self, Inputs, Runner};
use crate::support::{fma_peak, time};
use nnc::__private::Pyramid;
use nnc::ir::testing::{Rng, random_input};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

nnc::nnc! {
    /// YuNet-s as published (Apache-2.0), one 640x480 frame.
    pub mod yunet {
        model: "../../models/yunet_s.onnx",
        input: 640 x 480,
        scales: [1.0],
    }
}

/// The compiled network as a runner, for the same checks as the others.
struct Compiled<'a> {
    net: yunet::Network,
    input: &'a [f32],
}

impl Runner for Compiled<'_> {
    fn run(&mut self, _: usize) {
        self.net.run_scale(0, 0, self.input, &mut |head| {
            black_box(head.data[0]);
        });
    }

    fn outputs(&mut self, _: usize) -> Vec<runners::Head> {
        let mut heads = Vec::new();
        self.net.run_scale(0, 0, self.input, &mut |head| {
            heads.push((head.name.to_string(), head.data.to_vec()));
        });
        heads
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Runs the comparison and prints its table; false when a runtime disagrees with ONNX Runtime.
pub fn compare(root: &Path, budget: Duration) -> bool {
    println!("load average before: {}", load_average());
    match fma_peak() {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured"),
    }
    let (h, w) = yunet::v640x480::SIZES[0];
    let mut rng = Rng::new(5);
    // YuNet reads 0..255 pixel values.
    let nhwc: Vec<f32> = random_input(&mut rng, h, w, 3)
        .into_iter()
        .map(|x| 127.5 + 127.5 * x)
        .collect();
    let inputs = Inputs::new(vec![(h, w)], vec![nhwc.clone()]);
    let onnx = root.join("models/yunet_s.onnx");
    let mut all: Vec<(&str, Box<dyn Runner + '_>)> = vec![
        (
            "nnc",
            Box::new(Compiled {
                net: yunet::Network::new(),
                input: &nhwc,
            }),
        ),
        (
            "nnc-portable",
            Box::new(Compiled {
                net: yunet::Network::portable(),
                input: &nhwc,
            }),
        ),
    ];
    match runners::OnnxRuntime::new(&onnx, &inputs) {
        Ok(ort) => all.push(("onnxruntime", Box::new(ort))),
        Err(why) => {
            println!("onnxruntime: skipped: {why}");
            return false;
        }
    }
    match runners::Tract::new(&onnx, &inputs) {
        Ok(tract) => all.push(("tract", Box::new(tract))),
        Err(why) => println!("tract: skipped: {why}"),
    }
    let reference = all
        .iter_mut()
        .find(|(name, _)| *name == "onnxruntime")
        .map(|(_, r)| r.outputs(0))
        .expect("onnxruntime is prepared");
    let mut agree = true;
    for (name, runner) in &mut all {
        let worst = runners::worst_difference(&reference, &runner.outputs(0));
        let ok = worst.relative <= 1e-3;
        println!(
            "{name:<12} heads vs onnxruntime: max abs difference {:.2e} (relative {:.2e}){}",
            worst.abs,
            worst.relative,
            if ok { "" } else { "  MISMATCH" }
        );
        agree &= ok;
    }
    let mut times = Vec::new();
    for (name, runner) in &mut all {
        let (median, min) = time(budget, || runner.run(0));
        times.push((*name, median, min));
    }
    let ort = times
        .iter()
        .find(|(n, ..)| *n == "onnxruntime")
        .map(|t| t.1)
        .expect("timed");
    println!("\nYuNet-s at 640x480, one thread:");
    println!("| runtime | median ms | min ms | time vs onnxruntime |");
    println!("|---|---|---|---|");
    for (name, median, min) in &times {
        println!("| {name} | {median:.2} | {min:.2} | {:.2}x |", median / ort);
    }
    println!("load average after: {}", load_average());
    agree
}
