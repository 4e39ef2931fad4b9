//! Composing frames from decoded photos: sampling a crop into the frame, transitions and fades.
//!
//! Everything works on packed RGB8 buffers with integer arithmetic. Sampling is bilinear with
//! 8-bit subpixel weights, so a crop that moves by a fraction of a pixel per frame moves
//! smoothly; the per-column source positions are computed once per frame, the three channels
//! of a pixel are interpolated together in one 64-bit integer, and rows are spread over
//! rayon's threads.

use image::RgbImage;
use rayon::prelude::*;

use super::motion::{Rect, ease};
use super::theme::TransitionKind;

/// Rows per rayon task: enough work per task that scheduling costs nothing measurable.
const ROWS_PER_TASK: usize = 8;

/// An image ready for sampling: one `u32` per pixel (`r | g << 8 | b << 16`), so a bilinear tap
/// is one load and the three channels are interpolated together in one 64-bit integer.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub width: usize,
    pub height: usize,
    pixels: Vec<u32>,
}

impl Packed {
    pub fn from_rgb(image: &RgbImage) -> Packed {
        Packed {
            width: image.width() as usize,
            height: image.height() as usize,
            pixels: image
                .as_raw()
                .chunks_exact(3)
                .map(|p| u32::from(p[0]) | u32::from(p[1]) << 8 | u32::from(p[2]) << 16)
                .collect(),
        }
    }
}

/// Spreads a packed pixel's three bytes into 16-bit lanes of a `u64`, so that a weighted sum
/// of two pixels (weights summing to 256) never carries from one channel into the next.
fn spread(p: u32) -> u64 {
    let p = u64::from(p);
    (p & 0xff) | (p & 0xff00) << 8 | (p & 0xff_0000) << 16
}

/// Lanes of [`spread`]: the low byte of each 16-bit lane.
const LANES: u64 = 0x00ff_00ff_00ff;
/// Half of 256 in each lane: rounds a `>> 8` to nearest.
const HALF: u64 = 0x0080_0080_0080;

/// `a` and `b` (spread pixels) mixed with weights `wa + wb = 256`, rounded, still spread.
fn lerp(a: u64, b: u64, wa: u64, wb: u64) -> u64 {
    ((a * wa + b * wb + HALF) >> 8) & LANES
}

/// Fills `out` (`width` x `height` RGB8) with the part `crop` of `src`, in `src`'s pixels,
/// scaled bilinearly. Samples outside the image repeat its edge pixels, but the motion planner
/// never asks for a crop outside the photo.
pub fn sample(src: &Packed, crop: Rect, out: &mut [u8], width: usize, height: usize) {
    let (sw, sh) = (src.width, src.height);
    assert_eq!(out.len(), width * height * 3, "frame buffer size");
    assert!(sw > 0 && sh > 0, "source image has pixels");
    // Pixel centres: output pixel x covers crop.x + (x + 0.5) * step in source pixels, whose
    // centres sit at whole numbers + 0.5.
    let taps = |start: f32, extent: f32, n: usize, limit: usize| -> Vec<(usize, usize, u64)> {
        let step = extent / n as f32;
        (0..n)
            .map(|i| {
                let pos = (start + (i as f32 + 0.5) * step - 0.5).clamp(0.0, (limit - 1) as f32);
                let i0 = pos as usize;
                let frac = ((pos - i0 as f32) * 256.0).round() as u64;
                (i0, (i0 + 1).min(limit - 1), frac)
            })
            .collect()
    };
    let columns = taps(crop.x, crop.w, width, sw);
    let rows = taps(crop.y, crop.h, height, sh);
    out.par_chunks_mut(width * 3 * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, chunk)| {
            for (r, row) in chunk.chunks_exact_mut(width * 3).enumerate() {
                let (y0, y1, fy) = rows[task * ROWS_PER_TASK + r];
                let top = &src.pixels[y0 * sw..(y0 + 1) * sw];
                let bottom = &src.pixels[y1 * sw..(y1 + 1) * sw];
                let (wy0, wy1) = (256 - fy, fy);
                for (px, &(x0, x1, fx)) in row.chunks_exact_mut(3).zip(&columns) {
                    let (wx0, wx1) = (256 - fx, fx);
                    let t = lerp(spread(top[x0]), spread(top[x1]), wx0, wx1);
                    let b = lerp(spread(bottom[x0]), spread(bottom[x1]), wx0, wx1);
                    let v = lerp(t, b, wy0, wy1);
                    px[0] = v as u8;
                    px[1] = (v >> 16) as u8;
                    px[2] = (v >> 32) as u8;
                }
            }
        });
}

