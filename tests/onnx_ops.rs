//! Op-by-op ONNX fixtures: one small ONNX file per op and attribute combination in `tests/onnx/`,
//! each with the outputs ONNX Runtime computed for a seeded input (`NAME.safetensors`), written by
//! `models/onnx_ops/make_fixtures.py`. Every fixture is imported and run through the interpreter,
//! and compiled by `nnc!` and run on both code paths; both must match ONNX Runtime within
//! `1e-4 * (1 + |expected|)`.
//!
//! The sizes are odd on purpose (37 rows, 23 columns, 5 or 13 channels), so that no kernel's
//! blocking divides them.

use nnc::ir::Shape;
use nnc::{Interpreter, Tensor};
use safetensors::SafeTensors;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One fixture's compiled network, run on one code path: every head's data, by name.
/// Runs a fixture on the path `new`, `without_avx512` or `portable` names.
type Compiled = fn(path: &str, input: &[f32]) -> Vec<(&'static str, Vec<f32>)>;

/// Compiles each fixture at 23 x 37 (width x height) and lists how to run it, by name.
macro_rules! fixtures {
    ($($name:ident: $path:tt => [$($head:ident),+]),* $(,)?) => {
        $(
            nnc::nnc! {
                mod $name {
                    model: $path,
                    input: 23 x 37,
                }
            }
        )*
        const COMPILED: &[(&str, Compiled)] = &[$(
            (stringify!($name), |path, input| {
                let mut net = match path {
                    "new" => $name::Network::new(),
                    "without_avx512" => $name::Network::without_avx512(),
                    _ => $name::Network::portable(),
                };
                let o = net.v23x37().scale0(input.try_into().expect("the fixture's input size"));
                vec![$((stringify!($head), o.$head.data().to_vec())),+]
            }),
        )*];
    };
}

fixtures! {
    add: "tests/onnx/add.onnx" => [y],
    add_per_channel_constant_folded_into_conv: "tests/onnx/add_per_channel_constant_folded_into_conv.onnx" => [y],
    average_pool_2x2: "tests/onnx/average_pool_2x2.onnx" => [y],
    average_pool_2x2_counting_uneven_pad: "tests/onnx/average_pool_2x2_counting_uneven_pad.onnx" => [y],
    average_pool_2x2_pad1_ceil_excluding_pad: "tests/onnx/average_pool_2x2_pad1_ceil_excluding_pad.onnx" => [y],
    average_pool_3x2_strides_2_1_excluding_pad: "tests/onnx/average_pool_3x2_strides_2_1_excluding_pad.onnx" => [y],
    average_pool_3x3_pad1_excluding_pad: "tests/onnx/average_pool_3x3_pad1_excluding_pad.onnx" => [y],
    average_pool_3x3_stride2_counting_pad: "tests/onnx/average_pool_3x3_stride2_counting_pad.onnx" => [y],
    average_pool_3x3_stride3_ceil: "tests/onnx/average_pool_3x3_stride3_ceil.onnx" => [y],
    batch_norm_alone: "tests/onnx/batch_norm_alone.onnx" => [y],
    classifier_gemm_softmax_opset11: "tests/onnx/classifier_gemm_softmax_opset11.onnx" => [y],
    clip_both_bounds: "tests/onnx/clip_both_bounds.onnx" => [y],
    clip_min_only: "tests/onnx/clip_min_only.onnx" => [y],
    clip_opset9_attributes: "tests/onnx/clip_opset9_attributes.onnx" => [y],
    clip_relu6_after_conv: "tests/onnx/clip_relu6_after_conv.onnx" => [y],
    concat: "tests/onnx/concat.onnx" => [y],
    conv_1x1_no_bias: "tests/onnx/conv_1x1_no_bias.onnx" => [y],
    conv_1x3_pad_0_1: "tests/onnx/conv_1x3_pad_0_1.onnx" => [y],
    conv_3x1_strides_2_1: "tests/onnx/conv_3x1_strides_2_1.onnx" => [y],
    conv_3x2_auto_pad_same_upper: "tests/onnx/conv_3x2_auto_pad_same_upper.onnx" => [y],
    conv_3x3_dilation2_pad2: "tests/onnx/conv_3x3_dilation2_pad2.onnx" => [y],
    conv_3x3_dilations_3_1_pad_3_1: "tests/onnx/conv_3x3_dilations_3_1_pad_3_1.onnx" => [y],
    conv_3x3_pad1: "tests/onnx/conv_3x3_pad1.onnx" => [y],
    conv_3x3_stride2_no_pad: "tests/onnx/conv_3x3_stride2_no_pad.onnx" => [y],
    conv_5x3_strides_1_2_uneven_pads: "tests/onnx/conv_5x3_strides_1_2_uneven_pads.onnx" => [y],
    conv_5x5_stride2_pad2: "tests/onnx/conv_5x5_stride2_pad2.onnx" => [y],
    conv_7x7_stride2_pad3: "tests/onnx/conv_7x7_stride2_pad3.onnx" => [y],
    conv_asymmetric_pads_stride2: "tests/onnx/conv_asymmetric_pads_stride2.onnx" => [y],
    conv_auto_pad_same_lower_even_kernel: "tests/onnx/conv_auto_pad_same_lower_even_kernel.onnx" => [y],
    conv_auto_pad_same_upper: "tests/onnx/conv_auto_pad_same_upper.onnx" => [y],
    conv_auto_pad_same_upper_even_kernel: "tests/onnx/conv_auto_pad_same_upper_even_kernel.onnx" => [y],
    conv_auto_pad_valid: "tests/onnx/conv_auto_pad_valid.onnx" => [y],
    conv_batch_norm: "tests/onnx/conv_batch_norm.onnx" => [y],
    conv_depthwise_3x3: "tests/onnx/conv_depthwise_3x3.onnx" => [y],
    conv_depthwise_3x3_dilation2: "tests/onnx/conv_depthwise_3x3_dilation2.onnx" => [y],
    conv_depthwise_3x3_stride2: "tests/onnx/conv_depthwise_3x3_stride2.onnx" => [y],
    conv_mul_add_folded: "tests/onnx/conv_mul_add_folded.onnx" => [y],
    conv_uneven_pads: "tests/onnx/conv_uneven_pads.onnx" => [y],
    embedding_matmul_add: "tests/onnx/embedding_matmul_add.onnx" => [y],
    fixed_opset21_conv: "tests/onnx/fixed_opset21_conv.onnx" => [y],
    global_average_pool: "tests/onnx/global_average_pool.onnx" => [y],
    hard_sigmoid: "tests/onnx/hard_sigmoid.onnx" => [y],
    hard_swish: "tests/onnx/hard_swish.onnx" => [y],
    identity_and_dropout: "tests/onnx/identity_and_dropout.onnx" => [y],
    leaky_relu: "tests/onnx/leaky_relu.onnx" => [y],
    max_pool_1x3_strides_1_2_pad: "tests/onnx/max_pool_1x3_strides_1_2_pad.onnx" => [y],
    max_pool_2x2: "tests/onnx/max_pool_2x2.onnx" => [y],
    max_pool_2x2_ceil: "tests/onnx/max_pool_2x2_ceil.onnx" => [y],
    max_pool_2x2_pad1_ceil_drops_a_window_in_the_padding: "tests/onnx/max_pool_2x2_pad1_ceil_drops_a_window_in_the_padding.onnx" => [y],
    max_pool_3x2_ceil: "tests/onnx/max_pool_3x2_ceil.onnx" => [y],
    max_pool_3x3_stride1_pad1: "tests/onnx/max_pool_3x3_stride1_pad1.onnx" => [y],
    max_pool_3x3_stride2_pad1: "tests/onnx/max_pool_3x3_stride2_pad1.onnx" => [y],
    max_pool_3x3_stride3_ceil: "tests/onnx/max_pool_3x3_stride3_ceil.onnx" => [y],
    mul_per_channel_constant: "tests/onnx/mul_per_channel_constant.onnx" => [y],
    mul_two_values: "tests/onnx/mul_two_values.onnx" => [y],
    nhwc_head: "tests/onnx/nhwc_head.onnx" => [y],
    nhwc_head_from_computed_shape: "tests/onnx/nhwc_head_from_computed_shape.onnx" => [y, z],
    opset9_conv_relu_pool: "tests/onnx/opset9_conv_relu_pool.onnx" => [y],
    pad_height_and_width: "tests/onnx/pad_height_and_width.onnx" => [y],
    pad_opset9_attributes: "tests/onnx/pad_opset9_attributes.onnx" => [y],
    prelu_one_slope: "tests/onnx/prelu_one_slope.onnx" => [y],
    prelu_per_channel: "tests/onnx/prelu_per_channel.onnx" => [y],
    relu: "tests/onnx/relu.onnx" => [y],
    resize_nearest_asymmetric_2x: "tests/onnx/resize_nearest_asymmetric_2x.onnx" => [y],
    resize_nearest_default_modes_2x: "tests/onnx/resize_nearest_default_modes_2x.onnx" => [y],
    resize_nearest_half_pixel_3x: "tests/onnx/resize_nearest_half_pixel_3x.onnx" => [y],
    sigmoid: "tests/onnx/sigmoid.onnx" => [y],
    softmax_nhwc_head: "tests/onnx/softmax_nhwc_head.onnx" => [y],
    softmax_over_channels: "tests/onnx/softmax_over_channels.onnx" => [y],
    sub_and_div_by_constants: "tests/onnx/sub_and_div_by_constants.onnx" => [y],
    sub_from_constant: "tests/onnx/sub_from_constant.onnx" => [y],
    upsample_opset9_2x: "tests/onnx/upsample_opset9_2x.onnx" => [y],
}

/// A fixture: its ONNX file and what ONNX Runtime computed from its input.
struct Fixture {
    name: String,
    onnx: PathBuf,
    /// The input, NHWC.
    input: Tensor,
    /// Every graph output by name, in nnc's layout (NHWC, or as the graph flattened it).
    expected: Vec<(String, Vec<f32>)>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx");
    let mut onnx: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    onnx.sort();
    assert!(
        onnx.len() >= 30,
        "{} fixtures in {}",
        onnx.len(),
        dir.display()
    );
    onnx.into_iter().map(fixture).collect()
}

fn fixture(onnx: PathBuf) -> Fixture {
    let outputs = onnx.with_extension("safetensors");
    let bytes = std::fs::read(&outputs).unwrap_or_else(|e| panic!("{}: {e}", outputs.display()));
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let read = |name: &str| {
        let t = tensors.tensor(name).unwrap();
        let data: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        (t.shape().to_vec(), data)
    };
    let (shape, data) = read("input");
    let [1, c, h, w] = shape[..] else {
        panic!("{}: input shape {shape:?}", outputs.display())
    };
    let input = Tensor::from_vec(Shape { h, w, c }, nhwc(&data, c, h, w));
    let mut expected = Vec::new();
    for name in tensors.names() {
        if name == "input" {
            continue;
        }
        let (shape, data) = read(name);
        let data = match shape[..] {
            [1, c, h, w] => nhwc(&data, c, h, w),
            _ => data,
        };
        expected.push((name.to_string(), data));
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    Fixture {
        name: onnx.file_stem().unwrap().to_string_lossy().into_owned(),
        onnx,
        input,
        expected,
    }
}

/// NCHW data (batch 1) in NHWC order.
fn nhwc(data: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(data.len());
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                out.push(data[(ch * h + y) * w + x]);
            }
        }
    }
    out
}

