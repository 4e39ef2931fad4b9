//! dlib's face embedding ResNet on one 150x150 chip (case `embedding`), the network Memories
//! runs on every face: nnc compiles `models/face_embedding.nnc` with f32 weights; the
//! interpreter runs the same description; ONNX Runtime and tract run the ONNX file nnc's
//! exporter writes from it (`target/face_embedding.onnx`), single-threaded. Every runtime's
//! descriptor is checked against the interpreter's before any timing.
//!
//! Then the per-layer breakdown (cases `embedding:LAYER`, nnc only): each distinct layer shape
//! of the network compiled alone (`models/embedding/*.nnc`, random weights) and timed at its
//! size in the network. Layers of one shape share one measurement, named after the first of
//! them; what the shapes leave of the whole network's time (the residual additions, ReLUs after
//! them, the skip average-pools and the 1x1 descriptor) is printed as the rest.

use crate::runners::{self, Compiled, Inputs, Interpreted};
use crate::support::{Row, time};
use nnc::__private::Pyramid;
use nnc::ir::Model;
use nnc::ir::testing::{Rng, random_input};
use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

nnc::nnc! {
    /// The face embedding at one 150x150 chip, f32 weights.
    pub mod embedding {
        model: "../../models/face_embedding.nnc",
        weights: "../../models/face_embedding.safetensors",
        input: 150 x 150,
    }
}

/// The whole network in every runtime, then the per-layer breakdown: the rows, and whether every
/// runtime agreed with the interpreter within 1e-3 (relative to the descriptor's largest value).
pub fn rows(root: &Path, budget: Duration, peak: Option<f64>) -> (Vec<Row>, bool) {
    let (h, w) = embedding::v150x150::SIZES[0];
    let mut rng = Rng::new(7);
    // The chip is 0..255 pixel values (the network folds dlib's scaling into its stem).
    let nhwc: Vec<f32> = random_input(&mut rng, h, w, 3)
        .into_iter()
        .map(|x| 127.5 + 127.5 * x)
        .collect();
    let model = match Model::load(
        &root.join("models/face_embedding.nnc"),
        &root.join("models/face_embedding.safetensors"),
    ) {
        Ok(model) => model,
        Err(e) => {
            println!("embedding: {e}");
            return (Vec::new(), false);
        }
    };
    let onnx = root.join("target/face_embedding.onnx");
    // A fresh clone has no `target/` at the root (the bench builds in its own workspace).
    let exported = nnc_ir::onnx::export(&model)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            std::fs::create_dir_all(root.join("target"))
                .and_then(|()| std::fs::write(&onnx, bytes))
                .map_err(|e| e.to_string())
        });
    if let Err(why) = exported {
        println!("embedding: cannot export {}: {why}", onnx.display());
        return (Vec::new(), false);
    }
    let inputs = Inputs::new(vec![(h, w)], vec![nhwc]);
    let mut all: runners::Named<'_> = vec![
        (
            "nnc",
            Box::new(Compiled {
                net: embedding::Network::new(),
                inputs: &inputs,
            }),
        ),
        (
            "nnc-avx2",
            Box::new(Compiled {
                net: embedding::Network::without_avx512(),
                inputs: &inputs,
            }),
        ),
        (
            "nnc-portable",
            Box::new(Compiled {
                net: embedding::Network::portable(),
                inputs: &inputs,
            }),
        ),
        ("interpreter", Box::new(Interpreted::new(model, &inputs))),
    ];
    match runners::OnnxRuntime::new(&onnx, &inputs) {
        Ok(ort) => all.push(("onnxruntime", Box::new(ort))),
        Err(why) => println!("embedding: onnxruntime: skipped: {why}"),
    }
    match runners::Tract::new(&onnx, &inputs) {
        Ok(tract) => all.push(("tract", Box::new(tract))),
        Err(why) => println!("embedding: tract: skipped: {why}"),
    }
    let reference = all
        .iter_mut()
        .find(|(name, _)| *name == "interpreter")
        .map(|(_, r)| r.outputs(0))
        .expect("the interpreter is always there");
    let mut agree = true;
    for (name, runner) in &mut all {
        let worst = runners::worst_difference(&reference, &runner.outputs(0));
        let ok = worst.relative <= 1e-3;
        println!(
            "embedding {name:<12} descriptor vs interpreter: max abs difference {:.2e} (relative {:.2e}){}",
            worst.abs,
            worst.relative,
            if ok { "" } else { "  MISMATCH" }
        );
        agree &= ok;
    }
    let flops = embedding::v150x150::TOTAL_FLOPS;
    let rows = runners::time_case(&mut all, "embedding", 0..1, flops, budget, peak);
    (rows, agree)
}

