//! JPEG decoding at reduced size with libjpeg-turbo's decoder, as MozJPEG carries it (built from
//! source by the `mozjpeg-sys` crate; `nasm`, when present, gives it its SIMD kernels).
//!
//! `benches/jpeg` chose it (issue 19): on the camera JPEGs of 8 MP or more it takes two thirds
//! of `jpeg-decoder`'s time to the same 640 px, the same as libjpeg-turbo 3 through TurboJPEG
//! (which needs cmake to build), where `zune-jpeg`, with no DCT scaling, takes 1.5 times as
//! long; and it agrees with a full decode on every JPEG in `../shared/data`.
//!
//! The image is scaled in the DCT domain to 1/2, 1/4 or 1/8 of full size, the smallest that still
//! covers `max_side`; the caller shrinks the rest of the way.
//!
//! **Errors.** libjpeg reports a fatal error through `error_exit`, which here unwinds (with
//! `resume_unwind`, so no panic message is printed) to [`decode`], which catches it. A warning
//! that the entropy-coded data is corrupt is fatal too: the rest of the picture would be garbage,
//! and such a photo is listed as skipped rather than shown. A file that merely ends early (a cut
//! copy) decodes, grey where the data is missing, and so do the harmless warnings (extra bytes
//! between markers, an unknown JFIF revision or Adobe transform).

use std::cell::Cell;
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use image::RgbImage;
use mozjpeg::ColorSpace;
use mozjpeg_sys as ffi;

/// A JPEG decoded to RGB at reduced size, with its full size from the header.
#[derive(Debug)]
pub struct Scaled {
    pub image: RgbImage,
    pub full_width: u32,
    pub full_height: u32,
}

/// What [`decode`] made of a JPEG.
#[derive(Debug)]
pub enum Decoded {
    Rgb(Scaled),
    /// CMYK or YCCK (print workflows): libjpeg does not convert them to RGB, so the caller
    /// decodes them another way.
    Cmyk,
}

/// Decodes `bytes` to RGB, downscaled in the DCT domain to the smallest of 1/1, 1/2, 1/4 and 1/8
/// whose long side is still at least `max_side`. The error is libjpeg's message, or the warning
/// that made the data corrupt.
pub fn decode(bytes: &[u8], max_side: u32) -> Result<Decoded, String> {
    REACHED_END.set(false);
    let result = catch_unwind(AssertUnwindSafe(|| decode_unguarded(bytes, max_side)));
    result.unwrap_or_else(|payload| {
        Err(payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the JPEG decoder failed".to_string()))
    })
}

fn decode_unguarded(bytes: &[u8], max_side: u32) -> Result<Decoded, String> {
    let mut decoder = mozjpeg::Decompress::builder()
        .with_err(error_manager())
        .from_mem(bytes)
        .map_err(|e| e.to_string())?;
    if matches!(
        decoder.color_space(),
        ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
    ) {
        return Ok(Decoded::Cmyk);
    }
    let (full_width, full_height) = (decoder.width() as u32, decoder.height() as u32);
    decoder.scale(eighths(full_width.max(full_height), max_side));
    let mut started = decoder.rgb().map_err(|e| e.to_string())?;
    let (width, height) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(|e| e.to_string())?;
    started.finish().map_err(|e| e.to_string())?;
    let image = RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| "the decoder returned fewer pixels than the image has".to_string())?;
    Ok(Decoded::Rgb(Scaled {
        image,
        full_width,
        full_height,
    }))
}

/// The DCT scale in eighths (8, 4, 2 or 1; the factors with SIMD kernels) whose output still has
/// a long side of at least `side`: libjpeg rounds scaled sizes up.
fn eighths(long: u32, side: u32) -> u8 {
    let mut n = 8u8;
    while n > 1 && (u64::from(long) * u64::from(n / 2)).div_ceil(8) >= u64::from(side) {
        n /= 2;
    }
    n
}

thread_local! {
    /// Whether the decoding on this thread has run out of data: the "premature end of data
    /// segment" warning that follows is then the truncation, not corruption.
    static REACHED_END: Cell<bool> = const { Cell::new(false) };
}

/// libjpeg's warnings that mean the entropy-coded data is corrupt.
const CORRUPT: [ffi::J_MESSAGE_CODE; 5] = [
    ffi::JWRN_HIT_MARKER,
    ffi::JWRN_HUFF_BAD_CODE,
    ffi::JWRN_MUST_RESYNC,
    ffi::JWRN_NOT_SEQUENTIAL,
    ffi::JWRN_BOGUS_PROGRESSION,
];

