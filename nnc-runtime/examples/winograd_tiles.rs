//! Winograd F(2x2, 3x3) against F(4x4, 3x3), layer by layer (`benches/NOTES.md`, attempt 12):
//! the same kernel with 2x2 and 4x4 output tiles, on the AVX2 path (where the CPU has it) and the
//! portable path, on the embedding's and the face pyramid's Winograd shapes. Alternates the two in
//! fifteen rounds of about 20 ms each and prints the medians and the median of the rounds'
//! ratios, and the largest difference between their outputs, relative to the largest output.
//!
//! ```text
//! cargo run --release -p nnc-runtime --example winograd_tiles
//! ```

use nnc_runtime::ir::plan::winograd_scratch;
use nnc_runtime::kernels::{ConvPtrs, act, layout, simd};
use std::hint::black_box;
use std::time::Instant;

/// One layer's buffers for tiles of `m`: fixed pseudo-random input and filters, the filters
/// transformed as the compiler transforms them.
struct Buffers {
    input: Vec<f32>,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    output: Vec<f32>,
    scratch: Vec<f32>,
}

impl Buffers {
    fn new(&(h, w, ci, co, pk): &Shape, m: usize) -> Buffers {
        let value = |i: usize, prime: usize, scale: f32| ((i * prime) % 1000) as f32 / scale;
        let oihw: Vec<f32> = (0..co * ci * 9)
            .map(|i| value(i, 104_729, 5000.0) - 0.1)
            .collect();
        Buffers {
            input: (0..h * w * ci)
                .map(|i| value(i, 7919, 1000.0) - 0.5)
                .collect(),
            kernel: layout::winograd_kernel(&oihw, co, ci, m),
            bias: vec![0.01; co.div_ceil(16) * 16],
            output: vec![0.0; h * w * co / (pk * pk)],
            scratch: vec![0.0; winograd_scratch(m, ci, co)],
        }
    }

    fn ptrs(&mut self) -> ConvPtrs {
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

/// Height, width, input and output channels, and the fused max-pool (1 or 2); padding 1, ReLU.
type Shape = (usize, usize, usize, usize, usize);

/// A layer's name, shape, and its 2x2 and 4x4 functions on the AVX2 and the portable path.
type Layer = (&'static str, Shape, [fn(ConvPtrs); 2], [fn(ConvPtrs); 2]);

/// The layer as a function of its pointers, on the AVX2 or the portable path, with tiles of `$m`.
macro_rules! layer {
    ($name:ident, avx2, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal, $m:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const B: (usize, usize) = layout::winograd_block(8, 16, $co);
            // SAFETY: `Buffers` sizes every buffer for this layer; `main` checks AVX2 and FMA.
            unsafe {
                nnc_runtime::kernels::winograd_avx2::<
                    $h,
                    $w,
                    $ci,
                    $co,
                    1,
                    $m,
                    { act::RELU },
                    $pk,
                    { B.0 },
                    { B.1 },
                >(p)
            }
        }
    };
    ($name:ident, portable, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal, $m:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const B: (usize, usize) = layout::winograd_block(8, simd::PORTABLE_REGISTERS, $co);
            // SAFETY: `Buffers` sizes every buffer for this layer.
            unsafe {
                nnc_runtime::kernels::winograd_portable::<
                    $h,
                    $w,
                    $ci,
                    $co,
                    1,
                    $m,
                    { act::RELU },
                    $pk,
                    { B.0 },
                    { B.1 },
                >(p)
            }
        }
    };
}

/// A shape's four functions: AVX2 and portable, 2x2 and 4x4 tiles.
macro_rules! shape {
    ($name:ident, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal) => {
        mod $name {
            use super::*;
            layer!(avx2_2, avx2, $h, $w, $ci, $co, $pk, 2);
            layer!(avx2_4, avx2, $h, $w, $ci, $co, $pk, 4);
            layer!(portable_2, portable, $h, $w, $ci, $co, $pk, 2);
            layer!(portable_4, portable, $h, $w, $ci, $co, $pk, 4);
            pub const SHAPE: Shape = ($h, $w, $ci, $co, $pk);
            pub const AVX2: [fn(ConvPtrs); 2] = [avx2_2, avx2_4];
            pub const PORTABLE: [fn(ConvPtrs); 2] = [portable_2, portable_4];
        }
    };
}

// The embedding's Winograd layers.
shape!(e35, 35, 35, 32, 32, 1);
shape!(e17, 17, 17, 64, 64, 1);
shape!(e8, 8, 8, 128, 128, 1);
// The face pyramid's, at its largest scale (640x480): conv2, conv3, conv4, conv5, conv6.
shape!(f2, 240, 320, 16, 16, 2);
shape!(f3, 120, 160, 16, 32, 1);
shape!(f4, 120, 160, 32, 32, 2);
shape!(f5, 60, 80, 32, 48, 1);
shape!(f6, 60, 80, 48, 48, 1);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds per call of `f`, averaged over `reps` calls.
fn per_call(reps: usize, buffers: &mut Buffers, f: fn(ConvPtrs)) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f(black_box(buffers.ptrs()));
    }
    start.elapsed().as_secs_f64() * 1e3 / reps as f64
}

