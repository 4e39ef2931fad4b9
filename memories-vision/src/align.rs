//! Face chips: a face cut out of a photo, rotated upright and scaled so that its eyes, nose and
//! mouth land where the identity network expects them.
//!
//! The embedding network was trained on dlib's chips (`get_face_chip`, 150x150, padding 0.25),
//! which dlib aligns with its own 5-point landmark model. Memories has different landmarks: the
//! face detector's eye centres, nose tip and mouth corners. [`TEMPLATE`] is where those five
//! points fall in dlib's chips, measured by running the detector on the 64 reference chips in
//! `../shared/data/embedding/dlib-reference` and averaging (`cargo run --release -p memories
//! --example chip_template` prints it). Mapping a face's landmarks onto that template with the
//! best similarity transform (rotation, uniform scale, shift) reproduces dlib's framing.

use image::{Rgb, RgbImage};

/// Side of a chip in pixels.
pub const CHIP_SIZE: u32 = 150;

/// Where the detector's landmarks (right eye, left eye, nose tip, right and left mouth corners,
/// as the person sees them) sit in a dlib chip, in chip pixels. Measured; see the module docs.
pub const TEMPLATE: [(f32, f32); 5] = [
    (47.77, 48.40),
    (102.64, 48.64),
    (74.84, 78.91),
    (51.95, 103.08),
    (97.89, 103.22),
];

/// `p -> (a x - b y + tx, b x + a y + ty)`: rotation and uniform scale `(a, b)`, then a shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        (
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        )
    }

    /// The inverse transform, or `None` when this one collapses everything onto a point.
    pub fn inverse(&self) -> Option<Similarity> {
        let det = self.a * self.a + self.b * self.b;
        if det <= f32::EPSILON {
            return None;
        }
        let (a, b) = (self.a / det, -self.b / det);
        Some(Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// The least-squares similarity taking `from` onto `to` (Umeyama's closed form, no
    /// reflection).
    pub fn fit(from: &[(f32, f32)], to: &[(f32, f32)]) -> Similarity {
        assert_eq!(from.len(), to.len(), "point lists of different lengths");
        let n = from.len() as f32;
        let mean = |ps: &[(f32, f32)]| {
            let (sx, sy) = ps
                .iter()
                .fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
            (sx / n, sy / n)
        };
        let ((fx, fy), (tx, ty)) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0f32, 0.0f32, 0.0f32);
        for (&(x, y), &(u, v)) in from.iter().zip(to) {
            let (x, y, u, v) = (x - fx, y - fy, u - tx, v - ty);
            dot += x * u + y * v;
            cross += x * v - y * u;
            norm += x * x + y * y;
        }
        let (a, b) = if norm > 0.0 {
            (dot / norm, cross / norm)
        } else {
            (1.0, 0.0)
        };
        Similarity {
            a,
            b,
            tx: tx - (a * fx - b * fy),
            ty: ty - (b * fx + a * fy),
        }
    }
}

/// The chip for a face with these landmarks (in `image`'s pixels): each chip pixel samples the
/// photo bilinearly where the inverse transform puts it; outside the photo is black, as in dlib.
/// When the face is much larger than the chip, the photo is first halved until it is not, so
/// that the chip averages the pixels it covers instead of skipping most of them.
pub fn chip(image: &RgbImage, landmarks: &[(f32, f32); 5]) -> RgbImage {
    let to_chip = Similarity::fit(landmarks, &TEMPLATE);
    // Scale of photo pixels per chip pixel.
    let shrink = 1.0 / to_chip.a.hypot(to_chip.b).max(f32::EPSILON);
    let mut source = std::borrow::Cow::Borrowed(image);
    let mut factor = 1.0f32;
    while shrink / factor >= 2.0 && source.width() >= 2 && source.height() >= 2 {
        source = std::borrow::Cow::Owned(halve(&source));
        factor *= 2.0;
    }
    // Pixel centres are at integers: photo pixel x lies at (x + 0.5) / factor - 0.5 once halved.
    let scaled: Vec<(f32, f32)> = landmarks
        .iter()
        .map(|&(x, y)| ((x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5))
        .collect();
    let Some(to_photo) = Similarity::fit(&scaled, &TEMPLATE).inverse() else {
        return RgbImage::new(CHIP_SIZE, CHIP_SIZE);
    };
    RgbImage::from_fn(CHIP_SIZE, CHIP_SIZE, |cx, cy| {
        let (x, y) = to_photo.apply((cx as f32, cy as f32));
        bilinear(&source, x, y)
    })
}

/// Each 2x2 block averaged into one pixel.
fn halve(image: &RgbImage) -> RgbImage {
    let (w, h) = (image.width() / 2, image.height() / 2);
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let p = image.get_pixel(2 * x + dx, 2 * y + dy);
            for c in 0..3 {
                sum[c] += u32::from(p[c]);
            }
        }
        Rgb(sum.map(|s| ((s + 2) / 4) as u8))
    })
}

/// The photo at `(x, y)` (pixel centres at integers), black outside.
fn bilinear(image: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let at = |px: i64, py: i64| -> [f32; 3] {
        if px < 0 || py < 0 || px >= w || py >= h {
            [0.0; 3]
        } else {
            image.get_pixel(px as u32, py as u32).0.map(f32::from)
        }
    };
    let (p00, p10, p01, p11) = (
        at(x0, y0),
        at(x0 + 1, y0),
        at(x0, y0 + 1),
        at(x0 + 1, y0 + 1),
    );
    Rgb(std::array::from_fn(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * fx;
        let bottom = p01[c] + (p11[c] - p01[c]) * fx;
        (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8
    }))
}
