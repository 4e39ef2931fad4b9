//! The generated code of a tiny model, pretty-printed, and its packed weights, as snapshots a
//! person reviews.

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

/// What the `pack` stage hands the emitter for the tiny model: each weight static and its size.
#[test]
fn packed_weights_of_a_tiny_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input: nnc_codegen::input::MacroInput = syn::parse2(quote! {
        pub mod tiny {
            model: "tests/data/tiny.nnc",
            weights: "tests/data/tiny.safetensors",
            input: 8 x 6,
        }
    })
    .expect("valid macro input");
    let compiled = nnc_codegen::compile(&input, dir).unwrap_or_else(|errors| {
        panic!(
            "{:?}",
            errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        )
    });
    insta::assert_snapshot!("tiny_params", compiled.params.to_string());
}

/// The message of every `compile_error!("...")` in `tokens`, in order, at any depth.
fn compile_errors(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match (tree, trees.get(i + 1), trees.get(i + 2)) {
            (
                TokenTree::Ident(name),
                Some(TokenTree::Punct(bang)),
                Some(TokenTree::Group(args)),
            ) if name == "compile_error" && bang.as_char() == '!' => {
                let message: syn::LitStr = syn::parse2(args.stream()).expect("one string");
                out.push(message.value());
            }
            (TokenTree::Group(group), ..) => compile_errors(group.stream(), out),
            _ => {}
        }
    }
}

#[test]
fn errors_expand_to_compile_errors_and_a_stub() {
    let tokens = nnc_codegen::expand(
        quote! { mod broken { model: "nope.nnc", weights: "nope.safetensors", input: 8 x 6, colour: red } },
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    let text = tokens.to_string();
    let mut errors = Vec::new();
    compile_errors(tokens, &mut errors);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    insta::assert_snapshot!("broken_errors", errors.join("\n---\n"));
    assert!(text.contains("pub struct Network"), "{text}");
}

/// `algorithms: winograd` on the tiny model: its first convolution (3x3, stride 1, ReLU, a 2x2
/// max-pool) runs by Winograd, with the transformed weights packed and a scratch buffer in the
/// plan. The snapshot holds the plan, the packed tensors and every line of the generated code
/// that calls a kernel or points at a scratch.
#[test]
fn winograd_steps_of_a_tiny_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tokens = quote! {
        pub mod tiny {
            model: "tests/data/tiny.nnc",
            weights: "tests/data/tiny.safetensors",
            input: 8 x 6,
            algorithms: winograd,
        }
    };
    let input: nnc_codegen::input::MacroInput = syn::parse2(tokens.clone()).expect("valid input");
    let compiled = nnc_codegen::compile(&input, dir).unwrap_or_else(|errors| {
        panic!(
            "{:?}",
            errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        )
    });
    let plan = compiled.variants[0]
        .plan
        .display(&compiled.model.graph)
        .to_string();
    let file: syn::File = syn::parse2(nnc_codegen::expand(tokens, dir)).expect("parses");
    let code = prettyplease::unparse(&file)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // Each call's kernel and const generics, and each scratch pointer, in order.
    let mut calls = Vec::new();
    for (pattern, stop) in [("rt::winograd_", ">("), ("scratch: ", "),")] {
        for (start, _) in code.match_indices(pattern) {
            let end = code[start..]
                .find(stop)
                .map_or(code.len(), |e| start + e + 1);
            calls.push((start, &code[start..end]));
        }
    }
    calls.sort();
    let calls: Vec<&str> = calls.into_iter().map(|(_, c)| c).collect();
    assert!(calls.iter().any(|l| l.starts_with("rt::winograd_avx512")));
    insta::assert_snapshot!(
        "tiny_winograd",
        format!("{plan}\n{}\n{}", compiled.params, calls.join("\n"))
    );
}
