//! The typed IR: a network as a list of nodes in definition order, each one op over earlier nodes.
//!
//! A [`Graph`] is independent of the input size: channel counts are fixed when the description is
//! lowered, while heights and widths come from [`Graph::infer_shapes`] for a given input size. Every
//! op answers for its own shape rules ([`Op::output_channels`], [`Op::output_size`]), its weights
//! ([`Op::weight_specs`]) and its cost ([`Op::flops`]); nothing else in nnc special-cases an op's
//! shape.

use crate::error::{ErrorKind, ModelError, Span};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// The index of a node, and so of the value (tensor) that node produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(pub usize);

/// The shape of one value: height, width and channels of an NHWC tensor with N = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape {
    /// Number of f32 elements.
    pub fn len(&self) -> usize {
        self.h * self.w * self.c
    }

    /// True when some dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

/// A sliding window along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis {
    /// Taps of the kernel.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Pixels added before and after: zeros for convolution, ignored by pooling.
    pub pad: usize,
    /// Step between taps (1: adjacent pixels). Convolutions only.
    pub dilation: usize,
}

impl Axis {
    /// An undilated axis.
    pub const fn new(kernel: usize, stride: usize, pad: usize) -> Axis {
        Axis {
            kernel,
            stride,
            pad,
            dilation: 1,
        }
    }

    /// Input pixels one window covers: `dilation * (kernel - 1) + 1`.
    pub fn span(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// Output length for `input` pixels, or `None` when the padded input is shorter than the
    /// window. `ceil` as [`Window::ceil`].
    pub fn output_len(&self, input: usize, ceil: bool) -> Option<usize> {
        let padded = input + 2 * self.pad;
        let span = padded.checked_sub(self.span())?;
        if !ceil {
            return Some(span / self.stride + 1);
        }
        let n = span.div_ceil(self.stride) + 1;
        // A last window starting in the trailing padding would see no pixel.
        Some(if (n - 1) * self.stride >= input + self.pad {
            n - 1
        } else {
            n
        })
    }

    /// The smallest input length that gives at least one output.
    pub fn min_input(&self) -> usize {
        self.span().saturating_sub(2 * self.pad).max(1)
    }
}

/// A sliding window: the geometry shared by convolution and pooling, along the rows (height) and
/// the columns (width).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub rows: Axis,
    pub cols: Axis,
    /// Pools only (ONNX's `ceil_mode`): one more window where the last would hang past the
    /// padded input's end, as long as it starts inside the input or its leading padding; it
    /// pools the pixels it covers.
    pub ceil: bool,
}

impl Window {
    /// A `kernel x kernel` window with the same stride and padding along both axes, undilated.
    pub const fn square(kernel: usize, stride: usize, pad: usize) -> Window {
        Window {
            rows: Axis::new(kernel, stride, pad),
            cols: Axis::new(kernel, stride, pad),
            ceil: false,
        }
    }

    /// The side, stride and padding of a window that is the same along both axes and undilated,
    /// which is what the Winograd kernel and the pools fused into a convolution take.
    pub fn as_square(&self) -> Option<(usize, usize, usize)> {
        let Axis {
            kernel,
            stride,
            pad,
            dilation,
        } = self.rows;
        (self.rows == self.cols && dilation == 1).then_some((kernel, stride, pad))
    }

    /// Kernel taps: rows times columns.
    pub fn taps(&self) -> usize {
        self.rows.kernel * self.cols.kernel
    }

    /// Output height and width for an `h x w` input, or `None` when the padded input is smaller
    /// than the window along either axis.
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        Some((
            self.rows.output_len(h, self.ceil)?,
            self.cols.output_len(w, self.ceil)?,
        ))
    }

    /// The smallest input height and width that give at least one output.
    pub fn min_input(&self) -> (usize, usize) {
        (self.rows.min_input(), self.cols.min_input())
    }
}

impl fmt::Display for Window {
    /// The `.nnc` arguments: `k=3 stride=1 pad=1`, each written `RxC` where the axes differ, and
    /// `dilation` only where some axis is dilated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let both = |r: usize, c: usize| {
            if r == c {
                r.to_string()
            } else {
                format!("{r}x{c}")
            }
        };
        let (r, c) = (self.rows, self.cols);
        write!(
            f,
            "k={} stride={} pad={}",
            both(r.kernel, c.kernel),
            both(r.stride, c.stride),
            both(r.pad, c.pad)
        )?;
        if (r.dilation, c.dilation) != (1, 1) {
            write!(f, " dilation={}", both(r.dilation, c.dilation))?;
        }
        if self.ceil {
            f.write_str(" ceil=true")?;
        }
        Ok(())
    }
}

