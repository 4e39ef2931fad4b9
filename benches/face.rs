//! Criterion benchmarks of the face detector network at every scale of a 640x480 pyramid and over
//! the whole pyramid: the nnc-generated code (AVX2+FMA and portable) and the reference interpreter.
//!
//! Throughput is in elements = floating-point operations (direct convolution count), so criterion's
//! "elem/s" reads as FLOP/s. `cargo bench --bench pyramid` prints the same comparison as one table
//! with the fraction of the machine's peak.
//!
//! ```text
//! cargo bench --bench face
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnc::ir::testing::{Rng, random_input};
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::hint::black_box;
use std::path::Path;

nnc::nnc! {
    mod face {
        model: "models/face_student.nnc",
        weights: "models/face_student.safetensors",
        input: 640 x 480,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let model = Model::load(
        &root.join("face_student.nnc"),
        &root.join("face_student.safetensors"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let interpreter = Interpreter::new(model);
    let mut rng = Rng::new(1);
    let sizes = face::v640x480::SIZES;
    let inputs: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&(h, w)| random_input(&mut rng, h, w, 3))
        .collect();
    let mut nets = [
        ("nnc", face::Network::new()),
        ("nnc-portable", face::Network::portable()),
    ];

    for (s, &(h, w)) in sizes.iter().enumerate() {
        let mut group = c.benchmark_group(format!("face/scale{s}-{w}x{h}"));
        group.sample_size(20);
        group.throughput(Throughput::Elements(face::v640x480::FLOPS[s]));
        for (name, net) in &mut nets {
            group.bench_function(BenchmarkId::from_parameter(*name), |b| {
                b.iter(|| match s {
                    0 => black_box(
                        net.v640x480()
                            .scale0(inputs[0].as_slice().try_into().unwrap())
                            .score
                            .at(0, 0, 0),
                    ),
                    1 => black_box(
                        net.v640x480()
                            .scale1(inputs[1].as_slice().try_into().unwrap())
                            .score
                            .at(0, 0, 0),
                    ),
                    2 => black_box(
                        net.v640x480()
                            .scale2(inputs[2].as_slice().try_into().unwrap())
                            .score
                            .at(0, 0, 0),
                    ),
                    3 => black_box(
                        net.v640x480()
                            .scale3(inputs[3].as_slice().try_into().unwrap())
                            .score
                            .at(0, 0, 0),
                    ),
                    _ => black_box(
                        net.v640x480()
                            .scale4(inputs[4].as_slice().try_into().unwrap())
                            .score
                            .at(0, 0, 0),
                    ),
                })
            });
        }
        let tensor = Tensor::from_vec(Shape { h, w, c: 3 }, inputs[s].clone());
        group.bench_function(BenchmarkId::from_parameter("interpreter"), |b| {
            b.iter(|| interpreter.run(black_box(&tensor)).unwrap())
        });
        group.finish();
    }

    let mut group = c.benchmark_group("face/pyramid-640x480");
    group.sample_size(20);
    group.throughput(Throughput::Elements(face::v640x480::TOTAL_FLOPS));
    for (name, net) in &mut nets {
        group.bench_function(BenchmarkId::from_parameter(*name), |b| {
            b.iter(|| {
                let o = net.v640x480().run_all(face::v640x480::Inputs {
                    scale0: inputs[0].as_slice().try_into().unwrap(),
                    scale1: inputs[1].as_slice().try_into().unwrap(),
                    scale2: inputs[2].as_slice().try_into().unwrap(),
                    scale3: inputs[3].as_slice().try_into().unwrap(),
                    scale4: inputs[4].as_slice().try_into().unwrap(),
                });
                black_box(o.scale4.score.at(0, 0, 0))
            })
        });
    }
    let tensors: Vec<Tensor> = sizes
        .iter()
        .zip(&inputs)
        .map(|(&(h, w), d)| Tensor::from_vec(Shape { h, w, c: 3 }, d.clone()))
        .collect();
    group.bench_function(BenchmarkId::from_parameter("interpreter"), |b| {
        b.iter(|| {
            for t in &tensors {
                black_box(interpreter.run(t).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
