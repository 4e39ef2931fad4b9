//! The back end of nnc: from the `nnc!` macro's input to Rust code specialized to every shape.
//!
//! [`compile`] runs the stages top to bottom, each returning plain data (with a `Display`) that
//! the next reads; [`expand`] then emits the module from what they returned:
//!
//! ```text
//! tokens --parse (syn, input::MacroInput)--> paths, sizes, scales
//!        --read the files--> description text and weights bytes
//!        --nnc_ir::Model::from_sources: parse, lower, bind--> checked graph and weights
//!        for each input size (a variant), every scale at once:
//!            --plan::infer_shapes--> shapes of every scale
//!            --plan::fuse--> Fused --plan::schedule--> Schedule --plan::band--> Schedule
//!            --plan::liveness--> Liveness --plan::place--> Plan --plan::verify--> checked Plan
//!        --params::pack--> Params, the weights in the layouts the kernels read
//!        --emit::module--> the generated module
//! ```
//!
//! A broken plan is a bug in nnc, not in the model, but it is still a compile error (on the
//! model's path) rather than a panic, and never reaches the generated code.
//!
//! `nnc-macros` is a thin proc-macro over [`expand`]; keeping the work here lets tests call it
//! directly and snapshot what it generates.

pub mod emit;
pub mod input;
mod ops;
pub mod params;

use input::{Frame, MacroInput, Storage};
use nnc_ir::plan::{self, Plan};
use nnc_ir::{Model, ModelErrors};
use params::Params;
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
    /// Every weight, packed once for all variants.
    pub params: Params,
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

