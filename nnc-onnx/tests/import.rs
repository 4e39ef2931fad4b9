//! ONNX in: nnc's own models and random networks through the exporter and back, the
//! BatchNormalization fold against the arithmetic it replaces, and every kind of bad file.

use std::path::Path;

use nnc_ir::testing::{Rng, random_input, random_network, random_weights};
use nnc_ir::{Dtype, Model, ValueId};
use nnc_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use nnc_onnx::{ImportErrors, import};
use nnc_runtime::{Interpreter, Tensor};
use prost::Message;

fn models() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
}

/// The same network: ops, channels and inputs layer by layer, heads, and every weight's
/// values (f16 weights are widened to f32 by the export, exactly).
fn assert_same(a: &Model, b: &Model) {
    let (ga, gb) = (&a.graph, &b.graph);
    assert_eq!(ga.nodes.len(), gb.nodes.len());
    for (i, (x, y)) in ga.nodes.iter().zip(&gb.nodes).enumerate() {
        assert_eq!((x.op, x.channels), (y.op, y.channels), "layer {}", x.name);
        assert_eq!(x.inputs, y.inputs, "layer {}", x.name);
        let (wa, wb) = (a.weights.of(ValueId(i)), b.weights.of(ValueId(i)));
        assert_eq!(wa.len(), wb.len(), "layer {}", x.name);
        for (ta, tb) in wa.iter().zip(wb) {
            assert_eq!(
                (ta.role, &ta.shape),
                (tb.role, &tb.shape),
                "layer {}",
                x.name
            );
            assert_eq!(ta.data, tb.data, "layer {}", x.name);
        }
    }
    let heads = |g: &nnc_ir::Graph| -> Vec<(String, ValueId)> {
        g.outputs
            .iter()
            .map(|h| (h.name.clone(), h.value))
            .collect()
    };
    assert_eq!(heads(ga), heads(gb));
}

#[test]
fn nncs_models_come_back_from_onnx_unchanged() {
    for name in ["testnet", "face_student"] {
        let dir = models();
        let model = Model::load(
            &dir.join(format!("{name}.nnc")),
            &dir.join(format!("{name}.safetensors")),
        )
        .unwrap();
        let bytes = nnc_ir::onnx::export(&model).unwrap();
        let file = dir.join(format!("{name}.onnx"));
        let imported = import(&bytes, &file).unwrap();
        let back = imported.model(&file).unwrap();
        assert_same(&model, &back);
        // The committed ONNX files are the same export.
        let committed = import(&std::fs::read(&file).unwrap(), &file).unwrap();
        assert_same(&model, &committed.model(&file).unwrap());
    }
}

#[test]
fn random_networks_come_back_from_onnx_unchanged() {
    let mut imported = 0;
    for seed in 0..40 {
        let mut rng = Rng::new(seed);
        let src = random_network(&mut rng);
        let graph = nnc_ir::parse_graph(&src, "random.nnc".as_ref()).unwrap();
        let weights = random_weights(&graph, &mut rng, Dtype::F32);
        let model = Model::from_sources(
            &src,
            "random.nnc".as_ref(),
            &weights,
            "random.safetensors".as_ref(),
        )
        .unwrap();
        let bytes = nnc_ir::onnx::export(&model).unwrap();
        let uses_padadd = src.contains("padadd(");
        match import(&bytes, "random.onnx".as_ref()) {
            Ok(back) => {
                assert!(!uses_padadd, "seed {seed}");
                let back = back.model("random.onnx".as_ref()).unwrap();
                assert_same(&model, &back);
                // And the interpreter agrees, bit for bit.
                let c = model.graph.node(model.graph.input()).channels;
                let side = model.graph.min_input_size().expect("a size that fits") + 3;
                let (h, w) = (side, side + 2);
                let input =
                    Tensor::from_vec(nnc_ir::Shape { h, w, c }, random_input(&mut rng, h, w, c));
                let (x, y) = (
                    Interpreter::new(model).run(&input).unwrap(),
                    Interpreter::new(back).run(&input).unwrap(),
                );
                assert_eq!(format!("{x:?}"), format!("{y:?}"), "seed {seed}");
                imported += 1;
            }
            // The exporter writes padadd as Shape, Max, Sub, Concat, Pad and Add nodes, which
            // the importer does not read back (yet).
            Err(e) => assert!(uses_padadd, "seed {seed}: {e}"),
        }
    }
    assert!(
        imported >= 20,
        "only {imported} of 40 random networks imported"
    );
}

fn float_tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        ..TensorProto::default()
    }
}

