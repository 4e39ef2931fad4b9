//! The three networks Memories runs, compiled by `nnc!` for the sizes it runs them at: nothing
//! else lives in this crate.
//!
//! Expanding and optimizing them is most of a release build of Memories (the kernels of three
//! frame sizes of two detectors, on three instruction-set paths each, and 11 MB of embedding
//! weights), so they are a crate of their own: an edit to how Memories uses them
//! (`memories-vision`: pyramids, decoding, alignment) rebuilds that small crate and the ones
//! above it, and never the networks. Only a change to a model file or to nnc does.

nnc::nnc! {
    /// The face student, compiled for 640x480, 480x640 and 640x360 frames and five scales each.
    pub mod student {
        model: "../models/face_student.nnc",
        weights: "../models/face_student.safetensors",
        inputs: [640 x 480, 480 x 640, 640 x 360],
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
        weights_as: f16,
    }
}

nnc::nnc! {
    /// YuNet-s as published, for 640x480, 480x640 and 640x384 frames.
    pub mod yunet {
        model: "../models/yunet_s.onnx",
        inputs: [640 x 480, 480 x 640, 640 x 384],
        weights_as: f16,
    }
}

nnc::nnc! {
    /// dlib's face recognition ResNet for a 150x150 chip, f16 weights as shipped.
    pub mod embedding {
        model: "../models/face_embedding.nnc",
        weights: "../models/face_embedding.safetensors",
        input: 150 x 150,
        scales: [1.0],
        weights_as: f16,
    }
}
