//! Face identity descriptors: dlib's face recognition ResNet (`models/face_embedding.nnc`,
//! converted from dlib's own weights) compiled by `nnc!` for one 150x150 chip.
//!
//! Chips come from [`crate::align::chip`]. Two faces of one person are usually under 0.6 apart
//! (Euclidean); the descriptor is dlib's, not normalised.

use image::RgbImage;

use crate::align::{CHIP_SIZE, chip};
use crate::faces::FaceBox;
use crate::{Decoded, Networks};

/// Nor when the face is narrower than this in the decoded image (640 px on the long side):
/// a chip stretched from fewer pixels says little about who it is.
pub const MIN_WIDTH: f32 = 36.0;

/// Length of a descriptor.
pub const DESCRIPTOR_LEN: usize = 128;

/// Values of a chip: [`CHIP_SIZE`] square, RGB.
pub const CHIP_VALUES: usize = (CHIP_SIZE * CHIP_SIZE * 3) as usize;

/// A network that maps an aligned chip to its descriptor: dlib's ResNet compiled by `nnc!` for
/// a 150x150 chip, f16 weights as shipped (`memories_networks::NETWORKS.embedding`).
pub trait ChipNetwork {
    /// The descriptor of a chip given as RGB values from 0 to 255, row by row (HWC).
    fn descriptor(&mut self, chip: &[f32; CHIP_VALUES]) -> [f32; DESCRIPTOR_LEN];
}

/// The compiled network with its arena; make one per thread and reuse it.
pub struct FaceEmbedder {
    net: Box<dyn ChipNetwork + Send>,
    input: Vec<f32>,
}

impl std::fmt::Debug for FaceEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceEmbedder").finish_non_exhaustive()
    }
}

impl FaceEmbedder {
    /// An embedder running `networks`' embedding.
    pub fn new(networks: &Networks) -> Self {
        FaceEmbedder {
            net: (networks.embedding)(),
            input: Vec::with_capacity(CHIP_VALUES),
        }
    }

    /// The descriptor of each face of a decoded photo (faces in full-resolution pixels), in
    /// order; `None` for a face scoring below `min_score` (the detector's
    /// [`crate::faces::Model::describe_score`]), narrower than [`MIN_WIDTH`] or without
    /// landmarks. Chips are cut from the decoded image itself.
    pub fn describe(
        &mut self,
        decoded: &Decoded,
        faces: &[FaceBox],
        min_score: f32,
    ) -> Vec<Option<Vec<f32>>> {
        let scale = decoded.image.width() as f32 / decoded.full_width.max(1) as f32;
        faces
            .iter()
            .map(|f| {
                if f.score < min_score || f.w * scale < MIN_WIDTH {
                    return None;
                }
                let landmarks = f.landmarks?.map(|(x, y)| (x * scale, y * scale));
                Some(self.embed(&chip(&decoded.image, &landmarks)).to_vec())
            })
            .collect()
    }

    /// The descriptor of an aligned chip.
    ///
    /// # Panics
    /// When `chip` is not [`CHIP_SIZE`] square: chips come from [`crate::align::chip`].
    pub fn embed(&mut self, chip: &RgbImage) -> [f32; DESCRIPTOR_LEN] {
        assert_eq!(chip.dimensions(), (CHIP_SIZE, CHIP_SIZE), "not a face chip");
        self.input.clear();
        self.input
            .extend(chip.as_raw().iter().map(|&v| f32::from(v)));
        let input = self.input.as_slice().try_into().expect("150x150x3 values");
        self.net.descriptor(input)
    }
}