/// `a` mixed with `b` by `weight` of 256.
fn mix(a: u8, b: u8, weight: u32) -> u8 {
    ((u32::from(a) * (256 - weight) + u32::from(b) * weight + 128) >> 8) as u8
}

fn weight(t: f32) -> u32 {
    (t.clamp(0.0, 1.0) * 256.0).round() as u32
}

/// Bytes per rayon task in the whole-frame blends.
const BLEND_CHUNK: usize = 64 * 1024;

/// Eight bytes of `a` mixed with eight of `b`, four at a time in 16-bit lanes (even bytes, then
/// odd bytes), the same rounding as [`mix`].
fn mix8(a: u64, b: u64, weight: u64) -> u64 {
    const EVEN: u64 = 0x00ff_00ff_00ff_00ff;
    const HALF: u64 = 0x0080_0080_0080_0080;
    let inverse = 256 - weight;
    let even = (((a & EVEN) * inverse + (b & EVEN) * weight + HALF) >> 8) & EVEN;
    let odd = ((((a >> 8) & EVEN) * inverse + ((b >> 8) & EVEN) * weight + HALF) >> 8) & EVEN;
    even | odd << 8
}

/// `out[i] = mix(a[i], b[i], weight)` for whole slices, eight bytes per step.
fn mix_slices(a: &[u8], b: &[u8], weight: u32, out: &mut [u8]) {
    let w = u64::from(weight);
    let mut o8 = out.chunks_exact_mut(8);
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    for ((o, a), b) in (&mut o8).zip(&mut a8).zip(&mut b8) {
        let word = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
        o.copy_from_slice(&mix8(word(a), word(b), w).to_le_bytes());
    }
    for ((o, &a), &b) in o8
        .into_remainder()
        .iter_mut()
        .zip(a8.remainder())
        .zip(b8.remainder())
    {
        *o = mix(a, b, weight);
    }
}

/// `out = a` mixed toward `b` by `t` (0 gives `a`, 1 gives `b`).
pub fn crossfade(a: &[u8], b: &[u8], t: f32, out: &mut [u8]) {
    let w = weight(t);
    out.par_chunks_mut(BLEND_CHUNK)
        .zip(a.par_chunks(BLEND_CHUNK).zip(b.par_chunks(BLEND_CHUNK)))
        .for_each(|(o, (a, b))| mix_slices(a, b, w, o));
}

/// Darkens (or brightens toward `level`) the whole frame in place: `t` 0 leaves it, 1 makes it
/// all `level`.
pub fn toward_level(frame: &mut [u8], level: u8, t: f32) {
    let w = weight(t);
    if w == 0 {
        return;
    }
    let level8 = u64::from_le_bytes([level; 8]);
    frame.par_chunks_mut(BLEND_CHUNK).for_each(|chunk| {
        let mut words = chunk.chunks_exact_mut(8);
        for word in &mut words {
            let a = u64::from_le_bytes((&*word).try_into().expect("8 bytes"));
            word.copy_from_slice(&mix8(a, level8, u64::from(w)).to_le_bytes());
        }
        for v in words.into_remainder() {
            *v = mix(*v, level, w);
        }
    });
}

