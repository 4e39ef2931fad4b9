//! The middle of nnc, shared by the compiler (the `nnc!` macro, at build time) and the reference
//! interpreter (at run time), so that both read a model in exactly the same way.
//!
//! Loading a model is a pipeline that reads top to bottom:
//!
//! ```text
//! .nnc text --syntax::parse--> SyntaxTree --lower::lower--> Graph --weights::bind--> Model
//!                                                             |
//!                                       Graph::infer_shapes(h, w) --> Shapes
//! ```
//!
//! - [`syntax`] turns text into a [`SyntaxTree`](syntax::SyntaxTree) whose every token keeps its
//!   [`Span`].
//! - [`lower`](mod@lower) checks names, ops, arguments and channels, and builds the typed
//!   [`Graph`].
//! - [`Graph::infer_shapes`] gives every value's [`Shape`] for one input size, through each
//!   [`Op`]'s own shape rule.
//! - [`weights::bind`] reads a safetensors file and checks every tensor against what its layer
//!   needs.
//!
//! Every stage reports all the problems it finds as [`ModelErrors`], each naming the file, line and
//! column. A [`Model`] is a graph with its weights.
//!
//! [`plan`](mod@plan) is the compiler's middle: the stages from shape inference to a verified
//! arena plan, which the code generator (`nnc-codegen`) only reads.
//!
//! Two modules are behind cargo features, outside the IR's API: `testing` (seeded random
//! networks, weights and inputs, for tests and benchmarks) and `onnx` (export to ONNX, for the
//! benchmarks' ONNX Runtime and tract baselines).
//!
//! ```
//! let src = "image = input(channels=3)\n\
//!            c1 = conv(image, out=8, k=3, pad=1)\n\
//!            r1 = relu(c1)\n\
//!            p1 = maxpool(r1, k=2)\n\
//!            output features = p1\n";
//! let graph = nnc_ir::parse_graph(src, "tiny.nnc".as_ref()).unwrap();
//! let shapes = graph.infer_shapes(48, 64).unwrap();
//! assert_eq!(shapes.of(graph.outputs[0].value).to_string(), "24x32x8");
//! ```

pub mod error;
pub mod ir;
pub mod lower;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod plan;
pub mod syntax;
#[cfg(feature = "testing")]
pub mod testing;
pub mod weights;

pub use error::{ErrorKind, ModelError, ModelErrors, Span};
pub use ir::{
    Axis, Conv, Graph, Head, Node, Op, OpKind, Padding, Real, Shape, Shapes, ValueId, WeightRole,
    Window,
};
pub use weights::{Dtype, WeightTensor, Weights};

use std::path::Path;

/// A network and its weights, checked against each other.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub graph: Graph,
    pub weights: Weights,
}

/// Parses and checks a description. `file` is used in error messages and names the graph.
pub fn parse_graph(src: &str, file: &Path) -> Result<Graph, ModelErrors> {
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tree = syntax::parse(src, file)?;
    lower::lower(&tree, src, file, &name)
}

impl Model {
    /// Builds a model from a description's text and a safetensors file's bytes.
    ///
    /// A malformed weights file is reported even when the description has errors too.
    pub fn from_sources(
        src: &str,
        model_file: &Path,
        weights: &[u8],
        weights_file: &Path,
    ) -> Result<Model, ModelErrors> {
        let graph = match parse_graph(src, model_file) {
            Ok(graph) => graph,
            Err(mut errors) => {
                if let Err(e) = safetensors::SafeTensors::deserialize(weights) {
                    errors.push(ModelError::in_file(
                        ErrorKind::WeightsFile,
                        weights_file,
                        format!(
                            "{} is not a valid safetensors file: {e}",
                            weights_file.display()
                        ),
                    ));
                }
                return Err(errors);
            }
        };
        let weights = weights::bind(&graph, weights, weights_file)?;
        Ok(Model { graph, weights })
    }

    /// Reads a description and its weights from files.
    pub fn load(model_file: &Path, weights_file: &Path) -> Result<Model, ModelErrors> {
        let read_error = |file: &Path, e: std::io::Error| {
            ModelError::in_file(
                ErrorKind::Io,
                file,
                format!("cannot read {}: {e}", file.display()),
            )
        };
        let src = std::fs::read(model_file).map_err(|e| read_error(model_file, e));
        let bytes = std::fs::read(weights_file).map_err(|e| read_error(weights_file, e));
        let (src, bytes) = match (src, bytes) {
            (Ok(src), Ok(bytes)) => (src, bytes),
            (src, bytes) => {
                return Err(src.err().into_iter().chain(bytes.err()).collect());
            }
        };
        let src = String::from_utf8(src).map_err(|e| {
            ModelError::in_file(
                ErrorKind::Syntax,
                model_file,
                format!(
                    "{} is not UTF-8 text (invalid byte at offset {})",
                    model_file.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Model::from_sources(&src, model_file, &bytes, weights_file)
    }
}
