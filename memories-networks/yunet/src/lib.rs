//! YuNet-s as published, compiled by `nnc!` for 640x480, 480x640 and 640x384 frames; nothing
//! else lives in this crate.
//!
//! Each network is a crate of its own (see `memories-networks`), so that an edit to one
//! expands and optimizes that network alone, and the three compile side by side.

nnc::nnc! {
    /// YuNet-s as published, for 640x480, 480x640 and 640x384 frames.
    pub mod yunet {
        model: "../../models/yunet_s.onnx",
        inputs: [640 x 480, 480 x 640, 640 x 384],
        weights_as: f16,
    }
}
