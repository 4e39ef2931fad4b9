//! Every model shipped in `models/`: it loads, its IR after shape inference is as reviewed
//! (snapshot), and the interpreter runs it at the sizes it will meet.

use nnc::ir::Model;
use nnc::ir::testing::{Rng, random_input};
use nnc::{Interpreter, Tensor};
use std::path::{Path, PathBuf};

/// Every `models/*.nnc` with its `.safetensors` beside it.
fn shipped_models() -> Vec<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut models: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nnc"))
        .map(|p| {
            let weights = p.with_extension("safetensors");
            (p, weights)
        })
        .collect();
    models.sort();
    assert!(!models.is_empty(), "no models in {}", dir.display());
    models
}

/// The input size the IR listing and the test run use: a frame for the detectors (`large`:
/// 640x480, the size they are compiled for, or a quicker 160x120), the one chip size the face
/// embedding is made for.
fn test_size(name: &str, large: bool) -> (usize, usize) {
    match (name, large) {
        ("face_embedding", _) => (150, 150),
        (_, true) => (480, 640),
        (_, false) => (120, 160),
    }
}

#[test]
fn every_shipped_model_loads_and_its_ir_matches_the_snapshot() {
    for (description, weights) in shipped_models() {
        let model = Model::load(&description, &weights).unwrap_or_else(|e| panic!("{e}"));
        let graph = &model.graph;
        let (h, w) = test_size(&graph.name, true);
        let shapes = graph.infer_shapes(h, w).unwrap();
        let listing = format!(
            "{}\n  parameters={}\n  smallest input={:?}",
            graph.display_with_shapes(&shapes),
            model.weights.parameter_count(),
            graph.min_input_size()
        );
        insta::assert_snapshot!(format!("ir_{}", graph.name), listing);
    }
}

#[test]
fn every_shipped_model_runs_at_its_smallest_input_and_at_a_frame() {
    let mut rng = Rng::new(3);
    for (description, weights) in shipped_models() {
        let model = Model::load(&description, &weights).unwrap();
        let min = model.graph.min_input_size().unwrap();
        let c = model.graph.input_channels();
        let size = test_size(&model.graph.name, false);
        let interpreter = Interpreter::new(model);
        for (h, w) in [(min, min), size] {
            let input =
                Tensor::from_vec(nnc::ir::Shape { h, w, c }, random_input(&mut rng, h, w, c));
            let outputs = interpreter.run(&input).unwrap();
            for (name, tensor) in &outputs.heads {
                assert!(!tensor.data.is_empty(), "{name} at {h}x{w}");
                assert!(
                    tensor.data.iter().all(|v| v.is_finite()),
                    "{name} at {h}x{w} has non-finite values"
                );
            }
        }
    }
}

#[test]
fn the_format_example_in_the_models_readme_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/README.md"))
            .unwrap();
    let start = readme.find("```text\n").expect("an example block") + "```text\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    let graph =
        nnc::ir::parse_graph(example, "README.md".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let shapes = graph.infer_shapes(64, 48).unwrap();
    let heads: Vec<String> = graph
        .outputs
        .iter()
        .map(|h| format!("{} {}", h.name, shapes.of(h.value)))
        .collect();
    // `join`: `down` is 7x5x24, `skip` 8x6x16; `padadd` gives the larger of each.
    assert_eq!(
        heads,
        ["score 16x12x32", "features 16x12x16", "join 8x6x24"]
    );
}
