//! Direct convolution over NHWC tensors, with bias, activation and a non-overlapping max-pool fused.
//!
//! Every size is a const generic, so each call site of the generated code gets its own copy in
//! which every loop bound is a constant: kernel taps, input channels, output-channel vectors and the
//! pixels of a register block are unrolled by the compiler, and interior pixels run without any
//! bounds test. Only the border (where a tap falls in the zero padding) takes the checked path.
//!
//! Weights are packed at build time in blocks of sixteen output channels, `[co / 16][ky][kx][ci]
//! [16]`, with `co` padded with zeros to a multiple of eight ([`super::layout::conv_kernel`]), so
//! that the vector of output channels for one tap and one input channel is one load, and the
//! weights one register block reads are one sequential stream per vector. Bias and PReLU slopes
//! are padded to eight, unblocked. The kernel is written over
//! [`Simd::LANES`]: at sixteen lanes (AVX-512) `COB` counts sixteen-lane vectors, the last of which
//! may end in the padding and is then loaded through a mask, and only ReLU or no activation is
//! fused.

#![allow(
    clippy::needless_range_loop,
    reason = "index loops over constant-length register arrays read closer to the math than zips"
)]

use super::geometry::{Geometry, interior};
use super::simd::Simd;

/// What a convolution's output goes through before it is stored (the `ACT` const parameter).
pub mod act {
    pub const NONE: u8 = 0;
    pub const RELU: u8 = 1;
    pub const PRELU: u8 = 2;
    pub const SIGMOID: u8 = 3;
}

/// Pointers a convolution reads and writes.
#[derive(Clone, Copy, Debug)]
pub struct ConvPtrs {
    /// `H x W x CI` input.
    pub input: *const f32,
    /// Packed kernel, `KH * KW * CI * CP`, `CP` being the output channels padded to eight, in the
    /// layout of [`super::layout`] the kernel reads.
    pub kernel: *const f32,
    /// `CP` biases (zeros when the layer has none).
    pub bias: *const f32,
    /// `CP` PReLU slopes; only read when `ACT == act::PRELU`.
    pub alpha: *const f32,
    /// `OH/PK x OW/PK x CO` output.
    pub output: *mut f32,
    /// Working space in the arena for the kernels that need it (Winograd's transformed tiles),
    /// else null.
    pub scratch: *mut f32,
}

/// Runs one convolution layer.
///
/// `H, W, CI`: input; `CO`: output channels, `COB = ceil(CO / LANES)`; `G`: the window (kernel,
/// stride, padding and dilation per axis), [`Geometry::pack`]ed; `ACT`: one of [`act`]; `PK`: the fused max-pool's kernel and stride (1 for none); `NPX`:
/// output pixels per register block (a multiple of `PK * PK` when pooling: whole windows).
///
/// # Safety
/// Every pointer in `p` must be valid for the sizes above, the output must not overlap the inputs,
/// and `S` must be supported by the CPU.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
pub unsafe fn conv<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const ACT: u8,
    const PK: usize,
    const NPX: usize,