fn side_by_side(what: &str, path: &str, shape: Shape, [two, four]: [fn(ConvPtrs); 2]) {
    let (mut a, mut b) = (Buffers::new(&shape, 2), Buffers::new(&shape, 4));
    two(a.ptrs());
    four(b.ptrs());
    let largest = a.output.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = a
        .output
        .iter()
        .zip(&b.output)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    let reps = (20.0 / per_call(1, &mut a, two)).clamp(1.0, 10_000.0) as usize;
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let x = per_call(reps, &mut a, two);
        let y = per_call(reps, &mut b, four);
        ta.push(x);
        tb.push(y);
        ratio.push(x / y);
    }
    println!(
        "{what:<30} {path:<9} {:>8.3} ms {:>8.3} ms {:>7.2}x  {:.1e}",
        median(ta),
        median(tb),
        median(ratio),
        worst / largest,
    );
}

fn main() {
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    println!(
        "{:<30} {:<9} {:>11} {:>11} {:>8}  max |difference| / max |output|",
        "layer (padding 1, ReLU)", "path", "F(2x2)", "F(4x4)", "2x2/4x4"
    );
    let shapes: [Layer; 8] = [
        (
            "embedding 35x35 32->32",
            e35::SHAPE,
            e35::AVX2,
            e35::PORTABLE,
        ),
        (
            "embedding 17x17 64->64",
            e17::SHAPE,
            e17::AVX2,
            e17::PORTABLE,
        ),
        ("embedding 8x8 128->128", e8::SHAPE, e8::AVX2, e8::PORTABLE),
        (
            "face conv2 320x240 16->16 pool",
            f2::SHAPE,
            f2::AVX2,
            f2::PORTABLE,
        ),
        (
            "face conv3 160x120 16->32",
            f3::SHAPE,
            f3::AVX2,
            f3::PORTABLE,
        ),
        (
            "face conv4 160x120 32->32 pool",
            f4::SHAPE,
            f4::AVX2,
            f4::PORTABLE,
        ),
        ("face conv5 80x60 32->48", f5::SHAPE, f5::AVX2, f5::PORTABLE),
        ("face conv6 80x60 48->48", f6::SHAPE, f6::AVX2, f6::PORTABLE),
    ];
    let avx2 = simd::has_avx2_fma();
    for (what, shape, on_avx2, portable) in shapes {
        if avx2 {
            side_by_side(what, "avx2", shape, on_avx2);
        }
        side_by_side(what, "portable", shape, portable);
    }
    println!("load average after: {}", load().trim());
}
