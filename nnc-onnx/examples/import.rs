//! Imports an ONNX file and writes its nnc description and weights beside `-o`, or prints every
//! problem with the file (what `nnc import` will do; issue 16).
//!
//! ```text
//! cargo run -p nnc-onnx --example import -- MODEL.onnx [-o OUT.nnc]
//! ```
//!
//! Without `-o` it only checks the file, and prints the layer count and heads when it imports.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, out) = match args.as_slice() {
        [file] => (PathBuf::from(file), None),
        [file, flag, out] if flag == "-o" => (PathBuf::from(file), Some(PathBuf::from(out))),
        _ => {
            eprintln!("usage: import MODEL.onnx [-o OUT.nnc]");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let imported = match nnc_onnx::import(&bytes, &file) {
        Ok(imported) => imported,
        Err(errors) => {
            eprintln!("error: {errors}");
            return ExitCode::FAILURE;
        }
    };
    let model = match imported.model(&file) {
        Ok(model) => model,
        Err(errors) => {
            eprintln!("error: {errors}");
            return ExitCode::FAILURE;
        }
    };
    let heads: Vec<&str> = model
        .graph
        .outputs
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    println!(
        "{}: {} layers, heads {}",
        file.display(),
        model.graph.nodes.len(),
        heads.join(", ")
    );
    if let Some(out) = out {
        let weights = out.with_extension("safetensors");
        for (path, data) in [
            (&out, imported.description.as_bytes()),
            (&weights, &imported.weights[..]),
        ] {
            if let Err(e) = std::fs::write(path, data) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        println!("wrote {} and {}", out.display(), weights.display());
    }
    ExitCode::SUCCESS
}
