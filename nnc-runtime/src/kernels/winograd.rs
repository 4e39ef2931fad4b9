//! Winograd F(2x2, 3x3) and F(4x4, 3x3): a stride-1 3x3 convolution computed on `M x M` output
//! tiles (`M` 2 or 4) with `(M + 2)²` multiplications per tile and input and output channel pair
//! instead of `9 M²`: 16 for 4 outputs (2.25 times fewer) or 36 for 16 (4 times fewer).
//!
//! Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). For an
//! `(M + 2)²` input patch `d` and a 3x3 filter `g`, the output tile is
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. The filter transform `U = G g Gᵀ` is done once, at build
//! time, by the compiler ([`super::layout::winograd_kernel`]); this kernel does the other two and
//! the products:
//!
//! 1. **Input transform.** For a block of `NT` tiles (consecutive in row-major tile order,
//!    across rows, so that a map of any width fills whole blocks but the last), `V = Bᵀ d B` for
//!    every input channel, vectorized over channels (`input_1d` on each column of the patch,
//!    then on each row), stored to the scratch as `V[ξ][tile][ci]` (`ξ` the transform's
//!    positions).
//! 2. **Products.** For each chunk of `V` output vectors and each `ξ`, a matrix product over the
//!    input channels, `M[ξ][tile][co] = Σ V[ξ][tile][ci] U[ξ][ci][co]`, in registers: `NT`
//!    by `V` accumulators, the same register block as the pointwise kernel's. The weights are
//!    read in the blocked layout of every dense kernel, one sequential stream per vector.
//! 3. **Output transform.** `Y = Aᵀ M A` per tile and output vector (`output_1d`), plus bias,
//!    then ReLU or nothing, then, with `PK == 2`, the 2x2 max-pool, whose windows tile the
//!    output tile exactly (one window for `M = 2`, four for `M = 4`).
//!
//! F(2x2, 3x3)'s coefficients are 0, ±1 and ±1/2, and it adds little rounding error (a few units
//! in the last place of the sums). F(4x4, 3x3)'s (points 0, ±1, ±2) reach 5 in `Bᵀ`, 8 in `Aᵀ`
//! and 1/24 in `G`, and grow the error about tenfold: 1e-5 of the largest output at most on the
//! embedding's and the face pyramid's shapes (`benches/NOTES.md`, attempt 13). The tests hold
//! both to the direct kernels' 1e-4 relative. The scratch (both `V` and one chunk's `M`) is a
//! buffer of the arena that the plan reserves for this step alone
//! (`nnc_ir::plan::winograd_scratch`).

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::conv::{ConvPtrs, act};
use super::layout::kernel_row;
use super::simd::{Simd, load, store};

/// Runs one Winograd convolution layer, stride 1, on `M x M` output tiles.
///
/// `H, W, CI`: input; `CO`: output channels; `P`: padding (0 or 1); `M`: 2 for F(2x2, 3x3), 4
/// for F(4x4, 3x3); `ACT`: [`act::NONE`] or [`act::RELU`]; `PK`: 1, or 2 for a fused 2x2
/// max-pool; `V`, `NT`: output vectors and tiles per product block ([`super::layout::winograd_block`]). `p.kernel` holds the transformed weights
/// ([`super::layout::winograd_kernel`] for `M`), `p.bias` `CO` padded to eight, and `p.scratch`
/// `nnc_ir::plan::winograd_scratch(M, CI, CO)` floats that nothing else uses during the call.
///
/// # Safety
/// Every pointer in `p` must be valid for the sizes above, the output must not overlap the
/// scratch, and `S` must be supported by the CPU. With `M == 4` and `PK == 2`, `p.scratch` holds
/// `nnc_ir::plan::winograd_pooled_scratch(4, CI, CO, W')` floats (`W'` the pooled width): the
/// first tile row's pooled outputs are staged there and copied to the output once that row is
/// done. The output must not overlap the input either, except by starting where it starts
/// where `nnc_ir::plan::winograd_in_place` allows it: blocks go in row-major tile order, a
/// block's input is transformed before any of its outputs is stored, and the staged rows are
/// stored after the block that ends the first tile row, which that rule relies on.
#[inline(always)]
pub unsafe fn winograd<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const P: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
) {
    checks::<S, CO, M, ACT, PK, V, NT>();
    const { assert!(P <= 1 && H + 2 * P >= 3 && W + 2 * P >= 3) };
    // A pooled F(4x4, 3x3) tile writes two pooled rows, the second ahead of the input the first
    // tile row still reads when the output is written over the input: that row's outputs wait
    // in the scratch, past what the blocks use, until the row is done.
    let oh = H + 2 * P - 2;
    unsafe { tiles::<S, H, W, CI, CO, P, P, M, ACT, PK, V, NT>(p, (0, oh), M == 4 && PK == 2) }
}

