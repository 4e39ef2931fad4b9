//! The ops that are not fused into a convolution: pooling, activations, add, padded add, multiply,
//! concat, upsampling, padding, global average and softmax.
//!
//! They are memory-bound and cheap next to the convolutions, so they are plain loops over the
//! contiguous channels of each pixel, with constant bounds that the compiler vectorizes.

use super::geometry::{Geometry, out_len};

/// Output length of an undilated pool along one axis: [`out_len`], or in ceil mode (`CEIL`) one more
/// window where the last would hang past the end, unless it would start in the trailing
/// padding (`nnc_ir::Window::output_len`).
#[inline]
pub const fn pool_out_len(input: usize, k: usize, stride: usize, pad: usize, ceil: bool) -> usize {
    if !ceil {
        return out_len(input, k, stride, pad);
    }
    let n = (input + 2 * pad - k).div_ceil(stride) + 1;
    if (n - 1) * stride >= input + pad {
        n - 1
    } else {
        n
    }
}

/// Max-pool (`AVG == false`) or average-pool over the undilated windows of the packed geometry
/// `G` ([`Geometry::pack`]); padding never counts, and in ceil mode (`CEIL`) the last window pools
/// what it covers.
///
/// # Safety
/// `input` is valid for `H * W * C` reads, `output` for `OH * OW * C` writes, and they do not overlap.
#[inline(never)]
pub unsafe fn pool<
    const H: usize,
    const W: usize,
    const C: usize,
    const G: u64,
    const AVG: bool,
    const CEIL: bool,
>(
    input: *const f32,
    output: *mut f32,
) {
    let g = const { Geometry::unpack(G) };
    const { assert!(Geometry::unpack(G).dh == 1 && Geometry::unpack(G).dw == 1) };
    let (oh, ow) = (
        pool_out_len(H, g.kh, g.sh, g.ph, CEIL),
        pool_out_len(W, g.kw, g.sw, g.pw, CEIL),
    );
    let mut acc = [0.0f32; C];
    for oy in 0..oh {
        // The window's rows and columns clipped to the input.
        let y0 = (oy * g.sh).saturating_sub(g.ph);
        let y1 = (oy * g.sh + g.kh - g.ph).min(H);
        for ox in 0..ow {
            let x0 = (ox * g.sw).saturating_sub(g.pw);
            let x1 = (ox * g.sw + g.kw - g.pw).min(W);
            acc.fill(if AVG { 0.0 } else { f32::NEG_INFINITY });
            for y in y0..y1 {
                for x in x0..x1 {
                    let pixel =
                        unsafe { std::slice::from_raw_parts(input.add((y * W + x) * C), C) };
                    for (a, &v) in acc.iter_mut().zip(pixel) {
                        *a = if AVG { *a + v } else { a.max(v) };
                    }
                }
            }
            let dst = unsafe { std::slice::from_raw_parts_mut(output.add((oy * ow + ox) * C), C) };
            let count = ((y1 - y0) * (x1 - x0)) as f32;
            for (d, &a) in dst.iter_mut().zip(&acc) {
                *d = if AVG { a / count } else { a };
            }
        }
    }
}

/// What [`activation`] computes.
pub mod kind {
    pub const RELU: u8 = 1;
    pub const PRELU: u8 = 2;
    pub const SIGMOID: u8 = 3;
}

/// An activation over `PIXELS` pixels of `C` channels. `alpha` (C slopes) is read for PReLU only.
///
/// # Safety
/// `input` and `output` are valid for `PIXELS * C` values and do not overlap; `alpha` for `C`
/// values when `ACT == kind::PRELU`.
#[inline(never)]
pub unsafe fn activation<const PIXELS: usize, const C: usize, const ACT: u8>(
    input: *const f32,
    alpha: *const f32,
    output: *mut f32,
) {
    let x = unsafe { std::slice::from_raw_parts(input, PIXELS * C) };
    let y = unsafe { std::slice::from_raw_parts_mut(output, PIXELS * C) };
    match ACT {
        kind::RELU => y.iter_mut().zip(x).for_each(|(y, &x)| *y = x.max(0.0)),
        kind::PRELU => {
            let alpha = unsafe { std::slice::from_raw_parts(alpha, C) };
            for (yp, xp) in y.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
                for ((y, &x), &a) in yp.iter_mut().zip(xp).zip(alpha) {
                    *y = if x > 0.0 { x } else { a * x };
                }
            }
        }
        _ => y
            .iter_mut()
            .zip(x)
            .for_each(|(y, &x)| *y = 1.0 / (1.0 + (-x).exp())),
    }
}

