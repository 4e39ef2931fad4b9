//! The portable path's register blocks, sized for its target's registers or for sixteen, side by
//! side (`benches/NOTES.md`, attempt 9): the same kernels over the same vectors (two SSE
//! registers on x86_64 since attempt 18, `[f32; 8]` arrays before and elsewhere), once as
//! [`Portable`] (blocks for `PORTABLE_REGISTERS`: 8 on x86_64 without AVX) and once as `Sixteen`,
//! which differs only in claiming sixteen registers, on the embedding's and the face pyramid's
//! layer shapes. Alternates the two in fifteen rounds and prints the medians and the median of
//! the rounds' ratios, and checks that both wrote the same outputs.
//!
//! ```text
//! cargo run --release -p nnc-runtime --example portable_registers
//! ```

mod support;

use support::{Buffers, median, per_call};

use nnc_runtime::ir::plan::winograd_scratch;
use nnc_runtime::kernels::simd::{PORTABLE_REGISTERS, Portable, Simd};
use nnc_runtime::kernels::{ConvPtrs, Geometry, act, conv::conv, layout, winograd::winograd};

/// [`Portable`] with the register budget of the AVX2 path: blocks as the portable path had them
/// before attempt 9.
#[derive(Clone, Copy, Debug)]
struct Sixteen;

