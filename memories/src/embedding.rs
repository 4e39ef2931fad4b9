//! Face identity embeddings: dlib's face recognition ResNet (`models/face_embedding.nnc`)
//! compiled by `nnc!` for 150x150 chips, and the alignment that cuts a chip out of a photo from
//! the detector's five landmarks.
//!
//! Two chips of the same person give descriptors usually under [`SAME_PERSON`] apart (Euclidean);
//! the network and its threshold are dlib's, so its published accuracy carries over as long as the
//! chips are cut the way dlib cuts them (`get_face_chip`, size 150, padding 0.25). dlib fits a
//! similarity transform from its own 5-point landmarks (eye corners and the base of the nose) to
//! a mean face; our detector gives eye centres, the nose tip and mouth corners instead, so
//! [`TEMPLATE`] holds where those five points fall on dlib's chips, measured rather than derived.

use image::RgbImage;

nnc::nnc! {
    /// The face embedding network for one 150x150 RGB chip (values 0..255), f16 weights.
    pub mod network {
        model: "../models/face_embedding.nnc",
        weights: "../models/face_embedding.safetensors",
        input: 150 x 150,
        scales: [1.0],
        weights_as: f16,
    }
}

/// Side of an aligned chip, in pixels.
pub const CHIP: usize = 150;

/// Length of a descriptor.
pub const DIMENSIONS: usize = 128;

/// dlib's distance threshold: descriptors closer than this are taken to be the same person.
pub const SAME_PERSON: f32 = 0.6;

/// Where the detector's landmarks (right eye, left eye, nose tip, right and left mouth corners, as
/// in [`nnc::detect::Face::landmarks`]) fall on a chip cut by dlib's `get_face_chip` (size 150,
/// padding 0.25), in continuous chip pixels (pixel k covers [k, k+1)): the mean over the 63 chips
/// of `../shared/data/embedding/dlib-reference` where the detector finds a face (of 64), measured
/// by `cargo run --release -p memories --example face_pairs -- template`.
pub const TEMPLATE: [(f32, f32); 5] = [
    (47.7, 48.4),
    (102.9, 48.7),
    (74.9, 79.1),
    (51.9, 103.4),
    (98.1, 103.6),
];

/// A 150x150 RGB chip, values 0..255, rows top to bottom, pixels left to right, channels RGB.
#[derive(Clone, Debug, PartialEq)]
pub struct Chip {
    rgb: Vec<f32>,
}

impl Chip {
    /// The chip's values, `150 * 150 * 3` of them.
    pub fn rgb(&self) -> &[f32] {
        &self.rgb
    }

    /// A chip from 150x150 RGB bytes (e.g. a chip image read from a file).
    pub fn from_rgb8(image: &RgbImage) -> Option<Chip> {
        (image.width() as usize == CHIP && image.height() as usize == CHIP).then(|| Chip {
            rgb: image.as_raw().iter().map(|&b| f32::from(b)).collect(),
        })
    }
}

/// A similarity transform (rotation, uniform scale, translation): chip point (x, y) maps to
/// `(a x - b y + tx, b x + a y + ty)` in the photo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// The least-squares similarity taking every `from` point to its `to` point.
    pub fn fit(from: &[(f32, f32)], to: &[(f32, f32)]) -> Similarity {
        let n = from.len() as f32;
        let mean = |p: &[(f32, f32)]| {
            let (sx, sy) = p
                .iter()
                .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
            (sx / n, sy / n)
        };
        let ((fx, fy), (tx, ty)) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
        for (&(x, y), &(u, v)) in from.iter().zip(to) {
            let (x, y, u, v) = (x - fx, y - fy, u - tx, v - ty);
            dot += x * u + y * v;
            cross += x * v - y * u;
            norm += x * x + y * y;
        }
        let (a, b) = (dot / norm, cross / norm);
        Similarity {
            a,
            b,
            tx: tx - (a * fx - b * fy),
            ty: ty - (b * fx + a * fy),
        }
    }

    fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        (
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        )
    }

    /// Photo pixels per chip pixel.
    fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }
}

/// Cuts the chip for a face with `landmarks` (photo pixels, continuous coordinates) out of `photo`.
///
/// As dlib's `extract_image_chip` does, the photo is first halved (2x2 means) while a chip pixel
/// would span more than two photo pixels, then sampled bilinearly; outside the photo is black.
pub fn align(photo: &RgbImage, landmarks: &[(f32, f32); 5]) -> Chip {
    let mut transform = Similarity::fit(&TEMPLATE, landmarks);
    let mut level = std::borrow::Cow::Borrowed(photo);
    while transform.scale() > 2.0 && level.width() >= 2 && level.height() >= 2 {
        level = std::borrow::Cow::Owned(halve(&level));
        transform = Similarity {
            a: transform.a / 2.0,
            b: transform.b / 2.0,
            tx: transform.tx / 2.0,
            ty: transform.ty / 2.0,
        };
    }
    let mut rgb = Vec::with_capacity(CHIP * CHIP * 3);
    for row in 0..CHIP {
        for col in 0..CHIP {
            let (x, y) = transform.apply((col as f32 + 0.5, row as f32 + 0.5));
            rgb.extend(bilinear(&level, x - 0.5, y - 0.5));
        }
    }
    Chip { rgb }
}

