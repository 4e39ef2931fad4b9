//! Writes the seeded random networks that `tests/compiled_random_a.rs` and `_b.rs` compile with
//! `nnc!` and check against the interpreter. Each one plans at 64x48 with scales 1, 1/2 and 1/4.
//!
//! ```text
//! cargo run -p nnc-ir --example make_random_models -- tests/random 20
//! ```

use nnc_ir::testing::{Rng, random_network, random_weights};
use nnc_ir::{Dtype, parse_graph, plan::plan};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("tests/random", String::as_str));
    let count: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(12);
    std::fs::create_dir_all(&dir).expect("create the output folder");
    let sizes = [(48, 64), (24, 32), (12, 16)];
    let mut written = 0;
    for seed in 0.. {
        if written == count {
            break;
        }
        let mut rng = Rng::new(1000 + seed);
        let src = random_network(&mut rng);
        let graph = parse_graph(&src, "random.nnc".as_ref()).expect("generated networks are valid");
        if plan(&graph, &sizes).is_err() {
            continue;
        }
        let bytes = random_weights(&graph, &mut rng, Dtype::F32);
        let stem = dir.join(format!("net{written:02}"));
        let header = format!(
            "# Seeded random network (seed {}), made by nnc-ir's make_random_models example.\n",
            1000 + seed
        );
        std::fs::write(stem.with_extension("nnc"), header + &src).expect("write the description");
        std::fs::write(stem.with_extension("safetensors"), bytes).expect("write the weights");
        written += 1;
    }
    println!("wrote {written} networks to {}", dir.display());
}
