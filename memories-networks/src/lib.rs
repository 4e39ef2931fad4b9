//! The three networks Memories runs, compiled by `nnc!` for the sizes it runs them at, each in a
//! crate of its own under this one, and [`NETWORKS`], the constructors `memories-vision` takes
//! them through.
//!
//! Expanding and optimizing them is most of a release build of Memories (the kernels of three
//! frame sizes of two detectors, on three instruction-set paths each, and 17 MB of embedding
//! weight statics). So they are kept apart from the code that uses them, in both directions:
//! an edit to how Memories uses them (`memories-vision`: pyramids, decoding, alignment) rebuilds
//! that crate, this glue and the crates above them, never the networks; and an edit to a network
//! rebuilds it, this glue and the `memories` binary, never `memories-vision`,
//! `memories-library` or `memories-movie`, which take the networks as a
//! [`memories_vision::Networks`] value from the binary instead of depending on this crate. And
//! they are kept apart from each other: a change to one model file expands and optimizes that
//! network alone, and a full build compiles the three side by side (rustc's front end runs one
//! thread a crate).

pub use memories_networks_embedding::embedding;
pub use memories_networks_student::student;
pub use memories_networks_yunet::yunet;

use memories_vision::Networks;
use memories_vision::embedding::{CHIP_VALUES, ChipNetwork, DESCRIPTOR_LEN};

/// Memories' networks: the face student, YuNet-s and dlib's face embedding, each made with a
/// fresh arena per call.
pub const NETWORKS: Networks = Networks {
    student: || Box::new(student::Network::new()),
    student_scales: student::v640x480::SCALES,
    yunet: || Box::new(yunet::Network::new()),
    embedding: || Box::new(Embedding(embedding::Network::new())),
};

/// The embedding behind [`ChipNetwork`].
struct Embedding(embedding::Network);

impl ChipNetwork for Embedding {
    fn descriptor(&mut self, chip: &[f32; CHIP_VALUES]) -> [f32; DESCRIPTOR_LEN] {
        self.0
            .v150x150()
            .scale0(chip)
            .descriptor
            .data()
            .try_into()
            .expect("the descriptor head has 128 values")
    }
}
