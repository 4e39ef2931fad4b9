//! Parity of the face embedding network (`models/face_embedding.nnc`, converted from dlib's
//! `dlib_face_recognition_resnet_model_v1.dat`) with dlib itself: for every aligned chip in
//! `../shared/data/embedding/dlib-reference`, the descriptor the interpreter computes and the one
//! the `nnc!`-compiled network computes are each within 0.01 (Euclidean) of the descriptor dlib
//! 20.0.1 computed for that chip (the compiled portable path: every fourth chip).

use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::path::Path;

#[path = "../memories/tests/support/shared_data.rs"]
mod shared_data;

nnc::nnc! {
    /// The face embedding network for one 150x150 chip, f16 weights as shipped.
    mod embedding {
        model: "models/face_embedding.nnc",
        weights: "models/face_embedding.safetensors",
        input: 150 x 150,
        scales: [1.0],
        weights_as: f16,
    }
}

/// The largest distance to dlib's descriptor the test accepts.
const TOLERANCE: f32 = 0.01;

/// One chip of the reference set: its RGB pixels (0..255, HWC) and dlib's descriptor.
struct Chip {
    name: String,
    rgb: Vec<f32>,
    descriptor: Vec<f32>,
}

/// Every chip with dlib's descriptor, or `None` (with a message) when the data set is absent
/// (a failure under `MEMORIES_REQUIRE_SHARED_DATA=1`).
fn chips() -> Option<Vec<Chip>> {
    let dir = shared_data::shared_data("embedding/dlib-reference")?;
    let json = std::fs::read_to_string(dir.join("descriptors.json"))
        .unwrap_or_else(|e| panic!("{}/descriptors.json: {e}", dir.display()));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json).expect("descriptors.json");
    let chips = entries
        .iter()
        .map(|entry| {
            let name = entry["chip"].as_str().expect("chip path").to_string();
            let descriptor = entry["descriptor"]
                .as_array()
                .expect("descriptor")
                .iter()
                .map(|v| v.as_f64().expect("number") as f32)
                .collect();
            let rgb = read_png_rgb(&dir.join(&name));
            Chip {
                name,
                rgb,
                descriptor,
            }
        })
        .collect::<Vec<_>>();
    assert!(!chips.is_empty(), "{}: no chips listed", dir.display());
    Some(chips)
}

/// A 150x150 8-bit RGB PNG as f32 values 0..255.
fn read_png_rgb(path: &Path) -> Vec<f32> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!(
        (info.width, info.height, info.color_type, info.bit_depth),
        (150, 150, png::ColorType::Rgb, png::BitDepth::Eight),
        "{}",
        path.display()
    );
    buf[..info.buffer_size()]
        .iter()
        .map(|&b| f32::from(b))
        .collect()
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Checks every distance against the tolerance and prints the maximum and mean.
fn check(what: &str, results: &[(&Chip, Vec<f32>)]) {
    assert!(!results.is_empty(), "{what}: no chips were checked");
    for (chip, got) in results {
        assert_eq!(got.len(), chip.descriptor.len(), "{what}: {}", chip.name);
    }
    let distances: Vec<f32> = results
        .iter()
        .map(|(chip, got)| distance(got, &chip.descriptor))
        .collect();
    let max = distances.iter().cloned().fold(0.0, f32::max);
    let mean = distances.iter().sum::<f32>() / distances.len() as f32;
    eprintln!(
        "{what}: {} chips, distance to dlib max {max:.2e} mean {mean:.2e}",
        distances.len()
    );
    for ((chip, _), d) in results.iter().zip(&distances) {
        assert!(
            *d <= TOLERANCE,
            "{what}: {} is {d} from dlib's descriptor",
            chip.name
        );
    }
}

fn model() -> Model {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Model::load(
        &root.join("models/face_embedding.nnc"),
        &root.join("models/face_embedding.safetensors"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn interpreter_descriptors_match_dlib() {
    let Some(chips) = chips() else { return };
    let interpreter = Interpreter::new(model());
    let results: Vec<_> = chips
        .iter()
        .map(|chip| {
            let input = Tensor::from_vec(
                Shape {
                    h: 150,
                    w: 150,
                    c: 3,
                },
                chip.rgb.clone(),
            );
            let out = interpreter.run(&input).unwrap();
            (chip, out.get("descriptor").unwrap().data.clone())
        })
        .collect();
    check("interpreter", &results);
}

#[test]
fn compiled_descriptors_match_dlib_on_both_paths() {
    let Some(chips) = chips() else { return };
    for mut net in [
        embedding::Network::new(),
        embedding::Network::without_avx512(),
        embedding::Network::portable(),
    ] {
        // The portable path is three times slower and equals the interpreter on every op in
        // tests/compiled*.rs: every fourth chip keeps this test's time down.
        let (path, step) = match net.path() {
            "avx512" => ("compiled avx512", 1),
            "avx2" => ("compiled avx2", 1),
            _ => ("compiled portable", 4),
        };
        let results: Vec<_> = chips
            .iter()
            .step_by(step)
            .map(|chip| {
                let out = net
                    .v150x150()
                    .scale0(chip.rgb.as_slice().try_into().unwrap());
                (chip, out.descriptor.data().to_vec())
            })
            .collect();
        check(path, &results);
    }
}
