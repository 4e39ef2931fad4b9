//! Seeded random networks (`tests/random/`, made by `cargo run -p nnc-ir --example
//! make_random_models -- tests/random 20`) compiled with `nnc!` at 64x48 and scales 1, 1/2, 1/4,
//! against the interpreter on both paths. They cover every op, fused and unfused, strides, padding,
//! even kernels, depthwise convolutions, residual adds and concats.

use nnc::ir::testing::{Rng, random_input};
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::path::Path;

fn check(
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
            check(stringify!($name), run, net::v64x48::SIZES);
        }
    };
}

random_net!(
    net00,
    "tests/random/net00.nnc",
    "tests/random/net00.safetensors"
);
random_net!(
    net01,
    "tests/random/net01.nnc",
    "tests/random/net01.safetensors"
);
random_net!(
    net02,
    "tests/random/net02.nnc",
    "tests/random/net02.safetensors"
);
random_net!(
    net03,
    "tests/random/net03.nnc",
    "tests/random/net03.safetensors"
);
random_net!(
    net04,
    "tests/random/net04.nnc",
    "tests/random/net04.safetensors"
);
random_net!(
    net05,
    "tests/random/net05.nnc",
    "tests/random/net05.safetensors"
);
random_net!(
    net06,
    "tests/random/net06.nnc",
    "tests/random/net06.safetensors"
);
random_net!(
    net07,
    "tests/random/net07.nnc",
    "tests/random/net07.safetensors"
);
random_net!(
    net08,
    "tests/random/net08.nnc",
    "tests/random/net08.safetensors"
);
random_net!(
    net09,
    "tests/random/net09.nnc",
    "tests/random/net09.safetensors"
);
random_net!(
    net10,
    "tests/random/net10.nnc",
    "tests/random/net10.safetensors"
);
random_net!(
    net11,
    "tests/random/net11.nnc",
    "tests/random/net11.safetensors"
);
random_net!(
    net12,
    "tests/random/net12.nnc",
    "tests/random/net12.safetensors"
);
random_net!(
    net13,
    "tests/random/net13.nnc",
    "tests/random/net13.safetensors"
);
random_net!(
    net14,
    "tests/random/net14.nnc",
    "tests/random/net14.safetensors"
);
random_net!(
    net15,
    "tests/random/net15.nnc",
    "tests/random/net15.safetensors"
);
random_net!(
    net16,
    "tests/random/net16.nnc",
    "tests/random/net16.safetensors"
);
random_net!(
    net17,
    "tests/random/net17.nnc",
    "tests/random/net17.safetensors"
);
random_net!(
    net18,
    "tests/random/net18.nnc",
    "tests/random/net18.safetensors"
);
random_net!(
    net19,
    "tests/random/net19.nnc",
    "tests/random/net19.safetensors"
);