/// A 2-D convolution: over all input channels (`groups == 1`), or depthwise (`groups` equal to
/// the input and the output channels: output channel `c` reads input channel `c` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    pub out_channels: usize,
    pub window: Window,
    pub bias: bool,
    /// 1, or the channel count for a depthwise convolution.
    pub groups: usize,
}

impl Conv {
    /// True for a depthwise convolution.
    pub fn is_depthwise(&self) -> bool {
        self.groups > 1
    }
}

/// A real-valued argument of an op (a clip bound, a slope), compared and hashed by its bits so
/// that ops stay `Eq` and `Hash`. Always finite.
#[derive(Clone, Copy, Debug)]
pub struct Real(pub f32);

impl PartialEq for Real {
    fn eq(&self, other: &Real) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Real {}

impl Hash for Real {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl fmt::Display for Real {
    /// The shortest text that reads back as the same `f32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Zero rows and columns added around a value: the `pad` op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

/// An op without its arguments: what a description names with its op word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Input,
    Conv,
    Relu,
    Prelu,
    Sigmoid,
    MaxPool,
    AvgPool,
    Add,
    PadAdd,
    Concat,
    Upsample,
    Clip,
    HardSigmoid,
    HardSwish,
    Affine,
    Mul,
    GlobalAvgPool,
    Softmax,
    Pad,
}

impl OpKind {
    /// Every op and its name as written in a description: the one table that lowering (name to
    /// op) and [`Op::name`] (op to name) both read.
    pub const TABLE: [(OpKind, &'static str); 19] = [
        (OpKind::Input, "input"),
        (OpKind::Conv, "conv"),
        (OpKind::Relu, "relu"),
        (OpKind::Prelu, "prelu"),
        (OpKind::Sigmoid, "sigmoid"),
        (OpKind::MaxPool, "maxpool"),
        (OpKind::AvgPool, "avgpool"),
        (OpKind::Add, "add"),
        (OpKind::PadAdd, "padadd"),
        (OpKind::Concat, "concat"),
        (OpKind::Upsample, "upsample"),
        (OpKind::Clip, "clip"),
        (OpKind::HardSigmoid, "hardsigmoid"),
        (OpKind::HardSwish, "hardswish"),
        (OpKind::Affine, "affine"),
        (OpKind::Mul, "mul"),
        (OpKind::GlobalAvgPool, "globalavgpool"),
        (OpKind::Softmax, "softmax"),
        (OpKind::Pad, "pad"),
    ];

    /// The name a description writes this op by.
    pub fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(kind, _)| *kind == self)
            .map(|(_, name)| *name)
            .expect("every kind is in the table")
    }

    /// The op a description's op word names, if any.
    pub fn from_name(name: &str) -> Option<OpKind> {
        Self::TABLE
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(kind, _)| *kind)
    }

    /// Every op's name, in the table's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::TABLE.iter().map(|(_, name)| *name)
    }
}

