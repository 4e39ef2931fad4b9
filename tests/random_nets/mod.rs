//! What `compiled_random_a.rs` and `compiled_random_b.rs` share: the check of one seeded random
//! network (`tests/random/`, made by `cargo run -p nnc-ir --example make_random_models --
//! tests/random 20`) compiled with `nnc!` at 64x48 and scales 1, 1/2, 1/4, against the
//! interpreter on both paths, and `random_net!`, which makes one such test. The networks cover
//! every op, fused and unfused, strides, padding, even and rectangular kernels, dilation,
//! depthwise convolutions, residual adds and concats.

use nnc::ir::testing::{Rng, random_input};
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::path::Path;

pub fn check(
    name: &str,
    run: impl Fn(bool, [&[f32]; 3]) -> [(Vec<f32>, Vec<f32>); 3],
    sizes: &[(usize, usize)],
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/random");
    let model = Model::load(
        &root.join(format!("{name}.nnc")),
        &root.join(format!("{name}.safetensors")),
    )
    .unwrap();
    let c = model.graph.input_channels();
    let interpreter = Interpreter::new(model);
    let mut rng = Rng::new(77);
    let data: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&(h, w)| random_input(&mut rng, h, w, c))
        .collect();
    for portable in [false, true] {
        let got = run(portable, [&data[0], &data[1], &data[2]]);
        for (s, (score, boxes)) in got.iter().enumerate() {
            let (h, w) = sizes[s];
            let expect = interpreter
                .run(&Tensor::from_vec(Shape { h, w, c }, data[s].clone()))
                .unwrap();
            for (head, values) in [("score", score), ("box", boxes)] {
                let e = expect.get(head).unwrap();
                assert_eq!(values.len(), e.data.len(), "{name} scale{s} {head}");
                for (i, (g, x)) in values.iter().zip(&e.data).enumerate() {
                    assert!(
                        (g - x).abs() <= 1e-4 * (1.0 + x.abs()),
                        "{name} portable={portable} scale{s} {head}[{i}]: {g} vs {x}"
                    );
                }
            }
        }
    }
}

macro_rules! random_net {
    ($name:ident, $model:literal, $weights:literal) => {
        #[test]
        fn $name() {
            nnc::nnc! {
                mod net {
                    model: $model,
                    weights: $weights,
                    input: 64 x 48,
                    scales: [1.0, 0.5, 0.25],
                }
            }
            let run = |portable: bool, inputs: [&[f32]; 3]| {
                let mut n = if portable {
                    net::Network::portable()
                } else {
                    net::Network::new()
                };
                let o = n.v64x48().run_all(net::v64x48::Inputs {
                    scale0: inputs[0].try_into().unwrap(),
                    scale1: inputs[1].try_into().unwrap(),
                    scale2: inputs[2].try_into().unwrap(),
                });
                [
                    (
                        o.scale0.score.data().to_vec(),
                        o.scale0.r#box.data().to_vec(),
                    ),
                    (
                        o.scale1.score.data().to_vec(),
                        o.scale1.r#box.data().to_vec(),
                    ),
                    (
                        o.scale2.score.data().to_vec(),
                        o.scale2.r#box.data().to_vec(),
                    ),
                ]
            };
            const { assert!(net::ARENA_BYTES == net::LOWER_BOUND_BYTES) };
            $crate::random_nets::check(stringify!($name), run, net::v64x48::SIZES);
        }
    };
}