fn image(name: &str, channels: i64) -> ValueInfoProto {
    let dim = |v: Option<i64>, p: Option<&str>| Dimension {
        dim_value: v,
        dim_param: p.map(str::to_string),
    };
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(Some(1), None),
                        dim(Some(channels), None),
                        dim(None, Some("h")),
                        dim(None, Some("w")),
                    ],
                }),
            }),
        }),
    }
}

fn node(name: &str, op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        name: name.to_string(),
        op_type: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        ..NodeProto::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        ints: values.to_vec(),
        r#type: 7,
        ..AttributeProto::default()
    }
}

fn model_bytes(graph: GraphProto, opset: i64) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "test".to_string(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
    }
    .encode_to_vec()
}

/// Conv (3x3, two channels in, two out, with bias) then BatchNormalization, then LeakyRelu:
/// the folded convolution must give what the two steps give, computed here by hand.
#[test]
fn batch_norm_is_folded_into_the_conv_before_it() {
    let kernel: Vec<f32> = (0..2 * 2 * 9)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 8.0)
        .collect();
    let bias = [0.25f32, -0.5];
    let (scale, shift, mean, var) = ([1.5f32, 0.5], [0.1f32, -0.2], [0.3f32, -0.1], [0.8f32, 2.0]);
    let epsilon = 1e-3f32;
    let mut bn = node("bn", "BatchNormalization", &["c", "s", "b", "m", "v"], "n");
    bn.attribute.push(AttributeProto {
        name: "epsilon".to_string(),
        f: epsilon,
        r#type: 1,
        ..AttributeProto::default()
    });
    let mut conv = node("conv", "Conv", &["x", "k", "kb"], "c");
    conv.attribute.push(ints("pads", &[1, 1, 1, 1]));
    let mut leaky = node("leaky", "LeakyRelu", &["n"], "y");
    leaky.attribute.push(AttributeProto {
        name: "alpha".to_string(),
        f: 0.1,
        r#type: 1,
        ..AttributeProto::default()
    });
    let graph = GraphProto {
        name: "bn".to_string(),
        node: vec![conv, bn, leaky],
        initializer: vec![
            float_tensor("k", &[2, 2, 3, 3], &kernel),
            float_tensor("kb", &[2], &bias),
            float_tensor("s", &[2], &scale),
            float_tensor("b", &[2], &shift),
            float_tensor("m", &[2], &mean),
            float_tensor("v", &[2], &var),
        ],
        input: vec![image("x", 2)],
        output: vec![image("y", 2)],
    };
    let file = Path::new("bn.onnx");
    let imported = import(&model_bytes(graph, 15), file).unwrap();
    assert!(
        !imported.description.contains("batch"),
        "{}",
        imported.description
    );
    let model = imported.model(file).unwrap();
    assert_eq!(model.graph.nodes.len(), 3, "{}", imported.description);

    let (h, w) = (5, 4);
    let input: Vec<f32> = (0..h * w * 2)
        .map(|i| ((i * 5 % 13) as f32 - 6.0) / 4.0)
        .collect();
    let out = Interpreter::new(model)
        .run(&Tensor::from_vec(
            nnc_ir::Shape { h, w, c: 2 },
            input.clone(),
        ))
        .unwrap();
    let y = &out.get("y").unwrap().data;
    for oy in 0..h {
        for ox in 0..w {
            for o in 0..2 {
                let mut sum = bias[o];
                for i in 0..2 {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = (oy + ky, ox + kx);
                            if iy < 1 || ix < 1 || iy > h || ix > w {
                                continue;
                            }
                            let x = input[((iy - 1) * w + ix - 1) * 2 + i];
                            sum += kernel[((o * 2 + i) * 3 + ky) * 3 + kx] * x;
                        }
                    }
                }
                let n = (sum - mean[o]) / (var[o] + epsilon).sqrt() * scale[o] + shift[o];
                let expected = if n > 0.0 { n } else { 0.1 * n };
                let got = y[(oy * w + ox) * 2 + o];
                assert!(
                    (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                    "({oy}, {ox}, {o}): {got} against {expected}"
                );
            }
        }
    }
}

fn int_tensor(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: vec![data.len() as i64],
        data_type: 7,
        int64_data: data.to_vec(),
        ..TensorProto::default()
    }
}

