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
    /// A direct convolution's buffers for an `h x w x ci` input, `co` output channels and `taps`
    /// kernel taps (the kernel packed with `co` padded to sixteen), filled with fixed values,
    /// with `scratch` floats of scratch.
    #[allow(dead_code, reason = "winograd_tiles packs transformed filters instead")]
    pub fn direct(
        (h, w, ci, co, taps): (usize, usize, usize, usize, usize),
        scratch: usize,
    ) -> Buffers {
        let cop = co.div_ceil(16) * 16;
        Buffers {
            input: (0..h * w * ci)
                .map(|i| value(i, 7919, 1000.0) - 0.5)
                .collect(),
            kernel: (0..taps * ci * cop)
                .map(|i| value(i, 104_729, 5000.0) - 0.1)
                .collect(),
            bias: vec![0.01; cop],
            output: vec![0.0; h * w * cop],
            scratch: vec![0.0; scratch],
        }
    }

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
