//! HEIC stills, as iPhones and most Android phones write them.
//!
//! The index wants a 640-pixel picture of a 12 MP still: [`decode_for`] gets it from
//! [`memories_media::heic`], which decodes the HEVC tiles with libavcodec and averages them
//! down before converting to RGB, at about two thirds of the cost of libheif's full decode.
//! Everything else goes through libheif: full-size pictures, thumbnails, the EXIF item, and
//! any file that reader refuses.
//!
//! libheif 1.23 is built from source by `libheif-sys` (its `embedded-libheif` feature, with
//! CMake) and decodes HEVC with the system's libde265. Debian 12's own libheif 1.15 is not used:
//! it refuses the stills of iOS 18 ("Metadata not correctly assigned to image").
//!
//! A phone's HEIC is a grid of 512x512 HEVC tiles with a rotation (`irot`) and mirror (`imir`)
//! that say how the phone shows it. libheif applies both while decoding, so the image that comes
//! back is upright, and the EXIF orientation tag (which iPhones also write, with the same
//! meaning) must not be applied again: [`crate::metadata::PhotoMeta::read`] ignores it for HEIF.

use image::RgbImage;
use libheif_rs::{ColorSpace, DecodingOptions, HeifContext, ImageHandle, LibHeif, RgbChroma};

use crate::analysis::MAX_PIXELS;

/// The primary image of a HEIF file, checked against [`MAX_PIXELS`] before anything is decoded.
fn primary(context: &HeifContext<'_>) -> Result<ImageHandle, String> {
    let handle = context
        .primary_image_handle()
        .map_err(|e| format!("corrupt or unsupported HEIC: {}", e.message))?;
    let (w, h) = (handle.width(), handle.height());
    if w == 0 || h == 0 {
        return Err("HEIC image has no pixels".to_string());
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "{w}x{h} pixels is more than the {MAX_PIXELS} allowed (decompression bomb?)"
        ));
    }
    Ok(handle)
}

fn open(bytes: &[u8]) -> Result<HeifContext<'_>, String> {
    HeifContext::read_from_bytes(bytes)
        .map_err(|e| format!("corrupt or unsupported HEIC: {}", e.message))
}

/// The upright size of the primary image (after `irot`), without decoding it.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let context = open(bytes)?;
    let handle = primary(&context)?;
    Ok((handle.width(), handle.height()))
}

/// Decodes the primary image, upright, at full size; the caller shrinks it. Returns the image
/// and its full width and height (equal to the image's own).
pub fn decode(bytes: &[u8]) -> Result<(RgbImage, u32, u32), String> {
    let context = open(bytes)?;
    let handle = primary(&context)?;
    let image = rgb(&handle)?;
    let (w, h) = image.dimensions();
    Ok((image, w, h))
}

/// Decodes the primary image, upright, for a picture at most `max_side` pixels long (the caller
/// shrinks it to that), and returns it with the full width and height.
///
/// An image at least twice that size is decoded reduced by [`memories_media::heic`], through
/// libavcodec, which costs about two thirds of libheif's full decode: `cargo bench -p memories
/// --bench phone` measures both. A file that reader does not handle (or finds broken) is
/// decoded by libheif, whose error, if any, is the one reported.
pub fn decode_for(bytes: &[u8], max_side: u32) -> Result<(RgbImage, u32, u32), String> {
    use memories_media::heic;
    let reduced = match heic::size(bytes) {
        Ok((w, h))
            if w.max(h) >= max_side.saturating_mul(2)
                && u64::from(w) * u64::from(h) <= MAX_PIXELS =>
        {
            heic::decode_reduced(bytes, max_side).ok()
        }
        _ => None,
    };
    match reduced.and_then(|r| {
        RgbImage::from_raw(r.width, r.height, r.rgb).map(|i| (i, r.full_width, r.full_height))
    }) {
        Some(decoded) => Ok(decoded),
        None => decode(bytes),
    }
}

/// Decodes `handle` (an image or a thumbnail) to upright RGB.
fn rgb(handle: &ImageHandle) -> Result<RgbImage, String> {
    // One codec thread too: libde265 otherwise starts workers of its own.
    let mut options = DecodingOptions::new().ok_or("libheif cannot make decoding options")?;
    options.set_num_codec_threads(1);
    let image = LibHeif::new()
        .decode(handle, ColorSpace::Rgb(RgbChroma::Rgb), Some(options))
        .map_err(|e| format!("corrupt or unsupported HEIC: {}", e.message))?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or("libheif returned no interleaved RGB plane")?;
    let (w, h) = (plane.width, plane.height);
    let row = w as usize * 3;
    if plane.storage_bits_per_pixel != 24 || plane.stride < row {
        return Err(format!(
            "libheif returned {} bits per pixel, stride {}, for {w} pixels a row",
            plane.storage_bits_per_pixel, plane.stride
        ));
    }
    let mut pixels = Vec::with_capacity(row * h as usize);
    for line in plane.data.chunks(plane.stride).take(h as usize) {
        pixels.extend_from_slice(&line[..row]);
    }
    RgbImage::from_raw(w, h, pixels).ok_or_else(|| "libheif returned a short image".to_string())
}

/// A small upright picture of the primary image, at most `max_side` pixels on its long side:
/// the thumbnail phones store beside the image (320x240 on iPhones, 512x384 on Samsungs) when
/// there is one at least half that size, which decodes in milliseconds, else the whole image.
pub fn thumbnail(bytes: &[u8], max_side: u32) -> Result<RgbImage, String> {
    let context = open(bytes)?;
    let handle = primary(&context)?;
    let mut ids = [0; 4];
    let count = handle.thumbnail_ids(&mut ids);
    let small = ids[..count]
        .iter()
        .filter_map(|&id| handle.thumbnail(id).ok())
        .find(|t| t.width().max(t.height()) >= max_side / 2);
    let image = match small {
        Some(thumbnail) => rgb(&thumbnail)?,
        None => rgb(&handle)?,
    };
    Ok(crate::analysis::shrink(image, max_side))
}

/// The EXIF block of the primary image as TIFF data (what follows the 4-byte header offset that
/// HEIF puts in front of it), or `None` when there is none or the file cannot be read. Where
/// the block lies in the file does not matter (one test file keeps it in its last bytes).
pub fn exif(bytes: &[u8]) -> Option<Vec<u8>> {
    let context = open(bytes).ok()?;
    let handle = context.primary_image_handle().ok()?;
    let mut ids = [0; 4];
    let count = handle.metadata_block_ids(&mut ids, b"Exif");
    ids[..count].iter().find_map(|&id| {
        let block = handle.metadata(id).ok()?;
        let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
        let tiff = block.get(4usize.checked_add(offset)?..)?;
        (tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*")).then(|| tiff.to_vec())
    })
}
