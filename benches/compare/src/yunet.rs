//! YuNet-s and YuNet-n at 640x480 (cases `yunet_s`, `yunet_n`): nnc compiles each from its ONNX
//! file as published (`models/yunet_s.onnx`, `models/yunet_n.onnx`), and ONNX Runtime and tract
//! run the same file, single-threaded, on the same input. Each runtime's heads are checked
//! against ONNX Runtime's before any timing.

use crate::runners::{self, Compiled, Inputs, Runner};
use crate::support::Row;
use nnc::ir::testing::{Rng, random_input};
use std::path::Path;
use std::time::Duration;

nnc::nnc! {
    /// YuNet-s as published (Apache-2.0), one 640x480 frame.
    pub mod yunet_s {
        model: "../../models/yunet_s.onnx",
        input: 640 x 480,
        scales: [1.0],
    }
}

nnc::nnc! {
    /// YuNet-n as published (Apache-2.0), one 640x480 frame.
    pub mod yunet_n {
        model: "../../models/yunet_n.onnx",
        input: 640 x 480,
        scales: [1.0],
    }
}

/// Times both models in every runtime: the rows, and whether every runtime agreed with ONNX
/// Runtime within 1e-3 (false, with no rows, where ONNX Runtime is missing).
pub fn rows(root: &Path, budget: Duration, peak: Option<f64>) -> (Vec<Row>, bool) {
    let (h, w) = yunet_s::v640x480::SIZES[0];
    let mut rng = Rng::new(5);
    // YuNet reads 0..255 pixel values.
    let nhwc: Vec<f32> = random_input(&mut rng, h, w, 3)
        .into_iter()
        .map(|x| 127.5 + 127.5 * x)
        .collect();
    let inputs = Inputs::new(vec![(h, w)], vec![nhwc]);
    let mut rows = Vec::new();
    let mut agree = true;
    for (case, flops) in [
        ("yunet_s", yunet_s::v640x480::TOTAL_FLOPS),
        ("yunet_n", yunet_n::v640x480::TOTAL_FLOPS),
    ] {
        let onnx = root.join(format!("models/{case}.onnx"));
        let paths: [Box<dyn Runner + '_>; 3] = if case == "yunet_s" {
            [
                yunet_s::Network::new(),
                yunet_s::Network::without_avx512(),
                yunet_s::Network::portable(),
            ]
            .map(|net| {
                Box::new(Compiled {
                    net,
                    inputs: &inputs,
                }) as Box<dyn Runner>
            })
        } else {
            [
                yunet_n::Network::new(),
                yunet_n::Network::without_avx512(),
                yunet_n::Network::portable(),
            ]
            .map(|net| {
                Box::new(Compiled {
                    net,
                    inputs: &inputs,
                }) as Box<dyn Runner>
            })
        };
        let mut all: runners::Named<'_> = ["nnc", "nnc-avx2", "nnc-portable"]
            .into_iter()
            .zip(paths)
            .collect();
        match runners::OnnxRuntime::new(&onnx, &inputs) {
            Ok(ort) => all.push(("onnxruntime", Box::new(ort))),
            Err(why) => {
                println!("{case}: onnxruntime: skipped: {why}");
                return (Vec::new(), false);
            }
        }
        match runners::Tract::new(&onnx, &inputs) {
            Ok(tract) => all.push(("tract", Box::new(tract))),
            Err(why) => println!("{case}: tract: skipped: {why}"),
        }
        let reference = all
            .iter_mut()
            .find(|(name, _)| *name == "onnxruntime")
            .map(|(_, r)| r.outputs(0))
            .expect("onnxruntime is prepared");
        for (name, runner) in &mut all {
            let worst = runners::worst_difference(&reference, &runner.outputs(0));
            let ok = worst.relative <= 1e-3;
            println!(
                "{case} {name:<12} heads vs onnxruntime: max abs difference {:.2e} (relative {:.2e}){}",
                worst.abs,
                worst.relative,
                if ok { "" } else { "  MISMATCH" }
            );
            agree &= ok;
        }
        rows.extend(runners::time_case(
            &mut all,
            case,
            0..1,
            flops,
            budget,
            peak,
        ));
    }
    (rows, agree)
}
