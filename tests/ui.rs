//! The `nnc!` macro's compile errors, as a person sees them (trybuild `tests/ui/*.rs` with their
//! `.stderr`). Run with `TRYBUILD=overwrite` to accept new output after reviewing it.
//!
//! One case per class of error, each showing where it points:
//! - the macro's own input (at the option): `bad_size`, `size_out_of_range`, `options`,
//!   `options_repeated_and_empty`;
//! - the files (at the path): `missing_file`, `model_not_utf8`, `weights_not_safetensors`;
//! - the description (at the line in the `.nnc`, then the model path): `model_parse_error`,
//!   `unknown_names` (unknown op, undefined layer), `bad_arguments`, `layer_names` (defined
//!   twice, a second input), `empty_model`, `unused_layer`, `channel_mismatch`,
//!   `depthwise_channels`;
//! - the weights against the description: `weight_names` (missing and unused tensors),
//!   `weight_shape`, `weight_dtype`;
//! - the sizes it is compiled for: `scale_too_small`, `shape_mismatch`;
//! - ONNX files (at the path, every problem in the file at once): `onnx_unsupported` (ops and
//!   attributes nnc does not run), `onnx_dynamic_channels`, `onnx_truncated`, `onnx_not_onnx`,
//!   and `onnx_fixed_size` (at `inputs` or `scales`: a size the file does not allow). The ONNX
//!   files come from `models/onnx_ops/make_fixtures.py`.

#[test]
fn compile_errors() {
    // The macro reads files relative to this crate, not trybuild's scratch crate.
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("NNC_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR")) };
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
