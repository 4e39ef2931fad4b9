//! The `nnc!` proc-macro. It only reads the input tokens and the crate's directory; all the work is
//! in `nnc-codegen`, so that it can be tested without a compiler in the loop.

use proc_macro::TokenStream;
use std::path::PathBuf;

/// Compiles a network description and its weights into a module of specialized Rust code.
///
/// See the `nnc` crate's documentation for the syntax and what the module contains.
#[proc_macro]
pub fn nnc(input: TokenStream) -> TokenStream {
    // trybuild compiles UI tests in a scratch crate; its test points the macro back at ours.
    let manifest_dir = std::env::var_os("NNC_MANIFEST_DIR_OVERRIDE")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    nnc_codegen::expand(input.into(), &manifest_dir).into()
}