/// One operation of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// The network's input image, with a fixed channel count and any height and width.
    Input { channels: usize },
    /// 2-D convolution with weights `[out, in / groups, k, k]` (the ONNX and PyTorch layout) and
    /// optional bias.
    Conv(Conv),
    /// `max(x, 0)`.
    Relu,
    /// `x` where positive, `alpha[c] * x` elsewhere, with one learned `alpha` per channel.
    Prelu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Largest value in each window; padding never wins.
    MaxPool(Window),
    /// Mean of each window over the pixels inside the input (padding is not counted).
    AvgPool(Window),
    /// Element-wise sum of two values of the same shape.
    Add,
    /// Element-wise sum of two values that may differ in height, width and channels: each input is
    /// first extended with zeros at the bottom, at the right and in its last channels to the larger
    /// of the two sizes along every axis (dlib's `add_prev`, used by ResNets whose shortcut has
    /// fewer channels, or one more row, than the branch it joins). In ONNX terms: `Pad` each input
    /// at the end of H, W and C, then `Add`.
    PadAdd,
    /// The inputs' channels one after the other, for inputs of the same height and width.
    Concat,
    /// Nearest-neighbour upsampling by a whole factor: each pixel repeated `factor` times along
    /// both axes (ONNX's `Resize` with `mode=nearest`, `asymmetric` coordinates and `floor`).
    Upsample { factor: usize },
    /// `min(max(x, min), max)`: ONNX's `Clip`, ReLU6 with 0 and 6.
    Clip { min: Real, max: Real },
    /// `min(max(alpha * x + beta, 0), 1)`.
    HardSigmoid { alpha: Real, beta: Real },
    /// `x * min(max(x / 6 + 1/2, 0), 1)`.
    HardSwish,
    /// `x * scale[c] + shift[c]`, with one learned scale and shift per channel (a batch norm
    /// that follows no convolution, or a multiply or add by a per-channel constant).
    Affine,
    /// Element-wise product of two values of the same shape.
    Mul,
    /// The mean of every channel over the whole image: a 1x1 output at any input size.
    GlobalAvgPool,
    /// `e^x[c] / sum over c' of e^x[c']` at each pixel: a softmax over the channels.
    Softmax,
    /// Zero rows and columns added at the top, left, bottom and right.
    Pad(Padding),
}

/// How many inputs an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

/// What a weight tensor is for, in the order an op's weights are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightRole {
    /// Convolution kernel, `[out, in, k, k]`.
    Kernel,
    /// Per-output-channel bias, `[out]`.
    Bias,
    /// PReLU slope, `[channels]`.
    Slope,
    /// Per-channel factor of `affine`, `[channels]`.
    Scale,
    /// Per-channel term of `affine`, `[channels]`.
    Shift,
}

/// A weight tensor an op needs: the role, the name suffix in the weights file, and its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    pub role: WeightRole,
    pub suffix: &'static str,
    pub shape: Vec<usize>,
}

/// Why an op cannot produce an output of a given size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeProblem {
    /// The (padded) input is smaller than the window.
    /// It needs at least this height and width.
    TooSmall { needs: (usize, usize) },
    /// Inputs that must agree in height and width do not.
    Mismatch,
}

