//! dlib's face recognition ResNet, compiled by `nnc!` for one 150x150 chip with its 17 MB of
//! weight statics (f16 filters, f32 4x4-tile transforms); nothing else lives in this crate.
//!
//! Each network is a crate of its own (see `memories-networks`), so that an edit to one
//! expands and optimizes that network alone, and the three compile side by side.

nnc::nnc! {
    /// dlib's face recognition ResNet for a 150x150 chip, f16 weights as shipped.
    pub mod embedding {
        model: "../../models/face_embedding.nnc",
        weights: "../../models/face_embedding.safetensors",
        input: 150 x 150,
        scales: [1.0],
        weights_as: f16,
    }
}
