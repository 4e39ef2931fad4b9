//! The `nnc!` proc-macro. It only reads the input tokens and the crate's directory; all the work is
//! in `nnc-codegen`, so that it can be tested without a compiler in the loop.

use proc_macro::TokenStream;
use std::path::PathBuf;

/// Compiles a network description and its weights into a module of specialized Rust code.
///
/// See the `nnc` crate's documentation for the syntax and what the module contains.
#[proc_macro]
pub fn nnc(input: TokenStream) -> TokenStream {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    nnc_codegen::expand(input.into(), &manifest_dir).into()
}
