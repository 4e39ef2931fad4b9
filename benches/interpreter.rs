//! The reference interpreter on the shipped test network, at each scale of a 640x480 pyramid.
//!
//! Throughput is reported in elements = floating-point operations (direct convolution count), so
//! criterion's "elem/s" reads as FLOP/s.
//!
//! ```text
//! cargo bench --bench interpreter
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nnc::ir::testing::{Rng, random_input};
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::hint::black_box;
use std::path::Path;

const SCALES: [f64; 5] = [1.0, 0.5, 0.25, 0.125, 0.0625];

fn interpreter(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let model = Model::load(&root.join("testnet.nnc"), &root.join("testnet.safetensors"))
        .unwrap_or_else(|e| panic!("{e}"));
    let graph = model.graph.clone();
    let interpreter = Interpreter::new(model);
    let mut rng = Rng::new(1);
    let mut group = c.benchmark_group("interpreter/testnet");
    group.sample_size(10);
    for scale in SCALES {
        let (h, w) = ((480.0 * scale) as usize, (640.0 * scale) as usize);
        let shapes = graph.infer_shapes(h, w).unwrap();
        let flops: u64 = graph.flops(&shapes).iter().sum();
        let input = Tensor::from_vec(Shape { h, w, c: 3 }, random_input(&mut rng, h, w, 3));
        group.throughput(Throughput::Elements(flops));
        group.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| interpreter.run(black_box(&input)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, interpreter);
criterion_main!(benches);
