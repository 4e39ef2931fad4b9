//! The face student, compiled by `nnc!` for 640x480, 480x640 and 640x360 frames, five scales
//! each; nothing else lives in this crate.
//!
//! Each network is a crate of its own (see `memories-networks`), so that an edit to one
//! expands and optimizes that network alone, and the three compile side by side.

nnc::nnc! {
    /// The face student, compiled for 640x480, 480x640 and 640x360 frames and five scales each.
    pub mod student {
        model: "../../models/face_student.nnc",
        weights: "../../models/face_student.safetensors",
        inputs: [640 x 480, 480 x 640, 640 x 360],
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
        weights_as: f16,
    }
}
