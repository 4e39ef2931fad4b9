//! The layouts the kernels read their weights in, and how many registers' worth of work one block
//! of a kernel does. The compiler packs weights with these functions at build time, and sizes each
//! kernel call's const generics with these rules, so that both agree with the kernels beside them.

/// Output-channel vectors of eight lanes needed for `channels`.
pub const fn vectors(channels: usize) -> usize {
    channels.div_ceil(8)
}

/// A convolution kernel from `[out, in, k, k]` to `[ky][kx][in][out padded to whole vectors]`, the
/// padding lanes zero. A depthwise kernel, `[c, 1, k, k]`, packs with `inp = 1` to the
/// `[ky][kx][c padded]` its kernel reads.
pub fn conv_kernel(oihw: &[f32], out: usize, inp: usize, k: usize) -> Vec<f32> {
    let cop = vectors(out) * 8;
    let mut packed = vec![0.0; k * k * inp * cop];
    for o in 0..out {
        for i in 0..inp {
            for ky in 0..k {
                for kx in 0..k {
                    packed[((ky * k + kx) * inp + i) * cop + o] =
                        oihw[((o * inp + i) * k + ky) * k + kx];
                }
            }
        }
    }
    packed
}

/// A per-channel vector (bias, slope) padded with zeros to whole vectors.
pub fn channel_vector(values: &[f32]) -> Vec<f32> {
    let mut padded = values.to_vec();
    padded.resize(vectors(values.len()) * 8, 0.0);
    padded
}

/// Output-channel vectors one register block of an unpooled convolution computes: all of them up
/// to four; beyond that, two at a time (the kernel loops over the rest), since five or more would
/// leave room for one pixel only, whose few independent FMA chains cannot hide the FMA latency
/// (see `benches/NOTES.md`, attempt 1).
pub const fn vectors_per_block(cob: usize) -> usize {
    if cob > 4 { 2 } else { cob }
}

/// Output pixels per register block for a convolution with `cob` output vectors: as many as fit
/// in the sixteen AVX registers beside the weight vectors they share (those of
/// [`vectors_per_block`]) and one broadcast input.
pub const fn pixels_per_block(cob: usize) -> usize {
    pixels_per_block_in(16, cob)
}

/// [`pixels_per_block`] for a register file of `registers` vectors (32 with AVX-512), at most
/// eight pixels.
pub const fn pixels_per_block_in(registers: usize, cob: usize) -> usize {
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

/// Output pixels per register block of a convolution with a fused `pk` max-pool, in a register
/// file of `registers` vectors: whole pooling windows, two side by side where their accumulators
/// (of up to two output vectors, [`vectors_per_block`] for pooled blocks) fit beside the weights
/// and one broadcast input, else one.
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
/// Up to four vectors of channels, so that a 64-channel layer is one chunk at sixteen lanes; then
/// as many pixels as fit beside the `V` weight vectors and one broadcast input, at most twelve.
pub const fn pointwise_block(lanes: usize, registers: usize, cop: usize) -> (usize, usize) {
    let needed = cop.div_ceil(lanes);
    let v = if needed > 4 {
        4
    } else if needed == 0 {
        1
    } else {
        needed
    };
    let npx = (registers - v - 1) / v;
    (v, if npx > 12 { 12 } else { npx })
}
