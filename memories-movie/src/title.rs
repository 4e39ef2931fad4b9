//! Text on frames: the title card that opens a movie and the caption of its poster.
//!
//! Text is rasterized with `ab_glyph` from DejaVu Sans (bold for titles, book for the lines
//! under them), bundled as Latin subsets in `memories-movie/assets` (licence in
//! `memories-movie/assets/FONTS.md`), so a movie looks the same on every machine and needs no system
//! fonts. Titles sit over a blurred, darkened copy of the first photo: white text on a dark,
//! featureless background is legible whatever the photo.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::RgbImage;
use image::imageops;

use super::compose::{Packed, sample, toward_level};
use super::motion::Rect;

static BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold-subset.ttf");
static BOOK: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// The words on a title card or poster: a title and a few smaller lines (dates, place).
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    pub title: String,
    pub lines: Vec<String>,
}

fn font(bytes: &'static [u8]) -> FontRef<'static> {
    FontRef::try_from_slice(bytes).expect("the bundled font is a valid TrueType file")
}

/// Width in pixels of `text` set in `font` at `size` pixels.
fn measure(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

/// A frame being drawn on.
struct Canvas<'a> {
    rgb: &'a mut [u8],
    width: usize,
    height: usize,
}

impl Canvas<'_> {
    /// Draws `text` from `x` on baseline `baseline` in `colour` at `opacity`, blending each pixel
    /// by the glyph's coverage so edges are anti-aliased.
    #[allow(clippy::too_many_arguments)] // reason: each is one plain property of the text run
    fn text(
        &mut self,
        font: &FontRef<'_>,
        size: f32,
        text: &str,
        x: f32,
        baseline: f32,
        colour: [u8; 3],
        opacity: f32,
    ) {
        let scaled = font.as_scaled(PxScale::from(size));
        let mut caret = x;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, baseline));
            caret += scaled.h_advance(id);
            previous = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if px < 0 || py < 0 || px >= self.width as i64 || py >= self.height as i64 {
                    return;
                }
                let at = (py as usize * self.width + px as usize) * 3;
                let a = (coverage * opacity).clamp(0.0, 1.0);
                for (c, &target) in colour.iter().enumerate() {
                    let v = f32::from(self.rgb[at + c]);
                    self.rgb[at + c] = (v + (f32::from(target) - v) * a).round() as u8;
                }
            });
        }
    }

    /// White text with a soft dark shadow below-right, which keeps it readable over any light
    /// patch left in the background.
    fn shadowed(&mut self, font: &FontRef<'_>, size: f32, text: &str, x: f32, baseline: f32) {
        let offset = (size * 0.045).max(1.0);
        self.text(
            font,
            size,
            text,
            x + offset,
            baseline + offset,
            [0, 0, 0],
            0.55,
        );
        self.text(font, size, text, x, baseline, [255, 255, 255], 1.0);
    }
}

/// The largest size up to `size` at which `text` fits in `max_width` pixels.
fn fitted(font: &FontRef<'_>, size: f32, text: &str, max_width: f32) -> f32 {
    let width = measure(font, size, text);
    if width <= max_width {
        size
    } else {
        size * max_width / width
    }
}

/// The title card: `background` (a frame-sized picture, usually the first photo's framing)
/// blurred and darkened, with the caption centred on it. Returns packed RGB8.
pub fn title_card(background: &[u8], width: usize, height: usize, caption: &Caption) -> Vec<u8> {
    let mut frame = blurred(background, width, height);
    toward_level(&mut frame, 0, 0.5);
    let (bold, book) = (font(BOLD), font(BOOK));
    let h = height as f32;
    let max_width = width as f32 * 0.88;
    let title_size = fitted(&bold, h * 0.085, &caption.title, max_width);
    let line_size = h * 0.042;
    let gap = line_size * 0.6;
    let block = title_size + caption.lines.len() as f32 * (line_size * 1.35) + gap;
    let mut baseline = (h - block) / 2.0 + title_size * 0.8;
    let mut canvas = Canvas {
        rgb: &mut frame,
        width,
        height,
    };
    let centred = |font: &FontRef<'_>, size: f32, text: &str| {
        (width as f32 - measure(font, size, text)) / 2.0
    };
    canvas.shadowed(
        &bold,
        title_size,
        &caption.title,
        centred(&bold, title_size, &caption.title),
        baseline,
    );
    baseline += title_size * 0.2 + gap + line_size;
    for line in &caption.lines {
        let size = fitted(&book, line_size, line, max_width);
        canvas.shadowed(&book, size, line, centred(&book, size, line), baseline);
        baseline += line_size * 1.35;
    }
    frame
}

