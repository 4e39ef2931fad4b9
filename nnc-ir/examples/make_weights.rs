//! Writes seeded random weights for any `.nnc` description, so that a network can be compiled,
//! run and benchmarked before it is trained.
//!
//! ```text
//! cargo run -p nnc-ir --example make_weights -- MODEL.nnc OUT.safetensors [SEED] [f32|f16]
//! ```

use nnc_ir::testing::{Rng, random_weights};
use nnc_ir::{Dtype, parse_graph};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(model), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: make_weights MODEL.nnc OUT.safetensors [SEED] [f32|f16]");
        return ExitCode::FAILURE;
    };
    let seed = args.get(2).map_or(Ok(1), |s| s.parse::<u64>());
    let dtype = match args.get(3).map(String::as_str) {
        None | Some("f32") => Dtype::F32,
        Some("f16") => Dtype::F16,
        Some(other) => {
            eprintln!("error: dtype must be f32 or f16, not `{other}`");
            return ExitCode::FAILURE;
        }
    };
    let Ok(seed) = seed else {
        eprintln!("error: the seed must be a whole number");
        return ExitCode::FAILURE;
    };
    let src = match std::fs::read_to_string(model) {
        Ok(src) => src,
        Err(e) => {
            eprintln!("error: cannot read {model}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let graph = match parse_graph(&src, Path::new(model)) {
        Ok(graph) => graph,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let bytes = random_weights(&graph, &mut Rng::new(seed), dtype);
    // Write beside the target and rename, so that a half-written file never replaces a good one.
    let tmp = format!("{out}.tmp");
    if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, out)) {
        eprintln!("error: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!("wrote {out}: {} bytes", bytes.len());
    ExitCode::SUCCESS
}
