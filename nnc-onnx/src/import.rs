//! Lowering an ONNX graph to an nnc description and weights: one pass over the nodes in their
//! (topological) order, one match arm per op in [`Import::node`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use nnc_ir::{Axis, Model, ModelErrors, Window};
use prost::Message;

use crate::proto::{AttributeProto, FLOAT, GraphProto, ModelProto, NodeProto, TensorProto};

/// The standard operator set versions nnc reads.
pub const OPSETS: RangeInclusive<i64> = 9..=21;

/// The op types that import (under the conditions of [`SUPPORTED`]).
const OPS: [&str; 33] = [
    "Resize",
    "Upsample",
    "Transpose",
    "Reshape",
    "Flatten",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Constant",
    "Cast",
    "Identity",
    "Dropout",
    "Conv",
    "BatchNormalization",
    "Relu",
    "Sigmoid",
    "LeakyRelu",
    "PRelu",
    "MaxPool",
    "AveragePool",
    "Add",
    "Concat",
    "Mul",
    "Sub",
    "Div",
    "Clip",
    "HardSigmoid",
    "HardSwish",
    "Softmax",
    "GlobalAveragePool",
    "Gemm",
    "MatMul",
    "Pad",
];

/// What imports, for error messages and documentation.
pub const SUPPORTED: &str = "Conv (any kernel, strides, padding and dilations, group 1 or \
     depthwise), BatchNormalization (folded into the Conv before it, or a per-channel affine map), \
     Relu, PRelu, LeakyRelu, Sigmoid, Clip, HardSigmoid, HardSwish, Softmax over channels, \
     MaxPool (any kernel and strides, the same padding before and after along each axis, floor \
     or ceil mode, no dilation), AveragePool (the same, padding counted or not, ceil mode when it \
     is not), GlobalAveragePool, Add and Mul of \
     two values of one shape, Add, Sub, Mul and Div by a constant of one value or one per \
     channel (folded into the layer before where possible), Concat on channels, Pad (zeros, \
     height and width), Resize and Upsample (nearest, one whole factor, where each pixel is \
     repeated), Identity and Dropout (removed), Gemm and MatMul on a single pixel (after \
     GlobalAveragePool and Flatten or Reshape); before a graph output, Transpose to NHWC and \
     then Reshape or Flatten keeping channels last (nnc's own layout), with the shape computed \
     by Shape, Gather, Unsqueeze, Concat, Constant and Cast";

/// An imported network: its description and its weights, ready for [`Model::from_sources`].
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// The graph's name, or the file's stem when the graph has none.
    pub name: String,
    /// The `.nnc` text.
    pub description: String,
    /// The weights, as a safetensors file's bytes (f32).
    pub weights: Vec<u8>,
    /// The input's height and width where the file fixes them (`None` where a dimension is
    /// dynamic): a compiled size must match them.
    pub fixed_size: (Option<usize>, Option<usize>),
}

impl Imported {
    /// Why the input size `(height, width)` cannot be given to this network, if it cannot: a
    /// dimension the file fixes to another value.
    pub fn size_problem(&self, height: usize, width: usize) -> Option<String> {
        let (fh, fw) = self.fixed_size;
        let matches = fh.is_none_or(|h| h == height) && fw.is_none_or(|w| w == width);
        if matches {
            return None;
        }
        let side = |d: Option<usize>| d.map_or("any".to_string(), |d| d.to_string());
        Some(format!(
            "the ONNX file fixes its input to {} x {} (width x height), not {width} x {height}",
            side(fw),
            side(fh)
        ))
    }
}

impl Imported {
    /// The model, checked by the same pipeline as a `.nnc` file. `file` is the ONNX file: the
    /// description and weights are named after it (`.nnc`, `.safetensors`) in errors.
    pub fn model(&self, file: &Path) -> Result<Model, ModelErrors> {
        Model::from_sources(
            &self.description,
            &file.with_extension("nnc"),
            &self.weights,
            &file.with_extension("safetensors"),
        )
    }
}

/// One problem with an ONNX file, at a node or with the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The node, described as `name (OpType, opset N, inputs: a, b)`.
    pub node: Option<String>,
    pub message: String,
}

