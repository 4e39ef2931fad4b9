//! Winograd F(2x2, 3x3): a stride-1 3x3 convolution computed on 2x2 output tiles with 16
//! multiplications per input and output channel pair instead of 36 (2.25 times fewer).
//!
//! Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). For a 4x4 input
//! patch `d` and a 3x3 filter `g`, the 2x2 output tile is `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`.
//! The filter transform `U = G g Gᵀ` is done once, at build time, by the compiler
//! ([`super::layout::winograd_kernel`]); this kernel does the other two and the products:
//!
//! 1. **Input transform.** For a block of `NT` tiles (consecutive in row-major tile order,
//!    across rows, so that a map of any width fills whole blocks but the last), `V = Bᵀ d B` for
//!    every input channel, vectorized over channels: 16 loads and 32 additions per vector of
//!    channels, stored to the scratch as `V[ξ][tile][ci]` (`ξ` the 16 positions of the 4x4
//!    transform).
//! 2. **Products.** For each chunk of `V` output vectors and each `ξ`, a matrix product over the
//!    input channels, `M[ξ][tile][co] = Σ V[ξ][tile][ci] U[ξ][ci][co]`, in registers: `NT`
//!    by `V` accumulators, the same register block as the pointwise kernel's. The weights are
//!    read in the blocked layout of every dense kernel, one sequential stream per vector.
//! 3. **Output transform.** `Y = Aᵀ M A` per tile and output vector, plus bias, then ReLU or
//!    nothing, then, with `PK == 2`, the 2x2 max-pool, whose windows are exactly the tiles.
//!
//! The transforms' coefficients are 0, ±1 and ±1/2, so F(2x2, 3x3) adds little rounding error
//! (a few units in the last place of the sums; the tests hold it to the direct kernels' 1e-4).
//! The scratch (both `V` and one chunk's `M`) is a buffer of the arena that the plan reserves for
//! this step alone (`nnc_ir::plan::winograd_scratch`).

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::conv::{ConvPtrs, act};
use super::layout::kernel_row;
use super::simd::{Simd, load, store};

/// Runs one Winograd F(2x2, 3x3) convolution layer, stride 1.
///
/// `H, W, CI`: input; `CO`: output channels; `P`: padding (0 or 1); `ACT`: [`act::NONE`] or
/// [`act::RELU`]; `PK`: 1, or 2 for a fused 2x2 max-pool; `V`, `NT`: output vectors and tiles
/// per product block ([`super::layout::winograd_block`]). `p.kernel` holds the transformed weights
/// ([`super::layout::winograd_kernel`]), `p.bias` `CO` padded to eight, and `p.scratch`
/// `nnc_ir::plan::winograd_scratch(CI, CO)` floats that nothing else uses during the call.
///
/// # Safety
/// Every pointer in `p` must be valid for the sizes above, the output must not overlap the
/// scratch, and `S` must be supported by the CPU. The output must not overlap the input either,
/// except by starting where it starts where `nnc_ir::plan::winograd_in_place` allows it: blocks
/// go in row-major tile order, and a block's input is transformed before any of its outputs is
/// stored, which that rule relies on.
#[inline(always)]
pub unsafe fn winograd<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const P: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
) {
    const {
        assert!(
            ACT == act::NONE || ACT == act::RELU,
            "Winograd fuses ReLU only"
        )
    };
    const { assert!(PK == 1 || PK == 2, "Winograd fuses a 2x2 max-pool only") };
    const { assert!(P <= 1 && H + 2 * P >= 3 && W + 2 * P >= 3) };
    const {
        assert!(
            V == super::layout::winograd_block(S::LANES, S::REGISTERS, CO).0
                && NT == super::layout::winograd_block(S::LANES, S::REGISTERS, CO).1,
            "the scratch is sized for this block (`nnc_ir::plan::winograd_scratch`)"
        )
    };
    let (oh, ow) = (H + 2 * P - 2, W + 2 * P - 2);
    let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
    let tiles = th * tw;
    let cip = CI.div_ceil(16) * 16;
    let cop = CO.div_ceil(8) * 8;
    let products = unsafe { p.scratch.add(16 * NT * cip) };
    let chunk = V * S::LANES;
    let mut first = 0;
    while first < tiles {
        let n = (tiles - first).min(NT);
        for t in 0..n {
            let tile = first + t;
            unsafe { input_tile::<S, H, W, CI, P, NT>(&p, (tile / tw, tile % tw), t, cip) };
        }
        let mut c0 = 0;
        while c0 < cop {
            unsafe { multiply::<S, CI, CO, V, NT>(&p, c0, cip, products) };
            for t in 0..n {
                let tile = first + t;
                unsafe {
                    output_tile::<S, CO, ACT, PK, V, NT>(
                        &p,
                        products,
                        (tile / tw, tile % tw),
                        (oh, ow),
                        t,
                        c0,
                    )
                };
            }
            c0 += chunk;
        }
        first += NT;
    }
}

