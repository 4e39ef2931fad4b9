//! The back end of nnc: from the `nnc!` macro's input to Rust code specialized to every shape.
//!
//! The pipeline, top to bottom (each stage's output is checked before the next runs):
//!
//! ```text
//! tokens --input::MacroInput--> paths, sizes, scales
//!        --nnc_ir::Model::from_sources--> checked graph and weights
//!        --nnc_ir::plan::plan (per input size) + Plan::verify--> fused steps, arena offsets
//!        --params::Params::new--> packed weight statics
//!        --emit::module--> the generated module
//! ```
//!
//! `nnc-macros` is a thin proc-macro over [`expand`]; keeping the work here lets tests call it
//! directly and snapshot what it generates.

pub mod emit;
pub mod input;
mod ops;
pub mod params;

use input::{MacroInput, Storage};
use nnc_ir::plan::Plan;
use nnc_ir::{Model, ModelErrors};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::path::{Path, PathBuf};

/// One compiled input size: the frame the user listed and the plan of its scales.
#[derive(Debug)]
pub struct Variant {
    pub frame: input::Frame,
    pub plan: Plan,
}

/// Everything the emitter needs, checked.
#[derive(Debug)]
pub struct Compiled {
    pub model: Model,
    pub model_path: PathBuf,
    pub weights_path: PathBuf,
    pub variants: Vec<Variant>,
    pub scales: Vec<f64>,
    pub storage: Storage,
}

/// Expands one `nnc!` invocation. Never panics on bad input: every problem becomes a
/// `compile_error!` at the span it is about, next to a stub of the module so that the user sees
/// those errors rather than a cascade of unresolved names.
pub fn expand(tokens: TokenStream, manifest_dir: &Path) -> TokenStream {
    let input = match syn::parse2::<MacroInput>(tokens) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    match compile(&input, manifest_dir) {
        Ok(compiled) => emit::module(&input, &compiled),
        Err(errors) => {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            let stub = stub(&input);
            quote! { #stub #(#errors)* }
        }
    }
}

/// Reads the files and plans every variant, collecting every error.
pub fn compile(input: &MacroInput, manifest_dir: &Path) -> Result<Compiled, Vec<syn::Error>> {
    let mut errors = input.errors.clone();
    // Messages name files as the user wrote them; `include_bytes!` gets the absolute path.
    let read = |lit: &syn::LitStr, errors: &mut Vec<syn::Error>| {
        let shown = PathBuf::from(lit.value());
        let path = manifest_dir.join(&shown);
        match std::fs::read(&path) {
            Ok(bytes) => Some((path, shown, bytes)),
            Err(e) => {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "cannot read {}: {e} (paths are relative to the crate's Cargo.toml)",
                        shown.display()
                    ),
                ));
                None
            }
        }
    };
    let model_file = input.model.as_ref().and_then(|lit| read(lit, &mut errors));
    let weights_file = input
        .weights
        .as_ref()
        .and_then(|lit| read(lit, &mut errors));
    let (Some((model_path, model_shown, src)), Some((weights_path, weights_shown, weights))) =
        (model_file, weights_file)
    else {
        return Err(errors);
    };
    let model_span = input.model.as_ref().map_or(Span::call_site(), |l| l.span());
    let weights_span = input
        .weights
        .as_ref()
        .map_or(Span::call_site(), |l| l.span());
    let Ok(src) = String::from_utf8(src) else {
        errors.push(syn::Error::new(
            model_span,
            format!("{} is not UTF-8 text", model_shown.display()),
        ));
        return Err(errors);
    };
    let model = match Model::from_sources(&src, &model_shown, &weights, &weights_shown) {
        Ok(model) => model,
        Err(model_errors) => {
            errors.extend(located(
                model_errors,
                &weights_shown,
                model_span,
                weights_span,
            ));
            return Err(errors);
        }
    };
    let mut variants = Vec::new();
    for frame in &input.frames {
        let sizes: Vec<(usize, usize)> = input
            .scales
            .iter()
            .map(|s| {
                let h = (frame.height as f64 * s).round().max(1.0) as usize;
                let w = (frame.width as f64 * s).round().max(1.0) as usize;
                (h, w)
            })
            .collect();
        match nnc_ir::plan::plan(&model.graph, &sizes) {
            Ok(plan) => variants.push(Variant {
                frame: *frame,
                plan,
            }),
            Err(e) => errors.push(syn::Error::new(
                input.scales_span,
                format!(
                    "for the input {}x{} (width x height) at scales {:?}:\n{}",
                    frame.width,
                    frame.height,
                    input.scales,
                    rendered(&e)
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Compiled {
        model,
        model_path,
        weights_path,
        variants,
        scales: input.scales.clone(),
        storage: input.storage,
    })
}

/// Model errors as compile errors on the path literal of the file each is about.
fn located(
    errors: ModelErrors,
    weights_path: &Path,
    model_span: Span,
    weights_span: Span,
) -> Vec<syn::Error> {
    errors
        .into_iter()
        .map(|e| {
            let span = if e.file == weights_path {
                weights_span
            } else {
                model_span
            };
            syn::Error::new(span, rendered(&e))
        })
        .collect()
}

/// A model error as rustc will print it after its own `error: `.
fn rendered(e: &nnc_ir::ModelError) -> String {
    let text = e.to_string();
    text.strip_prefix("error: ").unwrap_or(&text).to_string()
}

/// The module with an empty `Network`, so that code using it still resolves while errors show.
fn stub(input: &MacroInput) -> TokenStream {
    let MacroInput {
        attrs, vis, name, ..
    } = input;
    quote! {
        #(#attrs)*
        #vis mod #name {
            /// Not compiled: see the errors reported by `nnc!`.
            #[derive(Debug, Default)]
            pub struct Network;
            impl Network {
                pub fn new() -> Self {
                    Network
                }
            }
        }
    }
}
