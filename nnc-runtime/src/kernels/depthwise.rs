//! Depthwise convolution over NHWC tensors (output channel `c` reads input channel `c` only), with
//! bias and activation fused.
//!
//! Channels are the vector lanes: one output vector is eight channels of one pixel, and each tap
//! is one multiply-add of the input pixel's vector by the tap's weight vector. A register block
//! is `NPX` consecutive output pixels of one channel vector, so each weight load serves `NPX`
//! pixels. As in [`super::conv`], every size is a const generic and interior blocks run without
//! bounds tests; only blocks that touch the padding take the checked path.
//!
//! Weights are packed at build time as `[ky][kx][c]`, `c` padded with zeros to a multiple of
//! eight. The kernel is written over [`Simd::LANES`]: at sixteen lanes (AVX-512) a vector may end
//! in that padding, and is loaded through a mask. A channel count that is not a multiple of eight reads and writes its last vector
//! through a lane mask, so no access leaves the tensors.

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::conv::{ConvPtrs, activate};
use super::geometry::{Geometry, interior};
use super::simd::{Simd, load, store};

/// Runs one depthwise convolution layer.
///
/// `H, W, C`: input (and output) sizes, `CB = ceil(C / LANES)`; `G`: the window,
/// [`Geometry::pack`]ed; `ACT`: one of [`super::act`]; `PK`: the fused max-pool's window and stride (1 for none);
/// `NPX`: output pixels per register block, a multiple of `PK * PK`
/// ([`super::layout::depthwise_pixels_per_block`]). `p.kernel` holds `KH * KW * CP` packed weights,
/// `CP` being `C` padded to a multiple of eight, and `p.bias` (and `p.alpha` for PReLU) `CP`
/// values. At sixteen lanes, `ACT` is none or ReLU (the other activations read eight lanes).
///
/// With a pool, one block is `NPX / (PK * PK)` pooled pixels side by side on one pooled row,
/// each `PK * PK` window of activated outputs reduced by max in registers, so the unpooled map
/// never reaches memory. The row's last pooled pixels, fewer than a block, run as a block whose
/// missing windows repeat the last one and are not stored.
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
    const G: u64,
    const ACT: u8,
    const PK: usize,
    const NPX: usize,
>(
    p: ConvPtrs,
) {
    const {
        assert!(
            S::LANES == 8 || ACT == super::act::NONE || ACT == super::act::RELU,
            "PReLU and sigmoid read eight lanes"
        )
    };
    const { assert!(PK >= 1 && NPX.is_multiple_of(PK * PK)) };
    let g = const { Geometry::unpack(G) };
    let (oh, ow) = (g.out_h(H), g.out_w(W));
    let inside = interior::<H, W, G>();
    if PK == 1 {
        for oy in 0..oh {
            let mut ox = 0;
            while ox + NPX <= ow {
                let mut coords = [(oy, ox); NPX];
                for (i, c) in coords.iter_mut().enumerate() {
                    c.1 = ox + i;
                }
                let interior = inside(oy, ox) && inside(oy, ox + NPX - 1);
                for j in 0..CB {
                    let acc = if interior {
                        unsafe { block::<S, H, W, C, CB, G, NPX, false>(&p, coords, j) }
                    } else {
                        unsafe { block::<S, H, W, C, CB, G, NPX, true>(&p, coords, j) }
                    };
                    for (i, v) in acc.into_iter().enumerate() {
                        unsafe { finish::<S, C, ACT>(&p, v, (oy * ow + ox + i) * C, j) };
                    }
                }
                ox += NPX;
            }
            while ox < ow {
                for j in 0..CB {
                    let acc = unsafe { block::<S, H, W, C, CB, G, 1, true>(&p, [(oy, ox)], j) };
                    unsafe { finish::<S, C, ACT>(&p, acc[0], (oy * ow + ox) * C, j) };
                }
                ox += 1;
            }
        }
        return;
    }
    let window = PK * PK;
    let per_block = NPX / window;
    let (ph, pw) = (oh / PK, ow / PK);
    for py in 0..ph {
        let mut px = 0;
        while px < pw {
            let stored = per_block.min(pw - px);
            // Output pixel `i` is tap `i % window` of pooled pixel `px + i / window`, or of the
            // row's last pooled pixel where the block runs past it. Interior blocks are whole, and
            // their coordinates stay affine in `i`, so that the taps' addresses fold to constants.
            let last = (py * PK + PK - 1, (px + stored) * PK - 1);
            let interior =
                stored == per_block && inside(py * PK, px * PK) && inside(last.0, last.1);
            for j in 0..CB {
                // Loops and no closures, as in `conv::pooled_block`.
                let mut coords = [(0, 0); NPX];
                let acc = if interior {
                    for (i, c) in coords.iter_mut().enumerate() {
                        let q = px + i / window;
                        *c = (py * PK + i % window / PK, q * PK + i % window % PK);
                    }
                    unsafe { block::<S, H, W, C, CB, G, NPX, false>(&p, coords, j) }
                } else {
                    for (i, c) in coords.iter_mut().enumerate() {
                        let q = (px + i / window).min(pw - 1);
                        *c = (py * PK + i % window / PK, q * PK + i % window % PK);
                    }
                    unsafe { block::<S, H, W, C, CB, G, NPX, true>(&p, coords, j) }
                };
                let alpha = p.alpha.wrapping_add(j * S::LANES);
                for q in 0..stored {
                    let mut pooled = unsafe { activate::<S, 1, ACT>([acc[q * window]], alpha) }[0];
                    for r in 1..window {
                        let v = unsafe { activate::<S, 1, ACT>([acc[q * window + r]], alpha) };
                        pooled = unsafe { S::max(pooled, v[0]) };
                    }
                    let at = (py * pw + px + q) * C;
                    unsafe { store_lanes::<S, C>(&p, pooled, at, j) };
                }
            }
            px += stored;
        }
    }
}