>(
    p: ConvPtrs,
) {
    checks::<S, ACT, PK, NPX>();
    let g = const { Geometry::unpack(G) };
    let (oh, ow) = (g.out_h(H), g.out_w(W));
    let inside = interior::<H, W, G>();

    if PK == 1 && super::layout::vectors_per_block(COB) < COB {
        // Many output vectors: each block computes two of them (16 channels) for NPX pixels, so
        // that the accumulators fill the registers (the rule is `layout::vectors_per_block`).
        // Pixels are taken in row-major order across rows, so a small map (4x4 at 256 channels)
        // still fills whole blocks; the last few pixels go through one smaller block.
        let pixels = oh * ow;
        let full = pixels / NPX * NPX;
        if full == 0 {
            match pixels {
                1 => unsafe { tiny_map::<S, W, H, CI, CO, COB, 8, G, 1, ACT>(&p, &inside) },
                2 => unsafe { tiny_map::<S, W, H, CI, CO, COB, 4, G, 2, ACT>(&p, &inside) },
                3 => unsafe { tiny_map::<S, W, H, CI, CO, COB, 3, G, 3, ACT>(&p, &inside) },
                4 => unsafe { tiny_map::<S, W, H, CI, CO, COB, 2, G, 4, ACT>(&p, &inside) },
                _ => {
                    let mut chunk = 0;
                    while chunk < COB {
                        unsafe {
                            chunk_tail::<S, W, H, CI, CO, COB, G, ACT>(
                                &p, chunk, 0, pixels, &inside,
                            )
                        };
                        chunk += 2;
                    }
                }
            }
            return;
        }
        // No closures around the blocks: a closure does not take on the `avx2,fma` target
        // features of the function it is written in, so the SIMD code inlined into it would
        // be compiled without them (50 times slower, measured).
        if super::layout::weights_outweigh_input(g.taps(), COB, S::LANES, H, W) {
            // The weights outweigh the input (wide layers on small maps, as in a ResNet's last
            // stages): channel chunks outside, so each chunk's weights come from memory once
            // and are reused by every pixel block from the cache (the generated code sizes
            // these blocks by `layout::streaming_pixels_per_block_in`).
            let mut chunk = 0;
            while chunk < COB {
                let mut first = 0;
                while first < full {
                    unsafe {
                        chunk_pixels::<S, W, H, CI, CO, COB, G, NPX, ACT>(&p, chunk, first, &inside)
                    };
                    first += NPX;
                }
                unsafe {
                    chunk_tail::<S, W, H, CI, CO, COB, G, ACT>(&p, chunk, full, pixels, &inside)
                };
                chunk += 2;
            }
        } else {
            // Pixel blocks outside, so each block's input stays in the cache for every chunk.
            let mut first = 0;
            while first < full {
                let mut chunk = 0;
                while chunk < COB {
                    unsafe {
                        chunk_pixels::<S, W, H, CI, CO, COB, G, NPX, ACT>(&p, chunk, first, &inside)
                    };
                    chunk += 2;
                }
                first += NPX;
            }
            let mut chunk = 0;
            while chunk < COB {
                unsafe {
                    chunk_tail::<S, W, H, CI, CO, COB, G, ACT>(&p, chunk, full, pixels, &inside)
                };
                chunk += 2;
            }
        }
    } else if PK == 1 {
        unsafe { unpooled_rows::<S, H, W, CI, CO, COB, G, ACT, NPX>(&p, 0, oh) };
    } else {
        let ph = oh / PK;
        unsafe { pooled_rows::<S, H, W, CI, CO, COB, G, ACT, PK, NPX>(&p, 0, ph) };
    }
}

/// [`conv`] computing only the output rows (after the pool, if any) `first..end` (`end` clipped
/// to the map) and storing them at `p.output` as if row `first` were row 0: the output of one
/// band of rows, for a step that runs interleaved with the next one (`nnc_ir::plan::band`). The
/// input is the whole `H x W x CI` map. Pooled convolutions, and unpooled ones whose register
/// blocks stay within a row (at most four output vectors, `layout::vectors_per_block`: 32
/// channels at eight lanes).
///
/// # Safety
/// As [`conv`], with `p.output` valid for `end - first` output rows.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
pub unsafe fn conv_rows<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const ACT: u8,
    const PK: usize,
    const NPX: usize,
>(
    p: ConvPtrs,
    (first, end): (usize, usize),
) {
    const {
        assert!(
            PK > 1 || super::layout::vectors_per_block(COB) >= COB,
            "bands of rows of an unpooled convolution take its blocks within a row"
        )
    };
    checks::<S, ACT, PK, NPX>();
    let oh = const { Geometry::unpack(G) }.out_h(H);
    if PK == 1 {
        unsafe { unpooled_rows::<S, H, W, CI, CO, COB, G, ACT, NPX>(&p, first, end.min(oh)) };
    } else {
        unsafe {
            pooled_rows::<S, H, W, CI, CO, COB, G, ACT, PK, NPX>(&p, first, end.min(oh / PK))
        };
    }
}

/// The output rows `first..end` of an unpooled convolution with few output vectors (each block
/// `NPX` pixels of one row), row `first` stored at `p.output`.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn unpooled_rows<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const ACT: u8,
    const NPX: usize,
