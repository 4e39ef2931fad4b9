//! Memories' vision: the two networks nnc compiles for it, and what feeds them.
//!
//! - [`faces`] runs the face detector (`models/face_student.nnc`) over a photo's image pyramid
//!   and returns [`faces::FaceBox`]es with landmarks, in full-resolution pixels.
//! - [`align`] cuts an aligned 150x150 chip from a face's landmarks.
//! - [`embedding`] computes the chip's identity descriptor with dlib's face recognition network.
//!
//! The networks themselves are compiled by `nnc!` into `memories-networks`, a crate of nothing
//! else, so that editing this one rebuilds in seconds without expanding them again. Both are
//! optimized in dev builds. This crate takes decoded RGB images ([`Decoded`]); reading and
//! decoding files is the library's job.

pub mod align;
pub mod embedding;
pub mod faces;
pub mod yunet;

use image::RgbImage;

/// A decoded photo, upright (EXIF orientation applied) and at most the requested size.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    /// Full-resolution size after orientation, e.g. 3024x4032 for a portrait phone photo.
    pub full_width: u32,
    pub full_height: u32,
}