// SAFETY: every method is `Portable`'s, which any CPU runs.
unsafe impl Simd for Sixteen {
    type V = <Portable as Simd>::V;
    const REGISTERS: usize = 16;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        unsafe { Portable::splat(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { Portable::load(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { Portable::store(p, v) }
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, n: usize) -> Self::V {
        unsafe { Portable::load_part(p, n) }
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, v: Self::V, n: usize) {
        unsafe { Portable::store_part(p, v, n) }
    }
    #[inline(always)]
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        unsafe { Portable::fma(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Portable::add(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Portable::sub(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Portable::mul(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Portable::max(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Portable::min(a, b) }
    }
}

/// One layer's buffers, filled with fixed values, with scratch for 2x2 Winograd tiles.
fn buffers(&(h, w, ci, co, taps): &Shape) -> Buffers {
    Buffers::direct((h, w, ci, co, taps), winograd_scratch(2, ci, co))
}

/// Height, width, input and output channels, and the taps of the packed kernel (16 for Winograd).
type Shape = (usize, usize, usize, usize, usize);

/// A direct convolution with ReLU on `$s`'s blocks.
macro_rules! direct {
    ($name:ident, $s:ty, $h:literal, $w:literal, $ci:literal, $co:literal, $k:literal, $st:literal, $p:literal, $pk:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const COB: usize = layout::vectors($co);
            const G: u64 = Geometry::square($k, $st, $p).pack();
            const NPX: usize = if $pk > 1 {
                $pk * $pk
            } else {
                layout::pixels_per_block_in(<$s as Simd>::REGISTERS, COB)
            };
            // SAFETY: `Buffers` sizes every buffer for this layer.
            unsafe { conv::<$s, $h, $w, $ci, $co, COB, G, { act::RELU }, $pk, NPX>(p) }
        }
    };
}

/// A Winograd convolution with ReLU, padding 1, on `$s`'s blocks.
macro_rules! winograd {
    ($name:ident, $s:ty, $h:literal, $w:literal, $ci:literal, $co:literal, $pk:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const B: (usize, usize) = layout::winograd_block(8, <$s as Simd>::REGISTERS, $co);
            // SAFETY: `Buffers` sizes every buffer for this layer, the scratch by the plan's rule.
            unsafe {
                winograd::<$s, $h, $w, $ci, $co, 1, 2, { act::RELU }, $pk, { B.0 }, { B.1 }>(p)
            }
        }
    };
}

// The embedding's layers.
direct!(stem, Portable, 150, 150, 3, 32, 7, 2, 0, 1);
direct!(stem_16, Sixteen, 150, 150, 3, 32, 7, 2, 0, 1);
direct!(strided, Portable, 35, 35, 32, 64, 3, 2, 0, 1);
direct!(strided_16, Sixteen, 35, 35, 32, 64, 3, 2, 0, 1);
direct!(wide, Portable, 4, 4, 256, 256, 3, 1, 1, 1);
direct!(wide_16, Sixteen, 4, 4, 256, 256, 3, 1, 1, 1);
winograd!(w35, Portable, 35, 35, 32, 32, 1);
winograd!(w35_16, Sixteen, 35, 35, 32, 32, 1);
winograd!(w17, Portable, 17, 17, 64, 64, 1);
winograd!(w17_16, Sixteen, 17, 17, 64, 64, 1);
winograd!(w8, Portable, 8, 8, 128, 128, 1);
winograd!(w8_16, Sixteen, 8, 8, 128, 128, 1);
// The face pyramid's, at scale 1: conv1 (direct, pooled), conv2 (Winograd, pooled), conv4-like.
direct!(conv1, Portable, 240, 320, 3, 16, 3, 1, 1, 2);
direct!(conv1_16, Sixteen, 240, 320, 3, 16, 3, 1, 1, 2);
winograd!(conv2, Portable, 120, 160, 16, 16, 2);
winograd!(conv2_16, Sixteen, 120, 160, 16, 16, 2);
direct!(pooled32, Portable, 60, 80, 16, 32, 3, 1, 1, 2);
direct!(pooled32_16, Sixteen, 60, 80, 16, 32, 3, 1, 1, 2);

fn side_by_side(what: &str, shape: Shape, ours: fn(ConvPtrs), sixteen: fn(ConvPtrs)) {
    let (mut a, mut b) = (buffers(&shape), buffers(&shape));
    ours(a.ptrs());
    sixteen(b.ptrs());
    let same = a
        .output
        .iter()
        .zip(&b.output)
        .all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + x.abs()));
    // About 20 ms a turn.
    let reps = (20.0 / per_call(1, &mut a, ours)).clamp(1.0, 10_000.0) as usize;
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let x = per_call(reps, &mut a, ours);
        let y = per_call(reps, &mut b, sixteen);
        ta.push(x);
        tb.push(y);
        ratio.push(y / x);
    }
    println!(
        "{what:<32} {:>8.3} ms {:>10.3} ms {:>8.2}x  {}",
        median(ta),
        median(tb),
        median(ratio),
        if same {
            "same outputs"
        } else {
            "OUTPUTS DIFFER"
        }
    );
}

fn main() {
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    println!("PORTABLE_REGISTERS = {PORTABLE_REGISTERS}");
    println!(
        "{:<32} {:>11} {:>13} {:>9}",
        "layer", "portable", "sixteen", "ratio"
    );
    side_by_side(
        "stem 150x150 3->32 7x7/2",
        (150, 150, 3, 32, 49),
        stem,
        stem_16,
    );
    side_by_side(
        "35x35 32->64 3x3/2",
        (35, 35, 32, 64, 9),
        strided,
        strided_16,
    );
    side_by_side("4x4 256->256 3x3", (4, 4, 256, 256, 9), wide, wide_16);
    side_by_side("Winograd 35x35 32->32", (35, 35, 32, 32, 16), w35, w35_16);
    side_by_side("Winograd 17x17 64->64", (17, 17, 64, 64, 16), w17, w17_16);
    side_by_side("Winograd 8x8 128->128", (8, 8, 128, 128, 16), w8, w8_16);
    side_by_side(
        "320x240 3->16 pooled",
        (240, 320, 3, 16, 9),
        conv1,
        conv1_16,
    );
    side_by_side(
        "Winograd 160x120 16->16 pooled",
        (120, 160, 16, 16, 16),
        conv2,
        conv2_16,
    );
    side_by_side(
        "80x60 16->32 pooled",
        (60, 80, 16, 32, 9),
        pooled32,
        pooled32_16,
    );
    println!("load average after: {}", load().trim());
}