>(
    p: &ConvPtrs,
    first: usize,
    end: usize,
) {
    let p = *p;
    let ow = const { Geometry::unpack(G) }.out_w(W);
    let inside = interior::<H, W, G>();
    for oy in first..end {
        let mut ox = 0;
        while ox + NPX <= ow {
            let mut coords = [(oy, ox); NPX];
            for (i, c) in coords.iter_mut().enumerate() {
                c.1 = ox + i;
            }
            let acc = if inside(oy, ox) && inside(oy, ox + NPX - 1) {
                unsafe { block::<S, W, H, CI, CO, COB, G, NPX, false>(&p, coords, 0) }
            } else {
                unsafe { block::<S, W, H, CI, CO, COB, G, NPX, true>(&p, coords, 0) }
            };
            for (i, pixel) in acc.iter().enumerate() {
                let v = unsafe { activate::<S, COB, ACT>(*pixel, p.alpha) };
                unsafe {
                    store_part::<S, COB>(p.output.add(((oy - first) * ow + ox + i) * CO), v, CO)
                };
            }
            ox += NPX;
        }
        while ox < ow {
            let acc = unsafe { block::<S, W, H, CI, CO, COB, G, 1, true>(&p, [(oy, ox)], 0) };
            let v = unsafe { activate::<S, COB, ACT>(acc[0], p.alpha) };
            unsafe { store_part::<S, COB>(p.output.add(((oy - first) * ow + ox) * CO), v, CO) };
            ox += 1;
        }
    }
}

/// What [`conv`] and [`conv_rows`] require of their parameters, checked when an instance is
/// compiled.
#[inline(always)]
fn checks<S: Simd, const ACT: u8, const PK: usize, const NPX: usize>() {
    const {
        assert!(
            S::LANES == 8 || ACT == act::NONE || ACT == act::RELU,
            "PReLU and sigmoid read eight lanes"
        )
    };
    const {
        assert!(
            PK >= 1 && NPX.is_multiple_of(PK * PK),
            "whole pooling windows"
        )
    };
}

/// The pooled rows `first..end` of a pooled convolution, row `first` stored at `p.output`.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn pooled_rows<
    S: Simd,
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const ACT: u8,
    const PK: usize,
    const NPX: usize,
>(
    p: &ConvPtrs,
    first: usize,
    end: usize,
) {
    let p = *p;
    let g = const { Geometry::unpack(G) };
    let ow = g.out_w(W);
    let inside = interior::<H, W, G>();
    // A pooled block is `NPX / (PK * PK)` pooling windows side by side on one pooled row (one
    // on the AVX2 path, two at sixteen lanes, where 32 registers hold their accumulators).
    // With more than two output vectors (one where the registers are fewer than sixteen,
    // `layout::pooled_vectors_per_block`) that many accumulators would spill, so the channels
    // then go that many vectors at a time. A row's last windows, fewer than a block, run as
    // a block whose missing windows repeat the last one and are not stored.
    let most = const { super::layout::pooled_vectors_per_block(S::REGISTERS) };
    let window = PK * PK;
    let per_block = NPX / window;
    let pw = ow / PK;
    for py in first..end {
        let mut px = 0;
        while px < pw {
            let stored = per_block.min(pw - px);
            let last = (py * PK + PK - 1, (px + stored) * PK - 1);
            let interior =
                stored == per_block && inside(py * PK, px * PK) && inside(last.0, last.1);
            let dst = unsafe { p.output.add(((py - first) * pw + px) * CO) };
            if COB <= most {
                let acc = unsafe {
                    pooled_block::<S, W, H, CI, CO, COB, G, PK, NPX, ACT>(
                        &p,
                        (py, px, pw),
                        interior,
                        0,
                    )
                };
                for q in 0..stored {
                    let pooled = unsafe { window_max::<S, COB, NPX>(&acc, q * window, window) };
                    unsafe { store_part::<S, COB>(dst.add(q * CO), pooled, CO) };
                }
                px += stored;
                continue;
            }
            let mut chunk = 0;
            while chunk < COB {
                let part = ConvPtrs {
                    bias: unsafe { p.bias.add(chunk * S::LANES) },
                    alpha: p.alpha.wrapping_add(chunk * S::LANES),
                    ..p
                };
                let channels = (CO - chunk * S::LANES).min(most * S::LANES);
                let dst = unsafe { dst.add(chunk * S::LANES) };
                let c0 = chunk * S::LANES;
                if most == 2 && chunk + 2 <= COB {
                    let acc = unsafe {
                        pooled_block::<S, W, H, CI, CO, 2, G, PK, NPX, ACT>(
                            &part,
                            (py, px, pw),
                            interior,
                            c0,
                        )
                    };
                    for q in 0..stored {
                        let pooled = unsafe { window_max::<S, 2, NPX>(&acc, q * window, window) };
                        unsafe { store_part::<S, 2>(dst.add(q * CO), pooled, channels) };
                    }
                } else {
                    let acc = unsafe {
                        pooled_block::<S, W, H, CI, CO, 1, G, PK, NPX, ACT>(
                            &part,
                            (py, px, pw),
                            interior,
                            c0,
                        )
                    };
                    for q in 0..stored {
                        let pooled = unsafe { window_max::<S, 1, NPX>(&acc, q * window, window) };
                        unsafe { store_part::<S, 1>(dst.add(q * CO), pooled, channels) };
                    }
                }
                chunk += most;
            }
            px += stored;
        }
    }
}