/// YuNet's heads: a 1x1 convolution, transposed to NHWC and reshaped to `[1, -1, C]` with the
/// shape computed from the tensor's own (`Shape`, `Gather`, `Unsqueeze`, `Concat`), then a
/// sigmoid; and the same convolution reshaped by a constant shape, and flattened. All three are
/// heads over nnc's NHWC data: the ONNX output's elements in order are the head's.
#[test]
fn transposed_and_reshaped_outputs_are_nhwc_heads() {
    let kernel = [0.5f32, -1.0, 0.25, 2.0, -0.5, 1.5];
    let bias = [0.1f32, -0.2, 0.3];
    let mut gather = node("pick_n", "Gather", &["shape", "zero"], "n");
    gather.attribute.push(AttributeProto {
        name: "axis".to_string(),
        i: 0,
        r#type: 2,
        ..AttributeProto::default()
    });
    let mut unsqueeze = node("n_1d", "Unsqueeze", &["n"], "n1");
    unsqueeze.attribute.push(ints("axes", &[0]));
    let mut concat = node("target", "Concat", &["n1", "minus_one", "three"], "target");
    concat.attribute.push(AttributeProto {
        name: "axis".to_string(),
        i: 0,
        r#type: 2,
        ..AttributeProto::default()
    });
    let mut transpose = node("to_nhwc", "Transpose", &["c"], "t");
    transpose.attribute.push(ints("perm", &[0, 2, 3, 1]));
    let graph = GraphProto {
        name: "heads".to_string(),
        node: vec![
            node("conv", "Conv", &["x", "k", "b"], "c"),
            transpose,
            node("shape_of_c", "Shape", &["c"], "shape"),
            gather,
            unsqueeze,
            concat,
            node("reshape", "Reshape", &["t", "target"], "r"),
            node("sigmoid", "Sigmoid", &["r"], "score"),
            node("reshape2", "Reshape", &["t", "fixed"], "boxes"),
            node("flatten", "Flatten", &["t"], "flat"),
        ],
        initializer: vec![
            float_tensor("k", &[3, 2, 1, 1], &kernel),
            float_tensor("b", &[3], &bias),
            int_tensor("zero", &[0]),
            int_tensor("minus_one", &[-1]),
            int_tensor("three", &[3]),
            int_tensor("fixed", &[1, -1, 3]),
        ],
        input: vec![image("x", 2)],
        output: vec![image("score", 3), image("boxes", 3), image("flat", 3)],
    };
    let file = Path::new("heads.onnx");
    let imported = import(&model_bytes(graph, 13), file).unwrap();
    let model = imported.model(file).unwrap();
    let heads: Vec<&str> = model
        .graph
        .outputs
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        heads,
        ["score", "boxes", "flat"],
        "{}",
        imported.description
    );

    let (h, w) = (3, 4);
    let input: Vec<f32> = (0..h * w * 2).map(|i| (i as f32 - 11.0) / 7.0).collect();
    let out = Interpreter::new(model)
        .run(&Tensor::from_vec(
            nnc_ir::Shape { h, w, c: 2 },
            input.clone(),
        ))
        .unwrap();
    // ONNX's output element [0, y * w + x, o], in order.
    let mut conv = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for o in 0..3 {
                let at = (y * w + x) * 2;
                conv.push(bias[o] + kernel[o * 2] * input[at] + kernel[o * 2 + 1] * input[at + 1]);
            }
        }
    }
    let sigmoid: Vec<f32> = conv.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let close = |a: &[f32], b: &[f32]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6)
    };
    assert!(close(&out.get("score").unwrap().data, &sigmoid));
    assert!(close(&out.get("boxes").unwrap().data, &conv));
    assert!(close(&out.get("flat").unwrap().data, &conv));

    // A reshape that does not keep the channels last is refused, as is reading the NHWC data
    // in a layer.
    let mut g = GraphProto {
        name: "bad_heads".to_string(),
        node: vec![
            node("conv", "Conv", &["x", "k", "b"], "c"),
            {
                let mut t = node("to_nhwc", "Transpose", &["c"], "t");
                t.attribute.push(ints("perm", &[0, 2, 3, 1]));
                t
            },
            node("reshape", "Reshape", &["t", "fixed"], "y"),
            node("conv_after", "Conv", &["t", "k", "b"], "z"),
        ],
        initializer: vec![
            float_tensor("k", &[3, 2, 1, 1], &kernel),
            float_tensor("b", &[3], &bias),
            int_tensor("fixed", &[1, 3, -1]),
        ],
        input: vec![image("x", 2)],
        output: vec![image("y", 3), image("z", 3)],
    };
    let text = errors(&model_bytes(g.clone(), 13)).to_string();
    assert!(
        text.contains("shape [1, 3, -1]; nnc reads a reshape that keeps the 3 channels last"),
        "{text}"
    );
    assert!(
        text.contains(
            "node `conv_after` (Conv, opset 13, inputs: t, k, b): input `t` is transposed to NHWC"
        ),
        "{text}"
    );
    g.node.truncate(2);
    g.output = vec![image("t", 3)];
    assert!(import(&model_bytes(g, 13), "t.onnx".as_ref()).is_ok());
}