impl Op {
    /// Which op this is, without its arguments.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Input { .. } => OpKind::Input,
            Op::Conv(_) => OpKind::Conv,
            Op::Relu => OpKind::Relu,
            Op::Prelu => OpKind::Prelu,
            Op::Sigmoid => OpKind::Sigmoid,
            Op::MaxPool(_) => OpKind::MaxPool,
            Op::AvgPool(_) => OpKind::AvgPool,
            Op::Add => OpKind::Add,
            Op::PadAdd => OpKind::PadAdd,
            Op::Concat => OpKind::Concat,
            Op::Upsample { .. } => OpKind::Upsample,
            Op::Clip { .. } => OpKind::Clip,
            Op::HardSigmoid { .. } => OpKind::HardSigmoid,
            Op::HardSwish => OpKind::HardSwish,
            Op::Affine => OpKind::Affine,
            Op::Mul => OpKind::Mul,
            Op::GlobalAvgPool => OpKind::GlobalAvgPool,
            Op::Softmax => OpKind::Softmax,
            Op::Pad(_) => OpKind::Pad,
        }
    }

    /// The op's name as written in a description.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// How many inputs the op takes.
    pub fn arity(&self) -> Arity {
        match self {
            Op::Input { .. } => Arity::Exactly(0),
            Op::Conv(_)
            | Op::Relu
            | Op::Prelu
            | Op::Sigmoid
            | Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::Upsample { .. }
            | Op::Clip { .. }
            | Op::HardSigmoid { .. }
            | Op::HardSwish
            | Op::Affine
            | Op::GlobalAvgPool
            | Op::Softmax
            | Op::Pad(_) => Arity::Exactly(1),
            Op::Add | Op::PadAdd | Op::Mul => Arity::Exactly(2),
            Op::Concat => Arity::AtLeast(2),
        }
    }

    /// Channels of the output given the inputs' channels, or why they do not fit the op.
    pub fn output_channels(&self, inputs: &[usize]) -> Result<usize, String> {
        match self {
            Op::Input { channels } => Ok(*channels),
            Op::Conv(conv) if conv.groups != 1 => {
                let c = conv.groups;
                if inputs[0] == c && conv.out_channels == c {
                    Ok(c)
                } else {
                    Err(format!(
                        "`conv` with groups={c} is depthwise and needs {c} input and {c} output \
                         channels, got {} in and out={}",
                        inputs[0], conv.out_channels
                    ))
                }
            }
            Op::Conv(conv) => Ok(conv.out_channels),
            Op::Relu
            | Op::Prelu
            | Op::Sigmoid
            | Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::Upsample { .. }
            | Op::Clip { .. }
            | Op::HardSigmoid { .. }
            | Op::HardSwish
            | Op::Affine
            | Op::GlobalAvgPool
            | Op::Softmax
            | Op::Pad(_) => Ok(inputs[0]),
            Op::Add | Op::Mul => {
                if inputs[0] == inputs[1] {
                    Ok(inputs[0])
                } else {
                    Err(format!(
                        "`{}` needs inputs with the same channels, got {} and {}",
                        self.name(),
                        inputs[0],
                        inputs[1]
                    ))
                }
            }
            Op::PadAdd => Ok(inputs[0].max(inputs[1])),
            Op::Concat => Ok(inputs.iter().sum()),
        }
    }

    /// Height and width of the output given the inputs' heights and widths.
    pub fn output_size(&self, inputs: &[(usize, usize)]) -> Result<(usize, usize), SizeProblem> {
        let window = match self {
            Op::Input { .. } => unreachable!("the input's size is given, not inferred"),
            Op::Conv(conv) => conv.window,
            Op::MaxPool(window) | Op::AvgPool(window) => *window,
            Op::Relu
            | Op::Prelu
            | Op::Sigmoid
            | Op::Clip { .. }
            | Op::HardSigmoid { .. }
            | Op::HardSwish
            | Op::Affine
            | Op::Softmax => return Ok(inputs[0]),
            Op::GlobalAvgPool => return Ok((1, 1)),
            Op::Pad(p) => {
                let (h, w) = inputs[0];
                return Ok((h + p.top + p.bottom, w + p.left + p.right));
            }
            Op::Upsample { factor } => {
                let (h, w) = inputs[0];
                return Ok((h * factor, w * factor));
            }
            Op::PadAdd => {
                let ((ha, wa), (hb, wb)) = (inputs[0], inputs[1]);
                return Ok((ha.max(hb), wa.max(wb)));
            }
            Op::Add | Op::Mul | Op::Concat => {
                return if inputs.iter().all(|s| *s == inputs[0]) {
                    Ok(inputs[0])
                } else {
                    Err(SizeProblem::Mismatch)
                };
            }
        };
        let (h, w) = inputs[0];
        window.output_size(h, w).ok_or(SizeProblem::TooSmall {
            needs: window.min_input(),
        })
    }

    /// The weight tensors the op reads, given its input channels.
    pub fn weight_specs(&self, in_channels: &[usize]) -> Vec<WeightSpec> {
        match self {
            Op::Conv(conv) => {
                let (kh, kw) = (conv.window.rows.kernel, conv.window.cols.kernel);
                let mut specs = vec![WeightSpec {
                    role: WeightRole::Kernel,
                    suffix: "weight",
                    shape: vec![conv.out_channels, in_channels[0] / conv.groups, kh, kw],
                }];
                if conv.bias {
                    specs.push(WeightSpec {
                        role: WeightRole::Bias,
                        suffix: "bias",
                        shape: vec![conv.out_channels],
                    });
                }
                specs
            }
            Op::Prelu => vec![WeightSpec {
                role: WeightRole::Slope,
                suffix: "alpha",
                shape: vec![in_channels[0]],
            }],
            Op::Affine => vec![
                WeightSpec {
                    role: WeightRole::Scale,
                    suffix: "scale",
                    shape: vec![in_channels[0]],
                },
                WeightSpec {
                    role: WeightRole::Shift,
                    suffix: "shift",
                    shape: vec![in_channels[0]],
                },
            ],
            _ => Vec::new(),
        }
    }

    /// Floating-point operations to compute `out` directly (a multiply-add counts as two).
    pub fn flops(&self, inputs: &[Shape], out: Shape) -> u64 {
        let pixels = (out.h * out.w) as u64;
        let elems = out.len() as u64;
        match self {
            Op::Input { .. } => 0,
            Op::Conv(conv) => {
                let taps = conv.window.taps() as u64;
                let per_group = (inputs[0].c / conv.groups) as u64;
                2 * pixels * out.c as u64 * per_group * taps
            }
            Op::Relu => elems,
            Op::Prelu => 2 * elems,
            Op::Sigmoid => 4 * elems,
            Op::MaxPool(w) | Op::AvgPool(w) => elems * w.taps() as u64,
            Op::Add | Op::PadAdd | Op::Mul | Op::Clip { .. } => elems,
            Op::HardSigmoid { .. } | Op::Affine => 2 * elems,
            Op::HardSwish => 3 * elems,
            Op::GlobalAvgPool => inputs[0].len() as u64,
            Op::Softmax => 6 * elems,
            Op::Concat | Op::Upsample { .. } | Op::Pad(_) => 0,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Input { channels } => write!(f, "input channels={channels}"),
            Op::Conv(c) => {
                write!(f, "conv out={} {}", c.out_channels, c.window)?;
                if c.groups != 1 {
                    write!(f, " groups={}", c.groups)?;
                }
                if !c.bias {
                    write!(f, " bias=false")?;
                }
                Ok(())
            }
            Op::MaxPool(w) | Op::AvgPool(w) => write!(f, "{} {w}", self.name()),
            Op::Upsample { factor } => write!(f, "upsample factor={factor}"),
            Op::Clip { min, max } => write!(f, "clip min={min} max={max}"),
            Op::HardSigmoid { alpha, beta } => write!(f, "hardsigmoid alpha={alpha} beta={beta}"),
            Op::Pad(p) => write!(
                f,
                "pad top={} left={} bottom={} right={}",
                p.top, p.left, p.bottom, p.right
            ),
            _ => f.write_str(self.name()),
        }
    }
}

