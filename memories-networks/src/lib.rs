//! The three networks Memories runs, compiled by `nnc!` for the sizes it runs them at, each in a
//! crate of its own under this one, which only re-exports them.
//!
//! Expanding and optimizing them is most of a release build of Memories (the kernels of three
//! frame sizes of two detectors, on three instruction-set paths each, and 17 MB of embedding
//! weight statics). So they are kept apart from the code that uses them: an edit to how
//! Memories uses them (`memories-vision`: pyramids, decoding, alignment) rebuilds that small
//! crate and the ones above it, and never the networks. And they are kept apart from each
//! other: a change to one model file expands and optimizes that network alone, and a full build
//! compiles the three side by side (rustc's front end runs one thread a crate).

pub use memories_networks_embedding::embedding;
pub use memories_networks_student::student;
pub use memories_networks_yunet::yunet;