fn errors(bytes: &[u8]) -> ImportErrors {
    import(bytes, "bad.onnx".as_ref()).unwrap_err()
}

#[test]
fn every_unsupported_node_is_listed_at_once() {
    let graph = GraphProto {
        name: "unsupported".to_string(),
        node: vec![
            node("up", "LpPool", &["x"], "u"),
            node("act", "Relu", &["x"], "r"),
            node("head", "Einsum", &["r", "g"], "y"),
        ],
        initializer: vec![float_tensor("g", &[3, 3], &[0.0; 9])],
        input: vec![image("x", 3)],
        output: vec![image("y", 3), image("u", 3)],
    };
    let e = errors(&model_bytes(graph, 13));
    let text = e.to_string();
    assert_eq!(e.errors.len(), 2, "{text}");
    assert!(
        text.contains(
            "bad.onnx: node `up` (LpPool, opset 13, inputs: x): this op is not one nnc imports"
        ),
        "{text}"
    );
    assert!(
        text.contains("node `head` (Einsum, opset 13, inputs: r, g)"),
        "{text}"
    );
    assert!(text.contains("nnc imports Conv ("), "{text}");
}

#[test]
fn bad_files_are_errors_that_name_the_file() {
    // Not protobuf at all, and a cut copy of a real export.
    let real = std::fs::read(models().join("testnet.onnx")).unwrap();
    for bytes in [b"not an onnx file".as_slice(), &real[..real.len() / 2]] {
        let text = errors(bytes).to_string();
        assert!(text.starts_with("bad.onnx: not an ONNX model"), "{text}");
    }
    let graph = || GraphProto {
        name: "g".to_string(),
        node: vec![node("act", "Relu", &["x"], "y")],
        input: vec![image("x", 3)],
        output: vec![image("y", 3)],
        ..GraphProto::default()
    };
    // An opset out of range.
    let text = errors(&model_bytes(graph(), 7)).to_string();
    assert!(
        text.contains("operator set 7 is not one nnc reads (9 to 21)"),
        "{text}"
    );
    // A dynamic channel count.
    let mut g = graph();
    g.input[0]
        .r#type
        .as_mut()
        .unwrap()
        .tensor_type
        .as_mut()
        .unwrap()
        .shape
        .as_mut()
        .unwrap()
        .dim[1] = Dimension {
        dim_value: None,
        dim_param: Some("c".to_string()),
    };
    let text = errors(&model_bytes(g, 13)).to_string();
    assert!(
        text.contains("input `x` has a dynamic or missing channel count"),
        "{text}"
    );
    // A grouped convolution that is not depthwise, and a dilated pool: each reported once, the
    // Relu that reads the failed convolution not at all, and the unsupported Softplus after it
    // still.
    let mut g = graph();
    let mut conv = node("grouped", "Conv", &["x", "k"], "c");
    conv.attribute.push(AttributeProto {
        name: "group".to_string(),
        i: 2,
        r#type: 2,
        ..AttributeProto::default()
    });
    let mut dilated = node("dilated", "MaxPool", &["x"], "p");
    dilated.attribute.push(ints("kernel_shape", &[2, 2]));
    dilated.attribute.push(ints("dilations", &[2, 2]));
    g.node = vec![
        conv,
        dilated,
        node("after", "Relu", &["c"], "r"),
        node("soft", "Softplus", &["r"], "y"),
    ];
    g.input = vec![image("x", 4)];
    g.initializer = vec![float_tensor("k", &[4, 2, 1, 1], &[0.5; 8])];
    let e = errors(&model_bytes(g, 13));
    let text = e.to_string();
    assert_eq!(e.errors.len(), 3, "{text}");
    assert!(
        text.contains("node `grouped` (Conv, opset 13, inputs: x, k): group 2 on 4 channels"),
        "{text}"
    );
    assert!(
        text.contains(
            "node `dilated` (MaxPool, opset 13, inputs: x): dilations [2, 2]; nnc dilates \
             convolutions, not pools"
        ),
        "{text}"
    );
    assert!(text.contains("node `soft` (Softplus"), "{text}");
}

