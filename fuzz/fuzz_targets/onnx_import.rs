//! Arbitrary bytes as an ONNX file: decoding, the import and, when it imports, the whole model
//! pipeline must never panic: lowering and binding, the planner at the smallest input, and the
//! interpreter on a small network (every op the import brings runs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nnc_ir::{Shape, plan};
use nnc_runtime::{Interpreter, Tensor};

fuzz_target!(|data: &[u8]| {
    match nnc_onnx::import(data, "f.onnx".as_ref()) {
        Ok(imported) => {
            let Ok(model) = imported.model("f.onnx".as_ref()) else {
                return;
            };
            let Some(n) = model.graph.min_input_size().filter(|&n| n <= 64) else {
                return;
            };
            let (h, w) = match imported.fixed_size {
                (None, None) => (n, n),
                (Some(h), Some(w)) if h * w <= 64 * 64 => (h, w),
                _ => return,
            };
            if let Ok(planned) = plan::plan(&model.graph, &[(h, w)]) {
                assert!(plan::verify(&planned).is_ok(), "a plan nnc made does not verify");
                // A few MFLOPs at most, so that each input stays fast.
                if planned.flops[0] <= 20_000_000 {
                    let c = model.graph.input_channels();
                    let input = Tensor::from_vec(Shape { h, w, c }, vec![0.5; h * w * c]);
                    let _ = Interpreter::new(model).run(&input);
                }
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
