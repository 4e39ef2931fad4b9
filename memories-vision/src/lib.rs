//! Memories' vision: the two networks nnc compiles for it, and what feeds them.
//!
//! - [`faces`] runs the face detector (`models/face_student.nnc`) over a photo's image pyramid
//!   and returns [`faces::FaceBox`]es with landmarks, in full-resolution pixels.
//! - [`align`] cuts an aligned 150x150 chip from a face's landmarks.
//! - [`embedding`] computes the chip's identity descriptor with dlib's face recognition network.
//!
//! The networks themselves are compiled by `nnc!` into `memories-networks`, which this crate
//! does not depend on: they come in as [`Networks`], a value of constructors that the binary takes
//! from `memories_networks::NETWORKS` and hands down. So an edit to a network rebuilds the
//! networks, their glue and the binary, never this crate nor the library and movie crates that
//! use it; and an edit here rebuilds in seconds without expanding the networks again. This crate
//! and the networks are optimized in dev builds. It takes decoded RGB images ([`Decoded`]);
//! reading and decoding files is the library's job.

pub mod align;
pub mod embedding;
pub mod faces;
pub mod yunet;

use image::RgbImage;
use nnc::detect::Pyramid;

use crate::embedding::ChipNetwork;

/// The compiled networks Memories runs, as constructors: each call makes one network with its
/// own arena (a detector or embedder per thread). `memories_networks::NETWORKS` is the one value
/// of it; it is passed in rather than named here so that the crates using the networks do not
/// depend on the crates that compile them (see the crate's documentation).
#[derive(Debug, Clone, Copy)]
pub struct Networks {
    /// The face student, for 640x480, 480x640 and 640x360 frames, five scales each.
    pub student: fn() -> Box<dyn Pyramid + Send>,
    /// The student's pyramid scales, the same for every frame (1.0 first).
    pub student_scales: &'static [f64],
    /// YuNet-s, for 640x480, 480x640 and 640x384 frames, one scale each.
    pub yunet: fn() -> Box<dyn Pyramid + Send>,
    /// dlib's face recognition ResNet for one 150x150 chip.
    pub embedding: fn() -> Box<dyn ChipNetwork + Send>,
}

/// A decoded photo, upright (EXIF orientation applied) and at most the requested size.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    /// Full-resolution size after orientation, e.g. 3024x4032 for a portrait phone photo.
    pub full_width: u32,
    pub full_height: u32,
}