/// The layers a transition needs at `t`: a dip shows only one picture at a time.
pub fn needs(kind: TransitionKind, t: f32) -> (bool, bool) {
    match kind {
        TransitionKind::DipToBlack | TransitionKind::DipToWhite => (t < 0.5, t >= 0.5),
        TransitionKind::Crossfade | TransitionKind::Push => (true, true),
    }
}

/// Composes a transition `t` of the way from frame `a` to frame `b` into `out`. For dips, only
/// the layer [`needs`] asks for is read (the other may hold anything).
pub fn transition(kind: TransitionKind, a: &[u8], b: &[u8], t: f32, width: usize, out: &mut [u8]) {
    match kind {
        TransitionKind::Crossfade => crossfade(a, b, t, out),
        TransitionKind::DipToBlack | TransitionKind::DipToWhite => {
            let level = if kind == TransitionKind::DipToBlack {
                0
            } else {
                255
            };
            if t < 0.5 {
                out.copy_from_slice(a);
                toward_level(out, level, t * 2.0);
            } else {
                out.copy_from_slice(b);
                toward_level(out, level, 2.0 - t * 2.0);
            }
        }
        TransitionKind::Push => {
            // The new picture enters from the right; eased so the push starts and lands softly.
            let shift = ((ease(t) * width as f32).round() as usize).min(width) * 3;
            let row = width * 3;
            out.par_chunks_mut(row)
                .zip(a.par_chunks(row).zip(b.par_chunks(row)))
                .for_each(|(o, (a, b))| {
                    o[..row - shift].copy_from_slice(&a[shift..]);
                    o[row - shift..].copy_from_slice(&b[..shift]);
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / (w - 1)) as u8, (y * 255 / (h - 1)) as u8, 77])
        })
    }

    #[test]
    fn sampling_the_whole_image_at_its_size_copies_it() {
        let image = gradient(64, 36);
        let src = Packed::from_rgb(&image);
        let mut out = vec![0; 64 * 36 * 3];
        let whole = Rect {
            x: 0.0,
            y: 0.0,
            w: 64.0,
            h: 36.0,
        };
        sample(&src, whole, &mut out, 64, 36);
        assert_eq!(out, image.as_raw().as_slice());
    }

    #[test]
    fn sampling_is_subpixel_and_stays_in_the_image() {
        let src = Packed::from_rgb(&gradient(256, 2));
        let mut out = vec![0; 16 * 2 * 3];
        let mut reds = Vec::new();
        // A crop sliding by a tenth of a pixel moves the red ramp by a tenth of a step.
        for i in 0..10 {
            let crop = Rect {
                x: 10.0 + i as f32 * 0.1,
                y: 0.0,
                w: 16.0,
                h: 2.0,
            };
            sample(&src, crop, &mut out, 16, 2);
            reds.push(out[3 * 8]);
        }
        assert!(reds.windows(2).all(|p| p[0] <= p[1]), "{reds:?}");
        assert!(reds[9] > reds[0], "{reds:?}");
        // Edges are repeated, never black.
        let far = Rect {
            x: 250.0,
            y: 0.0,
            w: 6.0,
            h: 2.0,
        };
        sample(&src, far, &mut out, 16, 2);
        assert!(out.chunks(3).all(|p| p[0] >= 240));
    }

    /// Two pictures with structure: no two pixels of one row alike, rows unlike each other, and
    /// the pictures unlike each other, so that wherever a pixel ends up can be told apart.
    fn two_pictures(w: usize, h: usize) -> (Vec<u8>, Vec<u8>) {
        let picture = |seed: usize| -> Vec<u8> {
            (0..w * h * 3)
                .map(|i| ((i / 3 % w) * 13 + (i / 3 / w) * 71 + (i % 3) * 37 + seed) as u8)
                .collect()
        };
        (picture(5), picture(130))
    }

    /// By how many pixels a push has moved: the `s` for which every row of `out` is the old
    /// row's last `w - s` pixels followed by the new row's first `s`; `None` when no shift
    /// explains the frame.
    fn push_shift(out: &[u8], a: &[u8], b: &[u8], w: usize) -> Option<usize> {
        let row = w * 3;
        (0..=w).find(|&s| {
            let (kept, entered) = (row - s * 3, s * 3);
            out.chunks(row)
                .zip(a.chunks(row).zip(b.chunks(row)))
                .all(|(o, (a, b))| o[..kept] == a[entered..] && o[kept..] == b[..entered])
        })
    }

    fn check_endpoints(kind: TransitionKind) {
        let (w, h) = (16, 4);
        let (a, b) = two_pictures(w, h);
        let mut out = vec![0u8; w * h * 3];
        transition(kind, &a, &b, 0.0, w, &mut out);
        assert_eq!(out, a, "{kind:?} starts on the old picture");
        transition(kind, &a, &b, 1.0, w, &mut out);
        assert_eq!(out, b, "{kind:?} ends on the new picture");
        transition(kind, &a, &b, 0.5, w, &mut out);
        match kind {
            TransitionKind::DipToBlack => assert!(out.iter().all(|&v| v == 0)),
            TransitionKind::DipToWhite => assert!(out.iter().all(|&v| v == 255)),
            TransitionKind::Crossfade => {
                for ((&o, &a), &b) in out.iter().zip(&a).zip(&b) {
                    let mean = (i32::from(a) + i32::from(b)) / 2;
                    assert!((i32::from(o) - mean).abs() <= 1);
                }
            }
            TransitionKind::Push => {
                // Half-way, on every row, the left half shows the old picture's right half
                // (pushed left, not covered) and the right half the new picture's left half.
                let row = w * 3;
                for (y, o) in out.chunks(row).enumerate() {
                    let old = &a[y * row..(y + 1) * row];
                    let new = &b[y * row..(y + 1) * row];
                    assert_eq!(&o[..row / 2], &old[row / 2..], "row {y}: the old picture");
                    assert_eq!(&o[row / 2..], &new[..row / 2], "row {y}: the new picture");
                }
                // All the way through, both pictures move together, never back, and the
                // push starts and lands softly (eased): the first and last tenths of the time
                // move less than a tenth of the width.
                let mut shifts = Vec::new();
                for i in 0..=20 {
                    let t = i as f32 / 20.0;
                    transition(kind, &a, &b, t, w, &mut out);
                    let shift = push_shift(&out, &a, &b, w);
                    shifts.push(shift.unwrap_or_else(|| panic!("t {t}: not a push: {out:?}")));
                }
                assert!(shifts.windows(2).all(|s| s[0] <= s[1]), "{shifts:?}");
                assert_eq!(
                    (shifts[0], shifts[10], shifts[20]),
                    (0, w / 2, w),
                    "{shifts:?}"
                );
                assert!(shifts[2] < w / 10 && shifts[18] > w - w / 10, "{shifts:?}");
            }
        }
    }

    #[test]
    fn eight_byte_mixing_equals_byte_mixing() {
        let a: Vec<u8> = (0..1003).map(|i| (i * 37 % 256) as u8).collect();
        let b: Vec<u8> = (0..1003).map(|i| (i * 91 % 256) as u8).collect();
        for weight in [0, 1, 77, 128, 200, 255, 256] {
            let mut out = vec![0; a.len()];
            mix_slices(&a, &b, weight, &mut out);
            let expect: Vec<u8> = a.iter().zip(&b).map(|(&a, &b)| mix(a, b, weight)).collect();
            assert_eq!(out, expect, "weight {weight}");
        }
    }

    #[test]
    fn transitions_blend_correctly_at_their_ends() {
        for kind in [
            TransitionKind::Crossfade,
            TransitionKind::DipToBlack,
            TransitionKind::DipToWhite,
            TransitionKind::Push,
        ] {
            check_endpoints(kind);
        }
    }
}