fn compare(got: &[f32], expect: &[f32], what: &str) {
    assert_eq!(got.len(), expect.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expect).enumerate() {
        assert!(
            (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{what}[{i}]: nnc {g}, ONNX Runtime {e}"
        );
    }
}

#[test]
fn every_fixture_is_compiled() {
    let on_disk: BTreeSet<String> = fixtures().into_iter().map(|f| f.name).collect();
    let compiled: BTreeSet<String> = COMPILED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, compiled,
        "tests/onnx and the `fixtures!` list differ"
    );
}

#[test]
fn the_interpreter_matches_onnx_runtime_op_by_op() {
    for f in fixtures() {
        let bytes = std::fs::read(&f.onnx).unwrap();
        let imported = nnc_onnx::import(&bytes, &f.onnx).unwrap_or_else(|e| panic!("{e}"));
        let model = imported
            .model(&f.onnx)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let outputs = Interpreter::new(model).run(&f.input).unwrap();
        assert_eq!(outputs.heads.len(), f.expected.len(), "{}: heads", f.name);
        for (name, expect) in &f.expected {
            let got = outputs
                .get(name)
                .unwrap_or_else(|| panic!("{}: no head `{name}`", f.name));
            compare(&got.data, expect, &format!("{} interpreter {name}", f.name));
        }
    }
}

