//! nnc: a compiler for small convolutional networks, and the run-time pieces it needs.
//!
//! This facade is the one crate a user depends on. Today it gives:
//!
//! - [`ir`]: the `.nnc` network description format, its typed IR ([`ir::Graph`]), shape inference
//!   at any input size ([`ir::Graph::infer_shapes`]) and weights in safetensors ([`ir::Model`]);
//! - [`Interpreter`]: the reference interpreter, which runs any model on any input size and is
//!   the numeric oracle for generated code.
//!
//! The `nnc!` macro, which compiles a model into specialized code at build time, is not written
//! yet; see ARCHITECTURE.md for the plan.
//!
//! ```
//! use nnc::{Interpreter, Tensor, ir::{Model, Shape}};
//!
//! let root = concat!(env!("CARGO_MANIFEST_DIR"), "/models/");
//! let model = Model::load(
//!     format!("{root}testnet.nnc").as_ref(),
//!     format!("{root}testnet.safetensors").as_ref(),
//! )?;
//! let image = Tensor::zeros(Shape { h: 48, w: 64, c: 3 });
//! let outputs = Interpreter::new(model).run(&image)?;
//! assert_eq!(outputs.get("score").unwrap().shape(), Shape { h: 12, w: 16, c: 1 });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use nnc_runtime::{Interpreter, Outputs, RunError, Tensor, ir};