/// Runs nnc's whole embedding (the path `Network::new()` takes, or the portable path) on one
/// random chip for `seconds` and prints the runs' median time: nothing else runs, so a profiler
/// attached to the process sees the network as it runs in Memories, each layer's weights coming
/// from wherever the layers before it left them.
pub fn run_for(seconds: &str, portable: bool) -> ExitCode {
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("error: --embedding-loop wants a number of seconds, not {seconds:?}");
        return ExitCode::from(2);
    };
    let (h, w) = embedding::v150x150::SIZES[0];
    let chip: Vec<f32> = random_input(&mut Rng::new(7), h, w, 3)
        .into_iter()
        .map(|x| 127.5 + 127.5 * x)
        .collect();
    let mut net = if portable {
        embedding::Network::portable()
    } else {
        embedding::Network::new()
    };
    let runs = crate::support::loop_for(seconds, || {
        net.run_scale(0, 0, &chip, &mut |head| {
            black_box(head.data[0]);
        })
    });
    println!("embedding: {runs}");
    ExitCode::SUCCESS
}

/// One module per layer shape (`nnc!` needs its paths as literals), and `all_layers` listing
/// them: what each computes, its input channels, its sizes (width x height) in the network, and
/// the network's layers it stands for, each with the index of its size.
macro_rules! layers {
    ($(
        $module:ident: $model:literal, $weights:literal, $what:literal, $channels:literal,
            [$($w:literal x $h:literal => $variant:ident),*],
            [$($layer:literal @ $at:literal),*];
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

        fn all_layers() -> Vec<Layer> {
            vec![$(
                Layer {
                    what: $what,
                    net: Box::new($module::net::Network::new()),
                    channels: $channels,
                    sizes: vec![$(($h, $w, $module::net::$variant::TOTAL_FLOPS)),*],
                    stands_for: &[$(($layer, $at)),*],
                },
            )*]
        }
    };
}

struct Layer {
    what: &'static str,
    net: Box<dyn Pyramid>,
    channels: usize,
    /// `(height, width, flops)` of each input size compiled.
    sizes: Vec<(usize, usize, u64)>,
    /// The network's layers of this shape, each with the index of its input size in `sizes`.
    stands_for: &'static [(&'static str, usize)],
}