/// Every problem found in one ONNX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportErrors {
    pub file: PathBuf,
    pub errors: Vec<ImportError>,
    /// Whether some node's op is not one nnc runs: the message then lists what it runs.
    pub unsupported: bool,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match &e.node {
                Some(node) => write!(f, "{file}: node {node}: {}", e.message)?,
                None => write!(f, "{file}: {}", e.message)?,
            }
        }
        if self.unsupported {
            write!(f, "\n{file}: nnc imports {SUPPORTED}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportErrors {}

/// Decodes an ONNX file's bytes and lowers its graph. `file` names the file in errors and, by
/// its stem, a graph without a name.
pub fn import(bytes: &[u8], file: &Path) -> Result<Imported, ImportErrors> {
    let fail = |message: String| ImportErrors {
        file: file.to_path_buf(),
        errors: vec![ImportError {
            node: None,
            message,
        }],
        unsupported: false,
    };
    let model = ModelProto::decode(bytes)
        .map_err(|e| fail(format!("not an ONNX model (protobuf decoding failed: {e})")))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| fail("no standard (ai.onnx) operator set is imported".to_string()))?;
    if !OPSETS.contains(&opset) {
        return Err(fail(format!(
            "operator set {opset} is not one nnc reads ({} to {})",
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| fail("the model has no graph".to_string()))?;
    let name = if graph.name.is_empty() {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        graph.name.clone()
    };
    let mut import = Import::new(graph, opset);
    import.graph(graph);
    if !import.errors.is_empty() {
        return Err(ImportErrors {
            file: file.to_path_buf(),
            errors: import.errors,
            unsupported: import.unsupported,
        });
    }
    let (description, weights) = import.render(&name, file);
    Ok(Imported {
        name,
        description,
        weights,
        fixed_size: import.fixed_size,
    })
}

/// An nnc value: its layer's name and channel count.
#[derive(Clone, Debug)]
struct Value {
    layer: usize,
    channels: usize,
    /// The layer's data transposed to NHWC (and perhaps flattened): nnc's own layout, so a graph
    /// output may read it as a head; no layer may.
    nhwc: bool,
    /// One pixel at every input size (after a global average pool): flattening it changes
    /// nothing, and a `Gemm` or `MatMul` on it is a 1x1 convolution.
    one: bool,
}

/// One nnc layer, before rendering.
#[derive(Clone, Debug)]
struct Layer {
    name: String,
    op: LayerOp,
    /// Layers read, by index.
    inputs: Vec<usize>,
}

#[derive(Clone, Debug)]
enum LayerOp {
    Input {
        channels: usize,
    },
    Conv {
        out: usize,
        /// Kernel, stride, the padding left after any `pad` layer in front, and dilation.
        window: Window,
        groups: usize,
        /// `[out, in / groups, kh, kw]`.
        kernel: Vec<f32>,
        kernel_shape: Vec<usize>,
        bias: Option<Vec<f32>>,
    },
    /// `relu`, `sigmoid`, `hardswish`, `add`, `mul`, `concat`, `globalavgpool` or `softmax`: no
    /// arguments but the inputs.
    Plain(&'static str),
    Prelu {
        alpha: Vec<f32>,
    },
    Upsample {
        factor: usize,
    },
    /// `clip` (`hard: false`) or `hardsigmoid` (`hard: true`) with its two constants.
    Clamp {
        hard: bool,
        a: f32,
        b: f32,
    },
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Pad {
        top: usize,
        left: usize,
        bottom: usize,
        right: usize,
    },
    Pool {
        op: &'static str,
        /// Kernel, stride, padding and ceil mode; never dilated.
        window: Window,
    },
}

struct Import<'g> {
    opset: i64,
    initializers: HashMap<&'g str, &'g TensorProto>,
    /// How many node inputs and graph outputs read each ONNX value.
    readers: HashMap<&'g str, usize>,
    values: HashMap<String, Value>,
    layers: Vec<Layer>,
    names: HashSet<String>,
    errors: Vec<ImportError>,
    unsupported: bool,
    /// The graph's outputs, by ONNX name.
    outputs: Vec<String>,
    /// Integer vectors computed from shapes (`Shape`, `Gather`, `Unsqueeze`, `Concat`,
    /// `Constant`), folded here; `None` where an element is the dynamic height or width.
    shapes: HashMap<String, Vec<Option<i64>>>,
    /// The input's height and width, where fixed.
    fixed_size: (Option<usize>, Option<usize>),
}

impl<'g> Import<'g> {
    fn new(graph: &'g GraphProto, opset: i64) -> Import<'g> {
        let mut readers: HashMap<&str, usize> = HashMap::new();
        for node in &graph.node {
            for input in &node.input {
                *readers.entry(input.as_str()).or_default() += 1;
            }
        }
        for output in &graph.output {
            *readers.entry(output.name.as_str()).or_default() += 1;
        }
        Import {
            opset,
            initializers: graph
                .initializer
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            readers,
            values: HashMap::new(),
            layers: Vec::new(),
            names: HashSet::new(),
            errors: Vec::new(),
            unsupported: false,
            outputs: Vec::new(),
            shapes: HashMap::new(),
            fixed_size: (None, None),
        }
    }

    fn graph(&mut self, graph: &'g GraphProto) {
        let input_errors = self.errors.len();
        self.input(graph);
        // Values of nodes that failed (and the graph's inputs, if the image input did): the
        // nodes reading them are checked only for their op, so that one problem is reported
        // once, and every unsupported node still is.
        let mut failed: HashSet<&str> = HashSet::new();
        if self.errors.len() > input_errors {
            failed.extend(graph.input.iter().map(|i| i.name.as_str()));
        }
        for node in &graph.node {
            let result = if node.input.iter().any(|i| failed.contains(i.as_str())) {
                if OPS.contains(&node.op_type.as_str()) {
                    Err(None)
                } else {
                    self.unsupported = true;
                    Err(Some("this op is not one nnc imports".to_string()))
                }
            } else {
                self.node(node).map_err(Some)
            };
            if let Err(message) = result {
                failed.extend(node.output.iter().map(String::as_str));
                if let Some(message) = message {
                    self.errors.push(ImportError {
                        node: Some(describe(node, self.opset)),
                        message,
                    });
                }
            }
        }
        if graph.output.is_empty() {
            self.errors.push(ImportError {
                node: None,
                message: "the graph has no outputs".to_string(),
            });
        }
        for output in &graph.output {
            if !self.values.contains_key(&output.name) && self.errors.is_empty() {
                self.errors.push(ImportError {
                    node: None,
                    message: format!("output `{}` is not computed by any node", output.name),
                });
            }
        }
        self.outputs = graph.output.iter().map(|o| o.name.clone()).collect();
    }

    /// The image input: the one graph input that is not an initializer, `[1, C, H, W]` floats
    /// with a fixed channel count.
    fn input(&mut self, graph: &'g GraphProto) {
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !self.initializers.contains_key(i.name.as_str()))
            .collect();
        let [input] = inputs.as_slice() else {
            let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
            self.errors.push(ImportError {
                node: None,
                message: format!(
                    "nnc compiles networks with one image input; this graph has {} ({})",
                    names.len(),
                    names.join(", ")
                ),
            });
            return;
        };
        let tensor = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
        let dims = tensor
            .and_then(|t| t.shape.as_ref())
            .map(|s| s.dim.as_slice())
            .unwrap_or_default();
        let problem = if tensor.is_some_and(|t| t.elem_type != FLOAT) {
            Some("is not a float tensor".to_string())
        } else if dims.len() != 4 {
            Some(format!(
                "has {} dimensions; nnc reads NCHW images, [1, channels, height, width]",
                dims.len()
            ))
        } else if dims[0].dim_value.is_some_and(|n| n != 1) {
            Some(format!(
                "has a batch of {}; nnc runs one image at a time",
                dims[0].dim_value.unwrap_or_default()
            ))
        } else {
            let fixed = |d: &crate::proto::Dimension| {
                d.dim_value
                    .and_then(|v| usize::try_from(v).ok())
                    .filter(|&v| v > 0)
            };
            self.fixed_size = (fixed(&dims[2]), fixed(&dims[3]));
            match dims[1].dim_value {
                Some(c) if c >= 1 => {
                    self.define(
                        &input.name,
                        LayerOp::Input {
                            channels: c as usize,
                        },
                        Vec::new(),
                    );
                    None
                }
                _ => Some("has a dynamic or missing channel count; nnc needs it fixed".to_string()),
            }
        };
        if let Some(problem) = problem {
            self.errors.push(ImportError {
                node: None,
                message: format!("input `{}` {problem}", input.name),
            });
        }
    }

    /// Lowers one node: a layer, a fold into the layer before, or an alias.
    fn node(&mut self, node: &'g NodeProto) -> Result<(), String> {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            self.unsupported = true;
            return Err(format!("domain `{}` is not the standard one", node.domain));
        }
        let output = node
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or("the node has no output")?;
        // Every output past the first must be unused (Dropout's mask, MaxPool's indices,
        // BatchNormalization's running statistics).
        if let Some(extra) = node.output[1..]
            .iter()
            .find(|o| !o.is_empty() && self.readers.contains_key(o.as_str()))
        {
            self.unsupported = true;
            return Err(format!(
                "its output `{extra}` is used; nnc computes only the first"
            ));
        }
        let op = node.op_type.as_str();
        match op {
            "Identity" | "Dropout" | "Cast" if self.shape_of(&node.input[0]).is_some() => {
                let shape = self.shape_of(&node.input[0]).unwrap_or_default();
                self.shapes.insert(output.clone(), shape);
                Ok(())
            }
            "Identity" | "Dropout" => {
                let value = self.any_value(node, 0)?;
                self.values.insert(output.clone(), value);
                Ok(())
            }
            "Constant" => {
                let tensor = attribute(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or("nnc reads Constant nodes with a `value` tensor")?;
                if let Ok(ints) = int64s(tensor) {
                    self.shapes
                        .insert(output.clone(), ints.into_iter().map(Some).collect());
                }
                self.initializers.insert(output.as_str(), tensor);
                Ok(())
            }
            "Shape" => {
                let x = self.value(node, 0)?;
                if attribute(node, "start").is_some() || attribute(node, "end").is_some() {
                    return Err("nnc folds Shape without start and end".to_string());
                }
                let channels = x.channels as i64;
                self.shapes
                    .insert(output.clone(), vec![Some(1), Some(channels), None, None]);
                Ok(())
            }
            "Gather" => {
                let data = self.shape_input(node, 0)?;
                let indices = self.shape_input(node, 1)?;
                if attribute(node, "axis").is_some_and(|a| a.i != 0) {
                    return Err("nnc folds Gather on axis 0 of a shape".to_string());
                }
                let picked = indices
                    .iter()
                    .map(|i| {
                        let i = i.ok_or("a dynamic index")?;
                        let at = if i < 0 { i + data.len() as i64 } else { i };
                        usize::try_from(at)
                            .ok()
                            .and_then(|at| data.get(at).copied())
                            .ok_or_else(|| {
                                format!("index {i} is outside a shape of {}", data.len())
                            })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                self.shapes.insert(output.clone(), picked);
                Ok(())
            }
            "Unsqueeze" => {
                let shape = self.shape_input(node, 0)?;
                self.shapes.insert(output.clone(), shape);
                Ok(())
            }
            "Concat" if node.input.iter().all(|i| self.shape_of(i).is_some()) => {
                let mut joined = Vec::new();
                for i in 0..node.input.len() {
                    joined.extend(self.shape_input(node, i)?);
                }
                self.shapes.insert(output.clone(), joined);
                Ok(())
            }
            "Transpose" => {
                let x = self.value(node, 0)?;
                let perm = attribute(node, "perm").map(|a| a.ints.clone());
                if perm.as_deref() != Some(&[0, 2, 3, 1][..]) {
                    self.unsupported = true;
                    return Err(format!(
                        "perm {perm:?}; nnc reads only NCHW to NHWC ([0, 2, 3, 1]) before an output"
                    ));
                }
                self.values
                    .insert(output.clone(), Value { nhwc: true, ..x });
                Ok(())
            }
            "Reshape" | "Flatten" if self.any_value(node, 0).is_ok_and(|x| x.one) => {
                // One pixel: NCHW and NHWC order agree, so flattening it moves nothing.
                let x = self.any_value(node, 0)?;
                if op == "Reshape" {
                    let target = self.shape_input(node, 1)?;
                    let known: i64 = target.iter().flatten().filter(|&&d| d > 0).product();
                    let free = target
                        .iter()
                        .filter(|d| matches!(d, None | Some(-1)))
                        .count();
                    if !(known == x.channels as i64
                        || (free == 1 && x.channels as i64 % known == 0))
                    {
                        self.unsupported = true;
                        return Err(format!(
                            "shape {}; nnc reshapes a 1x1 value of {} channels only to its channels",
                            show(&target),
                            x.channels
                        ));
                    }
                }
                self.values.insert(output.clone(), x);
                Ok(())
            }
            "Reshape" | "Flatten" => {
                let x = self.any_value(node, 0)?;
                if !x.nhwc {
                    self.unsupported = true;
                    return Err(
                        "nnc reads a Reshape or Flatten only after a Transpose to NHWC, before an output"
                            .to_string(),
                    );
                }
                if op == "Reshape" {
                    let target = self.shape_input(node, 1)?;
                    let flat = matches!(target[..], [Some(1) | None, Some(-1) | None]);
                    if target.last() != Some(&Some(x.channels as i64)) && !flat {
                        self.unsupported = true;
                        return Err(format!(
                            "shape {}; nnc reads a reshape that keeps the {} channels last",
                            show(&target),
                            x.channels
                        ));
                    }
                } else if attribute(node, "axis").is_some_and(|a| a.i != 1) {
                    self.unsupported = true;
                    return Err("nnc reads Flatten on axis 1".to_string());
                }
                self.values.insert(output.clone(), x);
                Ok(())
            }
            "Conv" => self.conv(node, output),
            "BatchNormalization" => self.batch_norm(node, output),
            "Relu" | "Sigmoid" => {
                // Element-wise, so it may follow a transpose or reshape to NHWC.
                let x = self.any_value(node, 0)?;
                let plain = if op == "Relu" { "relu" } else { "sigmoid" };
                self.elementwise(output, LayerOp::Plain(plain), x);
                Ok(())
            }
            "Clip" => {
                let x = self.any_value(node, 0)?;
                // Before opset 11 the bounds are attributes, since then optional inputs.
                let bound = |i: usize, name: &str, default: f32| -> Result<f32, String> {
                    if self.opset < 11 {
                        return Ok(attribute(node, name).map_or(default, |a| a.f));
                    }
                    match node.input.get(i).filter(|n| !n.is_empty()) {
                        Some(_) => match self.constant(node, i)?[..] {
                            [v] => Ok(v),
                            ref other => Err(format!("its {name} has {} values", other.len())),
                        },
                        None => Ok(default),
                    }
                };
                let (min, max) = (bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?);
                let (min, max) = (min.max(f32::MIN), max.min(f32::MAX));
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(format!("bounds {min} and {max}; nnc clips to min <= max"));
                }
                self.elementwise(
                    output,
                    LayerOp::Clamp {
                        hard: false,
                        a: min,
                        b: max,
                    },
                    x,
                );
                Ok(())
            }
            "HardSigmoid" => {
                let x = self.any_value(node, 0)?;
                let alpha = attribute(node, "alpha").map_or(0.2, |a| a.f);
                let beta = attribute(node, "beta").map_or(0.5, |a| a.f);
                if !(alpha.is_finite() && beta.is_finite()) {
                    return Err(format!(
                        "alpha {alpha} and beta {beta}; nnc needs finite ones"
                    ));
                }
                self.elementwise(
                    output,
                    LayerOp::Clamp {
                        hard: true,
                        a: alpha,
                        b: beta,
                    },
                    x,
                );
                Ok(())
            }
            "HardSwish" => {
                let x = self.any_value(node, 0)?;
                self.elementwise(output, LayerOp::Plain("hardswish"), x);
                Ok(())
            }
            "Softmax" => {
                let x = self.any_value(node, 0)?;
                let default = if self.opset < 13 { 1 } else { -1 };
                let axis = attribute(node, "axis").map_or(default, |a| a.i);
                // nnc's softmax is over the channels of each pixel. The axis that names them:
                // the last one once transposed to NHWC; axis 1 of NCHW (or of a flattened
                // single pixel) from opset 13, where Softmax stopped flattening what follows.
                let channels = if x.nhwc {
                    axis == -1
                } else if x.one {
                    axis == 1 || axis == -1 && self.opset >= 13
                } else {
                    (axis == 1 || axis == -3) && self.opset >= 13
                };
                if !channels {
                    self.unsupported = true;
                    return Err(format!(
                        "axis {axis} at opset {}; nnc's softmax runs over the channels of each pixel",
                        self.opset
                    ));
                }
                self.elementwise(output, LayerOp::Plain("softmax"), x);
                Ok(())
            }
            "GlobalAveragePool" => {
                let x = self.value(node, 0)?;
                self.define(output, LayerOp::Plain("globalavgpool"), vec![x]);
                if let Some(v) = self.values.get_mut(output.as_str()) {
                    v.one = true;
                }
                Ok(())
            }
            "Gemm" | "MatMul" => self.dense(node, output),
            "Pad" => self.pad(node, output),
            "LeakyRelu" => {
                let x = self.value(node, 0)?;
                let alpha = attribute(node, "alpha").map_or(0.01, |a| a.f);
                let alpha = vec![alpha; x.channels];
                self.define(output, LayerOp::Prelu { alpha }, vec![x]);
                Ok(())
            }
            "PRelu" => {
                let x = self.value(node, 0)?;
                let slope = self.constant(node, 1)?;
                let alpha = match slope.len() {
                    1 => vec![slope[0]; x.channels],
                    n if n == x.channels => slope,
                    n => {
                        return Err(format!(
                            "its slope has {n} values for {} channels; nnc takes one per channel",
                            x.channels
                        ));
                    }
                };
                self.define(output, LayerOp::Prelu { alpha }, vec![x]);
                Ok(())
            }
            "MaxPool" | "AveragePool" => self.pool(node, output),
            "Resize" | "Upsample" => self.resize(node, output),
            "Add" | "Mul" | "Sub" | "Div" => self.arithmetic(node, output),
            "Concat" => {
                let axis = attribute(node, "axis").map(|a| a.i);
                if !matches!(axis, Some(1) | Some(-3)) {
                    self.unsupported = true;
                    return Err(format!(
                        "axis {}; nnc concatenates channels (axis 1)",
                        axis.map_or("missing".to_string(), |a| a.to_string())
                    ));
                }
                let inputs = (0..node.input.len())
                    .map(|i| self.value(node, i))
                    .collect::<Result<Vec<_>, _>>()?;
                self.define(output, LayerOp::Plain("concat"), inputs);
                Ok(())
            }
            _ => {
                self.unsupported = true;
                Err("this op is not one nnc imports".to_string())
            }
        }
    }

    fn conv(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.value(node, 0)?;
        let w = self.initializer(node, 1)?;
        let shape = dims(w)?;
        let [out, per_group, kh, kw] = shape[..] else {
            return Err(format!(
                "its kernel has shape {shape:?}; nnc needs [out, in, kh, kw]"
            ));
        };
        let kernel_size = kernel_shape(node, kh, kw)?;
        let (mut window, pads) = window(node, kernel_size, true)?;
        let groups = attribute(node, "group").map_or(1, |a| a.i);
        let groups = match groups {
            1 if per_group == x.channels => 1,
            g if g == x.channels as i64 && out == x.channels && per_group == 1 => x.channels,
            1 => {
                return Err(format!(
                    "its kernel reads {per_group} channels and its input has {}",
                    x.channels
                ));
            }
            g => {
                self.unsupported = true;
                return Err(format!(
                    "group {g} on {} channels; nnc runs group 1 or depthwise convolutions",
                    x.channels
                ));
            }
        };
        let kernel = floats(w)?;
        // Padding the same before and after is the convolution's own; the rest is a `pad` layer.
        let (x, (ph, pw)) = self.pad_before(x, output, pads);
        (window.rows.pad, window.cols.pad) = (ph, pw);
        let bias = match node.input.get(2).filter(|b| !b.is_empty()) {
            Some(_) => {
                let b = self.constant(node, 2)?;
                if b.len() != out {
                    return Err(format!("its bias has {} values for {out} outputs", b.len()));
                }
                Some(b)
            }
            None => None,
        };
        self.define(
            output,
            LayerOp::Conv {
                out,
                window,
                groups,
                kernel,
                kernel_shape: shape,
                bias,
            },
            vec![x],
        );
        Ok(())
    }

    /// `y = (x - mean) / sqrt(var + epsilon) * scale + b`: a per-channel affine map, folded
    /// into the convolution that makes `x` when nothing else reads it (see [`Import::affine`]).
    fn batch_norm(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.value(node, 0)?;
        let epsilon = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
        let [scale, b, mean, var] = [1, 2, 3, 4].map(|i| self.constant(node, i));
        let (scale, b, mean, var) = (scale?, b?, mean?, var?);
        let c = x.channels;
        if [&scale, &b, &mean, &var].iter().any(|v| v.len() != c) {
            return Err(format!("its parameters do not have {c} values each"));
        }
        let s: Vec<f32> = (0..c)
            .map(|i| scale[i] / (var[i] + epsilon).sqrt())
            .collect();
        let t: Vec<f32> = (0..c).map(|i| b[i] - mean[i] * s[i]).collect();
        self.affine(output, x, s, t);
        Ok(())
    }

    fn pool(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.value(node, 0)?;
        let kernel = attribute(node, "kernel_shape")
            .map(|a| a.ints.clone())
            .unwrap_or_default();
        let [kh, kw] = kernel[..] else {
            return Err(format!("kernel_shape {kernel:?}; nnc needs two sides"));
        };
        if !(1..=MAX_WINDOW).contains(&kh) || !(1..=MAX_WINDOW).contains(&kw) {
            return Err(format!(
                "kernel_shape {kernel:?}; nnc needs sides from 1 to {MAX_WINDOW}"
            ));
        }
        let (mut window, pads) = window(node, (kh as usize, kw as usize), false)?;
        let average = node.op_type == "AveragePool";
        let count_pad = attribute(node, "count_include_pad").is_some_and(|a| a.i != 0);
        // Counted padding is zeros inside the window: a `pad` layer, then a pool without padding.
        let (x, (ph, pw)) = if average && count_pad && pads != [0; 4] {
            (self.pad_layer(x, output, pads), (0, 0))
        } else {
            match pads {
                [t, l, b, r] if t == b && l == r => (x, (t, l)),
                _ => {
                    self.unsupported = true;
                    return Err(format!(
                        "pads {pads:?}; nnc pools with the same padding before and after along \
                         each axis"
                    ));
                }
            }
        };
        (window.rows.pad, window.cols.pad) = (ph, pw);
        if ph >= window.rows.kernel || pw >= window.cols.kernel {
            return Err(format!(
                "pads {pads:?} as large as the {kh}x{kw} kernel: a window of padding alone"
            ));
        }
        let ceil = attribute(node, "ceil_mode").is_some_and(|a| a.i != 0);
        window.ceil = ceil;
        if ceil && average && count_pad && pads != [0; 4] {
            self.unsupported = true;
            return Err(
                "ceil_mode 1 with counted padding; nnc's ceil mode averages the pixels a window covers"
                    .to_string(),
            );
        }
        let op = if node.op_type == "MaxPool" {
            if attribute(node, "storage_order").is_some_and(|a| a.i != 0) {
                self.unsupported = true;
                return Err("storage_order 1 is not supported".to_string());
            }
            "maxpool"
        } else {
            "avgpool"
        };
        self.define(output, LayerOp::Pool { op, window }, vec![x]);
        Ok(())
    }

    /// Nearest-neighbour resizing by one whole factor on both axes, in a coordinate mode where
    /// that repeats each pixel (output `y` reads input `y / factor`), as `upsample`.
    fn resize(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.value(node, 0)?;
        let text = |name: &str, default: &str| {
            attribute(node, name).map_or(default.to_string(), |a| {
                String::from_utf8_lossy(&a.s).into_owned()
            })
        };
        let mode = text("mode", "nearest");
        if mode != "nearest" {
            self.unsupported = true;
            return Err(format!("mode {mode}; nnc upsamples nearest-neighbour only"));
        }
        // Upsample and opset 10's Resize: the scales are input 1, coordinates asymmetric, floor.
        let (scales, coordinates, rounding) = if node.op_type == "Upsample" || self.opset < 11 {
            (1, "asymmetric".to_string(), "floor".to_string())
        } else {
            (
                2,
                text("coordinate_transformation_mode", "half_pixel"),
                text("nearest_mode", "round_prefer_floor"),
            )
        };
        // Whole factors repeat each pixel in these modes (see `Op::Upsample`).
        let repeats = matches!(
            (coordinates.as_str(), rounding.as_str()),
            ("asymmetric" | "tf_half_pixel_for_nn", "floor")
                | (
                    "half_pixel" | "pytorch_half_pixel",
                    "round_prefer_floor" | "round_prefer_ceil"
                )
        );
        if !repeats {
            self.unsupported = true;
            return Err(format!(
                "coordinate_transformation_mode {coordinates} with nearest_mode {rounding}; nnc \
                 upsamples where each pixel is repeated (asymmetric with floor, half_pixel with \
                 rounding)"
            ));
        }
        if node.input.get(scales).is_none_or(|s| s.is_empty()) {
            self.unsupported = true;
            return Err(
                "the output sizes are given, not the scales; nnc needs constant scales".to_string(),
            );
        }
        let factors = self.constant(node, scales)?;
        let factor = match factors[..] {
            [1.0, 1.0, h, w] if h == w && h >= 1.0 && h.fract() == 0.0 && h <= 64.0 => h as usize,
            _ => {
                self.unsupported = true;
                return Err(format!(
                    "scales {factors:?}; nnc upsamples height and width by one whole factor"
                ));
            }
        };
        if factor == 1 {
            self.values.insert(output.to_string(), x);
        } else {
            self.define(output, LayerOp::Upsample { factor }, vec![x]);
        }
        Ok(())
    }

    /// The convolution's own padding (the same on every side) and, when the sides differ, a
    /// `pad` layer in front with the rest.
    fn pad_before(
        &mut self,
        x: Value,
        output: &str,
        [top, left, bottom, right]: [usize; 4],
    ) -> (Value, (usize, usize)) {
        let (ph, pw) = (top.min(bottom), left.min(right));
        let rest = [top - ph, left - pw, bottom - ph, right - pw];
        if rest == [0; 4] {
            (x, (ph, pw))
        } else {
            (self.pad_layer(x, output, rest), (ph, pw))
        }
    }

    /// A `pad` layer in front of the layer of `output`, named after it.
    fn pad_layer(
        &mut self,
        x: Value,
        output: &str,
        [top, left, bottom, right]: [usize; 4],
    ) -> Value {
        let name = self.fresh_name(&format!("{output}_pad"));
        self.layers.push(Layer {
            name,
            op: LayerOp::Pad {
                top,
                left,
                bottom,
                right,
            },
            inputs: vec![x.layer],
        });
        Value {
            layer: self.layers.len() - 1,
            channels: x.channels,
            nhwc: false,
            one: false,
        }
    }

    /// An element-wise layer on `x`, whose output keeps `x`'s layout (NHWC or a single pixel).
    fn elementwise(&mut self, output: &str, op: LayerOp, x: Value) {
        self.define(output, op, vec![x.clone()]);
        self.keep_layout(output, &x);
    }

    /// An element-wise layer's output keeps its input's layout.
    fn keep_layout(&mut self, output: &str, x: &Value) {
        if let Some(v) = self.values.get_mut(output) {
            v.nhwc = x.nhwc;
            v.one = x.one;
        }
    }

    /// `Add`, `Mul`, `Sub` and `Div`: of two computed values (`add`, `mul`), or of a value and a
    /// per-channel constant, folded into the convolution or `affine` before it where nothing
    /// else reads that, and an `affine` layer otherwise.
    fn arithmetic(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let op = node.op_type.as_str();
        if node.input.len() != 2 {
            return Err(format!("{} inputs; nnc reads two", node.input.len()));
        }
        let constant = |i: usize| self.initializers.contains_key(node.input[i].as_str());
        let (x_at, c_at) = match (constant(0), constant(1)) {
            (false, false) => {
                let plain = match op {
                    "Add" => "add",
                    "Mul" => "mul",
                    _ => {
                        self.unsupported = true;
                        return Err(format!(
                            "nnc runs {op} by a constant, not of two computed values"
                        ));
                    }
                };
                let (a, b) = (self.value(node, 0)?, self.value(node, 1)?);
                if a.channels != b.channels {
                    self.unsupported = true;
                    return Err(format!(
                        "inputs of {} and {} channels; nnc runs {op} on values of one shape",
                        a.channels, b.channels
                    ));
                }
                let one = a.one && b.one;
                self.define(output, LayerOp::Plain(plain), vec![a, b]);
                if let Some(v) = self.values.get_mut(output) {
                    v.one = one;
                }
                return Ok(());
            }
            (false, true) => (0, 1),
            (true, false) => (1, 0),
            (true, true) => return Err("both inputs are constants".to_string()),
        };
        let x = self.any_value(node, x_at)?;
        let c = match self.per_channel(node, c_at, &x) {
            Ok(c) => c,
            Err(e) => {
                self.unsupported = true;
                return Err(e);
            }
        };
        let (scale, shift): (Vec<f32>, Vec<f32>) = match (op, c_at) {
            ("Add", _) => (vec![1.0; c.len()], c),
            ("Mul", _) => (c, vec![0.0; x.channels]),
            ("Sub", 1) => (vec![1.0; c.len()], c.iter().map(|v| -v).collect()),
            ("Sub", _) => (vec![-1.0; c.len()], c),
            ("Div", 1) => (c.iter().map(|v| 1.0 / v).collect(), vec![0.0; x.channels]),
            _ => {
                self.unsupported = true;
                return Err("nnc divides by a constant, not a constant by a value".to_string());
            }
        };
        self.affine(output, x, scale, shift);
        Ok(())
    }

    /// Input `i` of `node` as one value per channel of `x`: a constant that broadcasts over
    /// the channels only (`[C, 1, 1]`, `[1, C, 1, 1]`, one value, or `[C]` on a value whose
    /// channels are its last axis).
    fn per_channel(&self, node: &NodeProto, i: usize, x: &Value) -> Result<Vec<f32>, String> {
        let t = self.initializer(node, i)?;
        let shape = dims(t)?;
        let values = floats(t)?;
        let c = x.channels;
        let channels_last = x.nhwc || x.one;
        let fits = match shape[..] {
            _ if values.len() == 1 => true,
            [n] => n == c && channels_last,
            [1, n] => n == c && channels_last,
            [n, 1, 1] | [1, n, 1, 1] => n == c && !x.nhwc,
            _ => false,
        };
        if !fits {
            return Err(format!(
                "its constant has shape {shape:?}; nnc broadcasts one value, or one per channel \
                 ([{c}, 1, 1]), over a value of {c} channels"
            ));
        }
        Ok(if values.len() == 1 {
            vec![values[0]; c]
        } else {
            values
        })
    }

    /// `x * scale + shift`: folded into `x`'s convolution or `affine` when nothing else reads
    /// `x`, a new `affine` layer otherwise.
    fn affine(&mut self, output: &str, x: Value, scale: Vec<f32>, shift: Vec<f32>) {
        let sole = !x.nhwc
            && self
                .layers
                .get(x.layer)
                .is_some_and(|_| self.read_once(x.layer));
        if sole {
            match &mut self.layers[x.layer].op {
                LayerOp::Conv {
                    out, kernel, bias, ..
                } => {
                    let per_out = kernel.len() / *out;
                    let b = bias.get_or_insert_with(|| vec![0.0; *out]);
                    for o in 0..*out {
                        for w in &mut kernel[o * per_out..(o + 1) * per_out] {
                            *w *= scale[o];
                        }
                        b[o] = b[o] * scale[o] + shift[o];
                    }
                    self.values.insert(output.to_string(), x);
                    return;
                }
                LayerOp::Affine { scale: s, shift: t } => {
                    for c in 0..s.len() {
                        s[c] *= scale[c];
                        t[c] = t[c] * scale[c] + shift[c];
                    }
                    self.values.insert(output.to_string(), x);
                    return;
                }
                _ => {}
            }
        }
        self.elementwise(output, LayerOp::Affine { scale, shift }, x);
    }

    /// Whether layer `layer`'s value is read by exactly one node and is no graph output, so a
    /// following per-channel map may be folded into it.
    ///
    /// The layer's value may go by several ONNX names (Identity, Flatten, earlier folds): each
    /// name after the first was made by one node reading the one before, so those reads are not
    /// the network's.
    fn read_once(&self, layer: usize) -> bool {
        let names: Vec<&String> = self
            .values
            .iter()
            .filter(|(_, v)| v.layer == layer)
            .map(|(name, _)| name)
            .collect();
        // Graph outputs count as readers.
        let reads: usize = names
            .iter()
            .map(|n| self.readers.get(n.as_str()).copied().unwrap_or(0))
            .sum();
        reads == names.len()
    }

    /// `Gemm` and `MatMul` on a single pixel (after a global average pool): a 1x1 convolution.
    fn dense(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.any_value(node, 0)?;
        if !x.one {
            self.unsupported = true;
            return Err(
                "nnc runs Gemm and MatMul on a single pixel (after GlobalAveragePool), as a 1x1 \
                 convolution"
                    .to_string(),
            );
        }
        let int = |name: &str, default: i64| attribute(node, name).map_or(default, |a| a.i);
        let float = |name: &str| attribute(node, name).map_or(1.0, |a| a.f);
        let gemm = node.op_type == "Gemm";
        if gemm && int("transA", 0) != 0 {
            self.unsupported = true;
            return Err("transA 1; nnc multiplies the value as a row".to_string());
        }
        let trans_b = gemm && int("transB", 0) != 0;
        let alpha = if gemm { float("alpha") } else { 1.0 };
        let w = self.initializer(node, 1)?;
        let shape = dims(w)?;
        let [rows, cols] = shape[..] else {
            return Err(format!(
                "its weights have shape {shape:?}; nnc needs a matrix"
            ));
        };
        let (k, n) = if trans_b { (cols, rows) } else { (rows, cols) };
        if k != x.channels {
            return Err(format!(
                "its weights take {k} values and its input has {} channels",
                x.channels
            ));
        }
        let b = floats(w)?;
        // The kernel is [n, k, 1, 1]: row o holds the weights of output o.
        let kernel: Vec<f32> = (0..n)
            .flat_map(|o| (0..k).map(move |i| (o, i)))
            .map(|(o, i)| alpha * if trans_b { b[o * k + i] } else { b[i * n + o] })
            .collect();
        let bias = match node.input.get(2).filter(|c| !c.is_empty()) {
            Some(_) if gemm => {
                let beta = attribute(node, "beta").map_or(1.0, |a| a.f);
                let c = self.constant(node, 2)?;
                match c.len() {
                    1 => Some(vec![beta * c[0]; n]),
                    len if len == n => Some(c.iter().map(|v| beta * v).collect()),
                    len => return Err(format!("its bias has {len} values for {n} outputs")),
                }
            }
            _ => None,
        };
        self.define(
            output,
            LayerOp::Conv {
                out: n,
                window: Window::square(1, 1, 0),
                groups: 1,
                kernel,
                kernel_shape: vec![n, k, 1, 1],
                bias,
            },
            vec![x],
        );
        if let Some(v) = self.values.get_mut(output) {
            v.one = true;
        }
        Ok(())
    }

    /// `Pad` with zeros on height and width only.
    fn pad(&mut self, node: &'g NodeProto, output: &str) -> Result<(), String> {
        let x = self.value(node, 0)?;
        let mode = attribute(node, "mode").map_or("constant".to_string(), |a| {
            String::from_utf8_lossy(&a.s).into_owned()
        });
        if mode != "constant" {
            self.unsupported = true;
            return Err(format!("mode {mode}; nnc pads with zeros (mode constant)"));
        }
        let (pads, value) = if self.opset < 11 {
            let pads = attribute(node, "pads").map(|a| a.ints.iter().map(|&p| Some(p)).collect());
            (
                pads.unwrap_or_default(),
                attribute(node, "value").map_or(0.0, |a| a.f),
            )
        } else {
            if node.input.get(3).is_some_and(|a| !a.is_empty()) {
                self.unsupported = true;
                return Err("its axes input; nnc pads all four axes as listed".to_string());
            }
            let value = match node.input.get(2).filter(|v| !v.is_empty()) {
                Some(_) => self.constant(node, 2)?.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            (self.shape_input(node, 1)?, value)
        };
        let pads: Vec<i64> = pads.into_iter().map(|p| p.unwrap_or(-1)).collect();
        let [0, 0, t, l, 0, 0, b, r] = pads[..] else {
            self.unsupported = true;
            return Err(format!(
                "pads {pads:?}; nnc pads height and width of an NCHW value"
            ));
        };
        if value != 0.0 || [t, l, b, r].iter().any(|p| !(0..=256).contains(p)) {
            self.unsupported = true;
            return Err(format!(
                "pads {pads:?} with value {value}; nnc adds 0 to 256 rows or columns of zeros"
            ));
        }
        let [top, left, bottom, right] = [t, l, b, r].map(|p| p as usize);
        self.define(
            output,
            LayerOp::Pad {
                top,
                left,
                bottom,
                right,
            },
            vec![x],
        );
        Ok(())
    }

    /// The nnc value of input `i` of `node`.
    fn value(&self, node: &NodeProto, i: usize) -> Result<Value, String> {
        let value = self.any_value(node, i)?;
        if value.nhwc {
            return Err(format!(
                "input `{}` is transposed to NHWC; nnc reads that only before an output",
                node.input[i]
            ));
        }
        Ok(value)
    }

    /// The integer vector of input `i` of `node`: a folded shape or an integer initializer.
    fn shape_input(&self, node: &NodeProto, i: usize) -> Result<Vec<Option<i64>>, String> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("input {i} is missing"))?;
        self.shape_of(name).ok_or_else(|| {
            format!("input `{name}` is not a shape or an integer constant that nnc can fold")
        })
    }

    fn shape_of(&self, name: &str) -> Option<Vec<Option<i64>>> {
        if let Some(shape) = self.shapes.get(name) {
            return Some(shape.clone());
        }
        let ints = int64s(self.initializers.get(name)?).ok()?;
        Some(ints.into_iter().map(Some).collect())
    }

    /// The nnc value of input `i` of `node`, in either layout.
    fn any_value(&self, node: &NodeProto, i: usize) -> Result<Value, String> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("input {i} is missing"))?;
        if self.initializers.contains_key(name.as_str()) {
            return Err(format!(
                "input `{name}` is a constant where nnc needs a computed value"
            ));
        }
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("input `{name}` is not computed before this node"))
    }

    /// Input `i` of `node`, which must be an initializer.
    fn initializer(&self, node: &NodeProto, i: usize) -> Result<&'g TensorProto, String> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("input {i} is missing"))?;
        self.initializers
            .get(name.as_str())
            .copied()
            .ok_or_else(|| {
                format!(
                    "input `{name}` is computed; nnc needs it to be a constant (an initializer)"
                )
            })
    }

    /// Input `i` of `node` as floats.
    fn constant(&self, node: &NodeProto, i: usize) -> Result<Vec<f32>, String> {
        floats(self.initializer(node, i)?)
    }

    /// Adds a layer named after the ONNX value `output`.
    fn define(&mut self, output: &str, op: LayerOp, inputs: Vec<Value>) {
        let channels = match &op {
            LayerOp::Input { channels } => *channels,
            LayerOp::Conv { out, .. } => *out,
            LayerOp::Plain("concat") => inputs.iter().map(|v| v.channels).sum(),
            _ => inputs.first().map_or(0, |v| v.channels),
        };
        let name = self.fresh_name(output);
        self.layers.push(Layer {
            name,
            op,
            inputs: inputs.iter().map(|v| v.layer).collect(),
        });
        self.values.insert(
            output.to_string(),
            Value {
                layer: self.layers.len() - 1,
                channels,
                nhwc: false,
                one: false,
            },
        );
    }

    /// An nnc identifier for an ONNX name: letters, digits and `_`, not starting with a digit,
    /// not `output`, and not taken.
    fn fresh_name(&mut self, onnx: &str) -> String {
        let mut base = letters(onnx);
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert_str(0, "v_");
        }
        if base == "output" {
            base.push('_');
        }
        let mut name = base.clone();
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// The description text and the safetensors bytes.
    fn render(&self, name: &str, file: &Path) -> (String, Vec<u8>) {
        let mut text = format!(
            "# {name}: imported from {} by nnc-onnx (opset {}).\n\n",
            file.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            self.opset
        );
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        for layer in &self.layers {
            let args: Vec<&str> = layer
                .inputs
                .iter()
                .map(|&i| self.layers[i].name.as_str())
                .collect();
            let args = args.join(", ");
            let call = match &layer.op {
                LayerOp::Input { channels } => format!("input(channels={channels})"),
                LayerOp::Conv {
                    out,
                    window,
                    groups,
                    kernel,
                    kernel_shape,
                    bias,
                } => {
                    tensors.push((
                        format!("{}.weight", layer.name),
                        kernel_shape.clone(),
                        kernel.clone(),
                    ));
                    if let Some(b) = bias {
                        tensors.push((format!("{}.bias", layer.name), vec![*out], b.clone()));
                    }
                    let mut call = format!("conv({args}, out={out}{}", window_args(window, false));
                    if bias.is_none() {
                        call += ", bias=false";
                    }
                    if *groups != 1 {
                        call += &format!(", groups={groups}");
                    }
                    call + ")"
                }
                LayerOp::Plain(op) => format!("{op}({args})"),
                LayerOp::Prelu { alpha } => {
                    tensors.push((
                        format!("{}.alpha", layer.name),
                        vec![alpha.len()],
                        alpha.clone(),
                    ));
                    format!("prelu({args})")
                }
                LayerOp::Upsample { factor } => format!("upsample({args}, factor={factor})"),
                LayerOp::Clamp { hard: false, a, b } => {
                    format!("clip({args}, min={}, max={})", real(*a), real(*b))
                }
                LayerOp::Clamp { hard: true, a, b } => {
                    format!("hardsigmoid({args}, alpha={}, beta={})", real(*a), real(*b))
                }
                LayerOp::Affine { scale, shift } => {
                    for (suffix, values) in [("scale", scale), ("shift", shift)] {
                        tensors.push((
                            format!("{}.{suffix}", layer.name),
                            vec![values.len()],
                            values.clone(),
                        ));
                    }
                    format!("affine({args})")
                }
                LayerOp::Pad {
                    top,
                    left,
                    bottom,
                    right,
                } => format!("pad({args}, top={top}, left={left}, bottom={bottom}, right={right})"),
                LayerOp::Pool { op, window } => {
                    format!("{op}({args}{})", window_args(window, true))
                }
            };
            text += &format!("{} = {call}\n", layer.name);
        }
        text.push('\n');
        let mut heads = HashSet::new();
        for output in &self.outputs {
            let value = &self.values[output];
            let layer = &self.layers[value.layer].name;
            // A head is named after the ONNX output, unless that name is another layer's.
            let mut head = letters(output);
            if head.is_empty()
                || head.starts_with(|c: char| c.is_ascii_digit())
                || (head != *layer && self.names.contains(&head))
                || !heads.insert(head.clone())
            {
                head = format!("out_{}", heads.len());
                heads.insert(head.clone());
            }
            text += &format!("output {head} = {layer}\n");
        }
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, data)| data.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), bytes)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .expect("the shape matches the data");
                (name.clone(), view)
            })
            .collect();
        let weights = safetensors::serialize(views, None).expect("f32 tensors serialize");
        (text, weights)
    }
}