/// The poster: `picture` (a frame-sized sharp framing of the memory's best photo) darkened
/// toward the bottom, with the caption at the bottom left, as video thumbnails are captioned.
pub fn poster(picture: &[u8], width: usize, height: usize, caption: &Caption) -> Vec<u8> {
    let mut frame = picture.to_vec();
    let start = height * 2 / 5;
    for y in start..height {
        let t = (y - start) as f32 / (height - start) as f32;
        let row = &mut frame[y * width * 3..(y + 1) * width * 3];
        toward_level(row, 0, 0.8 * t.powf(1.1));
    }
    let (bold, book) = (font(BOLD), font(BOOK));
    let (w, h) = (width as f32, height as f32);
    let left = w * 0.05;
    let max_width = w * 0.9;
    let line_size = h * 0.036;
    let title_size = fitted(&bold, h * 0.075, &caption.title, max_width);
    let mut baseline = h * 0.93 - caption.lines.len() as f32 * line_size * 1.35;
    let mut canvas = Canvas {
        rgb: &mut frame,
        width,
        height,
    };
    canvas.shadowed(&bold, title_size, &caption.title, left, baseline);
    baseline += line_size * 1.6;
    for line in &caption.lines {
        let size = fitted(&book, line_size, line, max_width);
        canvas.shadowed(&book, size, line, left, baseline);
        baseline += line_size * 1.35;
    }
    frame
}

/// A heavy, cheap blur: shrink to 1/24 by area averaging, smooth with a 3x3 box twice, and
/// scale back up bilinearly. The box filter counts pixels past the border as black, which
/// darkens the edges like a vignette and frames the title.
fn blurred(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    let image = RgbImage::from_raw(width as u32, height as u32, rgb.to_vec())
        .expect("frame buffer matches its size");
    let small_w = (width as u32 / 24).max(2);
    let small_h = (height as u32 / 24).max(2);
    let mut small = imageops::thumbnail(&image, small_w, small_h);
    for _ in 0..2 {
        small = imageops::filter3x3(&small, &[1.0 / 9.0; 9]);
    }
    let mut out = vec![0u8; width * height * 3];
    let whole = Rect {
        x: 0.0,
        y: 0.0,
        w: small_w as f32,
        h: small_h as f32,
    };
    sample(&Packed::from_rgb(&small), whole, &mut out, width, height);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caption() -> Caption {
        Caption {
            title: "Wednesday afternoon".into(),
            lines: vec!["22 October 2008".into(), "43.47° N, 11.88° E".into()],
        }
    }

    /// Pixels brighter than the (dark) background in the rows from `top` to `bottom`.
    fn bright_pixels(frame: &[u8], width: usize, top: usize, bottom: usize) -> usize {
        frame[top * width * 3..bottom * width * 3]
            .chunks(3)
            .filter(|p| p.iter().all(|&v| v > 200))
            .count()
    }

    #[test]
    fn the_title_is_rasterized_in_the_middle_of_the_card() {
        let (w, h) = (640, 360);
        let background = vec![90u8; w * h * 3];
        let card = title_card(&background, w, h, &caption());
        // The background is darkened to 45; white text makes bright pixels, only in the middle.
        assert!(bright_pixels(&card, w, 0, h / 4) == 0);
        assert!(bright_pixels(&card, w, h / 4, 3 * h / 4) > 1500);
        assert!(bright_pixels(&card, w, 3 * h / 4, h) == 0);
        // Every line is drawn: bright pixels in the title's rows and in the lines' rows.
        assert!(bright_pixels(&card, w, 140, 175) > 500, "title");
        assert!(bright_pixels(&card, w, 185, 230) > 300, "lines");
    }

    #[test]
    fn long_titles_shrink_to_fit() {
        let (w, h) = (320, 180);
        let long = Caption {
            title: "A very long title that would never fit on one line of a small frame".into(),
            lines: vec![],
        };
        let card = title_card(&vec![0u8; w * h * 3], w, h, &long);
        // No text touches the left and right borders.
        for y in 0..h {
            for x in [0, 1, w - 2, w - 1] {
                assert!(card[(y * w + x) * 3] < 100, "text at {x},{y}");
            }
        }
        assert!(bright_pixels(&card, w, 0, h) > 100);
    }

    #[test]
    fn posters_are_captioned_at_the_bottom() {
        let (w, h) = (640, 360);
        let picture = vec![120u8; w * h * 3];
        let poster = poster(&picture, w, h, &caption());
        assert_eq!(
            &poster[..w * 3 * (h * 2 / 5)],
            &picture[..w * 3 * (h * 2 / 5)]
        );
        assert!(bright_pixels(&poster, w, h / 2, h) > 1500);
    }
}
