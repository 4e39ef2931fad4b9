//! What the layer-timing examples share: one layer's buffers, and timing a kernel call on them.

use nnc_runtime::kernels::ConvPtrs;
use std::hint::black_box;
use std::time::Instant;

/// One layer's buffers, filled by the example that makes them.
pub struct Buffers {
    pub input: Vec<f32>,
    pub kernel: Vec<f32>,
    pub bias: Vec<f32>,
    pub output: Vec<f32>,
    pub scratch: Vec<f32>,
}

impl Buffers {
    /// The kernels' pointers to the buffers (no PReLU slopes).
    pub fn ptrs(&mut self) -> ConvPtrs {
        ConvPtrs {
            input: self.input.as_ptr(),
            kernel: self.kernel.as_ptr(),
            bias: self.bias.as_ptr(),
            alpha: std::ptr::null(),
            output: self.output.as_mut_ptr(),
            scratch: self.scratch.as_mut_ptr(),
        }
    }
}

/// Fixed pseudo-random values for buffer element `i`: `(i * prime) mod 1000 / scale`.
pub fn value(i: usize, prime: usize, scale: f32) -> f32 {
    ((i * prime) % 1000) as f32 / scale
}

/// The median of `v` (not empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds per call of `f`, averaged over `reps` calls.
pub fn per_call(reps: usize, buffers: &mut Buffers, f: fn(ConvPtrs)) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f(black_box(buffers.ptrs()));
    }
    start.elapsed().as_secs_f64() * 1e3 / reps as f64
}