/// Runs every stage of the compiler, in order, collecting every error.
pub fn compile(input: &MacroInput, manifest_dir: &Path) -> Result<Compiled, Vec<syn::Error>> {
    // The macro input was parsed by `expand`; what it found wrong is reported with the rest.
    let mut errors = input.errors.clone();
    let Some(sources) = Sources::read(input, manifest_dir, &mut errors) else {
        return Err(errors);
    };
    // An ONNX file may fix its input's height and width: every size compiled must be that one.
    if let Some(imported) = &sources.onnx {
        for frame in &input.frames {
            for (&scale, &(h, w)) in input.scales.iter().zip(&scaled_sizes(frame, &input.scales)) {
                if let Some(problem) = imported.size_problem(h, w) {
                    let at = if scale == 1.0 {
                        format!("`inputs` asks for {} x {}", frame.width, frame.height)
                    } else {
                        format!(
                            "the input {} x {} at scale {scale} is {w} x {h}",
                            frame.width, frame.height
                        )
                    };
                    errors.push(syn::Error::new(
                        if scale == 1.0 {
                            input.frames_span
                        } else {
                            input.scales_span
                        },
                        format!("{}: {problem}; {at}", sources.model_shown.display()),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    // Parse the description (`syntax::parse`), lower it to a graph (`lower::lower`) and bind the
    // weights to it (`weights::bind`).
    let model = match Model::from_sources(
        &sources.model_text,
        &sources.model_shown,
        &sources.weights,
        &sources.weights_shown,
    ) {
        Ok(model) => model,
        Err(model_errors) => {
            errors.extend(located(model_errors, &sources));
            return Err(errors);
        }
    };
    let graph = &model.graph;
    let mut variants = Vec::new();
    for frame in &input.frames {
        let sizes = scaled_sizes(frame, &input.scales);
        let placed = plan::infer_shapes(graph, &sizes).and_then(|shapes| {
            let fused = plan::fuse(graph)?;
            let schedule = plan::schedule(graph, fused, &sizes, shapes, input.algorithms);
            let schedule = plan::band(graph, schedule);
            let liveness = plan::liveness(graph, schedule);
            Ok(plan::place(liveness))
        });
        let plan = match placed {
            Ok(plan) => plan,
            Err(e) => {
                errors.push(syn::Error::new(
                    input.scales_span,
                    format!(
                        "for the input {}x{} (width x height) at scales {:?}:\n{}",
                        frame.width,
                        frame.height,
                        input.scales,
                        rendered(&e)
                    ),
                ));
                continue;
            }
        };
        if let Err(e) = plan::verify(&plan) {
            errors.push(planner_bug(frame, &e, sources.model_span));
            continue;
        }
        variants.push(Variant {
            frame: *frame,
            plan,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let plans: Vec<&Plan> = variants.iter().map(|v| &v.plan).collect();
    let params = params::pack(&model, &plans, input.storage);
    Ok(Compiled {
        model,
        model_path: sources.model_path,
        weights_path: sources.weights_path,
        variants,
        params,
        scales: input.scales.clone(),
        storage: input.storage,
    })
}

/// A plan that fails verification, as a compile error on the model's path: a bug in nnc, but
/// one the user sees as an error rather than a panic of the macro.
fn planner_bug(frame: &Frame, e: &plan::PlanError, model_span: Span) -> syn::Error {
    syn::Error::new(
        model_span,
        format!(
            "nnc planned the input {}x{} (width x height) wrongly: {e}. This is a bug in nnc, \
             not in the model; please report it with the model",
            frame.width, frame.height
        ),
    )
}

/// The input size of each scale of `frame`, as (height, width): see [`plan::scaled_sizes`].
fn scaled_sizes(frame: &Frame, scales: &[f64]) -> Vec<(usize, usize)> {
    plan::scaled_sizes((frame.height, frame.width), scales)
}

/// The two files a model is made of, read, with the names and spans errors refer to them by.
struct Sources {
    /// Absolute paths, for `include_bytes!`.
    model_path: PathBuf,
    weights_path: PathBuf,
    /// Paths as the user wrote them, for messages.
    model_shown: PathBuf,
    weights_shown: PathBuf,
    model_span: Span,
    weights_span: Span,
    model_text: String,
    weights: Vec<u8>,
    /// What `nnc-onnx` made of an ONNX model, which also knows the input size it fixes.
    onnx: Option<nnc_onnx::Imported>,
}

impl Sources {
    /// Reads both files, or records why not.
    fn read(
        input: &MacroInput,
        manifest_dir: &Path,
        errors: &mut Vec<syn::Error>,
    ) -> Option<Sources> {
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
        if input.is_onnx() {
            return Sources::onnx(input, read, errors);
        }
        let model_file = input.model.as_ref().and_then(|lit| read(lit, errors));
        let weights_file = input.weights.as_ref().and_then(|lit| read(lit, errors));
        let (Some((model_path, model_shown, src)), Some((weights_path, weights_shown, weights))) =
            (model_file, weights_file)
        else {
            return None;
        };
        let model_span = input.model.as_ref().map_or(Span::call_site(), |l| l.span());
        let weights_span = input
            .weights
            .as_ref()
            .map_or(Span::call_site(), |l| l.span());
        let Ok(model_text) = String::from_utf8(src) else {
            errors.push(syn::Error::new(
                model_span,
                format!("{} is not UTF-8 text", model_shown.display()),
            ));
            return None;
        };
        Some(Sources {
            model_path,
            weights_path,
            model_shown,
            weights_shown,
            model_span,
            weights_span,
            model_text,
            weights,
            onnx: None,
        })
    }
}

impl Sources {
    /// An ONNX file, imported by `nnc-onnx` to a description and weights: both "files" are the
    /// ONNX file, and every error points at its path literal.
    fn onnx(
        input: &MacroInput,
        read: impl Fn(&syn::LitStr, &mut Vec<syn::Error>) -> Option<(PathBuf, PathBuf, Vec<u8>)>,
        errors: &mut Vec<syn::Error>,
    ) -> Option<Sources> {
        let lit = input.model.as_ref()?;
        if let Some(weights) = &input.weights {
            errors.push(syn::Error::new(
                weights.span(),
                "an ONNX model carries its weights (its initializers); leave out `weights`",
            ));
        }
        let (path, shown, bytes) = read(lit, errors)?;
        match nnc_onnx::import(&bytes, &shown) {
            Ok(imported) => Some(Sources {
                model_path: path.clone(),
                weights_path: path,
                model_shown: shown.clone(),
                weights_shown: shown,
                model_span: lit.span(),
                weights_span: lit.span(),
                model_text: imported.description.clone(),
                weights: imported.weights.clone(),
                onnx: Some(imported),
            }),
            Err(e) => {
                errors.push(syn::Error::new(lit.span(), e.to_string()));
                None
            }
        }
    }
}

/// Model errors as compile errors on the path literal of the file each is about.
fn located(errors: ModelErrors, sources: &Sources) -> Vec<syn::Error> {
    errors
        .into_iter()
        .map(|e| {
            let span = if e.file == sources.weights_shown {
                sources.weights_span
            } else {
                sources.model_span
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupted_plan_is_a_compile_error_not_a_panic() {
        let src =
            "x = input(channels=1)\na = conv(x, out=4, k=1)\nb = conv(a, out=4, k=1)\noutput b\n";
        let graph = nnc_ir::parse_graph(src, "net.nnc".as_ref()).unwrap();
        let mut plan = plan::plan(&graph, &[(8, 8)]).unwrap();
        // `a` and `b` are both live while `b` is computed; put them on the same bytes.
        plan.buffers[1].offset = plan.buffers[0].offset;
        let e = plan::verify(&plan).unwrap_err();
        let frame = Frame {
            width: 8,
            height: 8,
        };
        let error = planner_bug(&frame, &e, Span::call_site());
        let message = error.to_string();
        assert!(message.contains("planned the input 8x8"), "{message}");
        assert!(message.contains("overlap"), "{message}");
        assert!(
            error
                .to_compile_error()
                .to_string()
                .contains("compile_error"),
            "{message}"
        );
    }
}
