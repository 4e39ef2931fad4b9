//! nnc: a compiler for small convolutional networks, and the run-time pieces it needs.
//!
//! This facade is the one crate a user depends on:
//!
//! - [`nnc!`] reads a network description (`.nnc`) and its safetensors weights at build time and
//!   generates a module specialized to every input size and pyramid scale it will run at: one
//!   function per scale (AVX2+FMA, with a portable path beside it), the weights as shared `static`s
//!   packed in the order the kernels read them, and one arena whose offsets come from liveness
//!   analysis over the joint graph of all scales.
//! - [`ir`]: the description format, the typed IR ([`ir::Graph`]), shape inference at any input
//!   size and weights ([`ir::Model`]), shared by the macro and the interpreter.
//! - [`Interpreter`]: the reference interpreter, which runs any model on any input size and is the
//!   numeric oracle for generated code.
//!
//! # The `nnc!` macro
//!
//! ```
//! nnc::nnc! {
//!     /// The test network, compiled for 64x48 frames and two scales.
//!     pub mod testnet {
//!         model: "models/testnet.nnc",              // relative to CARGO_MANIFEST_DIR
//!         weights: "models/testnet.safetensors",
//!         inputs: [64 x 48, 48 x 64],               // width x height, one variant each
//!         scales: [1.0, 0.5],
//!         weights_as: f16,                          // or f32 (the default)
//!     }
//! }
//!
//! let mut net = testnet::Network::new();              // allocates the arena, once
//! let full = vec![0.5f32; 48 * 64 * 3];
//! let half = vec![0.5f32; 24 * 32 * 3];
//! let outputs = net.v64x48().run_all(testnet::v64x48::Inputs {
//!     scale0: full.as_slice().try_into().unwrap(),
//!     scale1: half.as_slice().try_into().unwrap(),
//! });
//! assert_eq!(outputs.scale0.score.data().len(), 12 * 16);   // the score head at scale 0
//! assert_eq!(testnet::v64x48::SIZES, &[(48, 64), (24, 32)]);
//! assert!(testnet::ARENA_BYTES <= testnet::NAIVE_BYTES);
//! ```
//!
//! `model` may also name an ONNX file, with no `weights` (they are its initializers): `nnc-onnx`
//! imports it to a description and weights first, and says which nodes it cannot import.
//!
//! The module holds:
//! - `Network`, which owns the arena and the weights; `Network::new()` picks AVX2+FMA when the CPU
//!   has them, `Network::portable()` never does;
//! - per input size `W x H`, a method `vWxH()` returning a runner with one method per scale
//!   (`scale0(&input) -> Scale0`) and `run_all(Inputs) -> Outputs`; each head is a typed
//!   [`Map`]`<H, W, C>` view into the arena;
//! - per variant, a module `vWxH` with `SIZES`, `SCALES`, `FLOPS`, `TOTAL_FLOPS` and those types;
//! - `ARENA_BYTES`, `NAIVE_BYTES` (no reuse), `LOWER_BOUND_BYTES` (most bytes live at once),
//!   `WEIGHT_BYTES`, `PARAMETERS`, and `PLAN`, the arena plan in text.
//!
//! Errors in the macro input, a missing file, a mistake in the description or the weights, or a
//! scale too small for the network are compile errors pointing at the field they are about.

pub use nnc_macros::nnc;
pub use nnc_runtime::{Interpreter, Map, Outputs, RunError, Tensor, detect, ir};

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use nnc_runtime::detect::{HeadView, Pyramid};
    pub use nnc_runtime::ir::Shape;
    pub use nnc_runtime::kernels::conv::{conv, conv_rows};
    pub use nnc_runtime::kernels::depthwise::depthwise;
    pub use nnc_runtime::kernels::pointwise::pointwise;
    pub use nnc_runtime::kernels::simd::PORTABLE_REGISTERS;
    pub use nnc_runtime::kernels::simd::Portable;
    #[cfg(target_arch = "x86_64")]
    pub use nnc_runtime::kernels::simd::{Avx2, Avx512};
    pub use nnc_runtime::kernels::simd::{has_avx2_fma, has_avx512};
    pub use nnc_runtime::kernels::winograd::{winograd, winograd_band, winograd_rows};
    pub use nnc_runtime::kernels::{Aligned, ConvPtrs, Geometry, act, layout, other};
    pub use nnc_runtime::{Arena, Map, Params};
}
