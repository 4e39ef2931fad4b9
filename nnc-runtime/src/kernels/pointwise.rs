//! A 1x1, stride-1, unpadded convolution as the matrix product it is: `out[pixel][co] =
//! bias[co] + sum over ci of in[pixel][ci] * w[ci][co]`, with ReLU or nothing after.
//!
//! Written over [`Simd::LANES`], so that one kernel serves eight lanes and sixteen (AVX-512). It
//! reads the weights in the layout every dense convolution has ([`super::layout::conv_kernel`]:
//! blocks of sixteen output channels, `[co / 16][ci][16]`, the last block eight wide where the
//! channels padded to eight end there), so a vector of sixteen lanes may be a block of eight; that
//! vector is loaded through a mask, and only real channels are stored.
//!
//! A register block is `NPX` pixels by `V` output vectors: `NPX * V` accumulators, `V` weight
//! vectors that every pixel shares, and one broadcast input (the rule is
//! [`super::layout::pointwise_block`]). Pixel blocks run outside, so a block's inputs stay in L1
//! for every chunk of output channels; the pixels are `H * W` in memory order, with no rows, so a
//! map of any shape fills whole blocks but the last.

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::conv::{ConvPtrs, act};
use super::simd::{Simd, load, store};

/// Runs one pointwise convolution layer.
///
/// `PIX`: pixels (`H * W`), `CI`, `CO`: channels, `COP`: `CO` padded to a multiple of eight (the
/// weights' row length); `ACT`: [`act::NONE`] or [`act::RELU`]; `V`, `NPX`: the register block
/// ([`super::layout::pointwise_block`]). `p.kernel` holds `CI * COP` packed weights, `p.bias`
/// `COP` values.
///
/// # Safety
/// Every pointer in `p` must be valid for the sizes above, the output must not overlap the input,
/// and `S` must be supported by the CPU.
#[inline(always)]
pub unsafe fn pointwise<
    S: Simd,
    const PIX: usize,
    const CI: usize,
    const CO: usize,
    const COP: usize,
    const ACT: u8,
    const V: usize,
    const NPX: usize,
>(
    p: ConvPtrs,
) {
    const {
        assert!(
            ACT == act::NONE || ACT == act::RELU,
            "pointwise fuses ReLU only"
        )
    };
    const { assert!(COP.is_multiple_of(8) && COP >= CO && V >= 1 && NPX >= 1) };
    let chunk = V * S::LANES;
    let full = PIX / NPX * NPX;
    let mut first = 0;
    while first < full {
        let mut c0 = 0;
        while c0 < COP {
            unsafe { block::<S, CI, CO, COP, ACT, V, NPX>(&p, first, c0) };
            c0 += chunk;
        }
        first += NPX;
    }
    // The last pixels, fewer than a block, one at a time.
    for pixel in full..PIX {
        let mut c0 = 0;
        while c0 < COP {
            unsafe { block::<S, CI, CO, COP, ACT, V, 1>(&p, pixel, c0) };
            c0 += chunk;
        }
    }
}

/// Output channels `c0..c0 + V * LANES` (those that exist) of pixels `first..first + NPX`.
#[inline(always)]
unsafe fn block<
    S: Simd,
    const CI: usize,
    const CO: usize,
    const COP: usize,
    const ACT: u8,
    const V: usize,
    const NPX: usize,
>(
    p: &ConvPtrs,
    first: usize,
    c0: usize,
) {
    // Lanes of vector `v` inside the weights' rows (`COP`) and inside the output (`CO`). No
    // closure touches a vector: closures do not inherit the caller's target features.
    let padded = |v: usize| (COP.saturating_sub(c0 + v * S::LANES)).min(S::LANES);
    let real = |v: usize| (CO.saturating_sub(c0 + v * S::LANES)).min(S::LANES);
    let mut bias = [unsafe { S::splat(0.0) }; V];
    let mut column = [p.kernel; V];
    let mut width = [0; V];
    for v in 0..V {
        bias[v] = unsafe { load::<S>(p.bias.add(c0 + v * S::LANES), padded(v)) };
        if padded(v) > 0 {
            let (base, w) = super::layout::kernel_row(CI, COP, c0 + v * S::LANES);
            column[v] = unsafe { p.kernel.add(base) };
            width[v] = w;
        }
    }
    let mut acc = [bias; NPX];
    let input = unsafe { p.input.add(first * CI) };
    let mut w = bias;
    for ci in 0..CI {
        for v in 0..V {
            let row = column[v].wrapping_add(ci * width[v]);
            w[v] = unsafe { load::<S>(row, padded(v)) };
        }
        for i in 0..NPX {
            let x = unsafe { S::splat(*input.add(i * CI + ci)) };
            for v in 0..V {
                acc[i][v] = unsafe { S::fma(x, w[v], acc[i][v]) };
            }
        }
    }
    let zero = unsafe { S::splat(0.0) };
    for i in 0..NPX {
        let out = unsafe { p.output.add((first + i) * CO + c0) };
        for v in 0..V {
            let mut y = acc[i][v];
            if ACT == act::RELU {
                y = unsafe { S::max(y, zero) };
            }
            let lanes = real(v);
            if lanes > 0 {
                unsafe { store::<S>(out.add(v * S::LANES), y, lanes) };
            }
        }
    }
}
