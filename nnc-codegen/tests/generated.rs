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

/// The macro input `tokens` compiled (models read from `dir`), its first variant's plan as
/// `nnc plan` shows it, and the generated code on one line, whitespace collapsed.
fn compile_and_expand(
    tokens: proc_macro2::TokenStream,
    dir: &Path,
) -> (nnc_codegen::Compiled, String, String) {
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
    (compiled, plan, code)
}

/// `algorithms: winograd` and `algorithms: winograd4x4` on the tiny model: its first
/// convolution (3x3, stride 1, ReLU, a 2x2 max-pool) runs by Winograd on 2x2 or 4x4 tiles, with
/// the transformed weights packed and a scratch buffer in the plan. Each snapshot holds the plan,
/// the packed tensors and every line of the generated code that calls a kernel or points at a
/// scratch.
#[test]
fn winograd_steps_of_a_tiny_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (algorithms, snapshot) in [
        (quote! { winograd }, "tiny_winograd"),
        (quote! { winograd4x4 }, "tiny_winograd4x4"),
    ] {
        let tokens = quote! {
            pub mod tiny {
                model: "tests/data/tiny.nnc",
                weights: "tests/data/tiny.safetensors",
                input: 8 x 6,
                algorithms: #algorithms,
            }
        };
        let (compiled, plan, code) = compile_and_expand(tokens, dir);
        // Each call's kernel and const generics, and each scratch pointer, in order.
        let mut calls = Vec::new();
        for (pattern, stop) in [("rt::winograd::<", ">("), ("scratch: ", "),")] {
            for (start, _) in code.match_indices(pattern) {
                let end = code[start..]
                    .find(stop)
                    .map_or(code.len(), |e| start + e + 1);
                calls.push((start, &code[start..end]));
            }
        }
        calls.sort();
        let calls: Vec<&str> = calls.into_iter().map(|(_, c)| c).collect();
        // Its 8 output channels run on eight lanes on the AVX-512 path too: a sixteen-lane
        // vector would be half empty (`ops::sixteen_lanes`).
        assert!(
            calls
                .iter()
                .any(|l| l.starts_with("rt::winograd::< rt::Avx2,"))
                && !calls.iter().any(|l| l.contains("rt::Avx512")),
            "{calls:#?}"
        );
        insta::assert_snapshot!(
            snapshot,
            format!("{plan}\n{}\n{}", compiled.params, calls.join("\n"))
        );
    }
}

/// Windows that differ by axis or are dilated: a 1x3 and a 3x1 convolution with unequal strides,
/// a dilated depthwise one with a max-pool fused, a dilated dense one, and a 3x2 pool. The
/// snapshot holds the plan and every kernel call, whose `Geometry` carries each axis.
#[test]
fn windows_that_differ_by_axis() {
    let src = "image = input(channels=3)\n\
               rows = conv(image, out=8, k=1x3, stride=1x2, pad=0x1)\n\
               cols = conv(rows, out=8, k=3x1, pad=1x0)\n\
               r = relu(cols)\n\
               atrous = conv(r, out=8, k=3, pad=2, dilation=2, groups=8)\n\
               a = relu(atrous)\n\
               p = maxpool(a, k=2)\n\
               wide = conv(p, out=16, k=3, pad=2x1, dilation=2x1)\n\
               bands = avgpool(wide, k=3x2, stride=2x1, pad=1x0)\n\
               output score = bands\n";
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("windows_by_axis");
    std::fs::create_dir_all(&dir).unwrap();
    let graph = nnc_ir::parse_graph(src, "strips.nnc".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = nnc_ir::testing::Rng::new(5);
    let weights = nnc_ir::testing::random_weights(&graph, &mut rng, nnc_ir::Dtype::F32);
    std::fs::write(dir.join("strips.nnc"), src).unwrap();
    std::fs::write(dir.join("strips.safetensors"), weights).unwrap();
    let tokens = quote! {
        pub mod strips {
            model: "strips.nnc",
            weights: "strips.safetensors",
            input: 20 x 12,
        }
    };
    let (_, plan, code) = compile_and_expand(tokens, &dir);
    // The kernel calls of the AVX-512 path's scale function, in order. Its body runs to the
    // first kernel function of its module; it calls `rt::other` directly and the convolutions
    // through kernel functions (of its own module or the AVX2 one), each of which holds one
    // kernel call.
    let module = code.find("mod v20x12_avx512 {").expect("an AVX-512 module");
    let start = module
        + code[module..]
            .find("unsafe fn scale0(")
            .expect("an AVX-512 scale function");
    let body = &code[start..];
    let body = &body[..body.find("#[inline(never)]").unwrap_or(body.len())];
    fn kernel_call(s: &str) -> &str {
        &s[..s.find(">(").map_or(s.len(), |e| e + 1)]
    }
    let mut calls: Vec<(usize, &str)> = body
        .match_indices("rt::other::")
        .map(|(at, _)| (at, kernel_call(&body[at..])))
        .collect();
    for (at, _) in body.match_indices("(rt::ConvPtrs") {
        let name = &body[body[..at].rfind(':').map_or(0, |s| s + 1)..at];
        let definition = code
            .find(&format!("unsafe fn {name}(p: rt::ConvPtrs)"))
            .unwrap_or_else(|| panic!("{name} is defined"));
        let inner = &code[definition..];
        let kernel = inner.find("unsafe { rt::").expect("a kernel call") + "unsafe { ".len();
        calls.push((at, kernel_call(&inner[kernel..])));
    }
    calls.sort();
    let calls: Vec<&str> = calls.into_iter().map(|(_, call)| call).collect();
    assert!(calls.iter().any(|c| c.contains("dh: 2")), "{calls:#?}");
    insta::assert_snapshot!("windows_by_axis", format!("{plan}\n{}", calls.join("\n")));
}

/// A first layer run in bands of rows with the next (`plan::band`): the plan, and the AVX2
/// path's scale function, whose loop over the bands calls the first layer's rows
/// (`conv_rows`) and the next layer over each band (`winograd_band`), as a person reviews them.
#[test]
fn steps_run_in_bands_of_rows() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models");
    let tokens = quote! {
        pub mod bands {
            model: "bands.nnc",
            weights: "bands.safetensors",
            input: 1000 x 98,
        }
    };
    let (_, plan, _) = compile_and_expand(tokens.clone(), &dir);
    let file: syn::File = syn::parse2(nnc_codegen::expand(tokens, &dir)).expect("parses");
    let code = prettyplease::unparse(&file);
    let module = code.find("mod v1000x98_avx2 {").expect("an AVX2 module");
    let start = module
        + code[module..]
            .find("unsafe fn scale0(")
            .expect("an AVX2 scale function");
    let body = &code[start..];
    let body = &body[..body.find("#[inline(never)]").unwrap_or(body.len())];
    for kernel in ["rt::conv_rows::<", "rt::winograd_band::<"] {
        assert!(code.contains(kernel), "{kernel}");
    }
    insta::assert_snapshot!("bands", format!("{plan}\n{}", body.trim_end()));
}