/// Output-channel vectors `chunk` and `chunk + 1` (or `chunk` alone, the last of an odd count)
/// of the `NPX` output pixels at `coords`, activated and stored.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn chunk_block<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const NPX: usize,
    const ACT: u8,
>(
    p: &ConvPtrs,
    chunk: usize,
    coords: [(usize, usize); NPX],
    interior: bool,
) {
    if chunk + 2 <= COB {
        unsafe { vectors_block::<S, W, H, CI, CO, COB, 2, G, NPX, ACT>(p, chunk, coords, interior) }
    } else {
        unsafe { vectors_block::<S, W, H, CI, CO, COB, 1, G, NPX, ACT>(p, chunk, coords, interior) }
    }
}

/// Output-channel vectors `chunk..chunk + COBC` (all inside `COB`) of the `NPX` output pixels at
/// `coords`, activated and stored.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn vectors_block<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const COBC: usize,
    const G: u64,
    const NPX: usize,
    const ACT: u8,
>(
    p: &ConvPtrs,
    chunk: usize,
    coords: [(usize, usize); NPX],
    interior: bool,
) {
    let ow = const { Geometry::unpack(G) }.out_w(W);
    let part = ConvPtrs {
        bias: unsafe { p.bias.add(chunk * S::LANES) },
        alpha: p.alpha.wrapping_add(chunk * S::LANES),
        ..*p
    };
    let channels = (CO - chunk * S::LANES).min(COBC * S::LANES);
    let acc = if interior {
        unsafe { block::<S, W, H, CI, CO, COBC, G, NPX, false>(&part, coords, chunk * S::LANES) }
    } else {
        unsafe { block::<S, W, H, CI, CO, COBC, G, NPX, true>(&part, coords, chunk * S::LANES) }
    };
    for (i, pixel) in acc.iter().enumerate() {
        let (oy, ox) = coords[i];
        let v = unsafe { activate::<S, COBC, ACT>(*pixel, part.alpha) };
        let dst = unsafe { p.output.add((oy * ow + ox) * CO + chunk * S::LANES) };
        unsafe { store_part::<S, COBC>(dst, v, channels) };
    }
}

/// A map of `R` output pixels in all, fewer than a block (a stride-2 layer's 1x1 or 2x2 output):
/// all of them at once, `COBC` output vectors at a time, so that `R * COBC` independent
/// accumulations hide the FMA latency (two vectors of one pixel would leave the FMA units idle
/// most of the time; the weights are used once each, straight from memory).
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn tiny_map<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const COBC: usize,
    const G: u64,
    const R: usize,
    const ACT: u8,
>(
    p: &ConvPtrs,
    inside: &impl Fn(usize, usize) -> bool,
) {
    let ow = const { Geometry::unpack(G) }.out_w(W);
    let mut coords = [(0, 0); R];
    let mut interior = true;
    for i in 0..R {
        coords[i] = (i / ow, i % ow);
        interior &= inside(coords[i].0, coords[i].1);
    }
    let mut chunk = 0;
    while chunk + COBC <= COB {
        unsafe {
            vectors_block::<S, W, H, CI, CO, COB, COBC, G, R, ACT>(p, chunk, coords, interior)
        };
        chunk += COBC;
    }
    while chunk < COB {
        unsafe { chunk_block::<S, W, H, CI, CO, COB, G, R, ACT>(p, chunk, coords, interior) };
        chunk += 2;
    }
}