/// A real number as a description writes it: the shortest text that reads back as `x`, always
/// with a decimal point or exponent.
fn real(x: f32) -> String {
    format!("{x:?}")
}

/// `name` with every character but ASCII letters and digits made `_`.
fn letters(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `name (OpType, opset N, inputs: a, b)`.
fn describe(node: &NodeProto, opset: i64) -> String {
    let name = if node.name.is_empty() {
        node.output.first().map_or("", String::as_str)
    } else {
        &node.name
    };
    format!(
        "`{name}` ({}, opset {opset}, inputs: {})",
        node.op_type,
        node.input.join(", ")
    )
}

fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// A tensor's dimensions as sizes.
fn dims(t: &TensorProto) -> Result<Vec<usize>, String> {
    t.dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("`{}` has dimension {d}", t.name)))
        .collect()
}

/// A float tensor's values, from `float_data` or `raw_data`, checked against its dimensions.
fn floats(t: &TensorProto) -> Result<Vec<f32>, String> {
    if t.data_location == 1 {
        return Err(format!(
            "`{}` keeps its data in an external file, which nnc does not read",
            t.name
        ));
    }
    if t.data_type != FLOAT {
        return Err(format!(
            "`{}` has data type {}; nnc reads float (1) weights",
            t.name, t.data_type
        ));
    }
    let values: Vec<f32> = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        if !t.raw_data.len().is_multiple_of(4) {
            return Err(format!("`{}` has a partial float in its data", t.name));
        }
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let expected = dims(t)?
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("`{}` is too large", t.name))?;
    if values.len() != expected {
        return Err(format!(
            "`{}` has {} values for dimensions {:?}",
            t.name,
            values.len(),
            t.dims
        ));
    }
    Ok(values)
}

