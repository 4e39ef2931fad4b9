//! Arbitrary bytes as a model description: parsing, lowering, shape inference and error rendering
//! must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    match nnc_ir::parse_graph(src, "fuzz.nnc".as_ref()) {
        Ok(graph) => {
            let _ = graph.min_input_size();
            for n in [1, 5, 64] {
                let _ = graph.infer_shapes(n, n + 1);
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
