//! Run-time support for nnc.
//!
//! - [`Interpreter`] runs any [`nnc_ir::Model`] on an input of any size. It is the numeric oracle
//!   for the code that the `nnc!` macro generates, and a baseline in the benchmarks.
//! - [`Tensor`] is the NHWC f32 tensor the interpreter reads and writes.
//!
//! The description format, the IR and shape inference live in [`nnc_ir`], re-exported here as
//! [`ir`], so that the compiler and the interpreter share one parser and one shape inference.
//!
//! ```
//! use nnc_runtime::{Interpreter, Tensor, ir::{Model, Shape}};
//!
//! let src = "image = input(channels=1)\n\
//!            pooled = avgpool(image, k=2)\n\
//!            output pooled\n";
//! let no_weights = safetensors::serialize(
//!     std::iter::empty::<(&str, safetensors::tensor::TensorView<'_>)>(), None).unwrap();
//! let model = Model::from_sources(src, "avg.nnc".as_ref(), &no_weights, "avg.safetensors".as_ref())
//!     .unwrap();
//! let input = Tensor::from_vec(Shape { h: 2, w: 2, c: 1 }, vec![1.0, 2.0, 3.0, 6.0]);
//! let outputs = Interpreter::new(model).run(&input).unwrap();
//! assert_eq!(outputs.get("pooled").unwrap().data, vec![3.0]);
//! ```

mod compiled;
pub mod detect;
mod interpreter;
pub mod kernels;
mod tensor;

pub use compiled::{Arena, Map, Params};
pub use interpreter::{Interpreter, Outputs, RunError};
pub use nnc_ir as ir;
pub use tensor::Tensor;
