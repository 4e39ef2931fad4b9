//! Side-by-side timing of the face detector network and the test network over a 640x480 five-scale
//! pyramid: the nnc-generated code (AVX2+FMA and portable paths) and the reference interpreter, single-threaded, on the same
//! inputs, with this machine's single-core FP32 peak measured in the same run by an FMA-chain probe.
//!
//! ```text
//! cargo bench --bench pyramid
//! ```
//!
//! Prints one table and writes the same rows to `target/nnc-pyramid.json`.

use nnc::ir::testing::{Rng, random_input};
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{Row, fma_peak, time};

nnc::nnc! {
    /// The face detector at a 640x480 frame, five scales.
    mod face {
        model: "models/face_student.nnc",
        weights: "models/face_student.safetensors",
        input: 640 x 480,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

nnc::nnc! {
    /// The test network at a 640x480 frame, five scales.
    mod testnet {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 640 x 480,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

nnc::nnc! {
    /// testnet's largest layer on its own: 3x3 conv, ReLU and 2x2 max-pool at 240x320x16.
    mod conv_pool {
        model: "benches/models/conv_pool.nnc",
        weights: "benches/models/conv_pool.safetensors",
        input: 320 x 240,
    }
}

nnc::nnc! {
    /// The face detector's first layer: 3 input channels at 480x640, ReLU, 2x2 max-pool.
    mod first_layer {
        model: "benches/models/first_layer.nnc",
        weights: "benches/models/first_layer.safetensors",
        input: 640 x 480,
    }
}

nnc::nnc! {
    /// A 3x3 conv with 32 channels in and out at 120x160.
    mod conv32 {
        model: "benches/models/conv32.nnc",
        weights: "benches/models/conv32.safetensors",
        input: 160 x 120,
    }
}

nnc::nnc! {
    /// A 3x3 depthwise conv with 32 channels at 120x160.
    mod depthwise32 {
        model: "benches/models/depthwise32.nnc",
        weights: "benches/models/depthwise32.safetensors",
        input: 160 x 120,
    }
}

/// Times a one-layer model compiled by nnc on `input` at its only size and scale, pushing one row.
macro_rules! layer_row {
    ($module:ident, $variant:ident, $head:ident, $input:expr, $label:literal, $budget:expr, $push:expr) => {{
        let mut layer = $module::Network::new();
        let input: &[f32] = &$input;
        let t = time($budget, || {
            black_box(
                layer
                    .$variant()
                    .scale0(input.try_into().unwrap())
                    .$head
                    .at(0, 0, 0),
            );
        });
        $push("nnc", $label.into(), t, $module::$variant::TOTAL_FLOPS);
    }};
}

/// Times one compiled model (AVX2 and portable) and the interpreter on the same inputs: scale 0,
/// scale 2 and the whole pyramid, pushing a row for each.
macro_rules! model_rows {
    ($module:ident, $stem:literal, $label:literal, $budget:expr, $rng:expr, $push:expr) => {{
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let model = Model::load(
            &root.join(concat!($stem, ".nnc")),
            &root.join(concat!($stem, ".safetensors")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let interpreter = Interpreter::new(model);
        let sizes = $module::v640x480::SIZES;
        let flops = $module::v640x480::FLOPS;
        let inputs: Vec<Vec<f32>> = sizes
            .iter()
            .map(|&(h, w)| random_input(&mut $rng, h, w, 3))
            .collect();
        let tensors: Vec<Tensor> = sizes
            .iter()
            .zip(&inputs)
            .map(|(&(h, w), d)| Tensor::from_vec(Shape { h, w, c: 3 }, d.clone()))
            .collect();
        for (runtime, mut net) in [
            ("nnc", $module::Network::new()),
            ("nnc-portable", $module::Network::portable()),
        ] {
            let input0: &[f32; 480 * 640 * 3] = inputs[0].as_slice().try_into().unwrap();
            let t = time($budget, || {
                black_box(net.v640x480().scale0(input0).score.at(0, 0, 0));
            });
            $push(runtime, concat!($label, ":scale0").into(), t, flops[0]);
            let input2: &[f32; 120 * 160 * 3] = inputs[2].as_slice().try_into().unwrap();
            let t = time($budget, || {
                black_box(net.v640x480().scale2(input2).score.at(0, 0, 0));
            });
            $push(runtime, concat!($label, ":scale2").into(), t, flops[2]);
            let t = time($budget, || {
                let o = net.v640x480().run_all($module::v640x480::Inputs {
                    scale0: inputs[0].as_slice().try_into().unwrap(),
                    scale1: inputs[1].as_slice().try_into().unwrap(),
                    scale2: inputs[2].as_slice().try_into().unwrap(),
                    scale3: inputs[3].as_slice().try_into().unwrap(),
                    scale4: inputs[4].as_slice().try_into().unwrap(),
                });
                black_box(o.scale4.score.at(0, 0, 0));
            });
            $push(
                runtime,
                concat!($label, ":pyramid").into(),
                t,
                $module::v640x480::TOTAL_FLOPS,
            );
        }
        for (s, case) in [
            (0, concat!($label, ":scale0")),
            (2, concat!($label, ":scale2")),
        ] {
            let t = time($budget, || {
                black_box(interpreter.run(&tensors[s]).unwrap());
            });
            $push("interpreter", case.into(), t, flops[s]);
        }
        let t = time($budget, || {
            for t in &tensors {
                black_box(interpreter.run(t).unwrap());
            }
        });
        $push(
            "interpreter",
            concat!($label, ":pyramid").into(),
            t,
            $module::v640x480::TOTAL_FLOPS,
        );
    }};
}

fn main() {
    let budget = Duration::from_millis(if std::env::args().any(|a| a == "--quick") {
        200
    } else {
        1500
    });
    let peak = fma_peak();
    let mut rows = Vec::new();
    let mut push = |runtime, case: String, t: (f64, f64), flops: u64| {
        rows.push(Row::new(runtime, case, t, flops, peak));
    };
    let mut rng = Rng::new(1);
    model_rows!(face, "face_student", "face", budget, rng, push);
    model_rows!(testnet, "testnet", "testnet", budget, rng, push);
    let input = random_input(&mut rng, 240, 320, 16);
    layer_row!(
        conv_pool,
        v320x240,
        p,
        input,
        "layer:conv3x3-16-relu-pool@240x320",
        budget,
        push
    );
    let input = random_input(&mut rng, 480, 640, 3);
    layer_row!(
        first_layer,
        v640x480,
        p,
        input,
        "layer:conv3x3-3to16-relu-pool@480x640",
        budget,
        push
    );
    let layer_input = random_input(&mut rng, 120, 160, 32);
    layer_row!(
        conv32,
        v160x120,
        a,
        layer_input,
        "layer:conv3x3-32-relu@120x160",
        budget,
        push
    );
    layer_row!(
        depthwise32,
        v160x120,
        a,
        layer_input,
        "layer:depthwise3x3-32-relu@120x160",
        budget,
        push
    );
    // The interpreter on the same layer: its grouped path indexes each tap's input channel.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/models");
    let interpreter = Interpreter::new(
        Model::load(
            &root.join("depthwise32.nnc"),
            &root.join("depthwise32.safetensors"),
        )
        .unwrap(),
    );
    let tensor = Tensor::from_vec(
        Shape {
            h: 120,
            w: 160,
            c: 32,
        },
        layer_input,
    );
    let t = time(budget, || {
        black_box(interpreter.run(&tensor).unwrap());
    });
    push(
        "interpreter",
        "layer:depthwise3x3-32-relu@120x160".into(),
        t,
        depthwise32::v160x120::TOTAL_FLOPS,
    );
    match peak {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: no AVX2+FMA on this CPU, not measured"),
    }
    println!(
        "640x480 frame, scales {:?}; face {} MFLOP and testnet {} MFLOP per pyramid",
        face::v640x480::SCALES,
        face::v640x480::TOTAL_FLOPS / 1_000_000,
        testnet::v640x480::TOTAL_FLOPS / 1_000_000
    );
    support::report(
        &rows,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nnc-pyramid.json"),
    );
}
