//! Eight f32 lanes, two ways: a portable array that any target compiles, and AVX2+FMA registers;
//! and sixteen, in AVX-512 registers, for the kernels written over [`Simd::LANES`] (`conv`, `depthwise`
//! and `pointwise`, with ReLU or no activation).
//!
//! Kernels are written once, generic over [`Simd`], and instantiated per ISA (tract's
//! `generic()` then `plug()` per ISA). The AVX2 methods are `#[inline(always)]` and are only ever
//! inlined into functions compiled with `#[target_feature(enable = "avx2,fma")]`, which is where the
//! intrinsics end up and become single instructions.

/// [`Simd::LANES`] lanes of f32 and the operations kernels need on them.
///
/// # Safety
/// Implementations for an instruction set may only be used on a CPU that has it. Pointers passed
/// to `load` and `store` must be valid for `LANES` f32 (no alignment needed).
#[allow(
    clippy::missing_safety_doc,
    reason = "the trait's Safety section covers every method"
)]
pub unsafe trait Simd: Copy {
    type V: Copy;
    /// Lanes per vector.
    const LANES: usize = 8;
    /// Vectors the register file holds: the budget the kernels' register blocks are sized by
    /// (accumulators, the weight vectors they share and one broadcast input), so that a block
    /// does not spill to the stack.
    const REGISTERS: usize = 16;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// The first `n` lanes (`n <= LANES`) from `p`, the others zero; only those `n` f32 are read.
    unsafe fn load_part(p: *const f32, n: usize) -> Self::V;
    /// Stores the first `n` lanes (`n <= LANES`) of `v` at `p`; only those `n` f32 are written.
    unsafe fn store_part(p: *mut f32, v: Self::V, n: usize);
    /// `a * b + c`, fused where the hardware can.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
}

/// `lanes` f32 from `at` (a whole vector, or the first lanes through a mask), the rest zero.
///
/// # Safety
/// `lanes <= S::LANES`, those `lanes` f32 readable at `at`, and `S` supported by the CPU.
#[inline(always)]
pub(super) unsafe fn load<S: Simd>(at: *const f32, lanes: usize) -> S::V {
    if lanes == S::LANES {
        unsafe { S::load(at) }
    } else {
        unsafe { S::load_part(at, lanes) }
    }
}

/// Stores the first `lanes` lanes of `v` at `at` (a whole vector, or through a mask).
///
/// # Safety
/// `lanes <= S::LANES`, those `lanes` f32 writable at `at`, and `S` supported by the CPU.
#[inline(always)]
pub(super) unsafe fn store<S: Simd>(at: *mut f32, v: S::V, lanes: usize) {
    if lanes == S::LANES {
        unsafe { S::store(at, v) }
    } else {
        unsafe { S::store_part(at, v, lanes) }
    }
}

/// Eight lanes that need no CPU feature: two SSE registers on x86_64 ([`Sse2x2`]), [`Arrays`]
/// elsewhere.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Portable;

/// Eight lanes that need no CPU feature: [`Arrays`] on this target (two SSE registers on
/// x86_64).
#[cfg(not(target_arch = "x86_64"))]
pub use Arrays as Portable;

/// Plain `[f32; 8]` arrays, which the compiler vectorizes for whatever the target has: the
/// portable path on every target but x86_64, where it is checked against [`Portable`]'s SSE
/// vectors operation by operation (`nnc-runtime/tests/kernels.rs`).
#[derive(Clone, Copy, Debug)]
pub struct Arrays;

/// How many eight-lane [`Portable`] vectors the target's registers hold: sixteen where a vector
/// is one register (x86 with AVX) or two of thirty-two (AArch64's NEON); eight elsewhere, as on
/// x86_64's baseline, whose sixteen SSE registers hold four lanes each. The generated code sizes
/// the portable path's register blocks with it, in the crate being compiled, so that it follows
/// that crate's target rather than the machine the macro ran on (`benches/NOTES.md`, attempt 9:
/// blocks sized for sixteen spilled to the stack on x86_64).
pub const PORTABLE_REGISTERS: usize = if cfg!(any(target_feature = "avx", target_arch = "aarch64"))
{
    16
} else {
    8
};