/// [`winograd`] computing only the output rows (after the pool, if any) `first..end` (`end`
/// clipped to the map), stored at `p.output` as if row `first` were row 0, its tiles starting
/// at that row: the rows of one band, for a step run in bands with the next
/// (`nnc_ir::plan::band`). The input is the whole map; nothing is staged.
///
/// # Safety
/// As [`winograd`], with `p.output` valid for `end - first` output rows and overlapping neither
/// the input nor the scratch.
#[inline(always)]
pub unsafe fn winograd_rows<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const P: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
    (first, end): (usize, usize),
) {
    checks::<S, CO, M, ACT, PK, V, NT>();
    const { assert!(P <= 1 && H + 2 * P >= 3 && W + 2 * P >= 3) };
    let oh = H + 2 * P - 2;
    let rows = (PK * first, (PK * end).min(oh));
    if rows.0 < rows.1 {
        unsafe { tiles::<S, H, W, CI, CO, P, P, M, ACT, PK, V, NT>(p, rows, false) };
    }
}

/// [`winograd`] over one band of an input's rows: the input is `H` whole rows of the map, padded
/// by `P` columns left and right but by no rows, so the output is the `H - 2` rows whose taps all
/// fall in the band (the caller writes zero rows where the band reaches past the map). A step
/// that runs interleaved with the one before it reads that step's output this way, a band at a
/// time (`nnc_ir::plan::band`). The output does not overlap the input: nothing is staged.
///
/// # Safety
/// As [`winograd`], the output overlapping neither the input nor the scratch.
#[inline(always)]
pub unsafe fn winograd_band<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const P: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
) {
    checks::<S, CO, M, ACT, PK, V, NT>();
    const { assert!(P <= 1 && H >= 3 && W + 2 * P >= 3) };
    unsafe { tiles::<S, H, W, CI, CO, 0, P, M, ACT, PK, V, NT>(p, (0, H - 2), false) }
}

/// What [`winograd`], [`winograd_rows`] and [`winograd_band`] require of their parameters,
/// checked when an instance is compiled.
#[inline(always)]
fn checks<
    S: Simd,
    const CO: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>() {
    const { assert!(M == 2 || M == 4, "Winograd F(2x2, 3x3) or F(4x4, 3x3)") };
    const {
        assert!(
            ACT == act::NONE || ACT == act::RELU,
            "Winograd fuses ReLU only"
        )
    };
    const { assert!(PK == 1 || PK == 2, "Winograd fuses a 2x2 max-pool only") };
    const {
        assert!(
            V == super::layout::winograd_block(S::LANES, S::REGISTERS, CO).0
                && NT == super::layout::winograd_block(S::LANES, S::REGISTERS, CO).1,
            "the scratch is sized for this block (`nnc_ir::plan::winograd_scratch`)"
        )
    };
}