/// Channel chunk `chunk` of the `NPX` output pixels from `first` on, in row-major order.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn chunk_pixels<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const NPX: usize,
    const ACT: u8,
>(
    p: &ConvPtrs,
    chunk: usize,
    first: usize,
    inside: &impl Fn(usize, usize) -> bool,
) {
    let ow = const { Geometry::unpack(G) }.out_w(W);
    let mut coords = [(0, 0); NPX];
    let mut interior = true;
    for i in 0..NPX {
        coords[i] = ((first + i) / ow, (first + i) % ow);
        interior &= inside(coords[i].0, coords[i].1);
    }
    unsafe { chunk_block::<S, W, H, CI, CO, COB, G, NPX, ACT>(p, chunk, coords, interior) };
}

/// The output pixels `first..pixels` (fewer than a block) of channel chunk `chunk`, as one
/// block of that many pixels.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn chunk_tail<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COB: usize,
    const G: u64,
    const ACT: u8,
>(
    p: &ConvPtrs,
    chunk: usize,
    first: usize,
    pixels: usize,
    inside: &impl Fn(usize, usize) -> bool,
) {
    let ow = const { Geometry::unpack(G) }.out_w(W);
    macro_rules! tail {
        ($n:literal) => {
            unsafe { chunk_pixels::<S, W, H, CI, CO, COB, G, $n, ACT>(p, chunk, first, inside) }
        };
    }
    match pixels - first {
        0 => {}
        1 => tail!(1),
        2 => tail!(2),
        3 => tail!(3),
        4 => tail!(4),
        5 => tail!(5),
        6 => tail!(6),
        n => {
            // Blocks hold at most eight pixels (`layout::pixels_per_block_in`), so at most seven
            // are left; more would be a caller's error, handled one pixel at a time.
            for i in 0..n {
                let coords = [((first + i) / ow, (first + i) % ow)];
                let interior = inside(coords[0].0, coords[0].1);
                unsafe {
                    chunk_block::<S, W, H, CI, CO, COB, G, 1, ACT>(p, chunk, coords, interior)
                };
            }
        }
    }
}

/// Accumulates bias plus every tap for `NPX` output pixels, all output channels, in registers.
///
/// With `CHECKED`, taps outside the input read zero (the padding); without, none are tested.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn block<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COBC: usize,
    const G: u64,
    const NPX: usize,
    const CHECKED: bool,
>(
    p: &ConvPtrs,
    coords: [(usize, usize); NPX],
    c0: usize,
) -> [[S::V; COBC]; NPX] {
    // This block computes the `COBC` vectors from output channel `c0` on (`p.bias` starts
    // there; `p.kernel` is the whole packed kernel). Each vector's weights are a column of
    // its block of sixteen channels (`layout::kernel_row`): at eight lanes every vector is whole;
    // at sixteen the last may be eight wide, and is loaded through a mask.
    let cop = CO.div_ceil(8) * 8;
    let g = const { Geometry::unpack(G) };
    let rows = g.taps() * CI;
    let mut lanes = [S::LANES; COBC];
    let mut column = [p.kernel; COBC];
    let mut width = [0; COBC];
    for j in 0..COBC {
        let (base, w) = super::layout::kernel_row(rows, cop, c0 + j * S::LANES);
        column[j] = unsafe { p.kernel.add(base) };
        width[j] = w;
        lanes[j] = (w - (c0 + j * S::LANES) % super::layout::KERNEL_BLOCK).min(S::LANES);
    }
    let mut bias = [unsafe { S::splat(0.0) }; COBC];
    for j in 0..COBC {
        bias[j] = unsafe { row_vector::<S>(p.bias.add(j * S::LANES), lanes[j]) };
    }
    let weights = Columns {
        column,
        width,
        lanes,
    };
    let mut acc = [bias; NPX];
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            let tap = (ky * g.kw + kx) * CI;
            // Where each pixel reads this tap, or None in the padding.
            let mut src: [Option<*const f32>; NPX] = [None; NPX];
            for (s, &(oy, ox)) in src.iter_mut().zip(&coords) {
                let (iy, ix) = (g.row(oy, ky), g.col(ox, kx));
                if !(CHECKED && (iy < g.ph || ix < g.pw || iy - g.ph >= H || ix - g.pw >= W)) {
                    *s = Some(unsafe { p.input.add(((iy - g.ph) * W + (ix - g.pw)) * CI) });
                }
            }
            if CHECKED && src.iter().all(Option::is_none) {
                continue;
            }
            // Where every pixel reads this tap inside the input (every tap of an interior block,
            // and the taps of a block with border pixels that reach no padding), the loop over
            // channels tests none of them: the compiler does not hoist the test out of that
            // loop, and a test per channel and pixel cost the portable path 12% on the
            // embedding's 4x4 and 3x3 maps (`benches/NOTES.md`, attempt 15).
            if CHECKED && src.iter().any(Option::is_none) {
                unsafe { tap_channels::<S, CI, COBC, NPX, true>(&mut acc, &src, &weights, tap) };
            } else {
                unsafe { tap_channels::<S, CI, COBC, NPX, false>(&mut acc, &src, &weights, tap) };
            }
        }
    }
    acc
}

