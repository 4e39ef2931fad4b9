//! The layouts the kernels read their weights in, and how many registers' worth of work one block
//! of a kernel does. The compiler packs weights with these functions at build time, and sizes each
//! kernel call's const generics with these rules, so that both agree with the kernels beside them.

/// Output-channel vectors of eight lanes needed for `channels`.
#[inline]
pub const fn vectors(channels: usize) -> usize {
    channels.div_ceil(8)
}

/// Output channels per block of a packed convolution kernel: one sixteen-lane vector, two of
/// eight lanes.
pub const KERNEL_BLOCK: usize = 16;

/// A dense convolution kernel from `[out, in, kh, kw]` (`taps = kh * kw`) to blocks of [`KERNEL_BLOCK`] output
/// channels, `[co / 16][ky][kx][in][16]`, the output channels padded with zeros to whole
/// eight-lane vectors (so the last block may be eight wide). A register block reads the rows of
/// its output vectors' blocks in order, so the weights of one chunk of channels are one
/// sequential stream (a layer's weights that come from memory arrive at the prefetchers' pace),
/// whatever the layer's width. [`kernel_row`] says where a vector's row starts.
pub fn conv_kernel(oihw: &[f32], out: usize, inp: usize, taps: usize) -> Vec<f32> {
    let cop = vectors(out) * 8;
    let rows = taps * inp;
    let mut packed = vec![0.0; rows * cop];
    for o in 0..out {
        let (base, width) = kernel_row(rows, cop, o);
        for i in 0..inp {
            for t in 0..taps {
                packed[base + (t * inp + i) * width] = oihw[(o * inp + i) * taps + t];
            }
        }
    }
    packed
}

/// Where output channel `c` of row 0 lies in a kernel packed by [`conv_kernel`] with `rows` rows
/// (`kh * kw * in`) and `cop` padded output channels, and the row length of its block: channel `c`
/// of row `r` is at `base + r * width`. A vector that starts at `c` (a multiple of eight) lies in
/// one block, and has `min(lanes, width - c % 16)` lanes in it.
#[inline]
pub const fn kernel_row(rows: usize, cop: usize, c: usize) -> (usize, usize) {
    let block = c / KERNEL_BLOCK * KERNEL_BLOCK;
    let width = if cop - block < KERNEL_BLOCK {
        cop - block
    } else {
        KERNEL_BLOCK
    };
    (block * rows + (c - block), width)
}

/// A depthwise kernel from `[c, 1, kh, kw]` (`taps = kh * kw`) to `[ky][kx][c padded to whole
/// vectors]`, the padding lanes zero.
pub fn depthwise_kernel(oihw: &[f32], channels: usize, taps: usize) -> Vec<f32> {
    let cop = vectors(channels) * 8;
    let mut packed = vec![0.0; taps * cop];
    for c in 0..channels {
        for tap in 0..taps {
            packed[tap * cop + c] = oihw[c * taps + tap];
        }
    }
    packed
}

/// Winograd weights for `[out, in, 3, 3]` and output tiles of `m x m` (2 for F(2x2, 3x3), 4 for
/// F(4x4, 3x3)): each filter `g` becomes `U = G g Gᵀ` (`(m + 2)²` values, computed in f64), and
/// the `[out, in, m + 2, m + 2]` result is packed as [`conv_kernel`] packs a kernel of that many
/// taps, so that the products read `U[ξ][ci]` for `ξ` the transform's position as rows of the
/// blocked layout.
pub fn winograd_kernel(oihw: &[f32], out: usize, inp: usize, m: usize) -> Vec<f32> {
    winograd_kernel_with(oihw, out, inp, winograd_g(m))
}

/// The filter transform `G` for output tiles of `m x m`.
///
/// # Panics
/// Unless `m` is 2 or 4.
pub fn winograd_g(m: usize) -> &'static [[f64; 3]] {
    match m {
        2 => &WINOGRAD_G,
        4 => &WINOGRAD_G4,
        _ => panic!("Winograd tiles are 2x2 or 4x4, not {m}x{m}"),
    }
}

