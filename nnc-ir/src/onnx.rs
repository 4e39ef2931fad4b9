//! Export of a [`Model`] to ONNX, so that other runtimes (ONNX Runtime, tract) run exactly the
//! network nnc compiles, for the side-by-side benchmark in `benches/compare`.
//!
//! The export is a pipeline in two steps:
//!
//! ```text
//! Model --lower_node (one match arm per op)--> OnnxGraph (plain data) --encode--> protobuf bytes
//! ```
//!
//! The ONNX graph is NCHW with batch 1 and a dynamic height and width (`height`, `width`), opset
//! 13. Every layer becomes one ONNX node whose output carries the layer's name; a head whose name
//! differs from its layer's gets an `Identity` node, so the ONNX outputs are named as the model's
//! heads. Weights become f32 initializers named as in the safetensors file (f16 weights are widened,
//! which is exact).
//!
//! The protobuf is written by hand: ONNX needs only varints, length-delimited fields and little
//! endian floats, about sixty lines, where a protobuf crate with the ONNX schema would be a build-time
//! code generator. Field numbers are those of `onnx.proto` (ONNX 1.13 and later).

use crate::Model;
use crate::ir::{Axis, Conv, Op, ValueId, WeightRole, Window};
use crate::weights::WeightTensor;

/// The ONNX operator set the exported graphs use: the first with `Conv`, `PRelu`, pooling and
/// `Concat` in their current forms, which every ONNX runtime of the last years reads.
pub const OPSET: i64 = 13;
/// The ONNX IR version that goes with opset 13.
const IR_VERSION: i64 = 7;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i64 = 1;
/// `TensorProto.DataType.INT64`.
const INT64: i64 = 7;

/// A network as ONNX sees it, before encoding: plain data, so that tests can read it.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxGraph {
    pub name: String,
    /// The image input: its name and channel count; the shape is `[1, channels, height, width]`.
    pub input: (String, usize),
    pub nodes: Vec<OnnxNode>,
    pub initializers: Vec<Initializer>,
    /// The outputs: each head's name and channel count.
    pub outputs: Vec<(String, usize)>,
}

/// One ONNX operator application.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxNode {
    pub name: String,
    pub op_type: &'static str,
    pub inputs: Vec<String>,
    pub output: String,
    pub attributes: Vec<Attribute>,
}