/// [`winograd`] with a pooled F(4x4, 3x3) step's first tile row stored as it is done, like the
/// others, instead of staged: what the in-place rule forbids, for the test that shows the
/// staging is needed (`tests/kernels.rs`). On the portable path.
///
/// # Safety
/// As [`winograd`], with `M = 4` and `PK = 2`, the output not overlapping the input.
#[doc(hidden)]
pub unsafe fn winograd_unstaged_for_tests<
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const P: usize,
    const ACT: u8,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
) {
    let oh = H + 2 * P - 2;
    unsafe {
        tiles::<super::simd::Portable, H, W, CI, CO, P, P, 4, ACT, 2, V, NT>(p, (0, oh), false)
    }
}

/// The body of [`winograd`]: every block of tiles over the output rows (before the pool) `r0..r1`,
/// the first tile row starting at `r0`, stored from `p.output` as if row `r0` were row 0, with
/// the first tile row's outputs staged in the scratch where `staged`; `PH` rows of padding above
/// and below the input, `PW` columns left and right.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn tiles<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const PH: usize,
    const PW: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: ConvPtrs,
    (r0, r1): (usize, usize),
    staged: bool,
) {
    let (oh, ow) = (r1 - r0, W + 2 * PW - 2);
    let (th, tw) = (oh.div_ceil(M), ow.div_ceil(M));
    let tiles = th * tw;
    let cip = CI.div_ceil(16) * 16;
    let cop = CO.div_ceil(8) * 8;
    let products = unsafe { p.scratch.add(positions(M) * NT * cip) };
    let stage = unsafe { p.scratch.add(nnc_ir::plan::winograd_scratch(M, CI, CO)) };
    let chunk = V * S::LANES;
    let mut first = 0;
    while first < tiles {
        let n = (tiles - first).min(NT);
        for t in 0..n {
            let tile = first + t;
            unsafe {
                input_tile::<S, H, W, CI, PH, PW, M, NT>(&p, (r0, tile / tw, tile % tw), t, cip)
            };
        }
        let mut c0 = 0;
        while c0 < cop {
            unsafe { multiply::<S, CI, CO, M, V, NT>(&p, c0, cip, products) };
            for t in 0..n {
                let tile = first + t;
                unsafe {
                    output_tile::<S, CO, M, ACT, PK, V, NT>(
                        &p,
                        if staged && tile < tw { stage } else { p.output },
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
        if staged && first < tw && first + n >= tw {
            let (ph, pw) = (oh / 2, ow / 2);
            let len = ph.min(2) * pw * CO;
            // SAFETY: the stage is scratch, which the output does not overlap.
            unsafe { core::ptr::copy_nonoverlapping(stage, p.output, len) };
        }
        first += NT;
    }
}

/// The transform's positions: `(M + 2)²`, 16 for F(2x2, 3x3) and 36 for F(4x4, 3x3).
#[inline(always)]
const fn positions(m: usize) -> usize {
    (m + 2) * (m + 2)
}

/// `V = Bᵀ d B` for every input channel of tile `(ty, tx)` of the tiles from output row `r0`,
/// stored as tile `t` of the block.
#[inline(always)]
unsafe fn input_tile<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const PH: usize,
    const PW: usize,
    const M: usize,
    const NT: usize,
>(
    p: &ConvPtrs,
    (r0, ty, tx): (usize, usize, usize),
    t: usize,
    cip: usize,
) {
    let n = M + 2;
    // The patch's taps: where each reads, or null in the padding (and past the bottom or right
    // edge, where the last tile of a map whose size is no multiple of M reaches). Tile rows
    // start at output row `r0`.
    let mut src = [core::ptr::null::<f32>(); 36];
    for r in 0..n {
        for c in 0..n {
            let (iy, ix) = (r0 + M * ty + r, M * tx + c);
            if iy >= PH && ix >= PW && iy - PH < H && ix - PW < W {
                src[r * n + c] = unsafe { p.input.add(((iy - PH) * W + (ix - PW)) * CI) };
            }
        }
    }
    let zero = unsafe { S::splat(0.0) };
    let mut ci = 0;
    while ci < CI {
        let lanes = (CI - ci).min(S::LANES);
        let mut d = [zero; 36];
        for i in 0..n * n {
            if !src[i].is_null() {
                d[i] = unsafe { load::<S>(src[i].add(ci), lanes) };
            }
        }
        // Bᵀ d on each column, then the same on each row of the result: (Bᵀ d) B.
        let mut b = [zero; 36];
        for c in 0..n {
            let mut x = [zero; 6];
            for (r, x) in x.iter_mut().enumerate() {
                *x = d[(r * n + c) % 36];
            }
            let column = unsafe { input_1d::<S, M>(x) };
            for r in 0..n {
                b[r * n + c] = column[r];
            }
        }
        for r in 0..n {
            let mut x = [zero; 6];
            for (c, x) in x.iter_mut().enumerate() {
                *x = b[(r * n + c) % 36];
            }
            let row = unsafe { input_1d::<S, M>(x) };
            for c in 0..n {
                let xi = r * n + c;
                unsafe { S::store(p.scratch.add((xi * NT + t) * cip + ci), row[c]) };
            }
        }
        ci += S::LANES;
    }
}

/// `Bᵀ x` for one column of a patch (its first `M + 2` values; the rest are not read or are
/// zero): for F(2x2, 3x3) rows `x0 - x2, x1 + x2, x2 - x1, x1 - x3`; for F(4x4, 3x3) (points 0,
/// ±1, ±2) rows `4x0 - 5x2 + x4`, `(x4 - 4x2) ± (x3 - 4x1)`, `(x4 - x2) ± 2(x3 - x1)`,
/// `4x1 - 5x3 + x5`.
#[inline(always)]
unsafe fn input_1d<S: Simd, const M: usize>(x: [S::V; 6]) -> [S::V; 6] {
    unsafe {
        if M == 2 {
            [
                S::sub(x[0], x[2]),
                S::add(x[1], x[2]),
                S::sub(x[2], x[1]),
                S::sub(x[1], x[3]),
                x[4],
                x[5],
            ]
        } else {
            let (four, minus_four, minus_five) = (S::splat(4.0), S::splat(-4.0), S::splat(-5.0));
            let a = S::fma(minus_four, x[2], x[4]);
            let b = S::fma(minus_four, x[1], x[3]);
            let c = S::sub(x[4], x[2]);
            let d = S::sub(x[3], x[1]);
            let d = S::add(d, d);
            [
                S::fma(four, x[0], S::fma(minus_five, x[2], x[4])),
                S::add(a, b),
                S::sub(a, b),
                S::add(c, d),
                S::sub(c, d),
                S::fma(four, x[1], S::fma(minus_five, x[3], x[5])),
            ]
        }
    }
}

/// `M[ξ][tile][c0..c0 + V * LANES] = Σ over ci of V[ξ][tile][ci] U[ξ][ci][...]` for every `ξ` and
/// every tile of the block (those past the map's last tile too: their products are not stored).
#[inline(always)]
unsafe fn multiply<
    S: Simd,
    const CI: usize,
    const CO: usize,
    const M: usize,
    const V: usize,
    const NT: usize,
>(
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
            let (base, w) = kernel_row(positions(M) * CI, cop, c);
            column[v] = unsafe { p.kernel.add(base) };
            width[v] = w;
            lanes[v] = (w - c % super::layout::KERNEL_BLOCK).min(S::LANES);
        }
    }
    let zero = unsafe { S::splat(0.0) };
    for xi in 0..positions(M) {
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
/// the output to `output` (`p.output`, or the stage laid out like it).
#[inline(always)]
unsafe fn output_tile<
    S: Simd,
    const CO: usize,
    const M: usize,
    const ACT: u8,
    const PK: usize,
    const V: usize,
    const NT: usize,
>(
    p: &ConvPtrs,
    output: *mut f32,
    products: *const f32,
    (ty, tx): (usize, usize),
    (oh, ow): (usize, usize),
    t: usize,
    c0: usize,
) {
    let n = M + 2;
    let cop = CO.div_ceil(8) * 8;
    let zero = unsafe { S::splat(0.0) };
    for v in 0..V {
        let c = c0 + v * S::LANES;
        if c >= CO {
            break;
        }
        let stored = (CO - c).min(S::LANES);
        let bias = unsafe { load::<S>(p.bias.add(c), (cop - c).min(S::LANES)) };
        let mut m = [zero; 36];
        for xi in 0..n * n {
            m[xi] = unsafe { S::load(products.add(((xi * NT + t) * V + v) * S::LANES)) };
        }
        // Aᵀ M on each column, then the same on each row of the result, plus the bias.
        let mut s = [zero; 24];
        for c in 0..n {
            let mut x = [zero; 6];
            for (r, x) in x.iter_mut().enumerate() {
                *x = m[(r * n + c) % 36];
            }
            let column = unsafe { output_1d::<S, M>(x) };
            for r in 0..M {
                s[r * n + c] = column[r];
            }
        }
        let mut y = [zero; 16];
        for r in 0..M {
            let mut x = [zero; 6];
            for (c, x) in x.iter_mut().enumerate() {
                *x = s[(r * n + c) % 24];
            }
            let row = unsafe { output_1d::<S, M>(x) };
            for c in 0..M {
                y[r * M + c] = unsafe { S::add(row[c], bias) };
            }
        }
        if ACT == act::RELU {
            for i in 0..M * M {
                y[i] = unsafe { S::max(y[i], zero) };
            }
        }
        if PK == 2 {
            // The tile holds (M / 2)² pooling windows; a window past the output's last whole one
            // is not in the pooled map.
            let (ph, pw) = (oh / 2, ow / 2);
            let half = M / 2;
            for i in 0..half {
                for j in 0..half {
                    let (py, px) = (half * ty + i, half * tx + j);
                    if py < ph && px < pw {
                        let at = |r: usize, c: usize| y[(2 * i + r) * M + 2 * j + c];
                        let pooled = unsafe {
                            S::max(S::max(at(0, 0), at(0, 1)), S::max(at(1, 0), at(1, 1)))
                        };
                        let dst = unsafe { output.add((py * pw + px) * CO + c) };
                        unsafe { store::<S>(dst, pooled, stored) };
                    }
                }
            }
        } else {
            for i in 0..M * M {
                let (oy, ox) = (M * ty + i / M, M * tx + i % M);
                if oy < oh && ox < ow {
                    let dst = unsafe { output.add((oy * ow + ox) * CO + c) };
                    unsafe { store::<S>(dst, y[i], stored) };
                }
            }
        }
    }
}

/// `Aᵀ x` for one column of products (its first `M + 2` values): for F(2x2, 3x3) rows
/// `x0 + x1 + x2, x1 - x2 - x3`; for F(4x4, 3x3) rows `x0 + (x1 + x2) + (x3 + x4)`,
/// `(x1 - x2) + 2(x3 - x4)`, `(x1 + x2) + 4(x3 + x4)`, `(x1 - x2) + 8(x3 - x4) + x5`.
#[inline(always)]
unsafe fn output_1d<S: Simd, const M: usize>(x: [S::V; 6]) -> [S::V; 4] {
    unsafe {
        if M == 2 {
            [
                S::add(S::add(x[0], x[1]), x[2]),
                S::sub(S::sub(x[1], x[2]), x[3]),
                x[4],
                x[5],
            ]
        } else {
            let a = S::add(x[1], x[2]);
            let b = S::sub(x[1], x[2]);
            let c = S::add(x[3], x[4]);
            let d = S::sub(x[3], x[4]);
            [
                S::add(S::add(x[0], a), c),
                S::fma(S::splat(2.0), d, b),
                S::fma(S::splat(4.0), c, a),
                S::add(S::fma(S::splat(8.0), d, b), x[5]),
            ]
        }
    }
}