/// `V = Bᵀ d B` for every input channel of tile `(ty, tx)`, stored as tile `t` of the block.
#[inline(always)]
unsafe fn input_tile<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const P: usize,
    const NT: usize,
>(
    p: &ConvPtrs,
    (ty, tx): (usize, usize),
    t: usize,
    cip: usize,
) {
    // The patch's 16 taps: where each reads, or null in the padding (and past the bottom or right
    // edge, where the last tile of an odd-sized map reaches).
    let mut src = [core::ptr::null::<f32>(); 16];
    for r in 0..4 {
        for c in 0..4 {
            let (iy, ix) = (2 * ty + r, 2 * tx + c);
            if iy >= P && ix >= P && iy - P < H && ix - P < W {
                src[r * 4 + c] = unsafe { p.input.add(((iy - P) * W + (ix - P)) * CI) };
            }
        }
    }
    let zero = unsafe { S::splat(0.0) };
    let mut ci = 0;
    while ci < CI {
        let lanes = (CI - ci).min(S::LANES);
        let mut d = [zero; 16];
        for i in 0..16 {
            if !src[i].is_null() {
                d[i] = unsafe { load::<S>(src[i].add(ci), lanes) };
            }
        }
        // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3.
        let mut b = [zero; 16];
        for c in 0..4 {
            let (d0, d1, d2, d3) = (d[c], d[4 + c], d[8 + c], d[12 + c]);
            b[c] = unsafe { S::sub(d0, d2) };
            b[4 + c] = unsafe { S::add(d1, d2) };
            b[8 + c] = unsafe { S::sub(d2, d1) };
            b[12 + c] = unsafe { S::sub(d1, d3) };
        }
        // (Bᵀ d) B: the same on each row's columns.
        for r in 0..4 {
            let (b0, b1, b2, b3) = (b[4 * r], b[4 * r + 1], b[4 * r + 2], b[4 * r + 3]);
            let v = [
                unsafe { S::sub(b0, b2) },
                unsafe { S::add(b1, b2) },
                unsafe { S::sub(b2, b1) },
                unsafe { S::sub(b1, b3) },
            ];
            for c in 0..4 {
                let xi = 4 * r + c;
                unsafe { S::store(p.scratch.add((xi * NT + t) * cip + ci), v[c]) };
            }
        }
        ci += S::LANES;
    }
}