/// One layer: an op applied to earlier values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The layer's name, which also prefixes its weight tensors (`NAME.weight`).
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    /// Output channels, fixed by lowering.
    pub channels: usize,
    /// Where the layer is defined, for errors found later (weights, shapes).
    pub span: Span,
}

/// A named output of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub name: String,
    pub value: ValueId,
    pub span: Span,
}

/// A whole network, ready for shape inference at any input size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// The network's name: the description's file stem.
    pub name: String,
    /// The description file, for error messages.
    pub file: PathBuf,
    /// The description's text, so that later errors can quote the offending line.
    pub source: String,
    /// Nodes in definition order, which is a topological order.
    pub nodes: Vec<Node>,
    /// The network's heads, in the order they are declared.
    pub outputs: Vec<Head>,
}

impl Graph {
    /// The single input node.
    pub fn input(&self) -> ValueId {
        let index = self
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Input { .. }));
        ValueId(index.expect("lowering guarantees exactly one input"))
    }

    /// Channels of the input image.
    pub fn input_channels(&self) -> usize {
        self.nodes[self.input().0].channels
    }

    /// The node producing `value`.
    pub fn node(&self, value: ValueId) -> &Node {
        &self.nodes[value.0]
    }

    /// Channel counts of a node's inputs.
    pub fn input_channels_of(&self, node: &Node) -> Vec<usize> {
        node.inputs
            .iter()
            .map(|v| self.nodes[v.0].channels)
            .collect()
    }

    /// Builds an error pointing at a node's definition.
    pub fn error_at(&self, span: Span, kind: ErrorKind, message: impl Into<String>) -> ModelError {
        crate::syntax::error_at(&self.source, &self.file, kind, span, message)
    }

    /// The shape of every value for an input of `height` x `width` pixels.
    ///
    /// Fails with [`ErrorKind::InputTooSmall`] naming the first layer that would be empty, or
    /// [`ErrorKind::ShapeMismatch`] when an `add` or `concat` gets inputs of different sizes.
    pub fn infer_shapes(&self, height: usize, width: usize) -> Result<Shapes, ModelError> {
        let mut shapes: Vec<Shape> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let (h, w) = if let Op::Input { .. } = node.op {
                if height == 0 || width == 0 {
                    return Err(self.error_at(
                        node.span,
                        ErrorKind::InputTooSmall,
                        format!("an input of {height}x{width} pixels is empty"),
                    ));
                }
                (height, width)
            } else {
                let sizes: Vec<_> = node
                    .inputs
                    .iter()
                    .map(|v| (shapes[v.0].h, shapes[v.0].w))
                    .collect();
                node.op.output_size(&sizes).map_err(|problem| {
                    let got = sizes
                        .iter()
                        .map(|(h, w)| format!("{h}x{w}"))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    match problem {
                        SizeProblem::TooSmall { needs: (nh, nw) } => self
                            .error_at(
                                node.span,
                                ErrorKind::InputTooSmall,
                                format!(
                                    "an input of {height}x{width} is too small: layer `{}` gets \
                                     {got} but needs at least {nh}x{nw}",
                                    node.name
                                ),
                            )
                            .with_help(match self.min_input_size() {
                                Some(n) => format!("this network needs inputs of at least {n}x{n}"),
                                None => "no input size fits this network".to_string(),
                            }),
                        SizeProblem::Mismatch => self.error_at(
                            node.span,
                            ErrorKind::ShapeMismatch,
                            format!(
                                "`{}` needs inputs of the same height and width, but for an input \
                                 of {height}x{width} (height x width) they are {got}",
                                node.name
                            ),
                        ),
                    }
                })?
            };
            shapes.push(Shape {
                h,
                w,
                c: node.channels,
            });
        }
        Ok(Shapes { shapes })
    }

    /// The smallest square input (side in pixels) for which every layer is non-empty and every
    /// `add` and `concat` lines up, searched up to 4096; `None` if there is none.
    ///
    /// Both axes follow the same rules, so the answer for squares is the answer for each axis.
    pub fn min_input_size(&self) -> Option<usize> {
        let fits = |n: usize| self.infer_shapes_quiet(n).is_some();
        (1..=4096).find(|&n| fits(n))
    }

    /// Shape inference along one axis without building errors, for searches.
    fn infer_shapes_quiet(&self, n: usize) -> Option<()> {
        let mut sizes = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let size = match node.op {
                Op::Input { .. } => (n, n),
                _ => {
                    let ins: Vec<_> = node.inputs.iter().map(|v| sizes[v.0]).collect();
                    node.op.output_size(&ins).ok()?
                }
            };
            sizes.push(size);
        }
        Some(())
    }

    /// The FLOPs of every node at the input size `shapes` was inferred for (see [`Op::flops`]).
    pub fn flops(&self, shapes: &Shapes) -> Vec<u64> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let ins: Vec<Shape> = node.inputs.iter().map(|v| shapes.of(*v)).collect();
                node.op.flops(&ins, shapes.of(ValueId(i)))
            })
            .collect()
    }

    /// A listing of the graph with every value's shape, for snapshots and for a person reading what the compiler saw.
    pub fn display_with_shapes<'a>(&'a self, shapes: &'a Shapes) -> impl fmt::Display + 'a {
        DisplayShapes {
            graph: self,
            shapes,
        }
    }
}