/// F(2x2, 3x3)'s filter transform `G` (interpolation points 0, 1, -1 and infinity).
pub const WINOGRAD_G: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// F(4x4, 3x3)'s filter transform `G` (points 0, ±1, ±2 and infinity; Lavin and Gray's),
/// matching the kernel's `Bᵀ` and `Aᵀ` (`super::winograd`).
pub const WINOGRAD_G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// [`winograd_kernel`] with the filter transform `g`, of `m + 2` rows (the tests give a wrong
/// one, which must fail them).
pub fn winograd_kernel_with(oihw: &[f32], out: usize, inp: usize, g: &[[f64; 3]]) -> Vec<f32> {
    let n = g.len();
    let positions = n * n;
    let mut u = vec![0.0f32; out * inp * positions];
    for f in 0..out * inp {
        let filter = &oihw[f * 9..f * 9 + 9];
        for a in 0..n {
            for b in 0..n {
                let mut sum = 0.0f64;
                for y in 0..3 {
                    for x in 0..3 {
                        sum += g[a][y] * f64::from(filter[y * 3 + x]) * g[b][x];
                    }
                }
                u[f * positions + a * n + b] = sum as f32;
            }
        }
    }
    conv_kernel(&u, out, inp, positions)
}

pub use nnc_ir::plan::winograd_block;

/// A per-channel vector (bias, slope) padded with zeros to whole vectors.
pub fn channel_vector(values: &[f32]) -> Vec<f32> {
    let mut padded = values.to_vec();
    padded.resize(vectors(values.len()) * 8, 0.0);
    padded
}

/// Output-channel vectors one register block of an unpooled convolution with `cob` output
/// vectors computes, on every path: all of them up to four; beyond that, two at a time (the kernel
/// loops over the rest), since five or more would leave room for one pixel only, whose few
/// independent FMA chains cannot hide the FMA latency (see `benches/NOTES.md`, attempts 1 and 9).
/// The portable path on x86_64 (eight registers of eight lanes, each two SSE registers) takes
/// up to four too, by one pixel ([`pixels_per_block_in`]): eight SSE accumulators, each weight
/// loaded once and used at once, where two vectors by two pixels made the compiler hoist the
/// loads of three input channels' weights and spill accumulators (attempt 15: the embedding's
/// 7x7 stem, 3 -> 32 channels, 1.12 times faster).
#[inline]
pub const fn vectors_per_block(cob: usize) -> usize {
    if cob > 4 { 2 } else { cob }
}

/// Output vectors a pooled register block computes at once: two where sixteen or more registers
/// hold the accumulators of a whole 2x2 window (eight), one where there are fewer.
#[inline]
pub const fn pooled_vectors_per_block(registers: usize) -> usize {
    if registers >= 16 { 2 } else { 1 }
}

/// Output pixels per register block for a convolution with `cob` output vectors, in a register
/// file of `registers` vectors (16 with AVX2, 32 with AVX-512): as many as fit beside the weight
/// vectors they share (those of [`vectors_per_block`]) and one broadcast input, at most eight.
///
/// With sixteen registers or fewer, the accumulators (pixels times vectors) take at most half of
/// them: twelve of sixteen left the compiler too few for the addresses and the loads it hoists,
/// and it spilled accumulators to the stack (`benches/NOTES.md`, attempt 14: YuNet's stem, two
/// vectors by six pixels, 1.33 times slower than by four). The AVX-512 path keeps the plain
/// fit, not having been measured, and so do layers whose weights outweigh their input
/// ([`streaming_pixels_per_block_in`]).
#[inline]
pub const fn pixels_per_block_in(registers: usize, cob: usize) -> usize {
    let n = streaming_pixels_per_block_in(registers, cob);
    let cob = if cob == 0 { 1 } else { vectors_per_block(cob) };
    if registers <= 16 && n * cob > registers / 2 {
        let half = registers / 2 / cob;
        if half < 1 { 1 } else { half }
    } else {
        n
    }
}

/// Output pixels per register block where a convolution's weights outweigh its input
/// ([`weights_outweigh_input`]): as many as fit beside the weight vectors and one broadcast
/// input, at most eight. The kernel then streams each channel chunk's weights once per block
/// of pixels, from L2 or L3, and fewer blocks read them fewer times: on the embedding's 4x4 and
/// 3x3 maps of 256 channels, two vectors by four pixels were up to 1.2 times slower than by six
/// (attempt 14).
#[inline]
pub const fn streaming_pixels_per_block_in(registers: usize, cob: usize) -> usize {
    let cob = if cob == 0 { 1 } else { vectors_per_block(cob) };
    let n = if cob + 1 < registers {
        (registers - cob - 1) / cob
    } else {
        1
    };
    if n > 8 {
        8
    } else if n < 1 {
        1
    } else {
        n
    }
}