/// Where a register block's `COBC` output vectors find their weights: vector `j`'s row for
/// kernel row `r` (tap times input channels plus channel) starts at `column[j] + r * width[j]`,
/// and its first `lanes[j]` lanes are the layer's.
#[derive(Clone, Copy)]
struct Columns<const COBC: usize> {
    column: [*const f32; COBC],
    width: [usize; COBC],
    lanes: [usize; COBC],
}

/// Adds one kernel tap's products, over all `CI` input channels, to the accumulators of `NPX`
/// pixels, pixel `i` reading its channels from `src[i]`. With `TESTED`, a pixel whose `src` is
/// `None` (the tap falls in the padding) is skipped, tested once per channel; without, every
/// `src` must be `Some`, and none is tested.
///
/// `tap` is the tap's first weight row.
#[inline(always)]
unsafe fn tap_channels<
    S: Simd,
    const CI: usize,
    const COBC: usize,
    const NPX: usize,
    const TESTED: bool,
>(
    acc: &mut [[S::V; COBC]; NPX],
    src: &[Option<*const f32>; NPX],
    weights: &Columns<COBC>,
    tap: usize,
) {
    for ci in 0..CI {
        // A loop, not `array::from_fn`: a closure would not take on the caller's target
        // features (see `conv`).
        let mut w = [unsafe { S::splat(0.0) }; COBC];
        for j in 0..COBC {
            let row = unsafe { weights.column[j].add((tap + ci) * weights.width[j]) };
            w[j] = unsafe { row_vector::<S>(row, weights.lanes[j]) };
        }
        for i in 0..NPX {
            let px = match src[i] {
                Some(px) => px,
                None if TESTED => continue,
                // SAFETY: without `TESTED` the caller guarantees every `src` is `Some`.
                None => unsafe { std::hint::unreachable_unchecked() },
            };
            let x = unsafe { S::splat(*px.add(ci)) };
            for j in 0..COBC {
                acc[i][j] = unsafe { S::fma(x, w[j], acc[i][j]) };
            }
        }
    }
}

/// The `NPX` activated outputs of the pooling windows from `(py, px)` on, as `[[S::V; COBC]; NPX]`:
/// output `i` is tap `i % (PK * PK)` of window `px + i / (PK * PK)`, or of the row's last window
/// (`pw - 1`) where the block runs past it. Interior blocks are whole, and their coordinates stay
/// affine in `i`, so that the taps' addresses fold to constants.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "const generics, not arguments")]
unsafe fn pooled_block<
    S: Simd,
    const W: usize,
    const H: usize,
    const CI: usize,
    const CO: usize,
    const COBC: usize,
    const G: u64,
    const PK: usize,
    const NPX: usize,
    const ACT: u8,
