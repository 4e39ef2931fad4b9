//! The detector-shaped test network (`models/testnet.nnc`, 980 MFLOP over a 640x480 pyramid;
//! it uses every op nnc supports) on the face pyramid's five scales (case `testnet:pyramid`):
//! nnc and the interpreter from the description, ONNX Runtime and tract from
//! `models/testnet.onnx`, single-threaded. Every runtime's heads are checked against the
//! interpreter's on every scale before timing.

use crate::runners::{self, Compiled, Head, Inputs, Interpreted};
use crate::support::Row;
use nnc::ir::Model;
use nnc::ir::testing::{Rng, random_input};
use std::path::Path;
use std::time::Duration;

nnc::nnc! {
    /// testnet at a 640x480 frame, five scales, f32 weights.
    pub mod testnet {
        model: "../../models/testnet.nnc",
        weights: "../../models/testnet.safetensors",
        input: 640 x 480,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

/// The whole pyramid in every runtime: the rows, and whether every runtime agreed with the
/// interpreter within 1e-3 on every scale.
pub fn rows(root: &Path, budget: Duration, peak: Option<f64>) -> (Vec<Row>, bool) {
    let sizes = testnet::v640x480::SIZES;
    let mut rng = Rng::new(9);
    let nhwc: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&(h, w)| random_input(&mut rng, h, w, 3))
        .collect();
    let model = match Model::load(
        &root.join("models/testnet.nnc"),
        &root.join("models/testnet.safetensors"),
    ) {
        Ok(model) => model,
        Err(e) => {
            println!("testnet: {e}");
            return (Vec::new(), false);
        }
    };
    let inputs = Inputs::new(sizes.to_vec(), nhwc);
    let onnx = root.join("models/testnet.onnx");
    let mut all: runners::Named<'_> = vec![
        (
            "nnc",
            Box::new(Compiled {
                net: testnet::Network::new(),
                inputs: &inputs,
            }),
        ),
        (
            "nnc-avx2",
            Box::new(Compiled {
                net: testnet::Network::without_avx512(),
                inputs: &inputs,
            }),
        ),
        (
            "nnc-portable",
            Box::new(Compiled {
                net: testnet::Network::portable(),
                inputs: &inputs,
            }),
        ),
        ("interpreter", Box::new(Interpreted::new(model, &inputs))),
    ];
    match runners::OnnxRuntime::new(&onnx, &inputs) {
        Ok(ort) => all.push(("onnxruntime", Box::new(ort))),
        Err(why) => println!("testnet: onnxruntime: skipped: {why}"),
    }
    match runners::Tract::new(&onnx, &inputs) {
        Ok(tract) => all.push(("tract", Box::new(tract))),
        Err(why) => println!("testnet: tract: skipped: {why}"),
    }
    let interpreter = all
        .iter_mut()
        .find(|(name, _)| *name == "interpreter")
        .map(|(_, r)| r)
        .expect("the interpreter is always there");
    let reference: Vec<Vec<Head>> = (0..sizes.len()).map(|s| interpreter.outputs(s)).collect();
    let mut agree = true;
    for (name, runner) in &mut all {
        let worst = (0..sizes.len())
            .map(|s| runners::worst_difference(&reference[s], &runner.outputs(s)))
            .fold(runners::Difference::default(), runners::Difference::max);
        let ok = worst.relative <= 1e-3;
        println!(
            "testnet   {name:<12} heads vs interpreter on all 5 scales: max abs difference {:.2e} (relative {:.2e}){}",
            worst.abs,
            worst.relative,
            if ok { "" } else { "  MISMATCH" }
        );
        agree &= ok;
    }
    let flops = testnet::v640x480::TOTAL_FLOPS;
    let rows = runners::time_case(
        &mut all,
        "testnet:pyramid",
        0..sizes.len(),
        flops,
        budget,
        peak,
    );
    (rows, agree)
}