/// A node attribute; nnc's ops need integers, integer lists, floats and strings.
#[derive(Clone, Debug, PartialEq)]
pub enum Attribute {
    Int(&'static str, i64),
    Float(&'static str, f32),
    Ints(&'static str, Vec<i64>),
    Str(&'static str, &'static str),
}

/// A constant tensor: a weight (f32), or the integers an op takes as an input (`Pad`'s pads).
#[derive(Clone, Debug, PartialEq)]
pub struct Initializer {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: Vec<f32>,
    /// When not empty, the tensor is INT64 with these values, and `data` is empty.
    pub int64: Vec<i64>,
}

/// Why a model cannot be exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError(pub String);

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

/// The model as an ONNX file's bytes.
pub fn export(model: &Model) -> Result<Vec<u8>, ExportError> {
    Ok(encode(&to_onnx_graph(model)?))
}

/// The model as an ONNX graph: every layer through [`lower_node`], then one `Identity` per head
/// that is named differently from its layer.
pub fn to_onnx_graph(model: &Model) -> Result<OnnxGraph, ExportError> {
    let graph = &model.graph;
    let input = graph.node(graph.input());
    let mut onnx = OnnxGraph {
        name: graph.name.clone(),
        input: (input.name.clone(), input.channels),
        nodes: Vec::new(),
        initializers: Vec::new(),
        outputs: Vec::new(),
    };
    for (i, node) in graph.nodes.iter().enumerate() {
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .map(|v| graph.node(*v).name.clone())
            .collect();
        lower_node(
            &mut onnx,
            &node.name,
            node.op,
            inputs,
            model.weights.of(ValueId(i)),
        );
    }
    for head in &graph.outputs {
        let layer = graph.node(head.value);
        if head.name != layer.name {
            if graph.nodes.iter().any(|n| n.name == head.name) {
                return Err(ExportError(format!(
                    "{}: output `{}` has the name of another layer, which ONNX cannot tell apart \
                     from that layer's value; rename the output",
                    graph.file.display(),
                    head.name
                )));
            }
            onnx.nodes.push(OnnxNode {
                name: head.name.clone(),
                op_type: "Identity",
                inputs: vec![layer.name.clone()],
                output: head.name.clone(),
                attributes: Vec::new(),
            });
        }
        onnx.outputs.push((head.name.clone(), layer.channels));
    }
    Ok(onnx)
}

/// Appends the ONNX nodes and initializers of one layer: the only place that knows how an nnc op
/// maps to ONNX, one arm per op.
fn lower_node(
    onnx: &mut OnnxGraph,
    name: &str,
    op: Op,
    mut inputs: Vec<String>,
    weights: &[WeightTensor],
) {
    let (op_type, attributes) = match op {
        // The image is the graph's input, not a node.
        Op::Input { .. } => return,
        Op::Conv(Conv { window, groups, .. }) => {
            // Kernel then bias, in `weight_specs` order, as ONNX's Conv takes them.
            for w in weights {
                inputs.push(w.name.clone());
                onnx.initializers.push(initializer(w, &w.shape));
            }
            let mut attributes = window_attributes(window);
            if groups != 1 {
                attributes.push(Attribute::Int("group", groups as i64));
            }
            ("Conv", attributes)
        }
        Op::Relu => ("Relu", Vec::new()),
        Op::Prelu => {
            // One slope per channel, shaped [C, 1, 1] to broadcast over NCHW.
            let slope = &weights[0];
            debug_assert_eq!(slope.role, WeightRole::Slope);
            inputs.push(slope.name.clone());
            onnx.initializers
                .push(initializer(slope, &[slope.data.len(), 1, 1]));
            ("PRelu", Vec::new())
        }
        Op::Sigmoid => ("Sigmoid", Vec::new()),
        // ONNX's MaxPool pads with -inf, so padding never wins, as in nnc.
        Op::MaxPool(window) => ("MaxPool", window_attributes(window)),
        Op::AvgPool(window) => {
            let mut attributes = window_attributes(window);
            attributes.push(Attribute::Int("count_include_pad", 0));
            ("AveragePool", attributes)
        }
        Op::Add => ("Add", Vec::new()),
        Op::PadAdd => {
            // Each input padded with zeros at the end of every axis up to the larger shape,
            // computed from the runtime shapes (height and width are dynamic), then added.
            let step = |onnx: &mut OnnxGraph, tag: &str, op_type, inputs, attributes| {
                extra_node(onnx, name, tag, op_type, inputs, attributes)
            };
            let (a, b) = (inputs[0].clone(), inputs[1].clone());
            let sa = step(onnx, "shape_a", "Shape", vec![a.clone()], Vec::new());
            let sb = step(onnx, "shape_b", "Shape", vec![b.clone()], Vec::new());
            let big = step(
                onnx,
                "shape",
                "Max",
                vec![sa.clone(), sb.clone()],
                Vec::new(),
            );
            let zeros = step(
                onnx,
                "zeros",
                "Sub",
                vec![sa.clone(), sa.clone()],
                Vec::new(),
            );
            let mut padded = Vec::new();
            for (input, shape, tag) in [(a, sa, "a"), (b, sb, "b")] {
                let missing = step(
                    onnx,
                    &format!("missing_{tag}"),
                    "Sub",
                    vec![big.clone(), shape],
                    Vec::new(),
                );
                let pads = step(
                    onnx,
                    &format!("pads_{tag}"),
                    "Concat",
                    vec![zeros.clone(), missing],
                    vec![Attribute::Int("axis", 0)],
                );
                padded.push(step(
                    onnx,
                    &format!("padded_{tag}"),
                    "Pad",
                    vec![input, pads],
                    Vec::new(),
                ));
            }
            inputs = padded;
            ("Add", Vec::new())
        }
        Op::Concat => ("Concat", vec![Attribute::Int("axis", 1)]),
        Op::Clip { min, max } => {
            for (tag, value) in [("min", min.0), ("max", max.0)] {
                let bound = format!("{name}/{tag}");
                onnx.initializers.push(Initializer {
                    name: bound.clone(),
                    dims: Vec::new(),
                    data: vec![value],
                    int64: Vec::new(),
                });
                inputs.push(bound);
            }
            ("Clip", Vec::new())
        }
        Op::HardSigmoid { alpha, beta } => (
            "HardSigmoid",
            vec![
                Attribute::Float("alpha", alpha.0),
                Attribute::Float("beta", beta.0),
            ],
        ),
        Op::HardSwish => {
            // HardSwish is opset 14; in opset 13 it is x times HardSigmoid(x / 6 + 1/2).
            let gate = extra_node(
                onnx,
                name,
                "gate",
                "HardSigmoid",
                inputs.clone(),
                vec![
                    Attribute::Float("alpha", 1.0 / 6.0),
                    Attribute::Float("beta", 0.5),
                ],
            );
            inputs.push(gate);
            ("Mul", Vec::new())
        }
        Op::Affine => {
            // `x * scale + shift`, each shaped [C, 1, 1] to broadcast over NCHW.
            for w in weights {
                onnx.initializers
                    .push(initializer(w, &[w.data.len(), 1, 1]));
            }
            let scaled = extra_node(
                onnx,
                name,
                "scaled",
                "Mul",
                vec![inputs[0].clone(), weights[0].name.clone()],
                Vec::new(),
            );
            inputs = vec![scaled, weights[1].name.clone()];
            ("Add", Vec::new())
        }
        Op::Mul => ("Mul", Vec::new()),
        Op::GlobalAvgPool => ("GlobalAveragePool", Vec::new()),
        Op::Softmax => ("Softmax", vec![Attribute::Int("axis", 1)]),
        Op::Pad(p) => {
            let pads = format!("{name}/pads");
            let [t, l, b, r] = [p.top, p.left, p.bottom, p.right].map(|v| v as i64);
            onnx.initializers.push(Initializer {
                name: pads.clone(),
                dims: vec![8],
                data: Vec::new(),
                int64: vec![0, 0, t, l, 0, 0, b, r],
            });
            inputs.push(pads);
            ("Pad", Vec::new())
        }
        Op::Upsample { factor } => {
            // No region of interest (an empty optional input), then the scales.
            let f = factor as f32;
            let scales = format!("{name}/scales");
            onnx.initializers.push(Initializer {
                name: scales.clone(),
                dims: vec![4],
                data: vec![1.0, 1.0, f, f],
                int64: Vec::new(),
            });
            inputs.push(String::new());
            inputs.push(scales);
            (
                "Resize",
                vec![
                    Attribute::Str("mode", "nearest"),
                    Attribute::Str("coordinate_transformation_mode", "asymmetric"),
                    Attribute::Str("nearest_mode", "floor"),
                ],
            )
        }
    };
    onnx.nodes.push(OnnxNode {
        name: name.to_string(),
        op_type,
        inputs,
        output: name.to_string(),
        attributes,
    });
}

/// Appends a node computing a part of layer `name`, named `name/tag`, and returns its output.
fn extra_node(
    onnx: &mut OnnxGraph,
    name: &str,
    tag: &str,
    op_type: &'static str,
    inputs: Vec<String>,
    attributes: Vec<Attribute>,
) -> String {
    let output = format!("{name}/{tag}");
    onnx.nodes.push(OnnxNode {
        name: output.clone(),
        op_type,
        inputs,
        output: output.clone(),
        attributes,
    });
    output
}

/// `kernel_shape`, `strides`, `pads` (the same before and after along each axis) and, for a
/// dilated convolution, `dilations`.
fn window_attributes(window: Window) -> Vec<Attribute> {
    let (r, c) = (window.rows, window.cols);
    let both = |f: fn(&Axis) -> usize| vec![f(&r) as i64, f(&c) as i64];
    let (ph, pw) = (r.pad as i64, c.pad as i64);
    let mut attributes = vec![
        Attribute::Ints("kernel_shape", both(|a| a.kernel)),
        Attribute::Ints("strides", both(|a| a.stride)),
        Attribute::Ints("pads", vec![ph, pw, ph, pw]),
    ];
    if (r.dilation, c.dilation) != (1, 1) {
        attributes.push(Attribute::Ints("dilations", both(|a| a.dilation)));
    }
    if window.ceil {
        attributes.push(Attribute::Int("ceil_mode", 1));
    }
    attributes
}

fn initializer(w: &WeightTensor, dims: &[usize]) -> Initializer {
    Initializer {
        name: w.name.clone(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data: w.data.clone(),
        int64: Vec::new(),
    }
}

/// The ONNX `ModelProto` bytes of a graph.
pub fn encode(onnx: &OnnxGraph) -> Vec<u8> {
    let mut graph = Proto::default();
    for node in &onnx.nodes {
        graph.message(1, &encode_node(node));
    }
    graph.string(2, &onnx.name);
    for init in &onnx.initializers {
        graph.message(5, &encode_initializer(init));
    }
    let (input, channels) = &onnx.input;
    graph.message(
        11,
        &value_info(input, *channels, ("height".into(), "width".into())),
    );
    for (name, channels) in &onnx.outputs {
        let dims = (format!("{name}_height"), format!("{name}_width"));
        graph.message(12, &value_info(name, *channels, dims));
    }

    let mut opset = Proto::default();
    opset.string(1, "");
    opset.int(2, OPSET);
    let mut model = Proto::default();
    model.int(1, IR_VERSION);
    model.string(2, "nnc");
    model.string(3, env!("CARGO_PKG_VERSION"));
    model.message(7, &graph);
    model.message(8, &opset);
    model.bytes
}

fn encode_node(node: &OnnxNode) -> Proto {
    let mut p = Proto::default();
    for input in &node.inputs {
        p.string(1, input);
    }
    p.string(2, &node.output);
    p.string(3, &node.name);
    p.string(4, node.op_type);
    for attribute in &node.attributes {
        let mut a = Proto::default();
        match attribute {
            Attribute::Int(name, value) => {
                a.string(1, name);
                a.int(3, *value);
                a.int(20, 2); // AttributeType INT
            }
            Attribute::Float(name, value) => {
                a.string(1, name);
                a.key(2, 5);
                a.bytes.extend(value.to_le_bytes());
                a.int(20, 1); // AttributeType FLOAT
            }
            Attribute::Ints(name, values) => {
                a.string(1, name);
                for v in values {
                    a.int(8, *v);
                }
                a.int(20, 7); // AttributeType INTS
            }
            Attribute::Str(name, value) => {
                a.string(1, name);
                a.string(4, value);
                a.int(20, 3); // AttributeType STRING
            }
        }
        p.message(5, &a);
    }
    p
}

fn encode_initializer(init: &Initializer) -> Proto {
    let mut p = Proto::default();
    for d in &init.dims {
        p.int(1, *d);
    }
    let raw: Vec<u8> = if init.int64.is_empty() {
        p.int(2, FLOAT);
        init.data.iter().flat_map(|x| x.to_le_bytes()).collect()
    } else {
        p.int(2, INT64);
        init.int64.iter().flat_map(|x| x.to_le_bytes()).collect()
    };
    p.string(8, &init.name);
    p.len_delimited(9, &raw);
    p
}

/// A `ValueInfoProto` for a float tensor `[1, channels, height, width]` with named height and width.
fn value_info(name: &str, channels: usize, (height, width): (String, String)) -> Proto {
    let dim_value = |v: i64| {
        let mut d = Proto::default();
        d.int(1, v);
        d
    };
    let dim_param = |name: &str| {
        let mut d = Proto::default();
        d.string(2, name);
        d
    };
    let mut shape = Proto::default();
    shape.message(1, &dim_value(1));
    shape.message(1, &dim_value(channels as i64));
    shape.message(1, &dim_param(&height));
    shape.message(1, &dim_param(&width));
    let mut tensor = Proto::default();
    tensor.int(1, FLOAT);
    tensor.message(2, &shape);
    let mut ty = Proto::default();
    ty.message(1, &tensor);
    let mut info = Proto::default();
    info.string(1, name);
    info.message(2, &ty);
    info
}

/// A protobuf message being written: fields appended in order.
#[derive(Default)]
struct Proto {
    bytes: Vec<u8>,
}

impl Proto {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// An `int32`, `int64` or enum field (wire type 0; negative values take ten bytes, as protobuf
    /// requires).
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }

    fn len_delimited(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.bytes.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.len_delimited(field, s.as_bytes());
    }

    fn message(&mut self, field: u32, m: &Proto) {
        self.len_delimited(field, &m.bytes);
    }
}

#[cfg(test)]
mod tests {
    //! The encoding is read back with a minimal protobuf reader, independent of the writer, and
    //! checked field by field against what ONNX runtimes read. The numeric check, ONNX Runtime
    //! against the interpreter, is `tests/onnx_runtime.rs` at the workspace root (and, with tract,
    //! `benches/compare`).

    use super::*;
    use std::path::Path;

    /// One decoded field: its number and either an integer or the bytes of a length-delimited value.
    #[derive(Debug)]
    enum Value<'a> {
        Int(u64),
        Bytes(&'a [u8]),
    }

    fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = bytes[*at];
            *at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn fields(bytes: &[u8]) -> Vec<(u64, Value<'_>)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            let key = read_varint(bytes, &mut at);
            let value = match key & 7 {
                0 => Value::Int(read_varint(bytes, &mut at)),
                2 => {
                    let len = read_varint(bytes, &mut at) as usize;
                    at += len;
                    Value::Bytes(&bytes[at - len..at])
                }
                other => panic!("unexpected wire type {other}"),
            };
            out.push((key >> 3, value));
        }
        out
    }

    fn all(bytes: &[u8], field: u64) -> Vec<&[u8]> {
        fields(bytes)
            .into_iter()
            .filter_map(|(f, v)| match v {
                Value::Bytes(b) if f == field => Some(b),
                _ => None,
            })
            .collect()
    }

    fn ints(bytes: &[u8], field: u64) -> Vec<i64> {
        fields(bytes)
            .into_iter()
            .filter_map(|(f, v)| match v {
                Value::Int(i) if f == field => Some(i as i64),
                _ => None,
            })
            .collect()
    }

    fn text(bytes: &[u8], field: u64) -> Vec<String> {
        all(bytes, field)
            .into_iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    fn load(stem: &str) -> Model {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        Model::load(
            &root.join(format!("{stem}.nnc")),
            &root.join(format!("{stem}.safetensors")),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each node as `op_type(inputs) -> output [attributes]`, as decoded from the bytes.
    fn decoded_nodes(graph: &[u8]) -> Vec<String> {
        all(graph, 1)
            .into_iter()
            .map(|node| {
                let attributes: Vec<String> = all(node, 5)
                    .into_iter()
                    .map(|a| {
                        let name = &text(a, 1)[0];
                        match ints(a, 20)[..] {
                            [2] => format!("{name}={}", ints(a, 3)[0]),
                            [7] => format!("{name}={:?}", ints(a, 8)),
                            ref other => panic!("attribute type {other:?}"),
                        }
                    })
                    .collect();
                format!(
                    "{}({}) -> {} [{}]",
                    text(node, 4)[0],
                    text(node, 1).join(", "),
                    text(node, 2)[0],
                    attributes.join(" ")
                )
            })
            .collect()
    }

    #[test]
    fn testnet_decodes_to_every_op_with_its_attributes_and_weights() {
        let model = load("testnet");
        let bytes = export(&model).unwrap();
        let top = fields(&bytes);
        assert!(matches!(top[0], (1, Value::Int(7))), "ir_version 7");
        let opset = all(&bytes, 8)[0];
        assert_eq!(ints(opset, 2), [OPSET]);
        let graph = all(&bytes, 7)[0];
        assert_eq!(
            decoded_nodes(graph),
            [
                "Conv(image, conv1.weight, conv1.bias) -> conv1 [kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]]",
                "PRelu(conv1, act1.alpha) -> act1 []",
                "Conv(act1, conv2.weight, conv2.bias) -> conv2 [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1]]",
                "Relu(conv2) -> act2 []",
                "MaxPool(act2) -> pool2 [kernel_shape=[2, 2] strides=[2, 2] pads=[0, 0, 0, 0]]",
                "Conv(pool2, conv3.weight, conv3.bias) -> conv3 [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1]]",
                "Relu(conv3) -> act3 []",
                "Conv(act3, conv4.weight) -> conv4 [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1]]",
                "Add(pool2, conv4) -> res4 []",
                "Conv(res4, wide.weight, wide.bias) -> wide [kernel_shape=[5, 5] strides=[1, 1] pads=[2, 2, 2, 2]]",
                "Conv(res4, narrow.weight, narrow.bias) -> narrow [kernel_shape=[1, 1] strides=[1, 1] pads=[0, 0, 0, 0]]",
                "Concat(wide, narrow) -> mix [axis=1]",
                "AveragePool(mix) -> smooth [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1] count_include_pad=0]",
                "Conv(smooth, score_logit.weight, score_logit.bias) -> score_logit [kernel_shape=[1, 1] strides=[1, 1] pads=[0, 0, 0, 0]]",
                "Sigmoid(score_logit) -> score []",
                "Conv(smooth, box.weight, box.bias) -> box [kernel_shape=[1, 1] strides=[1, 1] pads=[0, 0, 0, 0]]",
            ]
        );

        // Every weight is an f32 initializer holding the safetensors data bit for bit; the PReLU
        // slope is shaped to broadcast over channels.
        let initializers = all(graph, 5);
        assert_eq!(initializers.len(), model.weights.iter().count());
        for init in initializers {
            let name = &text(init, 8)[0];
            let w = model.weights.iter().find(|w| &w.name == name).unwrap();
            let expected_dims: Vec<i64> = match w.role {
                WeightRole::Slope => vec![w.data.len() as i64, 1, 1],
                _ => w.shape.iter().map(|&d| d as i64).collect(),
            };
            assert_eq!(ints(init, 1), expected_dims, "{name}");
            assert_eq!(ints(init, 2), [FLOAT], "{name}");
            let raw = all(init, 9)[0];
            let data: Vec<f32> = raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(data, w.data, "{name}");
        }

        // The input is NCHW with a dynamic height and width; the outputs are the heads.
        let dims = |info: &[u8]| -> Vec<String> {
            let ty = all(info, 2)[0];
            let tensor = all(ty, 1)[0];
            assert_eq!(ints(tensor, 1), [FLOAT]);
            let shape = all(tensor, 2)[0];
            all(shape, 1)
                .into_iter()
                .map(|d| match (&ints(d, 1)[..], text(d, 2)) {
                    ([v], _) => v.to_string(),
                    ([], p) => p[0].clone(),
                    (v, p) => panic!("dimension {v:?} {p:?}"),
                })
                .collect()
        };
        let input = all(graph, 11);
        assert_eq!(input.len(), 1);
        assert_eq!(text(input[0], 1), ["image"]);
        assert_eq!(dims(input[0]), ["1", "3", "height", "width"]);
        let outputs: Vec<(String, Vec<String>)> = all(graph, 12)
            .into_iter()
            .map(|o| (text(o, 1)[0].clone(), dims(o)))
            .collect();
        assert_eq!(
            outputs,
            [
                (
                    "score".to_string(),
                    vec!["1", "1", "score_height", "score_width"]
                        .into_iter()
                        .map(String::from)
                        .collect::<Vec<_>>()
                ),
                (
                    "box".to_string(),
                    vec!["1", "4", "box_height", "box_width"]
                        .into_iter()
                        .map(String::from)
                        .collect()
                ),
            ]
        );
    }

    #[test]
    fn the_committed_testnet_onnx_is_what_the_exporter_writes() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/testnet.onnx");
        let committed = std::fs::read(&path).unwrap();
        assert!(
            committed == export(&load("testnet")).unwrap(),
            "{} is stale: cargo run -p nnc-ir --example export_onnx -- models/testnet.nnc \
             models/testnet.safetensors models/testnet.onnx",
            path.display()
        );
    }

    /// An initializer's dims, data type and raw bytes, by name.
    type Initializers = std::collections::BTreeMap<String, (Vec<i64>, Vec<i64>, Vec<u8>)>;

    /// What makes an ONNX file a given network, whoever wrote it: each node as its op, the
    /// attributes that change its result, and its inputs (an initializer or the graph input by
    /// name, another node's value by that node's position, since exporters name values
    /// differently); the graph input and outputs by name; and the initializers.
    fn network_of(bytes: &[u8]) -> (Vec<String>, Vec<String>, Initializers) {
        let graph = all(bytes, 7)[0];
        let initializers: Initializers = all(graph, 5)
            .into_iter()
            .map(|i| {
                let (dims, dtype, raw) = (ints(i, 1), ints(i, 2), all(i, 9).concat());
                (text(i, 8)[0].clone(), (dims, dtype, raw))
            })
            .collect();
        let input: Vec<String> = all(graph, 11)
            .iter()
            .map(|i| text(i, 1)[0].clone())
            .collect();
        let mut producers: Vec<String> = Vec::new();
        let value = |name: &String, producers: &[String]| -> String {
            if initializers.contains_key(name) || input.contains(name) {
                return name.clone();
            }
            match producers.iter().position(|p| p == name) {
                Some(k) => format!("#{k}"),
                None => format!("undefined {name}"),
            }
        };
        let mut nodes = Vec::new();
        for node in all(graph, 1) {
            let args: Vec<String> = text(node, 1).iter().map(|n| value(n, &producers)).collect();
            let mut attributes: Vec<String> = all(node, 5)
                .into_iter()
                .filter_map(|a| {
                    let name = text(a, 1)[0].clone();
                    let (one, list) = (ints(a, 3), ints(a, 8));
                    // Defaults that one exporter writes out and the other leaves implicit.
                    let default = match name.as_str() {
                        "dilations" => list.iter().all(|&d| d == 1),
                        "group" => one == [1],
                        "ceil_mode" => one == [0],
                        _ => false,
                    };
                    let shown = if list.is_empty() { one } else { list };
                    (!default).then(|| format!("{name}={shown:?}"))
                })
                .collect();
            attributes.sort();
            nodes.push(format!(
                "{}({}) [{}]",
                text(node, 4)[0],
                args.join(", "),
                attributes.join(" ")
            ));
            producers.push(text(node, 2)[0].clone());
        }
        let ends: Vec<String> = input
            .iter()
            .map(|i| format!("input {i}"))
            .chain(all(graph, 12).iter().map(|o| {
                let name = &text(o, 1)[0];
                format!("output {name} = {}", value(name, &producers))
            }))
            .collect();
        (nodes, ends, initializers)
    }

    /// `models/face_student.onnx` is the training pipeline's `torch.onnx.export` (models/README.md),
    /// which names values and writes attributes its own way, so it cannot match this exporter byte
    /// for byte; it must still be the same network with the same weights as the `.nnc` and
    /// `.safetensors` beside it. (`tests/onnx_runtime.rs` also runs it against the interpreter.)
    #[test]
    fn the_committed_face_student_onnx_is_the_model_beside_it() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face_student.onnx");
        let committed = std::fs::read(&path).unwrap();
        let (nodes, ends, initializers) = network_of(&committed);
        let (want_nodes, want_ends, want_initializers) =
            network_of(&export(&load("face_student")).unwrap());
        let stale = format!(
            "{} is stale: it no longer matches models/face_student.nnc and .safetensors. Export it \
             again with the training pipeline (models/train/README.md), or from the workspace \
             root with\n  cargo run -p nnc-ir --example export_onnx -- models/face_student.nnc \
             models/face_student.safetensors models/face_student.onnx",
            path.display()
        );
        assert_eq!(nodes, want_nodes, "{stale}");
        assert_eq!(ends, want_ends, "{stale}");
        assert_eq!(
            initializers.keys().collect::<Vec<_>>(),
            want_initializers.keys().collect::<Vec<_>>(),
            "{stale}"
        );
        for (name, (dims, dtype, raw)) in &initializers {
            let (want_dims, want_dtype, want_raw) = &want_initializers[name];
            assert_eq!((dims, dtype), (want_dims, want_dtype), "{name}: {stale}");
            assert!(raw == want_raw, "{name}: other values. {stale}");
        }
    }

    /// A model from a description with seeded random weights.
    fn model_from(src: &str) -> Model {
        let file = Path::new("named.nnc");
        let graph = crate::parse_graph(src, file).unwrap();
        let bytes = crate::testing::random_weights(
            &graph,
            &mut crate::testing::Rng::new(1),
            crate::Dtype::F32,
        );
        Model::from_sources(src, file, &bytes, Path::new("named.safetensors"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_head_named_apart_from_its_layer_gets_an_identity_node() {
        let model = model_from(
            "image = input(channels=3)\n\
             c = conv(image, out=2, k=1)\n\
             output features = c\n",
        );
        let bytes = export(&model).unwrap();
        let graph = all(&bytes, 7)[0];
        assert_eq!(
            decoded_nodes(graph),
            [
                "Conv(image, c.weight, c.bias) -> c [kernel_shape=[1, 1] strides=[1, 1] pads=[0, 0, 0, 0]]",
                "Identity(c) -> features []",
            ]
        );
        assert_eq!(text(all(graph, 12)[0], 1), ["features"]);
    }

    #[test]
    fn a_depthwise_conv_exports_its_group() {
        let model = model_from(
            "image = input(channels=3)\n\
             d = conv(image, out=3, k=3, pad=1, groups=3)\n\
             output d\n",
        );
        let bytes = export(&model).unwrap();
        assert_eq!(
            decoded_nodes(all(&bytes, 7)[0]),
            [
                "Conv(image, d.weight, d.bias) -> d [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1] group=3]",
            ]
        );
    }

    #[test]
    fn padadd_pads_each_input_at_the_end_of_every_axis_to_the_larger_shape_then_adds() {
        // `a` is larger in height and width, `b` in channels: each needs padding somewhere. The
        // sizes are dynamic, so the pads come from the runtime shapes: `pads` is every axis's
        // start (zeros, `Sub` of a shape from itself) then its end (the larger shape minus the
        // input's), the layout ONNX's `Pad` takes; its default mode pads with zeros.
        let model = model_from(
            "image = input(channels=3)\n\
             a = conv(image, out=4, k=3, pad=1)\n\
             b = conv(image, out=6, k=3, stride=2, pad=1)\n\
             s = padadd(a, b)\n\
             output s\n",
        );
        let bytes = export(&model).unwrap();
        let graph = all(&bytes, 7)[0];
        assert_eq!(
            decoded_nodes(graph),
            [
                "Conv(image, a.weight, a.bias) -> a [kernel_shape=[3, 3] strides=[1, 1] pads=[1, 1, 1, 1]]",
                "Conv(image, b.weight, b.bias) -> b [kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]]",
                "Shape(a) -> s/shape_a []",
                "Shape(b) -> s/shape_b []",
                "Max(s/shape_a, s/shape_b) -> s/shape []",
                "Sub(s/shape_a, s/shape_a) -> s/zeros []",
                "Sub(s/shape, s/shape_a) -> s/missing_a []",
                "Concat(s/zeros, s/missing_a) -> s/pads_a [axis=0]",
                "Pad(a, s/pads_a) -> s/padded_a []",
                "Sub(s/shape, s/shape_b) -> s/missing_b []",
                "Concat(s/zeros, s/missing_b) -> s/pads_b [axis=0]",
                "Pad(b, s/pads_b) -> s/padded_b []",
                "Add(s/padded_a, s/padded_b) -> s []",
            ]
        );
        // The sum has the larger channel count.
        let output = all(graph, 12)[0];
        assert_eq!(text(output, 1), ["s"]);
        let tensor = all(all(output, 2)[0], 1)[0];
        let channels = all(all(tensor, 2)[0], 1)[1];
        assert_eq!(ints(channels, 1), [6]);
    }

    #[test]
    fn a_head_named_as_another_layer_is_refused_with_the_file() {
        let model = model_from(
            "image = input(channels=3)\n\
             c = conv(image, out=2, k=1)\n\
             d = relu(c)\n\
             output c = d\n",
        );
        let error = export(&model).unwrap_err().to_string();
        assert!(
            error.starts_with("named.nnc: output `c` has the name of another layer"),
            "{error}"
        );
    }

    #[test]
    fn varints_take_seven_bits_a_byte_and_negative_ints_ten_bytes() {
        let mut p = Proto::default();
        p.varint(300);
        assert_eq!(p.bytes, [0xac, 0x02]);
        let mut p = Proto::default();
        p.int(1, -1);
        assert_eq!(p.bytes.len(), 1 + 10);
    }
}