/// Bias plus every tap for channel vector `j` of the `NPX` output pixels at `coords`.
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
    const G: u64,
    const NPX: usize,
    const CHECKED: bool,
>(
    p: &ConvPtrs,
    coords: [(usize, usize); NPX],
    j: usize,
) -> [S::V; NPX] {
    let c0 = j * S::LANES;
    // Lanes that are channels (input), and lanes inside the padded weight rows.
    let lanes = (C - c0).min(S::LANES);
    let row = C.div_ceil(8) * 8;
    let padded = (row - c0).min(S::LANES);
    let mut acc = [unsafe { load::<S>(p.bias.add(c0), padded) }; NPX];
    let g = const { Geometry::unpack(G) };
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            let w = unsafe { load::<S>(p.kernel.add((ky * g.kw + kx) * row + c0), padded) };
            for i in 0..NPX {
                let (oy, ox) = coords[i];
                let (iy, ix) = (g.row(oy, ky), g.col(ox, kx));
                if CHECKED && (iy < g.ph || iy - g.ph >= H || ix < g.pw || ix - g.pw >= W) {
                    continue;
                }
                let src = unsafe { p.input.add(((iy - g.ph) * W + (ix - g.pw)) * C + c0) };
                let x = unsafe { load::<S>(src, lanes) };
                acc[i] = unsafe { S::fma(x, w, acc[i]) };
            }
        }
    }
    acc
}

/// Activates channel vector `j` of one output pixel and stores it, the pixel's channels starting
/// at output element `at`.
#[inline(always)]
unsafe fn finish<S: Simd, const C: usize, const ACT: u8>(
    p: &ConvPtrs,
    acc: S::V,
    at: usize,
    j: usize,
) {
    let v = unsafe { activate::<S, 1, ACT>([acc], p.alpha.wrapping_add(j * S::LANES)) };
    unsafe { store_lanes::<S, C>(p, v[0], at, j) };
}

/// Stores channel vector `j` of one pixel whose channels start at output element `at`: only the
/// lanes that are channels.
#[inline(always)]
unsafe fn store_lanes<S: Simd, const C: usize>(p: &ConvPtrs, v: S::V, at: usize, j: usize) {
    let lanes = (C - j * S::LANES).min(S::LANES);
    unsafe { store::<S>(p.output.add(at + j * S::LANES), v, lanes) };
}