/// An integer tensor's values (INT64, or INT32 widened).
fn int64s(t: &TensorProto) -> Result<Vec<i64>, String> {
    match t.data_type {
        7 if t.raw_data.is_empty() => Ok(t.int64_data.clone()),
        7 if t.raw_data.len().is_multiple_of(8) => Ok(t
            .raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()),
        _ => Err(format!("`{}` is not an int64 tensor", t.name)),
    }
}

/// A folded shape as ONNX writes it, `?` for a dynamic element.
fn show(shape: &[Option<i64>]) -> String {
    let items: Vec<String> = shape
        .iter()
        .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Largest kernel side, stride, padding and dilation nnc takes (`nnc_ir`'s limit).
const MAX_WINDOW: i64 = 255;

/// The kernel's rows and columns, checked against `kernel_shape` where the node has one.
fn kernel_shape(node: &NodeProto, h: usize, w: usize) -> Result<(usize, usize), String> {
    if let Some(a) = attribute(node, "kernel_shape")
        && a.ints.len() == 2
        && (a.ints[0] as usize, a.ints[1] as usize) != (h, w)
    {
        return Err(format!(
            "kernel_shape {:?} differs from the kernel's {h}x{w}",
            a.ints
        ));
    }
    if h == 0 || w == 0 || h as i64 > MAX_WINDOW || w as i64 > MAX_WINDOW {
        return Err(format!(
            "a {h}x{w} kernel; nnc needs sides from 1 to {MAX_WINDOW}"
        ));
    }
    Ok((h, w))
}

/// The window of a `kh x kw` kernel (strides and, where `dilate`, dilations; no padding yet) and
/// the padding ONNX asks for (top, left, bottom, right).
fn window(
    node: &NodeProto,
    (kh, kw): (usize, usize),
    dilate: bool,
) -> Result<(Window, [usize; 4]), String> {
    let ints = |name: &str| attribute(node, name).map(|a| a.ints.clone());
    let pair = |name: &str, min: i64| -> Result<(usize, usize), String> {
        let values = ints(name).unwrap_or_else(|| vec![1, 1]);
        match values[..] {
            [r, c] if (min..=MAX_WINDOW).contains(&r) && (min..=MAX_WINDOW).contains(&c) => {
                Ok((r as usize, c as usize))
            }
            _ => Err(format!(
                "{name} {values:?}; nnc needs two, from {min} to {MAX_WINDOW}"
            )),
        }
    };
    let (sh, sw) = pair("strides", 1)?;
    let (dh, dw) = pair("dilations", 1)?;
    if !dilate && (dh, dw) != (1, 1) {
        return Err(format!(
            "dilations [{dh}, {dw}]; nnc dilates convolutions, not pools"
        ));
    }
    let window = Window {
        rows: Axis {
            kernel: kh,
            stride: sh,
            pad: 0,
            dilation: dh,
        },
        cols: Axis {
            kernel: kw,
            stride: sw,
            pad: 0,
            dilation: dw,
        },
        ceil: false,
    };
    let auto_pad = attribute(node, "auto_pad")
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
        .unwrap_or_default();
    let pads = match auto_pad.as_str() {
        "" | "NOTSET" => {
            let pads = ints("pads").unwrap_or_else(|| vec![0; 4]);
            match pads[..] {
                [t, l, b, r] if [t, l, b, r].iter().all(|&p| (0..=MAX_WINDOW).contains(&p)) => {
                    [t, l, b, r].map(|p| p as usize)
                }
                _ => {
                    return Err(format!(
                        "pads {pads:?}; nnc needs four sides from 0 to {MAX_WINDOW}"
                    ));
                }
            }
        }
        "VALID" => [0; 4],
        // At stride 1 the total padding is the window's span less one whatever the input size;
        // the odd pixel goes at the end (SAME_UPPER) or the beginning (SAME_LOWER).
        "SAME_UPPER" | "SAME_LOWER" if (sh, sw) == (1, 1) => {
            let split = |span: usize| ((span - 1) / 2, span - 1 - (span - 1) / 2);
            let ((top, bottom), (left, right)) =
                (split(window.rows.span()), split(window.cols.span()));
            if auto_pad == "SAME_UPPER" {
                [top, left, bottom, right]
            } else {
                [bottom, right, top, left]
            }
        }
        other => {
            return Err(format!(
                "auto_pad {other} with strides [{sh}, {sw}]; nnc pads by a fixed amount, and \
                 SAME padding at a stride above 1 depends on the input size"
            ));
        }
    };
    Ok((window, pads))
}

/// A window's `.nnc` arguments after the layer's others: `, k=3, stride=2, pad=1`, each written
/// `RxC` where the axes differ; the stride where it is not the default (1 for a convolution, the
/// kernel for a pool), the padding and dilation where they are not 0 and 1, and `ceil=true`.
fn window_args(window: &Window, pool: bool) -> String {
    let (r, c) = (window.rows, window.cols);
    let both = |a: usize, b: usize| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}x{b}")
        }
    };
    let mut args = format!(", k={}", both(r.kernel, c.kernel));
    let default_stride = if pool { (r.kernel, c.kernel) } else { (1, 1) };
    if (r.stride, c.stride) != default_stride {
        args += &format!(", stride={}", both(r.stride, c.stride));
    }
    if (r.pad, c.pad) != (0, 0) {
        args += &format!(", pad={}", both(r.pad, c.pad));
    }
    if (r.dilation, c.dilation) != (1, 1) {
        args += &format!(", dilation={}", both(r.dilation, c.dilation));
    }
    if window.ceil {
        args += ", ceil=true";
    }
    args
}
