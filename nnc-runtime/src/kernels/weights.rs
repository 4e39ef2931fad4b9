//! Weight storage for generated code: aligned statics, and f16 widened once at start-up.

/// Aligns a `static` so that packed weights start on a cache line.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct Aligned<T: ?Sized>(pub T);

/// Widens little-endian f16 values (`src`, two bytes each) into `dst`, with F16C where the CPU
/// has it.
///
/// # Panics
/// When `src` does not hold exactly `2 * dst.len()` bytes.
pub fn f16_to_f32(src: &[u8], dst: &mut [f32]) {
    assert_eq!(
        src.len(),
        2 * dst.len(),
        "f16 source and f32 destination lengths disagree"
    );
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("f16c") && is_x86_feature_detected!("avx") {
        // SAFETY: the features were just detected; lengths were checked above.
        unsafe { f16_to_f32_f16c(src, dst) };
        return;
    }
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
        *d = half::f16::from_le_bytes([s[0], s[1]]).to_f32();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c,avx")]
unsafe fn f16_to_f32_f16c(src: &[u8], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let whole = dst.len() / 8 * 8;
    for i in (0..whole).step_by(8) {
        // SAFETY: 8 halves (16 bytes) at 2*i and 8 floats at i are inside the checked lengths.
        unsafe {
            let halves = _mm_loadu_si128(src.as_ptr().add(2 * i).cast());
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(halves));
        }
    }
    for i in whole..dst.len() {
        dst[i] = half::f16::from_le_bytes([src[2 * i], src[2 * i + 1]]).to_f32();
    }
}
