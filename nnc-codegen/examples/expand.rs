//! Expands `nnc!` for a model outside of a build, to read the generated code or time the macro.
//!
//! ```text
//! cargo run --release -p nnc-codegen --example expand -- MODEL.nnc WEIGHTS.safetensors 640x480 [f16] [--one-scale] [--print]
//! ```
//!
//! Paths are relative to the current directory. Uses scales 1, 1/2, 1/4, 1/8 and 1/16.

use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: expand MODEL.nnc WEIGHTS.safetensors WIDTHxHEIGHT [f16] [--one-scale] [--print]"
        );
        std::process::exit(2);
    }
    let (model, weights, frame) = (&args[0], &args[1], &args[2]);
    let Some((w, h)) = frame.split_once('x') else {
        eprintln!("error: the frame is WIDTHxHEIGHT, like 640x480");
        std::process::exit(2);
    };
    let storage = if args.iter().any(|a| a == "f16") {
        "f16"
    } else {
        "f32"
    };
    // The face pyramid's five scales, or the input size alone (`--one-scale`, as the embedding
    // is compiled).
    let scales = if args.iter().any(|a| a == "--one-scale") {
        "[1.0]"
    } else {
        "[1.0, 0.5, 0.25, 0.125, 0.0625]"
    };
    let input = format!(
        "mod net {{ model: {model:?}, weights: {weights:?}, input: {w} x {h}, \
         scales: {scales}, weights_as: {storage} }}"
    );
    let tokens: proc_macro2::TokenStream = input.parse().expect("well-formed macro input");
    let start = Instant::now();
    let code = nnc_codegen::expand(tokens, Path::new("."));
    let elapsed = start.elapsed();
    let text = code.to_string();
    eprintln!(
        "expanded in {:.1} ms: {} bytes of tokens",
        elapsed.as_secs_f64() * 1e3,
        text.len()
    );
    if args.iter().any(|a| a == "--print") {
        match syn::parse2::<syn::File>(code) {
            Ok(file) => println!("{}", prettyplease::unparse(&file)),
            Err(_) => println!("{text}"),
        }
    }
}