unsafe impl Simd for Arrays {
    type V = [f32; 8];
    const REGISTERS: usize = PORTABLE_REGISTERS;

    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        // SAFETY: the caller guarantees eight readable f32.
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        // SAFETY: the caller guarantees eight writable f32.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }

    #[inline(always)]
    unsafe fn load_part(p: *const f32, n: usize) -> [f32; 8] {
        // SAFETY: the caller guarantees `n` readable f32.
        std::array::from_fn(|i| if i < n { unsafe { *p.add(i) } } else { 0.0 })
    }

    #[inline(always)]
    unsafe fn store_part(p: *mut f32, v: [f32; 8], n: usize) {
        for (i, x) in v.into_iter().enumerate().take(n) {
            // SAFETY: the caller guarantees `n` writable f32.
            unsafe { *p.add(i) = x };
        }
    }

    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }

    #[inline(always)]
    unsafe fn add(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] + b[i])
    }

    #[inline(always)]
    unsafe fn sub(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] - b[i])
    }

    #[inline(always)]
    unsafe fn mul(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i])
    }

    #[inline(always)]
    unsafe fn max(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i].max(b[i]))
    }

    #[inline(always)]
    unsafe fn min(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i].min(b[i]))
    }
}

/// A [`Portable`] vector on x86_64: eight lanes in two SSE registers (SSE2 is x86_64's
/// baseline, so every x86_64 CPU runs it). The arithmetic is the arrays' (multiply then add,
/// unfused, lane by lane), written with SSE intrinsics instead of left for LLVM to find in
/// `[f32; 8]` code: scalarizing those arrays and vectorizing them again was most of the time
/// LLVM spent on a network's portable path (`benches/NOTES.md`, attempt 18). Like the AVX2
/// path's, `max` and `min` return the second operand when one is NaN.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Sse2x2(std::arch::x86_64::__m128, std::arch::x86_64::__m128);

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::{PORTABLE_REGISTERS, Portable, Simd, Sse2x2};
    use std::arch::x86_64::*;

    /// `$op` on both halves of `$a` and `$b`.
    macro_rules! each {
        ($op:ident, $a:expr, $b:expr) => {{
            let (a, b) = ($a, $b);
            // SAFETY: SSE is part of every x86_64 target.
            unsafe { Sse2x2($op(a.0, b.0), $op(a.1, b.1)) }
        }};
    }

    // SAFETY: SSE2 is part of every x86_64 target; the loads and stores touch only what the
    // trait's contract lets them.
    unsafe impl Simd for Portable {
        type V = Sse2x2;
        const REGISTERS: usize = PORTABLE_REGISTERS;

        #[inline(always)]
        unsafe fn splat(x: f32) -> Sse2x2 {
            // SAFETY: SSE is part of every x86_64 target.
            let v = unsafe { _mm_set1_ps(x) };
            Sse2x2(v, v)
        }

        #[inline(always)]
        unsafe fn load(p: *const f32) -> Sse2x2 {
            // SAFETY: the caller guarantees eight readable f32.
            unsafe { Sse2x2(_mm_loadu_ps(p), _mm_loadu_ps(p.add(4))) }
        }

        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Sse2x2) {
            // SAFETY: the caller guarantees eight writable f32.
            unsafe {
                _mm_storeu_ps(p, v.0);
                _mm_storeu_ps(p.add(4), v.1);
            }
        }

        #[inline(always)]
        unsafe fn load_part(p: *const f32, n: usize) -> Sse2x2 {
            // SAFETY: the caller guarantees `n` readable f32; only those are read.
            let mut lanes = [0.0f32; 8];
            for (i, lane) in lanes.iter_mut().enumerate().take(n) {
                *lane = unsafe { *p.add(i) };
            }
            // SAFETY: `lanes` holds eight f32.
            unsafe { Self::load(lanes.as_ptr()) }
        }

        #[inline(always)]
        unsafe fn store_part(p: *mut f32, v: Sse2x2, n: usize) {
            let mut lanes = [0.0f32; 8];
            // SAFETY: `lanes` holds eight f32.
            unsafe { Self::store(lanes.as_mut_ptr(), v) };
            for (i, x) in lanes.into_iter().enumerate().take(n) {
                // SAFETY: the caller guarantees `n` writable f32.
                unsafe { *p.add(i) = x };
            }
        }

        #[inline(always)]
        unsafe fn fma(a: Sse2x2, b: Sse2x2, c: Sse2x2) -> Sse2x2 {
            each!(_mm_add_ps, each!(_mm_mul_ps, a, b), c)
        }

        #[inline(always)]
        unsafe fn add(a: Sse2x2, b: Sse2x2) -> Sse2x2 {
            each!(_mm_add_ps, a, b)
        }

        #[inline(always)]
        unsafe fn sub(a: Sse2x2, b: Sse2x2) -> Sse2x2 {
            each!(_mm_sub_ps, a, b)
        }

        #[inline(always)]
        unsafe fn mul(a: Sse2x2, b: Sse2x2) -> Sse2x2 {
            each!(_mm_mul_ps, a, b)
        }

        #[inline(always)]
        unsafe fn max(a: Sse2x2, b: Sse2x2) -> Sse2x2 {
            each!(_mm_max_ps, a, b)
        }

        #[inline(always)]
        unsafe fn min(a: Sse2x2, b: Sse2x2) -> Sse2x2 {
            each!(_mm_min_ps, a, b)
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX2 and FMA: one `__m256` register per vector.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2;

    // SAFETY: every method is only reached from `#[target_feature(enable = "avx2,fma")]` functions,
    // which callers enter only after `is_x86_feature_detected!` said yes.
    unsafe impl Simd for Avx2 {
        type V = __m256;

        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }

        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }

        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }

        #[inline(always)]
        unsafe fn load_part(p: *const f32, n: usize) -> __m256 {
            // Masked-off lanes are neither read nor faulted on.
            unsafe { _mm256_maskload_ps(p, mask(n)) }
        }

        #[inline(always)]
        unsafe fn store_part(p: *mut f32, v: __m256, n: usize) {
            unsafe { _mm256_maskstore_ps(p, mask(n), v) }
        }

        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }

        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn max(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn min(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_min_ps(a, b) }
        }
    }

    /// All ones in the first `n` lanes: the lanes a masked load or store touches.
    #[inline(always)]
    unsafe fn mask(n: usize) -> __m256i {
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(n as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX-512F: one `__m512` register per vector, sixteen lanes.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx512;

    /// All ones in the first `n` lanes.
    #[inline(always)]
    fn mask(n: usize) -> __mmask16 {
        if n >= 16 { 0xffff } else { (1u16 << n) - 1 }
    }

    // SAFETY: every method is only reached from `#[target_feature(enable = "avx512f,...")]`
    // functions, which callers enter only after `has_avx512` said yes.
    unsafe impl Simd for Avx512 {
        type V = __m512;
        const LANES: usize = 16;
        const REGISTERS: usize = 32;

        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }

        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }

        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }

        #[inline(always)]
        unsafe fn load_part(p: *const f32, n: usize) -> __m512 {
            // Masked-off lanes are neither read nor faulted on.
            unsafe { _mm512_maskz_loadu_ps(mask(n), p) }
        }

        #[inline(always)]
        unsafe fn store_part(p: *mut f32, v: __m512, n: usize) {
            unsafe { _mm512_mask_storeu_ps(p, mask(n), v) }
        }

        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }

        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn max(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_max_ps(a, b) }
        }

        #[inline(always)]
        unsafe fn min(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_min_ps(a, b) }
        }
    }
}

/// True when this CPU can run the AVX-512 kernels (AVX-512F, besides AVX2 and FMA).
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx2_fma() && is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when this CPU can run the AVX2+FMA kernels.
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