/// Whether a direct convolution with `taps` kernel taps and `cob` output vectors of `lanes`
/// reads more weights than input on an `h x w` map (per input channel: `taps * cob * lanes`
/// against `h * w`). Where it does and the output vectors are more than a block's
/// ([`vectors_per_block`]), the kernel runs channel chunks outside and pixel blocks inside,
/// so that each chunk's weights come from memory once and are reused by every block from the
/// cache; elsewhere pixel blocks outside.
#[inline]
pub const fn weights_outweigh_input(
    taps: usize,
    cob: usize,
    lanes: usize,
    h: usize,
    w: usize,
) -> bool {
    taps * cob * lanes > h * w
}

/// Output pixels per register block of an unpooled direct convolution with `cob` output vectors
/// of `lanes`, `taps` kernel taps and an `h x w` input, in a register file of `registers`
/// vectors: [`streaming_pixels_per_block_in`] where the kernel streams the weights (channel
/// chunks outside: more output vectors than a block's and [`weights_outweigh_input`]),
/// [`pixels_per_block_in`] elsewhere.
#[inline]
pub const fn direct_pixels_per_block(
    registers: usize,
    lanes: usize,
    cob: usize,
    taps: usize,
    (h, w): (usize, usize),
) -> usize {
    if vectors_per_block(cob) < cob && weights_outweigh_input(taps, cob, lanes, h, w) {
        streaming_pixels_per_block_in(registers, cob)
    } else {
        pixels_per_block_in(registers, cob)
    }
}

/// Output pixels per register block of a convolution with a fused `pk` max-pool, in a register
/// file of `registers` vectors: whole pooling windows, two side by side where their accumulators
/// (of up to two output vectors, [`pooled_vectors_per_block`]) fit beside the weights
/// and one broadcast input, else one.
#[inline]
pub const fn pooled_pixels_per_block_in(registers: usize, pk: usize, cob: usize) -> usize {
    let cobc = if cob > 2 {
        2
    } else if cob == 0 {
        1
    } else {
        cob
    };
    let window = if pk == 0 { 1 } else { pk * pk };
    if registers >= cobc + 1 + 2 * window * cobc {
        2 * window
    } else {
        window
    }
}

/// Output pixels per register block of a depthwise convolution with a fused `pk` max-pool (1 for
/// none): about eight accumulators (one vector each) beside the tap's weight vector and the input
/// vector they share, and a whole number of `pk * pk` pooling windows.
#[inline]
pub const fn depthwise_pixels_per_block(pk: usize) -> usize {
    let window = if pk == 0 { 1 } else { pk * pk };
    if window >= 8 {
        window
    } else {
        8 / window * window
    }
}

/// The register block of a pointwise (1x1) convolution on vectors of `lanes` lanes in `registers`
/// registers, for `cop` output channels (padded to eight): `(V, NPX)`, output vectors and pixels.
/// Up to four vectors of channels, so that a 64-channel layer is one chunk at sixteen lanes, but
/// fewer where the registers would leave room for fewer than two pixels (the portable path's
/// eight on x86_64); then as many pixels as fit beside the `V` weight vectors and one broadcast
/// input, at most twelve.
#[inline]
pub const fn pointwise_block(lanes: usize, registers: usize, cop: usize) -> (usize, usize) {
    let needed = cop.div_ceil(lanes);
    let mut v = if needed > 4 {
        4
    } else if needed == 0 {
        1
    } else {
        needed
    };
    while v > 1 && (registers - v - 1) / v < 2 {
        v -= 1;
    }
    let npx = (registers - v - 1) / v;
    (v, if npx > 12 { 12 } else { npx })
}

#[cfg(test)]
mod tests {
    use super::pointwise_block;

    #[test]
    fn pointwise_blocks_leave_room_for_two_pixels() {
        // Sixteen lanes in 32 registers: a 64-channel layer is one chunk of four vectors.
        assert_eq!(pointwise_block(16, 32, 64), (4, 6));
        // Eight lanes in 16 registers (AVX2): four vectors by two pixels.
        assert_eq!(pointwise_block(8, 16, 64), (4, 2));
        // Eight vectors of registers (the portable path on x86_64): four vectors would leave
        // none for a second pixel, so two by two.
        assert_eq!(pointwise_block(8, 8, 64), (2, 2));
        // Few channels: one vector and as many pixels as fit, at most twelve.
        assert_eq!(pointwise_block(8, 8, 8), (1, 6));
        assert_eq!(pointwise_block(8, 16, 8), (1, 12));
    }
}
