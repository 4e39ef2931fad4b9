//! The `nnc!` macro's input, parsed from tokens with every field's span kept for errors.
//!
//! ```text
//! /// Docs for the generated module.
//! pub mod face_detector {
//!     model: "models/face_student.nnc",
//!     weights: "models/face_student.safetensors",
//!     inputs: [640 x 480, 480 x 640],     // width x height; `input: 640 x 480` for one
//!     scales: [1.0, 0.5, 0.25],           // optional, default [1.0]
//!     weights_as: f16,                    // optional, f32 (default) or f16
//!     algorithms: direct,                 // optional: auto (default), direct, winograd, winograd4x4
//! }
//! ```

use nnc_ir::plan::Algorithms;
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitFloat, LitInt, LitStr, Token, Visibility, braced, bracketed};

/// An input size as the user wrote it: width then height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
}

/// How weights are stored in the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
}

/// The parsed macro input. Fields that were not given are `None`; `errors` holds every problem.
#[derive(Debug)]
pub struct MacroInput {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub model: Option<LitStr>,
    pub weights: Option<LitStr>,
    pub frames: Vec<Frame>,
    pub frames_span: Span,
    pub scales: Vec<f64>,
    pub scales_span: Span,
    pub storage: Storage,
    /// `algorithms:`, which convolution algorithms the planner may pick.
    pub algorithms: Algorithms,
    /// Problems found while reading fields; reported together with any later ones.
    pub errors: Vec<syn::Error>,
}

impl MacroInput {
    /// Whether `model` names an ONNX file (by its `.onnx` extension).
    pub fn is_onnx(&self) -> bool {
        self.model.as_ref().is_some_and(|lit| {
            std::path::Path::new(&lit.value())
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        })
    }
}

const FIELDS: &[&str] = &[
    "model",
    "weights",
    "input",
    "inputs",
    "scales",
    "weights_as",
    "algorithms",
];

impl Parse for MacroInput {
    fn parse(stream: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = stream.call(Attribute::parse_outer)?;
        let vis: Visibility = stream.parse()?;
        stream.parse::<Token![mod]>()?;
        let name: Ident = stream.parse()?;
        let body;
        braced!(body in stream);
        let mut input = MacroInput {
            attrs,
            vis,
            name: name.clone(),
            model: None,
            weights: None,
            frames: Vec::new(),
            frames_span: name.span(),
            scales: vec![1.0],
            scales_span: name.span(),
            storage: Storage::F32,
            algorithms: Algorithms::Auto,
            errors: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        while !body.is_empty() {
            let key: Ident = body.parse()?;
            body.parse::<Token![:]>()?;
            let key_text = key.to_string();
            if seen.contains(&key_text)
                || (key_text.starts_with("input") && seen.iter().any(|s| s.starts_with("input")))
            {
                input.errors.push(syn::Error::new(
                    key.span(),
                    format!("`{key_text}` is given more than once"),
                ));
            }
            seen.push(key_text.clone());
            match key_text.as_str() {
                "model" => input.model = Some(body.parse()?),
                "weights" => input.weights = Some(body.parse()?),
                "input" => {
                    input.frames_span = body.span();
                    input.frames = vec![parse_frame(&body)?];
                }
                "inputs" => {
                    let list;
                    input.frames_span = bracketed!(list in body).span.join();
                    let frames = list.parse_terminated(parse_frame, Token![,])?;
                    input.frames = frames.into_iter().collect();
                    if input.frames.is_empty() {
                        input.errors.push(syn::Error::new(
                            key.span(),
                            "`inputs` needs at least one size, like `[640 x 480]`",
                        ));
                    }
                }
                "scales" => {
                    let list;
                    input.scales_span = bracketed!(list in body).span.join();
                    let scales = list.parse_terminated(parse_scale, Token![,])?;
                    input.scales = Vec::new();
                    for (value, span) in scales {
                        if !(value > 0.0 && value <= 1.0) {
                            input.errors.push(syn::Error::new(
                                span,
                                "a scale must be above 0 and at most 1",
                            ));
                        }
                        input.scales.push(value);
                    }
                    if input.scales.is_empty() {
                        input.errors.push(syn::Error::new(
                            key.span(),
                            "`scales` needs at least one scale, like `[1.0, 0.5]`",
                        ));
                    }
                }
                "weights_as" => {
                    let ty: Ident = body.parse()?;
                    input.storage = match ty.to_string().as_str() {
                        "f32" => Storage::F32,
                        "f16" => Storage::F16,
                        other => {
                            input.errors.push(syn::Error::new(
                                ty.span(),
                                format!("`weights_as` is `f32` or `f16`, not `{other}`"),
                            ));
                            Storage::F32
                        }
                    };
                }
                "algorithms" => {
                    let name: Ident = body.parse()?;
                    input.algorithms = Algorithms::parse(&name.to_string()).unwrap_or_else(|| {
                        input.errors.push(syn::Error::new(
                            name.span(),
                            format!(
                                "`algorithms` is `auto`, `direct`, `winograd` or `winograd4x4`, not `{name}`"
                            ),
                        ));
                        Algorithms::Auto
                    });
                }
                other => {
                    input.errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`; the options are: {}",
                            FIELDS.join(", ")
                        ),
                    ));
                    // Skip the value, whatever it is, up to the next comma.
                    while !body.is_empty() && !body.peek(Token![,]) {
                        body.parse::<proc_macro2::TokenTree>()?;
                    }
                }
            }
            if body.is_empty() {
                break;
            }
            body.parse::<Token![,]>()?;
        }
        for (field, given) in [
            ("model", input.model.is_some()),
            // An ONNX file carries its weights as initializers.
            ("weights", input.weights.is_some() || input.is_onnx()),
            (
                "input",
                !input.frames.is_empty() || seen.iter().any(|s| s == "inputs"),
            ),
        ] {
            if !given {
                input.errors.push(syn::Error::new(
                    name.span(),
                    format!("`{}` is missing the `{field}` option", name),
                ));
            }
        }
        Ok(input)
    }
}

/// `640 x 480` (width by height), also written `640x480`.
fn parse_frame(stream: ParseStream<'_>) -> syn::Result<Frame> {
    let width: LitInt = stream.parse()?;
    // `640x480` lexes as the integer 640 with the suffix `x480`.
    if let Some(height) = width.suffix().strip_prefix('x') {
        let height = height
            .parse::<usize>()
            .map_err(|_| syn::Error::new(width.span(), "expected a size like `640 x 480`"))?;
        return frame(width.base10_parse()?, height, width.span());
    }
    let x: Ident = stream.parse()?;
    if x != "x" {
        return Err(syn::Error::new(
            x.span(),
            "expected `x` between width and height, like `640 x 480`",
        ));
    }
    let height: LitInt = stream.parse()?;
    frame(width.base10_parse()?, height.base10_parse()?, height.span())
}

fn frame(width: usize, height: usize, span: Span) -> syn::Result<Frame> {
    if width == 0 || height == 0 || width > 16384 || height > 16384 {
        return Err(syn::Error::new(span, "sizes go from 1 to 16384 pixels"));
    }
    Ok(Frame { width, height })
}

fn parse_scale(stream: ParseStream<'_>) -> syn::Result<(f64, Span)> {
    if stream.peek(LitFloat) {
        let lit: LitFloat = stream.parse()?;
        Ok((lit.base10_parse()?, lit.span()))
    } else {
        let lit: LitInt = stream.parse()?;
        Ok((lit.base10_parse()?, lit.span()))
    }
}