layers! {
    stem: "models/embedding/stem.nnc", "models/embedding/stem.safetensors",
        "7x7/2 conv 3->32 + ReLU", 3, [150 x 150 => v150x150], ["stem" @ 0];
    stem_pool: "models/embedding/stem_pool.nnc", "models/embedding/stem_pool.safetensors",
        "3x3/2 max-pool, 32 channels", 32, [72 x 72 => v72x72], ["stem_pool" @ 0];
    c32: "models/embedding/c32.nnc", "models/embedding/c32.safetensors",
        "3x3 conv 32->32 + ReLU", 32, [35 x 35 => v35x35],
        ["block1_conv1" @ 0, "block1_conv2" @ 0, "block2_conv1" @ 0, "block2_conv2" @ 0,
         "block3_conv1" @ 0, "block3_conv2" @ 0];
    c64s2: "models/embedding/c64s2.nnc", "models/embedding/c64s2.safetensors",
        "3x3/2 conv 32->64 + ReLU", 32, [35 x 35 => v35x35], ["block4_conv1" @ 0];
    c64: "models/embedding/c64.nnc", "models/embedding/c64.safetensors",
        "3x3 conv 64->64 + ReLU", 64, [17 x 17 => v17x17],
        ["block4_conv2" @ 0, "block5_conv1" @ 0, "block5_conv2" @ 0, "block6_conv1" @ 0,
         "block6_conv2" @ 0, "block7_conv1" @ 0, "block7_conv2" @ 0];
    c128s2: "models/embedding/c128s2.nnc", "models/embedding/c128s2.safetensors",
        "3x3/2 conv 64->128 + ReLU", 64, [17 x 17 => v17x17], ["block8_conv1" @ 0];
    c128: "models/embedding/c128.nnc", "models/embedding/c128.safetensors",
        "3x3 conv 128->128 + ReLU", 128, [8 x 8 => v8x8],
        ["block8_conv2" @ 0, "block9_conv1" @ 0, "block9_conv2" @ 0, "block10_conv1" @ 0,
         "block10_conv2" @ 0];
    c256s2: "models/embedding/c256s2.nnc", "models/embedding/c256s2.safetensors",
        "3x3/2 conv 128->256 + ReLU", 128, [8 x 8 => v8x8], ["block11_conv1" @ 0];
    c256: "models/embedding/c256.nnc", "models/embedding/c256.safetensors",
        "3x3 conv 256->256 + ReLU", 256, [4 x 4 => v4x4, 3 x 3 => v3x3, 1 x 1 => v1x1],
        ["block12_conv1" @ 0, "block12_conv2" @ 0, "block13_conv1" @ 0, "block13_conv2" @ 0,
         "block11_conv2" @ 1, "block14_conv2" @ 2];
    c256s2at4: "models/embedding/c256s2at4.nnc", "models/embedding/c256s2at4.safetensors",
        "3x3/2 conv 256->256 + ReLU", 256, [4 x 4 => v4x4], ["block14_conv1" @ 0];
}

/// Times each layer shape at each of its sizes, prints the breakdown against the whole network's
/// nnc time (from `rows`), and returns one row per shape and size, `embedding:LAYER` after the
/// first layer it stands for.
pub fn breakdown(budget: Duration, peak: Option<f64>, rows: &[Row]) -> Vec<Row> {
    let whole = rows
        .iter()
        .find(|r| r.runtime == "nnc" && r.case == "embedding")
        .map(|r| r.median_ms);
    let mut rng = Rng::new(8);
    let mut out = Vec::new();
    let mut summed = 0.0;
    println!(
        "per-layer breakdown of the embedding in nnc (the path Network::new() takes: AVX-512 where the CPU has it): each layer shape compiled alone at its size, median ms"
    );
    println!(
        "{:<15} {:<28} {:>7} {:>6} {:>9} {:>9} {:>6} {:>8} {:>5}  layers",
        "row", "what", "size", "count", "ms each", "ms all", "share", "GFLOP/s", "peak"
    );
    for mut layer in all_layers() {
        for (variant, &(h, w, flops)) in layer.sizes.iter().enumerate() {
            let names: Vec<&str> = layer
                .stands_for
                .iter()
                .filter(|(_, at)| *at == variant)
                .map(|(name, _)| *name)
                .collect();
            let input = random_input(&mut rng, h, w, layer.channels);
            let t = time(budget, || {
                layer.net.run_scale(variant, 0, &input, &mut |head| {
                    black_box(head.data[0]);
                });
            });
            let all = t.0 * names.len() as f64;
            summed += all;
            let row = Row::new("nnc", format!("embedding:{}", names[0]), t, flops, peak);
            println!(
                "{:<15} {:<28} {:>7} {:>6} {:>9.3} {:>9.3} {:>6} {:>8.1} {:>5}  {}",
                names[0],
                layer.what,
                format!("{w}x{h}"),
                names.len(),
                t.0,
                all,
                whole.map_or("-".to_string(), |w| format!("{:.1}%", 100.0 * all / w)),
                row.gflops,
                peak.map_or("-".to_string(), |p| format!(
                    "{:.0}%",
                    100.0 * row.gflops / p
                )),
                names.join(" ")
            );
            out.push(row);
        }
    }
    match whole {
        Some(whole) => println!(
            "sum of the layers {summed:.3} ms; the whole network {whole:.3} ms; the rest (additions, ReLUs, skip pools, descriptor, arena traffic) {:.3} ms ({:.1}%)",
            whole - summed,
            100.0 * (whole - summed) / whole
        ),
        None => println!("sum of the layers {summed:.3} ms"),
    }
    out
}