#[test]
fn mutated_files_never_panic() {
    let real = std::fs::read(models().join("face_student.onnx")).unwrap();
    let mut rng = Rng::new(19);
    for _ in 0..300 {
        let mut bytes = real.clone();
        for _ in 0..rng.range(1, 8) {
            let at = rng.range(0, bytes.len());
            bytes[at] = rng.next_u64() as u8;
        }
        if rng.chance(0.3) {
            bytes.truncate(rng.range(0, bytes.len()));
        }
        // Ok or an error; a model that imports also goes through the whole pipeline.
        if let Ok(imported) = import(&bytes, "mutated.onnx".as_ref()) {
            let _ = imported.model("mutated.onnx".as_ref());
        }
    }
}

/// Window attributes drawn at random on the op-by-op fixtures whose windows differ by axis or
/// dilate: one of `kernel_shape`, `strides`, `pads` and `dilations` of a Conv or pool, set to one
/// to five numbers from -1 to 9, many times over. What imports must plan at its smallest input,
/// with a plan that verifies, and run in the interpreter; the rest are errors, never panics.
#[test]
fn random_window_attributes_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/onnx");
    let fixtures = [
        "conv_1x3_pad_0_1",
        "conv_3x1_strides_2_1",
        "conv_3x3_dilations_3_1_pad_3_1",
        "conv_5x3_strides_1_2_uneven_pads",
        "conv_depthwise_3x3_dilation2",
        "max_pool_1x3_strides_1_2_pad",
        "average_pool_3x2_strides_2_1_excluding_pad",
    ];
    let names = ["kernel_shape", "strides", "pads", "dilations"];
    let mut rng = Rng::new(23);
    let (mut ran, mut refused) = (0, 0);
    for fixture in fixtures {
        let real =
            ModelProto::decode(&*std::fs::read(dir.join(format!("{fixture}.onnx"))).unwrap())
                .unwrap();
        for _ in 0..60 {
            let mut model = real.clone();
            let graph = model.graph.as_mut().unwrap();
            let windowed: Vec<usize> = (0..graph.node.len())
                .filter(|&i| ["Conv", "MaxPool", "AveragePool"].contains(&&*graph.node[i].op_type))
                .collect();
            let node = &mut graph.node[windowed[rng.range(0, windowed.len() - 1)]];
            let name = names[rng.range(0, names.len() - 1)];
            let ints: Vec<i64> = (0..rng.range(1, 5))
                .map(|_| rng.range(0, 10) as i64 - 1)
                .collect();
            node.attribute.retain(|a| a.name != name);
            node.attribute.push(AttributeProto {
                name: name.into(),
                ints,
                r#type: 7,
                ..Default::default()
            });
            let bytes = model.encode_to_vec();
            let imported = import(&bytes, "window.onnx".as_ref());
            let Ok(model) = imported
                .map_err(|e| e.to_string())
                .and_then(|i| i.model("window.onnx".as_ref()).map_err(|e| e.to_string()))
            else {
                refused += 1;
                continue;
            };
            let Some(n) = model.graph.min_input_size() else {
                refused += 1;
                continue;
            };
            let planned =
                nnc_ir::plan::plan(&model.graph, &[(n, n)]).expect("plans at its smallest size");
            nnc_ir::plan::verify(&planned).expect("a plan nnc made verifies");
            let c = model.graph.input_channels();
            let input = Tensor::from_vec(nnc_ir::Shape { h: n, w: n, c }, vec![0.5; n * n * c]);
            Interpreter::new(model).run(&input).expect("runs");
            ran += 1;
        }
    }
    // Both sides are reached: some draws make a window that fits its weights, most do not.
    assert!(ran >= 20 && refused >= 100, "{ran} ran, {refused} refused");
}

/// Every class of mistake the compile-error tests (`tests/ui/onnx_*.rs`) show through `nnc!`,
/// as the importer words it: a snapshot per file.
#[test]
fn error_messages_per_class_of_mistake() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui/models");
    for class in ["unsupported", "dynamic_channels", "truncated", "not_onnx"] {
        let file = format!("tests/ui/models/onnx_{class}.onnx");
        let bytes = std::fs::read(dir.join(format!("onnx_{class}.onnx"))).unwrap();
        let e = import(&bytes, file.as_ref()).unwrap_err();
        insta::assert_snapshot!(format!("error_{class}"), e.to_string());
    }
    // A file that fixes its input size, asked for another.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/onnx/fixed_opset21_conv.onnx");
    let imported = import(&std::fs::read(&file).unwrap(), &file).unwrap();
    assert_eq!(imported.fixed_size, (Some(37), Some(23)));
    assert_eq!(imported.size_problem(37, 23), None);
    insta::assert_snapshot!("error_fixed_size", imported.size_problem(480, 640).unwrap());
}
