//! The `nnc!` macro's compile errors, as a person sees them (trybuild `tests/ui/*.rs` with their
//! `.stderr`). Run with `TRYBUILD=overwrite` to accept new output after reviewing it.

#[test]
fn compile_errors() {
    // The macro reads files relative to this crate, not trybuild's scratch crate.
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("NNC_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR")) };
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