/// The shape of every value of a graph at one input size, indexed by [`ValueId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shapes {
    shapes: Vec<Shape>,
}

impl Shapes {
    /// The shape of `value`.
    pub fn of(&self, value: ValueId) -> Shape {
        self.shapes[value.0]
    }

    /// Shapes of every value, in node order.
    pub fn all(&self) -> &[Shape] {
        &self.shapes
    }
}

struct DisplayShapes<'a> {
    graph: &'a Graph,
    shapes: &'a Shapes,
}

impl fmt::Display for DisplayShapes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.graph;
        let width = g.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
        writeln!(f, "graph {}", g.name)?;
        let flops = g.flops(self.shapes);
        for (i, node) in g.nodes.iter().enumerate() {
            let ins: Vec<_> = node
                .inputs
                .iter()
                .map(|v| g.nodes[v.0].name.as_str())
                .collect();
            let flops = flops[i];
            write!(
                f,
                "  %{i:<2} {:<width$} : {:<11}",
                node.name,
                self.shapes.of(ValueId(i)).to_string()
            )?;
            write!(f, " = {}", node.op)?;
            if !ins.is_empty() {
                write!(f, " ({})", ins.join(", "))?;
            }
            if flops > 0 {
                write!(f, "  flops={flops}")?;
            }
            writeln!(f)?;
        }
        for head in &g.outputs {
            let value = &g.nodes[head.value.0].name;
            writeln!(
                f,
                "  output {} = {value} : {}",
                head.name,
                self.shapes.of(head.value)
            )?;
        }
        write!(f, "  total flops={}", flops.iter().sum::<u64>())
    }
}