#[test]
fn compiled_code_matches_onnx_runtime_op_by_op_on_every_path() {
    for f in fixtures() {
        let (_, run) = COMPILED
            .iter()
            .find(|(n, _)| *n == f.name)
            .unwrap_or_else(|| panic!("{} is not compiled", f.name));
        // `new` takes the AVX-512 path where the CPU has it, and the AVX2 path elsewhere.
        for path in ["new", "without_avx512", "portable"] {
            let heads = run(path, &f.input.data);
            assert_eq!(heads.len(), f.expected.len(), "{}: heads", f.name);
            for ((name, got), (expect_name, expect)) in heads.iter().zip(&f.expected) {
                assert_eq!(name, expect_name, "{}: head order", f.name);
                compare(got, expect, &format!("{} {path} {name}", f.name));
            }
        }
    }
}

nnc::nnc! {
    /// A fixture compiled with f16 weight storage, as `.nnc` models can be.
    mod conv_f16 {
        model: "tests/onnx/conv_3x3_pad1.onnx",
        input: 23 x 37,
        weights_as: f16,
    }
}

#[test]
fn weights_as_f16_compiles_onnx_weights_to_half_precision() {
    let f = fixture(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/conv_3x3_pad1.onnx"));
    let expect = &f.expected[0].1;
    let mut net = conv_f16::Network::new();
    let got = net
        .v23x37()
        .scale0(f.input.data.as_slice().try_into().unwrap())
        .y
        .data()
        .to_vec();
    // f16 keeps 11 significant bits: each of the 45 products is off by up to 2^-11 of itself.
    let mut largest = 0.0f32;
    for (g, e) in got.iter().zip(expect) {
        assert!(
            (g - e).abs() <= 1e-2 * (1.0 + e.abs()),
            "f16 {g}, ONNX Runtime {e}"
        );
        largest = largest.max((g - e).abs());
    }
    // And it is f16: the outputs differ from the f32 ones.
    assert!(largest > 1e-6, "f16 storage gave f32 results exactly");
}
