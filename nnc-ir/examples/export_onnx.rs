//! Writes a model as ONNX (opset 13, NCHW, dynamic height and width, outputs named as its heads),
//! so that ONNX Runtime and tract can run the same network as nnc.
//!
//! ```text
//! cargo run -p nnc-ir --example export_onnx -- MODEL.nnc WEIGHTS.safetensors OUT.onnx
//! ```

use nnc_ir::Model;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, weights, out] = args.as_slice() else {
        eprintln!("usage: export_onnx MODEL.nnc WEIGHTS.safetensors OUT.onnx");
        return ExitCode::FAILURE;
    };
    let model = match Model::load(Path::new(model), Path::new(weights)) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let bytes = match nnc_ir::onnx::export(&model) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("error: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {out}: {} nodes, {} parameters, {} bytes",
        model.graph.nodes.len() - 1,
        model.weights.parameter_count(),
        bytes.len()
    );
    ExitCode::SUCCESS
}