/// Element-wise sum (`MUL == false`) or product of two tensors of `N` values, through a ReLU
/// when `RELU` (a residual sum that absorbed the `relu` after it).
///
/// # Safety
/// All three pointers are valid for `N` values; `output` overlaps neither input.
#[inline(never)]
pub unsafe fn add<const N: usize, const MUL: bool, const RELU: bool>(
    a: *const f32,
    b: *const f32,
    output: *mut f32,
) {
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, N),
            std::slice::from_raw_parts(b, N),
        )
    };
    let y = unsafe { std::slice::from_raw_parts_mut(output, N) };
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        let v = if MUL { a * b } else { a + b };
        *y = if RELU { v.max(0.0) } else { v };
    }
}

/// The sum of an `HA x WA x CA` tensor and an `HB x WB x CB` one into an `H x W x C` output (the
/// larger size along each axis), each input read as zero outside its own rows, columns and
/// channels: the op `padadd`; through a ReLU when `RELU`.
///
/// # Safety
/// `a` is valid for `HA * WA * CA` values, `b` for `HB * WB * CB`, `output` for `H * W * C`;
/// `output` overlaps neither input.
#[inline(never)]
pub unsafe fn pad_add<
    const H: usize,
    const W: usize,
    const C: usize,
    const HA: usize,
    const WA: usize,
    const CA: usize,
    const HB: usize,
    const WB: usize,
    const CB: usize,
    const RELU: bool,
>(
    a: *const f32,
    b: *const f32,
    output: *mut f32,
) {
    let y = unsafe { std::slice::from_raw_parts_mut(output, H * W * C) };
    y.fill(0.0);
    unsafe {
        accumulate::<W, C, HA, WA, CA>(a, y);
        accumulate::<W, C, HB, WB, CB>(b, y);
    }
    if RELU {
        for v in y {
            *v = v.max(0.0);
        }
    }
}

/// Adds an `HX x WX x CX` tensor into the top-left corner and first channels of `y`, a tensor `W`
/// pixels wide with `C` channels.
///
/// # Safety
/// `x` is valid for `HX * WX * CX` values and does not overlap `y`, which holds at least `HX` rows.
#[inline(always)]
unsafe fn accumulate<
    const W: usize,
    const C: usize,
    const HX: usize,
    const WX: usize,
    const CX: usize,
>(
    x: *const f32,
    y: &mut [f32],
) {
    let x = unsafe { std::slice::from_raw_parts(x, HX * WX * CX) };
    for row in 0..HX {
        for col in 0..WX {
            let src = &x[(row * WX + col) * CX..][..CX];
            let dst = &mut y[(row * W + col) * C..][..CX];
            for (d, &v) in dst.iter_mut().zip(src) {
                *d += v;
            }
        }
    }
}

/// Copies one input of a concat into its channel slot: `C` channels of each of `PIXELS` pixels go
/// to channels `OFFSET..OFFSET + C` of an output with `TOTAL` channels.
///
/// # Safety
/// `input` is valid for `PIXELS * C` values, `output` for `PIXELS * TOTAL`, and they do not overlap.
#[inline(never)]
pub unsafe fn concat_part<
    const PIXELS: usize,
    const C: usize,
    const OFFSET: usize,
    const TOTAL: usize,
>(
    input: *const f32,
    output: *mut f32,
) {
    for p in 0..PIXELS {
        unsafe {
            std::ptr::copy_nonoverlapping(input.add(p * C), output.add(p * TOTAL + OFFSET), C)
        };
    }
}

/// Nearest-neighbour upsampling by `F`: output pixel `(y, x)` is input pixel `(y / F, x / F)`, all
/// `C` channels. Each input row is widened once into the first of its `F` output rows, which the
/// others copy.
///
/// # Safety
/// `input` is valid for `H * W * C` reads, `output` for `H * F * W * F * C` writes, and they do not
/// overlap.
#[inline(never)]
pub unsafe fn upsample<const H: usize, const W: usize, const C: usize, const F: usize>(
    input: *const f32,
    output: *mut f32,
) {
    let row = W * F * C;
    for y in 0..H {
        let first = unsafe { output.add(y * F * row) };
        for x in 0..W {
            let pixel = unsafe { input.add((y * W + x) * C) };
            for dx in 0..F {
                unsafe { std::ptr::copy_nonoverlapping(pixel, first.add((x * F + dx) * C), C) };
            }
        }
        for dy in 1..F {
            unsafe { std::ptr::copy_nonoverlapping(first, first.add(dy * row), row) };
        }
    }
}

