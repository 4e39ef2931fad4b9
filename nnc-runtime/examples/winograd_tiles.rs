//! Winograd F(2x2, 3x3) against F(4x4, 3x3), layer by layer (`benches/NOTES.md`, attempt 13):
//! the same kernel with 2x2 and 4x4 output tiles, on the AVX2 path (where the CPU has it) and the
//! portable path, on the embedding's and the face pyramid's Winograd shapes. Alternates the two in
//! fifteen rounds of about 20 ms each and prints the medians and the median of the rounds'
//! ratios, and the largest difference between their outputs, relative to the largest output.
//!
//! ```text
//! cargo run --release -p nnc-runtime --example winograd_tiles
//! ```

mod support;

use support::{Buffers, median, per_call, value};

use nnc_runtime::ir::plan::{winograd_pooled_scratch, winograd_scratch};
use nnc_runtime::kernels::simd::PORTABLE_REGISTERS;
use nnc_runtime::kernels::{ConvPtrs, act, layout, simd};

/// One layer's buffers for tiles of `m`: fixed pseudo-random input and filters, the filters
/// transformed as the compiler transforms them.
fn buffers(&(h, w, ci, co, pk): &Shape, m: usize) -> Buffers {
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
        // Padding 1: the output is `h x w`, pooled `w / 2` wide.
        scratch: vec![
            0.0;
            if pk == 2 {
                winograd_pooled_scratch(m, ci, co, w / 2)
            } else {
                winograd_scratch(m, ci, co)
            }
        ],
    }
}

/// Height, width, input and output channels, and the fused max-pool (1 or 2); padding 1, ReLU.
type Shape = (usize, usize, usize, usize, usize);

/// A layer's name, shape, and its 2x2 and 4x4 functions on the AVX2 and the portable path.
type Layer = (&'static str, Shape, [fn(ConvPtrs); 2], [fn(ConvPtrs); 2]);

/// The layer as a function of its pointers, through the kernel entry `$entry` (AVX2 or portable)
/// whose register file holds `$registers` vectors, with tiles of `$m`.
macro_rules! layer {
    ($name:ident, $entry:ident, $registers:expr, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal, $m:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const B: (usize, usize) = layout::winograd_block(8, $registers, $co);
            // SAFETY: `Buffers` sizes every buffer for this layer; `main` calls the AVX2 entries
            // only where the CPU has AVX2 and FMA.
            unsafe {
                nnc_runtime::kernels::$entry::<
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

/// A path's two functions for a shape, 2x2 and 4x4 tiles, as `BOTH`.
macro_rules! tiles {
    ($path:ident, $entry:ident, $registers:expr, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal) => {
        pub mod $path {
            use super::super::*;
            layer!(two, $entry, $registers, $h, $w, $ci, $co, $pk, 2);
            layer!(four, $entry, $registers, $h, $w, $ci, $co, $pk, 4);
            pub const BOTH: [fn(ConvPtrs); 2] = [two, four];
        }
    };
}

/// A shape's four functions, AVX2 and portable, 2x2 and 4x4 tiles, with its name, as `LAYER`.
macro_rules! shape {
    ($name:ident, $what:literal, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal) => {
        mod $name {
            tiles!(avx2, winograd_avx2, 16, $h, $w, $ci, $co, $pk);
            tiles!(
                portable,
                winograd_portable,
                PORTABLE_REGISTERS,
                $h,
                $w,
                $ci,
                $co,
                $pk
            );
            pub const LAYER: super::Layer =
                ($what, ($h, $w, $ci, $co, $pk), avx2::BOTH, portable::BOTH);
        }
    };
}

// The embedding's Winograd layers.
shape!(e35, "embedding 35x35 32->32", 35, 35, 32, 32, 1);
shape!(e17, "embedding 17x17 64->64", 17, 17, 64, 64, 1);
shape!(e8, "embedding 8x8 128->128", 8, 8, 128, 128, 1);
// The face pyramid's, at its largest scale (640x480): conv2, conv3, conv4, conv5, conv6.
shape!(f2, "face conv2 320x240 16->16 pool", 240, 320, 16, 16, 2);
shape!(f3, "face conv3 160x120 16->32", 120, 160, 16, 32, 1);
shape!(f4, "face conv4 160x120 32->32 pool", 120, 160, 32, 32, 2);
shape!(f5, "face conv5 80x60 32->48", 60, 80, 32, 48, 1);
shape!(f6, "face conv6 80x60 48->48", 60, 80, 48, 48, 1);

fn side_by_side(what: &str, path: &str, shape: Shape, [two, four]: [fn(ConvPtrs); 2]) {
    let (mut a, mut b) = (buffers(&shape, 2), buffers(&shape, 4));
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
    let layers = [
        e35::LAYER,
        e17::LAYER,
        e8::LAYER,
        f2::LAYER,
        f3::LAYER,
        f4::LAYER,
        f5::LAYER,
        f6::LAYER,
    ];
    let avx2 = simd::has_avx2_fma();
    for (what, shape, on_avx2, portable) in layers {
        if avx2 {
            side_by_side(what, "avx2", shape, on_avx2);
        }
        side_by_side(what, "portable", shape, portable);
    }
    println!("load average after: {}", load().trim());
}
