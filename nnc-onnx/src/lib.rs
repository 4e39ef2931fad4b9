//! ONNX in: an ONNX file lowered to an nnc description (`.nnc` text) and its weights
//! (safetensors bytes), which then take the same pipeline as every other model
//! ([`nnc_ir::Model::from_sources`]: parse, lower, bind, and on to the planner, the code
//! generator and the interpreter).
//!
//! ```text
//! ONNX bytes --prost--> proto::ModelProto --import (one arm per op)--> Imported { .nnc, safetensors }
//! ```
//!
//! Going through the description text, rather than building [`nnc_ir::Graph`] directly, keeps
//! one lowering with one set of checks, and gives `nnc import` its output for free: the text a
//! person can read, diff and edit.
//!
//! What nnc's IR can run is what imports: see [`SUPPORTED`]. Everything else is reported at once,
//! every unsupported node with its name, op type, opset and inputs, never a panic.

mod import;
pub mod proto;

pub use import::{ImportError, ImportErrors, Imported, OPSETS, SUPPORTED, import};