/// `M[ξ][tile][c0..c0 + V * LANES] = Σ over ci of V[ξ][tile][ci] U[ξ][ci][...]` for every `ξ` and
/// every tile of the block (those past the map's last tile too: their products are not stored).
#[inline(always)]
unsafe fn multiply<S: Simd, const CI: usize, const CO: usize, const V: usize, const NT: usize>(
    p: &ConvPtrs,
    c0: usize,
    cip: usize,
    products: *mut f32,
) {
    let cop = CO.div_ceil(8) * 8;
    // Each vector's column of the weights' blocks, and its lanes there (0 past the last channel).
    let mut column = [p.kernel; V];
    let mut width = [0; V];
    let mut lanes = [0; V];
    for v in 0..V {
        let c = c0 + v * S::LANES;
        if c < cop {
            let (base, w) = kernel_row(16 * CI, cop, c);
            column[v] = unsafe { p.kernel.add(base) };
            width[v] = w;
            lanes[v] = (w - c % super::layout::KERNEL_BLOCK).min(S::LANES);
        }
    }
    let zero = unsafe { S::splat(0.0) };
    for xi in 0..16 {
        let mut acc = [[zero; V]; NT];
        let inputs = unsafe { p.scratch.add(xi * NT * cip) };
        let mut w = [zero; V];
        for ci in 0..CI {
            for v in 0..V {
                let row = column[v].wrapping_add((xi * CI + ci) * width[v]);
                w[v] = unsafe { load::<S>(row, lanes[v]) };
            }
            for t in 0..NT {
                let x = unsafe { S::splat(*inputs.add(t * cip + ci)) };
                for v in 0..V {
                    acc[t][v] = unsafe { S::fma(x, w[v], acc[t][v]) };
                }
            }
        }
        for t in 0..NT {
            for v in 0..V {
                let at = ((xi * NT + t) * V + v) * S::LANES;
                unsafe { S::store(products.add(at), acc[t][v]) };
            }
        }
    }
}

/// `Y = Aᵀ M A` for tile `t` of the block, at tile position `(ty, tx)` of an `oh x ow` output,
/// for the output channels from `c0` on: bias, activation, pool, and the store of what lies in
/// the output.
#[inline(always)]
unsafe fn output_tile<
    S: Simd,
    const CO: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: &ConvPtrs,
    products: *const f32,
    (ty, tx): (usize, usize),
    (oh, ow): (usize, usize),
    t: usize,
    c0: usize,
) {
    let cop = CO.div_ceil(8) * 8;
    let zero = unsafe { S::splat(0.0) };
    for v in 0..V {
        let c = c0 + v * S::LANES;
        if c >= CO {
            break;
        }
        let stored = (CO - c).min(S::LANES);
        let bias = unsafe { load::<S>(p.bias.add(c), (cop - c).min(S::LANES)) };
        let mut m = [zero; 16];
        for xi in 0..16 {
            m[xi] = unsafe { S::load(products.add(((xi * NT + t) * V + v) * S::LANES)) };
        }
        // Aᵀ M: rows m0 + m1 + m2, m1 - m2 - m3.
        let mut s = [zero; 8];
        for c in 0..4 {
            let (m0, m1, m2, m3) = (m[c], m[4 + c], m[8 + c], m[12 + c]);
            s[c] = unsafe { S::add(S::add(m0, m1), m2) };
            s[4 + c] = unsafe { S::sub(S::sub(m1, m2), m3) };
        }
        // (Aᵀ M) A, plus bias and the activation.
        let mut y = [zero; 4];
        for r in 0..2 {
            let (s0, s1, s2, s3) = (s[4 * r], s[4 * r + 1], s[4 * r + 2], s[4 * r + 3]);
            y[2 * r] = unsafe { S::add(S::add(S::add(s0, s1), s2), bias) };
            y[2 * r + 1] = unsafe { S::add(S::sub(S::sub(s1, s2), s3), bias) };
        }
        if ACT == act::RELU {
            for i in 0..4 {
                y[i] = unsafe { S::max(y[i], zero) };
            }
        }
        if PK == 2 {
            // The tile is the pooling window; a window past the output's last whole one is not
            // in the pooled map.
            let (ph, pw) = (oh / 2, ow / 2);
            if ty < ph && tx < pw {
                let pooled = unsafe { S::max(S::max(y[0], y[1]), S::max(y[2], y[3])) };
                let dst = unsafe { p.output.add((ty * pw + tx) * CO + c) };
                unsafe { store::<S>(dst, pooled, stored) };
            }
        } else {
            for i in 0..4 {
                let (oy, ox) = (2 * ty + i / 2, 2 * tx + i % 2);
                if oy < oh && ox < ow {
                    let dst = unsafe { p.output.add((oy * ow + ox) * CO + c) };
                    unsafe { store::<S>(dst, y[i], stored) };
                }
            }
        }
    }
}