/// `t = min(max(A * x + B, LO), HI)`, then `y = x * t` when `TIMES_X`, else `y = t`, for `N`
/// values: `clip` (`A = 1, B = 0`), `hardsigmoid` (`LO = 0, HI = 1`) and `hardswish`
/// (`A = 1/6, B = 1/2, LO = 0, HI = 1`, times `x`). `[a, b, lo, hi]` are the four constants.
///
/// # Safety
/// `input` and `output` are valid for `N` values and do not overlap.
#[inline(never)]
pub unsafe fn hard<const N: usize, const TIMES_X: bool>(
    input: *const f32,
    [a, b, lo, hi]: [f32; 4],
    output: *mut f32,
) {
    let x = unsafe { std::slice::from_raw_parts(input, N) };
    let y = unsafe { std::slice::from_raw_parts_mut(output, N) };
    for (y, &x) in y.iter_mut().zip(x) {
        let t = (a * x + b).clamp(lo, hi);
        *y = if TIMES_X { x * t } else { t };
    }
}

/// `x * scale[c] + shift[c]` over `PIXELS` pixels of `C` channels.
///
/// # Safety
/// `input` and `output` are valid for `PIXELS * C` values and do not overlap; `scale` and
/// `shift` for `C` values.
#[inline(never)]
pub unsafe fn affine<const PIXELS: usize, const C: usize>(
    input: *const f32,
    scale: *const f32,
    shift: *const f32,
    output: *mut f32,
) {
    let x = unsafe { std::slice::from_raw_parts(input, PIXELS * C) };
    let y = unsafe { std::slice::from_raw_parts_mut(output, PIXELS * C) };
    let (scale, shift) = unsafe {
        (
            std::slice::from_raw_parts(scale, C),
            std::slice::from_raw_parts(shift, C),
        )
    };
    for (yp, xp) in y.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
        for (((y, &x), &s), &t) in yp.iter_mut().zip(xp).zip(scale).zip(shift) {
            *y = x * s + t;
        }
    }
}

/// The mean of each of `C` channels over `PIXELS` pixels, into `C` values. Sums in f64, as the
/// interpreter does, so that a large image loses nothing to rounding.
///
/// # Safety
/// `input` is valid for `PIXELS * C` values, `output` for `C`, and they do not overlap.
#[inline(never)]
pub unsafe fn global_avg_pool<const PIXELS: usize, const C: usize>(
    input: *const f32,
    output: *mut f32,
) {
    let x = unsafe { std::slice::from_raw_parts(input, PIXELS * C) };
    let mut sums = [0.0f64; C];
    for pixel in x.chunks_exact(C) {
        for (s, &v) in sums.iter_mut().zip(pixel) {
            *s += f64::from(v);
        }
    }
    let y = unsafe { std::slice::from_raw_parts_mut(output, C) };
    for (y, s) in y.iter_mut().zip(sums) {
        *y = (s / PIXELS as f64) as f32;
    }
}

/// A softmax over the `C` channels of each of `PIXELS` pixels.
///
/// # Safety
/// `input` and `output` are valid for `PIXELS * C` values and do not overlap.
#[inline(never)]
pub unsafe fn softmax<const PIXELS: usize, const C: usize>(input: *const f32, output: *mut f32) {
    let x = unsafe { std::slice::from_raw_parts(input, PIXELS * C) };
    let y = unsafe { std::slice::from_raw_parts_mut(output, PIXELS * C) };
    let mut e = [0.0f64; C];
    for (yp, xp) in y.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
        let top = xp.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for (e, &v) in e.iter_mut().zip(xp) {
            *e = f64::from(v - top).exp();
            sum += *e;
        }
        for (y, &e) in yp.iter_mut().zip(&e) {
            *y = (e / sum) as f32;
        }
    }
}

/// An `H x W x C` tensor with `T`, `L`, `B` and `R` zero rows and columns added at the top,
/// left, bottom and right.
///
/// # Safety
/// `input` is valid for `H * W * C` reads, `output` for `(H + T + B) * (W + L + R) * C` writes,
/// and they do not overlap.
#[inline(never)]
pub unsafe fn pad<
    const H: usize,
    const W: usize,
    const C: usize,
    const T: usize,
    const L: usize,
    const B: usize,
    const R: usize,
>(
    input: *const f32,
    output: *mut f32,
) {
    let row = (W + L + R) * C;
    let y = unsafe { std::slice::from_raw_parts_mut(output, (H + T + B) * row) };
    y[..T * row].fill(0.0);
    y[(T + H) * row..].fill(0.0);
    for r in 0..H {
        let dst = &mut y[(T + r) * row..][..row];
        dst[..L * C].fill(0.0);
        dst[(L + W) * C..].fill(0.0);
        unsafe {
            std::ptr::copy_nonoverlapping(input.add(r * W * C), dst[L * C..].as_mut_ptr(), W * C)
        };
    }
}
