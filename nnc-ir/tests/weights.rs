//! Checking a weights file against the description: every way a tensor can be wrong is reported,
//! and nothing panics on a damaged file.

use nnc_ir::testing::serialize;
use nnc_ir::{Dtype, ErrorKind, Model, WeightRole};

const SRC: &str = "image = input(channels=2)\n\
                   c1 = conv(image, out=3, k=3, pad=1)\n\
                   a1 = prelu(c1)\n\
                   output a1\n";

fn tensor(name: &str, shape: &[usize]) -> (String, Vec<usize>, Vec<f32>) {
    let len = shape.iter().product();
    (
        name.to_string(),
        shape.to_vec(),
        (0..len).map(|i| i as f32 * 0.25 - 1.0).collect(),
    )
}

fn good() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    vec![
        tensor("c1.weight", &[3, 2, 3, 3]),
        tensor("c1.bias", &[3]),
        tensor("a1.alpha", &[3]),
    ]
}

fn load(bytes: &[u8]) -> Result<Model, nnc_ir::ModelErrors> {
    Model::from_sources(
        SRC,
        "models/net.nnc".as_ref(),
        bytes,
        "models/net.safetensors".as_ref(),
    )
}

/// Loads `bytes`, expects failure with exactly `kinds`, and snapshots the messages.
fn check(name: &str, bytes: &[u8], kinds: &[ErrorKind]) {
    let errors = load(bytes).expect_err("the weights are wrong");
    let found: Vec<ErrorKind> = errors.iter().map(|e| e.kind).collect();
    assert_eq!(found, kinds, "{errors}");
    insta::assert_snapshot!(name, errors.to_string());
}

#[test]
fn f32_and_f16_weights_load_to_the_same_values() {
    let f32_model = load(&serialize(&good(), Dtype::F32)).unwrap();
    let f16_model = load(&serialize(&good(), Dtype::F16)).unwrap();
    // Every value of `good()` is a multiple of 0.25 in [-1, 13], exact in f16.
    assert_eq!(
        f32_model
            .weights
            .iter()
            .map(|t| &t.data)
            .collect::<Vec<_>>(),
        f16_model
            .weights
            .iter()
            .map(|t| &t.data)
            .collect::<Vec<_>>()
    );
    let kernel = f16_model
        .weights
        .role(f16_model.graph.outputs[0].value, WeightRole::Slope)
        .unwrap();
    assert_eq!(kernel.stored_as, Dtype::F16);
    assert_eq!(f32_model.weights.parameter_count(), 3 * 2 * 9 + 3 + 3);
}

#[test]
fn missing_tensor_names_the_layer_and_the_shape_it_needs() {
    let mut tensors = good();
    tensors.retain(|(name, _, _)| name != "c1.bias");
    check(
        "missing",
        &serialize(&tensors, Dtype::F32),
        &[ErrorKind::MissingWeight],
    );
}

#[test]
fn extra_tensor_is_reported_against_the_weights_file() {
    let mut tensors = good();
    tensors.push(tensor("c2.weight", &[3, 3, 1, 1]));
    check(
        "extra",
        &serialize(&tensors, Dtype::F32),
        &[ErrorKind::ExtraWeight],
    );
}

#[test]
fn wrong_shapes_say_what_the_layer_needs() {
    let tensors = vec![
        tensor("c1.weight", &[3, 2, 5, 5]),
        tensor("c1.bias", &[4]),
        tensor("a1.alpha", &[1, 3]),
    ];
    check(
        "wrong_shape",
        &serialize(&tensors, Dtype::F32),
        &[
            ErrorKind::WeightShape,
            ErrorKind::WeightShape,
            ErrorKind::WeightShape,
        ],
    );
}

#[test]
fn unsupported_dtype() {
    let bf16: Vec<u8> = vec![0; 3 * 2];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::BF16, vec![3], &bf16).unwrap();
    let f32s: Vec<u8> = vec![0; 4 * (3 * 2 * 9 + 3)];
    let w = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![3, 2, 3, 3],
        &f32s[..4 * 54],
    )
    .unwrap();
    let b = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3], &f32s[4 * 54..])
        .unwrap();
    let bytes = safetensors::serialize(
        vec![("c1.weight", w), ("c1.bias", b), ("a1.alpha", view)],
        None,
    )
    .unwrap();
    check("dtype", &bytes, &[ErrorKind::WeightDtype]);
}

#[test]
fn truncated_and_garbage_files() {
    let bytes = serialize(&good(), Dtype::F32);
    check(
        "truncated",
        &bytes[..bytes.len() - 10],
        &[ErrorKind::WeightsFile],
    );
    check(
        "garbage",
        b"GIF89a this is a picture, not weights",
        &[ErrorKind::WeightsFile],
    );
    check("empty", b"", &[ErrorKind::WeightsFile]);
}

#[test]
fn every_prefix_of_a_weights_file_is_rejected_without_panicking() {
    let bytes = serialize(&good(), Dtype::F16);
    for len in 0..bytes.len() {
        let errors = load(&bytes[..len]).expect_err("a truncated file is invalid");
        assert!(
            errors.iter().all(|e| e.kind == ErrorKind::WeightsFile),
            "length {len}: {errors}"
        );
    }
}

#[test]
fn description_and_weights_errors_are_reported_together() {
    let src = "image = input(channels=2)\nc1 = cnov(image)\noutput c1\n";
    let errors = Model::from_sources(
        src,
        "models/net.nnc".as_ref(),
        b"\x01",
        "models/net.safetensors".as_ref(),
    )
    .unwrap_err();
    let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::UnknownOp, ErrorKind::WeightsFile]);
}

#[test]
fn missing_files_are_named() {
    let errors = Model::load("no/such.nnc".as_ref(), "no/such.safetensors".as_ref()).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("cannot read no/such.nnc"), "{text}");
    assert!(text.contains("cannot read no/such.safetensors"), "{text}");
}
