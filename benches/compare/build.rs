//! Writes seeded random f16 weights beside each single-layer model in `models/embedding/` (the
//! embedding's per-layer breakdown, `src/embedding.rs`), so that no megabytes of random numbers
//! live in the repository: the 256-channel layers hold 590,000 weights each. A file is rewritten
//! only when missing or older than its model; timing does not depend on the values.

use nnc_ir::testing::{Rng, random_weights};
use nnc_ir::{Dtype, parse_graph};
use std::path::Path;

fn main() {
    let dir = Path::new("models/embedding");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut models: Vec<_> = std::fs::read_dir(dir)
        .expect("benches/compare/models/embedding")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nnc"))
        .collect();
    models.sort();
    for model in models {
        println!("cargo:rerun-if-changed={}", model.display());
        let out = model.with_extension("safetensors");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&out).is_some() && modified(&out) >= modified(&model) {
            continue;
        }
        let src = std::fs::read_to_string(&model).expect("the model reads");
        let graph = parse_graph(&src, &model).unwrap_or_else(|e| panic!("{e}"));
        let bytes = random_weights(&graph, &mut Rng::new(1), Dtype::F16);
        // Beside the target, then renamed: a half-written file never stands for a whole one.
        let tmp = out.with_extension("safetensors.tmp");
        std::fs::write(&tmp, bytes).expect("the weights write");
        std::fs::rename(&tmp, &out).expect("the weights move into place");
    }
}