>(
    p: &ConvPtrs,
    (py, px, pw): (usize, usize, usize),
    interior: bool,
    c0: usize,
) -> [[S::V; COBC]; NPX] {
    let window = PK * PK;
    // Pixel `i` of the block: tap `i % window` of pooled pixel `px + i / window`, at unpooled
    // row `py * PK + ..` and column `q * PK + ..`. Loops and no closures, not `array::from_fn`:
    // every closure is a function of its own that LLVM optimizes before inlining it, which took
    // a tenth of a network crate's optimization time (`benches/NOTES.md`, attempt 19).
    let mut coords = [(0, 0); NPX];
    let mut acc = if interior {
        for (i, c) in coords.iter_mut().enumerate() {
            let q = px + i / window;
            *c = (py * PK + i % window / PK, q * PK + i % window % PK);
        }
        unsafe { block::<S, W, H, CI, CO, COBC, G, NPX, false>(p, coords, c0) }
    } else {
        for (i, c) in coords.iter_mut().enumerate() {
            let q = (px + i / window).min(pw - 1);
            *c = (py * PK + i % window / PK, q * PK + i % window % PK);
        }
        unsafe { block::<S, W, H, CI, CO, COBC, G, NPX, true>(p, coords, c0) }
    };
    for pixel in &mut acc {
        *pixel = unsafe { activate::<S, COBC, ACT>(*pixel, p.alpha) };
    }
    acc
}

/// The maximum of `acc[first..first + len]`, vector by vector: one pooling window.
///
/// # Safety
/// `S` must be supported by the CPU.
#[inline(always)]
unsafe fn window_max<S: Simd, const COBC: usize, const NPX: usize>(
    acc: &[[S::V; COBC]; NPX],
    first: usize,
    len: usize,
) -> [S::V; COBC] {
    let mut pooled = acc[first];
    for pixel in &acc[first + 1..first + len] {
        for j in 0..COBC {
            pooled[j] = unsafe { S::max(pooled[j], pixel[j]) };
        }
    }
    pooled
}

/// One vector of a padded weight row (kernel, bias) whose `lanes` first lanes lie in the row: a
/// plain load at eight lanes, where every vector is whole, and a masked one at sixteen.
#[inline(always)]
unsafe fn row_vector<S: Simd>(at: *const f32, lanes: usize) -> S::V {
    if S::LANES == 8 {
        unsafe { S::load(at) }
    } else {
        unsafe { S::load_part(at, lanes) }
    }
}

/// Stores the first `count` lanes of `COBC` vectors.
#[inline(always)]
pub(super) unsafe fn store_part<S: Simd, const COBC: usize>(
    dst: *mut f32,
    v: [S::V; COBC],
    count: usize,
) {
    for j in 0..COBC {
        let lanes = count.saturating_sub(j * S::LANES).min(S::LANES);
        if lanes == S::LANES {
            unsafe { S::store(dst.add(j * S::LANES), v[j]) };
        } else if lanes > 0 {
            unsafe { S::store_part(dst.add(j * S::LANES), v[j], lanes) };
        }
    }
}

/// Applies the activation `ACT` to one pixel's output channels.
#[inline(always)]
pub(super) unsafe fn activate<S: Simd, const COB: usize, const ACT: u8>(
    v: [S::V; COB],
    alpha: *const f32,
) -> [S::V; COB] {
    // Loops, not `map` or `array::from_fn`: their closures would be functions of their own,
    // without the caller's target features, for LLVM to optimize before inlining them.
    let mut out = v;
    match ACT {
        act::RELU => {
            let zero = unsafe { S::splat(0.0) };
            for x in &mut out {
                *x = unsafe { S::max(*x, zero) };
            }
            out
        }
        act::PRELU => {
            let zero = unsafe { S::splat(0.0) };
            for (j, x) in out.iter_mut().enumerate() {
                let slope = unsafe { S::load(alpha.add(j * S::LANES)) };
                *x = unsafe { S::fma(slope, S::min(*x, zero), S::max(*x, zero)) };
            }
            out
        }
        act::SIGMOID => {
            // Heads only, a few channels: scalar, with the interpreter's formula.
            let mut lanes = [[0.0f32; 16]; COB];
            for j in 0..COB {
                unsafe { S::store(lanes[j].as_mut_ptr(), v[j]) };
                for x in &mut lanes[j] {
                    *x = 1.0 / (1.0 + (-*x).exp());
                }
                out[j] = unsafe { S::load(lanes[j].as_ptr()) };
            }
            out
        }
        _ => v,
    }
}
