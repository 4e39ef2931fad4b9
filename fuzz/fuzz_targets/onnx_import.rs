//! Arbitrary bytes as an ONNX file: decoding, the import and, when it imports, the whole model
//! pipeline must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match nnc_onnx::import(data, "f.onnx".as_ref()) {
        Ok(imported) => {
            if let Ok(model) = imported.model("f.onnx".as_ref()) {
                let _ = model.graph.min_input_size();
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