fn error_manager() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills in every field of a zeroed error manager (plain C data).
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    // SAFETY: `err` is a valid, exclusively borrowed error manager.
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// libjpeg's text for the current message, from its own formatter.
fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    /// jpeglib.h's JMSG_LENGTH_MAX: the buffer size `format_message` may fill.
    const JMSG_LENGTH_MAX: usize = 200;
    let mut buffer = [0u8; JMSG_LENGTH_MAX];
    // SAFETY: libjpeg calls the handlers with its error manager installed in `cinfo`.
    let Some(format) = (unsafe { (*cinfo.err).format_message }) else {
        return "corrupt JPEG data".to_string();
    };
    // The binding declares the buffer as 80 bytes; libjpeg writes up to JMSG_LENGTH_MAX, so it
    // gets a buffer of that size through a pointer of the same ABI.
    type Format = unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8);
    // SAFETY: the two function types differ only in the pointee type of the buffer pointer.
    let format: Format = unsafe { std::mem::transmute(format) };
    // SAFETY: `buffer` holds JMSG_LENGTH_MAX bytes, as libjpeg requires.
    unsafe { format(cinfo, buffer.as_mut_ptr()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Fatal errors unwind to [`decode`] (which catches them) instead of calling `exit`.
extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    resume_unwind(Box::new(message(cinfo)));
}

/// Trace messages (level >= 0) are dropped; a warning (level -1) that the data is corrupt is
/// made fatal, unless it only follows from the file ending early.
extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level >= 0 {
        return;
    }
    // SAFETY: libjpeg calls the handlers with its error manager installed in `cinfo`.
    let code = unsafe { (*cinfo.err).msg_code };
    if code == ffi::JWRN_JPEG_EOF {
        REACHED_END.set(true);
    } else if CORRUPT.contains(&code) && !(code == ffi::JWRN_HIT_MARKER && REACHED_END.get()) {
        resume_unwind(Box::new(message(cinfo)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageFormat};

    /// A JPEG of a textured `w`x`h` picture (so that every block has entropy-coded data).
    fn jpeg(w: u32, h: u32, grey: bool) -> Vec<u8> {
        let rgb = RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 13) ^ (x * y)) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        });
        let image = if grey {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).into_luma8())
        } else {
            DynamicImage::ImageRgb8(rgb)
        };
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    fn decoded(bytes: &[u8], max_side: u32) -> Scaled {
        match decode(bytes, max_side).unwrap() {
            Decoded::Rgb(scaled) => scaled,
            Decoded::Cmyk => panic!("not CMYK"),
        }
    }

    #[test]
    fn decodes_at_the_smallest_dct_scale_that_covers_the_side() {
        let bytes = jpeg(1200, 800, false);
        let d = decoded(&bytes, 256);
        // 1/4 gives 300x200 (>= 256); 1/8 would give 150x100.
        assert_eq!(
            (
                d.image.width(),
                d.image.height(),
                d.full_width,
                d.full_height
            ),
            (300, 200, 1200, 800)
        );
        let d = decoded(&bytes, 2000);
        assert_eq!((d.image.width(), d.image.height()), (1200, 800));
    }

    #[test]
    fn greyscale_comes_out_as_rgb() {
        let d = decoded(&jpeg(64, 48, true), 64);
        assert_eq!((d.image.width(), d.image.height()), (64, 48));
        assert!(d.image.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    }

    #[test]
    fn a_cut_copy_decodes_and_a_corrupt_scan_does_not() {
        let bytes = jpeg(256, 256, false);
        let cut = decoded(&bytes[..bytes.len() * 2 / 3], 256);
        assert_eq!((cut.image.width(), cut.image.height()), (256, 256));
        // The missing bottom is grey (libjpeg fills it with mid-grey).
        let bottom = cut.image.get_pixel(128, 250);
        assert!(bottom.0.iter().all(|&c| c.abs_diff(128) <= 2), "{bottom:?}");

        // A restart marker in the middle of the scan, where none is expected.
        let mut corrupt = bytes.clone();
        let middle = bytes.len() / 2;
        corrupt[middle] = 0xFF;
        corrupt[middle + 1] = 0xD3;
        let err = decode(&corrupt, 256).unwrap_err();
        assert!(err.contains("Corrupt JPEG data"), "{err}");

        // Cut inside the header: libjpeg's fatal error, as a message.
        let err = decode(&bytes[..100], 256).unwrap_err();
        assert!(!err.is_empty(), "{err}");
        // The flag for the cut copy does not leak into the next decoding on this thread.
        assert!(decode(&corrupt, 256).is_err());
    }

    #[test]
    fn not_a_jpeg_is_an_error() {
        let err = decode(b"GIF89a and so on", 64).unwrap_err();
        assert!(err.contains("Not a JPEG"), "{err}");
    }

    #[test]
    fn scale_is_the_smallest_that_covers_the_side() {
        assert_eq!(eighths(4000, 640), 2); // 1000 px; 1/8 would give 500
        assert_eq!(eighths(5120, 640), 1); // exactly 640
        assert_eq!(eighths(5121, 640), 1); // 641 (rounded up)
        assert_eq!(eighths(1279, 640), 4); // 1/2 gives 640 (639.5 rounded up)
        assert_eq!(eighths(1278, 640), 8); // 1/2 would give 639
        assert_eq!(eighths(600, 640), 8);
    }
}