/// The image at half size, each pixel the mean of a 2x2 block (a last odd row or column is
/// dropped), so that continuous coordinates simply halve.
fn halve(image: &RgbImage) -> RgbImage {
    let (w, h) = (image.width() / 2, image.height() / 2);
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let p = image.get_pixel(2 * x + dx, 2 * y + dy);
            for (s, &v) in sum.iter_mut().zip(&p.0) {
                *s += u32::from(v);
            }
        }
        image::Rgb(sum.map(|s| ((s + 2) / 4) as u8))
    })
}

/// The colour at pixel-centre coordinates (x, y), interpolated between the four nearest pixels;
/// pixels outside the image count as black.
fn bilinear(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let pixel = |px: f32, py: f32| -> [f32; 3] {
        let inside =
            px >= 0.0 && py >= 0.0 && px < image.width() as f32 && py < image.height() as f32;
        if inside {
            image.get_pixel(px as u32, py as u32).0.map(f32::from)
        } else {
            [0.0; 3]
        }
    };
    let (p00, p10) = (pixel(x0, y0), pixel(x0 + 1.0, y0));
    let (p01, p11) = (pixel(x0, y0 + 1.0), pixel(x0 + 1.0, y0 + 1.0));
    std::array::from_fn(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * fx;
        let bottom = p01[c] + (p11[c] - p01[c]) * fx;
        top + (bottom - top) * fy
    })
}

/// Euclidean distance between two descriptors.
pub fn distance(a: &[f32; DIMENSIONS], b: &[f32; DIMENSIONS]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// The compiled embedding network.
#[derive(Debug)]
pub struct FaceEmbedder {
    network: network::Network,
}

impl Default for FaceEmbedder {
    fn default() -> Self {
        Self::new()
    }
}

impl FaceEmbedder {
    /// The network on the fastest path this CPU supports.
    pub fn new() -> Self {
        FaceEmbedder {
            network: network::Network::new(),
        }
    }

    /// dlib's 128-d descriptor of an aligned chip (not normalised: compare with [`distance`]).
    pub fn embed(&mut self, chip: &Chip) -> [f32; DIMENSIONS] {
        let input = chip
            .rgb
            .as_slice()
            .try_into()
            .expect("a chip is 150x150x3 by construction");
        let out = self.network.v150x150().scale0(input);
        out.descriptor
            .data()
            .try_into()
            .expect("the network's head is 1x1x128")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_similarity_from_exact_points() {
        let truth = Similarity {
            a: 1.5,
            b: -0.4,
            tx: 30.0,
            ty: -12.0,
        };
        let to = TEMPLATE.map(|p| truth.apply(p));
        let fitted = Similarity::fit(&TEMPLATE, &to);
        for (got, want) in [
            (fitted.a, truth.a),
            (fitted.b, truth.b),
            (fitted.tx, truth.tx),
            (fitted.ty, truth.ty),
        ] {
            assert!((got - want).abs() < 1e-3, "{fitted:?} vs {truth:?}");
        }
    }

    #[test]
    fn align_with_the_template_itself_copies_the_photo() {
        // Landmarks at the template's own positions on a 150x150 photo: the identity transform,
        // so the chip is the photo, pixel for pixel.
        let photo = RgbImage::from_fn(150, 150, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let chip = align(&photo, &TEMPLATE);
        let expect: Vec<f32> = photo.as_raw().iter().map(|&b| f32::from(b)).collect();
        let worst = chip
            .rgb()
            .iter()
            .zip(&expect)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-3, "largest difference {worst}");
    }

    #[test]
    fn align_halves_a_large_photo_and_keeps_coordinates() {
        // The same picture at 4x (uniform 4x4 blocks): the chip is cut from the 2x2-mean level, and
        // gives back the small picture.
        let small = RgbImage::from_fn(150, 150, |x, y| image::Rgb([x as u8, y as u8, 200]));
        let large = RgbImage::from_fn(600, 600, |x, y| *small.get_pixel(x / 4, y / 4));
        let chip = align(&large, &TEMPLATE.map(|(x, y)| (4.0 * x, 4.0 * y)));
        let expect: Vec<f32> = small.as_raw().iter().map(|&b| f32::from(b)).collect();
        let worst = chip
            .rgb()
            .iter()
            .zip(&expect)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        // At the 2x level each chip pixel centre falls between the two level pixels of its block.
        assert!(worst < 1e-3, "largest difference {worst}");
    }
}
