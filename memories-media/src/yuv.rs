//! RGB8 (sRGB, full range) to limited-range Y'CbCr 4:2:0 with BT.709 coefficients, the form the
//! H.264 stream is tagged with (`colour_primaries`, `transfer_characteristics` and
//! `matrix_coefficients` 1, `video_full_range_flag` 0). Browsers decode untagged or mis-tagged
//! HD video as BT.709 limited range anyway, so converting with BT.601 or full range would shift
//! colours or crush blacks.

use openh264::formats::YUVSource;

/// Fixed-point scale of the coefficients: 16 fractional bits keep every result within half a
/// code value of the exact formula.
const SHIFT: u32 = 16;
const ONE: f64 = (1 << SHIFT) as f64;
const KR: f64 = 0.2126;
const KB: f64 = 0.0722;
const KG: f64 = 1.0 - KR - KB;
/// Limited range: luma spans 16..=235 (219 steps), chroma 16..=240 (224 steps) around 128.
const LUMA_SCALE: f64 = 219.0 / 255.0;
const CHROMA_SCALE: f64 = 224.0 / 255.0;

const fn fixed(x: f64) -> i32 {
    let scaled = x * ONE;
    (if scaled < 0.0 {
        scaled - 0.5
    } else {
        scaled + 0.5
    }) as i32
}

const Y_R: i32 = fixed(KR * LUMA_SCALE);
const Y_G: i32 = fixed(KG * LUMA_SCALE);
const Y_B: i32 = fixed(KB * LUMA_SCALE);
// Cb = (B' - Y') / (2 (1 - Kb)), Cr = (R' - Y') / (2 (1 - Kr)).
const CB_R: i32 = fixed(-KR / (2.0 * (1.0 - KB)) * CHROMA_SCALE);
const CB_G: i32 = fixed(-KG / (2.0 * (1.0 - KB)) * CHROMA_SCALE);
const CB_B: i32 = fixed(0.5 * CHROMA_SCALE);
const CR_R: i32 = fixed(0.5 * CHROMA_SCALE);
const CR_G: i32 = fixed(-KG / (2.0 * (1.0 - KR)) * CHROMA_SCALE);
const CR_B: i32 = fixed(-KB / (2.0 * (1.0 - KR)) * CHROMA_SCALE);
const HALF: i32 = 1 << (SHIFT - 1);

/// One planar 4:2:0 picture; width and height are even.
#[derive(Debug, Clone)]
pub struct Yuv420 {
    width: usize,
    height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Yuv420 {
    pub fn new(width: usize, height: usize) -> Yuv420 {
        debug_assert!(width.is_multiple_of(2) && height.is_multiple_of(2));
        let chroma = (width / 2) * (height / 2);
        Yuv420 {
            width,
            height,
            y: vec![16; width * height],
            u: vec![128; chroma],
            v: vec![128; chroma],
        }
    }

    /// Overwrites the picture with `rgb` (`width * height * 3` bytes, row-major). Chroma is
    /// taken from the average of each 2x2 block (centre-sited, as MPEG-1 and JPEG; the
    /// half-pixel difference to H.264's left siting is invisible at these sizes).
    pub fn fill_from_rgb(&mut self, rgb: &[u8]) {
        let (w, h) = (self.width, self.height);
        assert_eq!(rgb.len(), w * h * 3, "RGB frame size");
        let half_w = w / 2;
        for row_pair in 0..h / 2 {
            let top = &rgb[(2 * row_pair) * w * 3..(2 * row_pair + 1) * w * 3];
            let bottom = &rgb[(2 * row_pair + 1) * w * 3..(2 * row_pair + 2) * w * 3];
            let (y_top, y_rest) = self.y[2 * row_pair * w..].split_at_mut(w);
            let y_bottom = &mut y_rest[..w];
            let u_row = &mut self.u[row_pair * half_w..(row_pair + 1) * half_w];
            let v_row = &mut self.v[row_pair * half_w..(row_pair + 1) * half_w];
            for x in 0..half_w {
                let mut sum = [0i32; 3];
                for (rgb_row, y_row) in [(top, &mut *y_top), (bottom, &mut *y_bottom)] {
                    for dx in 0..2 {
                        let px = &rgb_row[(2 * x + dx) * 3..(2 * x + dx) * 3 + 3];
                        let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
                        y_row[2 * x + dx] = luma(r, g, b);
                        sum[0] += r;
                        sum[1] += g;
                        sum[2] += b;
                    }
                }
                // Sums of four samples: two more fractional bits, folded into the shift.
                let (r, g, b) = (sum[0], sum[1], sum[2]);
                u_row[x] = chroma(CB_R * r + CB_G * g + CB_B * b);
                v_row[x] = chroma(CR_R * r + CR_G * g + CR_B * b);
            }
        }
    }
}

fn luma(r: i32, g: i32, b: i32) -> u8 {
    ((Y_R * r + Y_G * g + Y_B * b + (16 << SHIFT) + HALF) >> SHIFT) as u8
}

/// `weighted` is the chroma sum of four pixels in 16.16 fixed point.
fn chroma(weighted: i32) -> u8 {
    ((weighted + (128 << (SHIFT + 2)) + (HALF << 2)) >> (SHIFT + 2)).clamp(16, 240) as u8
}

impl YUVSource for Yuv420 {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }

    fn y(&self) -> &[u8] {
        &self.y
    }

    fn u(&self) -> &[u8] {
        &self.u
    }

    fn v(&self) -> &[u8] {
        &self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
        let mut yuv = Yuv420::new(2, 2);
        yuv.fill_from_rgb(&[r, g, b].repeat(4));
        (yuv.y[0], yuv.u[0], yuv.v[0])
    }

    #[test]
    fn black_white_and_primaries_land_on_the_bt709_limited_range_codes() {
        // Reference values: ITU-R BT.709-6 with 8-bit limited range quantisation.
        assert_eq!(convert(0, 0, 0), (16, 128, 128));
        assert_eq!(convert(255, 255, 255), (235, 128, 128));
        assert_eq!(convert(255, 0, 0), (63, 102, 240));
        assert_eq!(convert(0, 255, 0), (173, 42, 26));
        assert_eq!(convert(0, 0, 255), (32, 240, 118));
    }

    #[test]
    fn chroma_is_the_average_of_each_two_by_two_block() {
        let mut yuv = Yuv420::new(4, 2);
        // Left block: two red and two blue pixels; right block: all grey.
        #[rustfmt::skip]
        let rgb = [
            255, 0, 0,  0, 0, 255,  128, 128, 128,  128, 128, 128,
            0, 0, 255,  255, 0, 0,  128, 128, 128,  128, 128, 128,
        ];
        yuv.fill_from_rgb(&rgb);
        assert_eq!(yuv.y, [63, 32, 126, 126, 32, 63, 126, 126]);
        // Average of red (102, 240) and blue (240, 118) chroma.
        assert_eq!((yuv.u[0], yuv.v[0]), (171, 179));
        assert_eq!((yuv.u[1], yuv.v[1]), (128, 128));
    }
}
