//! The generated code of a tiny model, pretty-printed, as a snapshot a person reviews.

use quote::quote;
use std::path::Path;

#[test]
fn generated_code_of_a_tiny_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tokens = nnc_codegen::expand(
        quote! {
            /// A tiny network.
            pub mod tiny {
                model: "tests/data/tiny.nnc",
                weights: "tests/data/tiny.safetensors",
                input: 8 x 6,
                scales: [1.0, 0.5],
            }
        },
        dir,
    );
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    let code = prettyplease::unparse(&file).replace(&dir.display().to_string(), "$DIR");
    insta::assert_snapshot!("tiny", code);
}

#[test]
fn errors_expand_to_compile_errors_and_a_stub() {
    let tokens = nnc_codegen::expand(
        quote! { mod broken { model: "nope.nnc", weights: "nope.safetensors", input: 8 x 6, colour: red } },
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    let text = tokens.to_string();
    assert_eq!(text.matches("compile_error").count(), 3, "{text}");
    assert!(text.contains("pub struct Network"), "{text}");
}
