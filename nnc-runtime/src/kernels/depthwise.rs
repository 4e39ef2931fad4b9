//! Depthwise convolution over NHWC tensors (output channel `c` reads input channel `c` only), with
//! bias and activation fused.
//!
//! Channels are the vector lanes: one output vector is eight channels of one pixel, and each tap
//! is one multiply-add of the input pixel's vector by the tap's weight vector. A register block
//! is `NPX` consecutive output pixels of one channel vector, so each weight load serves `NPX`
//! pixels. As in [`super::conv`], every size is a const generic and interior blocks run without
//! bounds tests; only blocks that touch the padding take the checked path.
//!
//! Weights are packed at build time as `[ky][kx][c]`, `c` padded to whole vectors (`CB * 8`)
//! with zeros. A channel count that is not a multiple of eight reads and writes its last vector
//! lane by lane, so no access leaves the tensors.

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::conv::{ConvPtrs, activate, interior, out_len, store_part};
use super::simd::Simd;

/// Runs one depthwise convolution layer.
///
/// `H, W, C`: input (and output) sizes, `CB = ceil(C / 8)`; `K, ST, P`: kernel, stride, padding;
/// `ACT`: one of [`super::act`]; `NPX`: output pixels per register block. `p.kernel` holds
/// `K * K * CB * 8` packed weights, `p.bias` (and `p.alpha` for PReLU) `CB * 8` values.
///
/// # Safety
/// Every pointer in `p` must be valid for the sizes above, the output must not overlap the input,
/// and `S` must be supported by the CPU.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
pub unsafe fn depthwise<
    S: Simd,
    const H: usize,
    const W: usize,
    const C: usize,
    const CB: usize,
    const K: usize,
    const ST: usize,
    const P: usize,
    const ACT: u8,
    const NPX: usize,
>(
    p: ConvPtrs,
) {
    let oh = out_len(H, K, ST, P);
    let ow = out_len(W, K, ST, P);
    let inside = interior::<H, W, K, ST, P>();
    for oy in 0..oh {
        let mut ox = 0;
        while ox + NPX <= ow {
            let interior = inside(oy, ox) && inside(oy, ox + NPX - 1);
            for j in 0..CB {
                let acc = if interior {
                    unsafe { block::<S, H, W, C, CB, K, ST, P, NPX, false>(&p, oy, ox, j) }
                } else {
                    unsafe { block::<S, H, W, C, CB, K, ST, P, NPX, true>(&p, oy, ox, j) }
                };
                unsafe { finish::<S, C, ACT, NPX>(&p, acc, (oy * ow + ox) * C, j) };
            }
            ox += NPX;
        }
        while ox < ow {
            for j in 0..CB {
                let acc = unsafe { block::<S, H, W, C, CB, K, ST, P, 1, true>(&p, oy, ox, j) };
                unsafe { finish::<S, C, ACT, 1>(&p, acc, (oy * ow + ox) * C, j) };
            }
            ox += 1;
        }
    }
}

/// Bias plus every tap for channel vector `j` of the `NPX` output pixels from `(oy, ox)` on.
///
/// With `CHECKED`, taps outside the input read zero (the padding); without, none are tested.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn block<
    S: Simd,
    const H: usize,
    const W: usize,
    const C: usize,
    const CB: usize,
    const K: usize,
    const ST: usize,
    const P: usize,
    const NPX: usize,
    const CHECKED: bool,
>(
    p: &ConvPtrs,
    oy: usize,
    ox: usize,
    j: usize,
) -> [S::V; NPX] {
    let lanes = (C - j * 8).min(8);
    let mut acc = [unsafe { S::load(p.bias.add(j * 8)) }; NPX];
    for ky in 0..K {
        let iy = oy * ST + ky;
        if CHECKED && (iy < P || iy - P >= H) {
            continue;
        }
        for kx in 0..K {
            let w = unsafe { S::load(p.kernel.add((ky * K + kx) * CB * 8 + j * 8)) };
            for i in 0..NPX {
                let ix = (ox + i) * ST + kx;
                if CHECKED && (ix < P || ix - P >= W) {
                    continue;
                }
                let src = unsafe { p.input.add(((iy - P) * W + (ix - P)) * C + j * 8) };
                let x = if lanes == 8 {
                    unsafe { S::load(src) }
                } else {
                    let mut part = [0.0f32; 8];
                    unsafe { std::ptr::copy_nonoverlapping(src, part.as_mut_ptr(), lanes) };
                    unsafe { S::load(part.as_ptr()) }
                };
                acc[i] = unsafe { S::fma(x, w, acc[i]) };
            }
        }
    }
    acc
}

/// Activates channel vector `j` of `NPX` consecutive pixels and stores it, the first pixel's
/// channels starting at output element `at`.
#[inline(always)]
unsafe fn finish<S: Simd, const C: usize, const ACT: u8, const NPX: usize>(
    p: &ConvPtrs,
    acc: [S::V; NPX],
    at: usize,
    j: usize,
) {
    let lanes = (C - j * 8).min(8);
    for i in 0..NPX {
        let v = unsafe { activate::<S, 1, ACT>([acc[i]], p.alpha.wrapping_add(j * 8)) };
        unsafe { store_part::<S, 1>(p.output.add(at + i * C + j * 8), v, lanes) };
    }
}
