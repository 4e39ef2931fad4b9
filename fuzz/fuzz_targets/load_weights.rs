//! Arbitrary bytes as a weights file for a fixed small network: the safetensors loader and the
//! checks against the description must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SRC: &str = "image = input(channels=3)\n\
                   c1 = conv(image, out=4, k=3, pad=1)\n\
                   a1 = prelu(c1)\n\
                   output a1\n";

fuzz_target!(|data: &[u8]| {
    match nnc_ir::Model::from_sources(SRC, "f.nnc".as_ref(), data, "f.safetensors".as_ref()) {
        Ok(model) => assert_eq!(model.weights.parameter_count(), 4 * 3 * 9 + 4 + 4),
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
