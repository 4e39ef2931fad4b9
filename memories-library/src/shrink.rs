//! Shrinking an RGB image by box averages of whole pixels, the way `image::imageops::thumbnail`
//! does, pixel for pixel, but in two passes over rows instead of one generic pixel read per source
//! pixel per output pixel.
//!
//! Every photo passes through here twice on its way into the index (the decoded frame to the
//! detector's 640 px, then to the measures' 512 px), and `thumbnail` took a fifth of indexing a
//! 10.8 MP camera JPEG. The output is the same bytes, so detections, measures and every figure
//! built on them stay as they were; a test holds the two equal.
//!
//! `thumbnail` gives output pixel `i` of an axis shrunk from `from` to `to` pixels the source
//! pixels `ceil(i r) .. ceil(i r + r)` (clamped), `r = from / to` in `f32`, and the rounded mean of
//! the block those windows make on both axes. [`windows`] repeats that arithmetic; the block sums
//! are a sum of rows into per-column totals, then a sum of columns.

use image::RgbImage;
use image::imageops;

/// `image` shrunk to `width` x `height`, equal to `imageops::thumbnail(image, width, height)`.
/// Neither side may grow, and neither may be zero.
pub fn box_average(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (from_w, from_h) = image.dimensions();
    assert!(
        (1..=from_w).contains(&width) && (1..=from_h).contains(&height),
        "box_average shrinks {from_w}x{from_h}, never grows it or empties it (asked {width}x{height})"
    );
    let (columns, rows) = (windows(from_w, width), windows(from_h, height));
    // With `to <= from` every window holds a pixel; `thumbnail` has other rules for empty ones
    // (an enlarging axis), which are left to it.
    if columns.iter().chain(&rows).any(|&(lo, hi)| lo == hi) {
        return imageops::thumbnail(image, width, height);
    }
    let src = image.as_raw();
    let stride = from_w as usize * 3;
    let mut totals = vec![0u32; stride];
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for &(top, bottom) in &rows {
        totals.fill(0);
        for y in top as usize..bottom as usize {
            let row = &src[y * stride..(y + 1) * stride];
            for (total, &value) in totals.iter_mut().zip(row) {
                *total += u32::from(value);
            }
        }
        let block_rows = bottom - top;
        for &(left, right) in &columns {
            let n = (right - left) * block_rows;
            let mut sum = [0u32; 3];
            for pixel in totals[left as usize * 3..right as usize * 3].chunks_exact(3) {
                sum[0] += pixel[0];
                sum[1] += pixel[1];
                sum[2] += pixel[2];
            }
            // `thumbnail` rounds half up: (sum + n / 2) / n, in integers.
            out.extend(sum.map(|s| ((s + n / 2) / n).min(255) as u8));
        }
    }
    RgbImage::from_raw(width, height, out).expect("width x height x 3 bytes were written")
}

/// The source pixels `lo..hi` behind each output pixel of an axis shrunk from `from` to `to`
/// pixels, computed as `imageops::thumbnail` computes them (in `f32`, so that the windows, and
/// with them the output, are the same).
fn windows(from: u32, to: u32) -> Vec<(u32, u32)> {
    let ratio = from as f32 / to as f32;
    (0..to)
        .map(|i| {
            let lo_f = i as f32 * ratio;
            let lo = (lo_f.ceil() as u32).min(from - 1);
            let hi = ((lo_f + ratio).ceil() as u32).clamp(lo, from);
            (lo, hi)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded image whose pixels differ from their neighbours, so a window one pixel off
    /// changes the mean.
    fn noise(width: u32, height: u32, seed: u64) -> RgbImage {
        let mut state = seed;
        RgbImage::from_fn(width, height, |_, _| {
            let mut byte = || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            };
            image::Rgb([byte(), byte(), byte()])
        })
    }

    #[test]
    fn equals_thumbnail_on_every_size_pair_tried() {
        // The indexing sizes (a 1/4-scaled 12 MP frame to 640 and to 512), odd and prime sides,
        // ratios just over 1 and over 8, and a side that stays the same.
        let cases = [
            ((1008, 756), (640, 480)),
            ((640, 480), (512, 384)),
            ((1152, 494), (640, 275)),
            ((383, 257), (97, 66)),
            ((641, 481), (640, 480)),
            ((1001, 13), (117, 2)),
            ((97, 300), (97, 31)),
            ((5, 7), (1, 1)),
            ((4000, 3), (480, 1)),
        ];
        for (seed, ((fw, fh), (tw, th))) in cases.into_iter().enumerate() {
            let image = noise(fw, fh, seed as u64);
            let want = imageops::thumbnail(&image, tw, th);
            let got = box_average(&image, tw, th);
            assert_eq!(got.dimensions(), (tw, th));
            let differing = got.pixels().zip(want.pixels()).filter(|(a, b)| a != b);
            assert_eq!(
                differing.count(),
                0,
                "{fw}x{fh} to {tw}x{th} differs from imageops::thumbnail"
            );
        }
    }

    #[test]
    fn a_flat_image_stays_flat_and_a_block_is_its_mean() {
        let flat = RgbImage::from_pixel(33, 17, image::Rgb([200, 3, 255]));
        assert!(
            box_average(&flat, 5, 4)
                .pixels()
                .all(|p| p.0 == [200, 3, 255])
        );
        // A 2x2 block to one pixel: red (10 + 20 + 30 + 41 + 2) / 4 = 25, blue (0 + 0 + 1 + 1 + 2)
        // / 4 = 1: half a level rounds up.
        let block = RgbImage::from_raw(2, 2, vec![10, 0, 0, 20, 0, 0, 30, 0, 1, 41, 0, 1]).unwrap();
        assert_eq!(box_average(&block, 1, 1).get_pixel(0, 0).0, [25, 0, 1]);
    }
}
