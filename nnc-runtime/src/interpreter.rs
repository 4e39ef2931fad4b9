//! The reference interpreter: runs any valid [`Model`] on an input of any size.
//!
//! It is the oracle the generated code is tested against, so each op is a plain loop nest that can
//! be checked by eye against the op's definition in [`nnc_ir::Op`]. It avoids needless slowness
//! (it is also a baseline in the benchmarks): convolution kernels are repacked once to
//! `[ky][kx][in][out]` so that the innermost loop runs over contiguous output channels, and each
//! intermediate tensor is dropped as soon as its last reader has run.

use crate::tensor::Tensor;
use nnc_ir::{Axis, Conv, Model, ModelError, Op, Padding, Shape, ValueId, WeightRole, Window};
use std::fmt;

/// Why a run could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The input has a channel count other than the network's.
    InputChannels { expected: usize, found: usize },
    /// The input's height and width do not fit the network (too small, or misaligned branches).
    Shape(ModelError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::InputChannels { expected, found } => {
                write!(
                    f,
                    "the network takes {expected} input channels, the input has {found}"
                )
            }
            RunError::Shape(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The named outputs of one run, in the order the description declares them.
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub heads: Vec<(String, Tensor)>,
}

impl Outputs {
    /// The output of the head called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.heads.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// A convolution's weights in the order the interpreter reads them.
#[derive(Clone, Debug)]
struct PackedConv {
    /// `[ky][kx][in][out]`.
    kernel: Vec<f32>,
    /// `[out]`, zeros when the layer has no bias.
    bias: Vec<f32>,
}

/// A model ready to run, with its convolution weights repacked once.
#[derive(Debug)]
pub struct Interpreter {
    model: Model,
    packed: Vec<Option<PackedConv>>,
    /// For each value, the index of the last node that reads it (or `usize::MAX` for heads).
    last_use: Vec<usize>,
}

impl Interpreter {
    /// Prepares `model` for running.
    pub fn new(model: Model) -> Interpreter {
        let graph = &model.graph;
        let packed = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| match node.op {
                Op::Conv(conv) => {
                    let kernel = model.weights.role(ValueId(i), WeightRole::Kernel)?;
                    let (co, ci, taps) = (conv.out_channels, kernel.shape[1], conv.window.taps());
                    let mut packed = vec![0.0; kernel.data.len()];
                    for o in 0..co {
                        for c in 0..ci {
                            for t in 0..taps {
                                packed[(t * ci + c) * co + o] =
                                    kernel.data[(o * ci + c) * taps + t];
                            }
                        }
                    }
                    let bias = match model.weights.role(ValueId(i), WeightRole::Bias) {
                        Some(b) => b.data.clone(),
                        None => vec![0.0; co],
                    };
                    Some(PackedConv {
                        kernel: packed,
                        bias,
                    })
                }
                _ => None,
            })
            .collect();
        let mut last_use = vec![0; graph.nodes.len()];
        for (i, node) in graph.nodes.iter().enumerate() {
            for v in &node.inputs {
                last_use[v.0] = i;
            }
        }
        for head in &graph.outputs {
            last_use[head.value.0] = usize::MAX;
        }
        Interpreter {
            model,
            packed,
            last_use,
        }
    }

    /// The model being run.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs the network on `input` and returns every head.
    pub fn run(&self, input: &Tensor) -> Result<Outputs, RunError> {
        let graph = &self.model.graph;
        let expected = graph.input_channels();
        if input.c != expected {
            return Err(RunError::InputChannels {
                expected,
                found: input.c,
            });
        }
        let shapes = graph
            .infer_shapes(input.h, input.w)
            .map_err(RunError::Shape)?;
        let mut values: Vec<Option<Tensor>> = vec![None; graph.nodes.len()];
        for (i, node) in graph.nodes.iter().enumerate() {
            let out_shape = shapes.of(ValueId(i));
            let ins: Vec<&Tensor> = node
                .inputs
                .iter()
                .map(|v| {
                    values[v.0]
                        .as_ref()
                        .expect("inputs are computed before their readers")
                })
                .collect();
            let weights = self.model.weights.of(ValueId(i));
            let out = match node.op {
                Op::Input { .. } => input.clone(),
                Op::Conv(conv) => {
                    let packed = self.packed[i].as_ref().expect("every conv is packed");
                    conv2d(ins[0], packed, conv, out_shape)
                }
                Op::Relu => map(ins[0], |_, x| x.max(0.0)),
                Op::Prelu => {
                    let alpha = &weights[0].data;
                    map(ins[0], |c, x| if x > 0.0 { x } else { alpha[c] * x })
                }
                Op::Sigmoid => map(ins[0], |_, x| 1.0 / (1.0 + (-x).exp())),
                Op::MaxPool(window) => pool(ins[0], window, out_shape, Pooling::Max),
                Op::AvgPool(window) => pool(ins[0], window, out_shape, Pooling::Average),
                Op::Add => add(ins[0], ins[1]),
                Op::PadAdd => pad_add(ins[0], ins[1], out_shape),
                Op::Concat => concat(&ins, out_shape),
                Op::Upsample { factor } => upsample(ins[0], factor, out_shape),
                Op::Clip { min, max } => map(ins[0], |_, x| x.clamp(min.0, max.0)),
                Op::HardSigmoid { alpha, beta } => {
                    map(ins[0], |_, x| (alpha.0 * x + beta.0).clamp(0.0, 1.0))
                }
                Op::HardSwish => map(ins[0], |_, x| x * (x / 6.0 + 0.5).clamp(0.0, 1.0)),
                Op::Affine => {
                    let (scale, shift) = (&weights[0].data, &weights[1].data);
                    map(ins[0], |c, x| x * scale[c] + shift[c])
                }
                Op::Mul => {
                    let data = ins[0].data.iter().zip(&ins[1].data).map(|(a, b)| a * b);
                    Tensor::from_vec(out_shape, data.collect())
                }
                Op::GlobalAvgPool => global_avg_pool(ins[0], out_shape),
                Op::Softmax => softmax(ins[0]),
                Op::Pad(padding) => pad(ins[0], padding, out_shape),
            };
            debug_assert_eq!(out.shape(), out_shape, "layer `{}`", node.name);
            values[i] = Some(out);
            for v in &node.inputs {
                if self.last_use[v.0] == i {
                    values[v.0] = None;
                }
            }
        }
        let heads = graph
            .outputs
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    values[h.value.0].clone().expect("heads are kept"),
                )
            })
            .collect();
        Ok(Outputs { heads })
    }
}

/// Applies `f(channel, x)` to every element.
fn map(x: &Tensor, f: impl Fn(usize, f32) -> f32) -> Tensor {
    let c = x.c;
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| f(i % c, v))
        .collect();
    Tensor { data, ..*x }
}

/// The input row (or column) read by output position `o` at kernel tap `k` along `axis`, if
/// inside the input.
fn source(o: usize, k: usize, axis: Axis, len: usize) -> Option<usize> {
    (o * axis.stride + k * axis.dilation)
        .checked_sub(axis.pad)
        .filter(|&i| i < len)
}

/// A convolution by its definition: output channel `o` of group `o / (co / groups)` sums the
/// taps of that group's `ci / groups` input channels.
fn conv2d(x: &Tensor, w: &PackedConv, conv: Conv, out: Shape) -> Tensor {
    let (window, co) = (conv.window, out.c);
    let (kh, kw) = (window.rows.kernel, window.cols.kernel);
    let (cig, cog) = (x.c / conv.groups, co / conv.groups);
    let mut y = Tensor::zeros(out);
    for oy in 0..out.h {
        for ox in 0..out.w {
            let acc = &mut y.data[(oy * out.w + ox) * co..][..co];
            acc.copy_from_slice(&w.bias);
            for ky in 0..kh {
                let Some(iy) = source(oy, ky, window.rows, x.h) else {
                    continue;
                };
                for kx in 0..kw {
                    let Some(ix) = source(ox, kx, window.cols, x.w) else {
                        continue;
                    };
                    let pixel = &x.data[(iy * x.w + ix) * x.c..][..x.c];
                    for c in 0..cig {
                        let taps = &w.kernel[((ky * kw + kx) * cig + c) * co..][..co];
                        if conv.groups == 1 {
                            let v = pixel[c];
                            for (a, &t) in acc.iter_mut().zip(taps) {
                                *a += v * t;
                            }
                        } else {
                            for (o, (a, &t)) in acc.iter_mut().zip(taps).enumerate() {
                                *a += pixel[(o / cog) * cig + c] * t;
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

#[derive(Clone, Copy)]
enum Pooling {
    Max,
    Average,
}

fn pool(x: &Tensor, window: Window, out: Shape, kind: Pooling) -> Tensor {
    let c = x.c;
    let mut y = Tensor::zeros(out);
    let mut acc = vec![0.0f32; c];
    for oy in 0..out.h {
        for ox in 0..out.w {
            let init = match kind {
                Pooling::Max => f32::NEG_INFINITY,
                Pooling::Average => 0.0,
            };
            acc.fill(init);
            let mut count = 0usize;
            for ky in 0..window.rows.kernel {
                let Some(iy) = source(oy, ky, window.rows, x.h) else {
                    continue;
                };
                for kx in 0..window.cols.kernel {
                    let Some(ix) = source(ox, kx, window.cols, x.w) else {
                        continue;
                    };
                    count += 1;
                    let pixel = &x.data[(iy * x.w + ix) * c..][..c];
                    for (a, &v) in acc.iter_mut().zip(pixel) {
                        *a = match kind {
                            Pooling::Max => a.max(v),
                            Pooling::Average => *a + v,
                        };
                    }
                }
            }
            let dst = &mut y.data[(oy * out.w + ox) * c..][..c];
            for (d, &a) in dst.iter_mut().zip(&acc) {
                *d = match kind {
                    Pooling::Max => a,
                    Pooling::Average => a / count as f32,
                };
            }
        }
    }
    y
}

fn add(a: &Tensor, b: &Tensor) -> Tensor {
    let data = a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect();
    Tensor { data, ..*a }
}

/// The sum of `a` and `b`, each read as zero outside its own height, width and channels.
fn pad_add(a: &Tensor, b: &Tensor, out: Shape) -> Tensor {
    let mut y = Tensor::zeros(out);
    for x in [a, b] {
        for row in 0..x.h {
            for col in 0..x.w {
                let src = &x.data[(row * x.w + col) * x.c..][..x.c];
                let dst = &mut y.data[(row * out.w + col) * out.c..][..x.c];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d += v;
                }
            }
        }
    }
    y
}

/// Each pixel repeated `factor` times along both axes: output `(y, x)` is input
/// `(y / factor, x / factor)`.
fn upsample(x: &Tensor, factor: usize, out: Shape) -> Tensor {
    let mut data = Vec::with_capacity(out.len());
    for y in 0..out.h {
        for ox in 0..out.w {
            let at = ((y / factor) * x.w + ox / factor) * x.c;
            data.extend_from_slice(&x.data[at..at + x.c]);
        }
    }
    Tensor::from_vec(out, data)
}

/// The mean of each channel over every pixel.
fn global_avg_pool(x: &Tensor, out: Shape) -> Tensor {
    let mut sums = vec![0.0f64; x.c];
    for pixel in x.data.chunks_exact(x.c) {
        for (s, &v) in sums.iter_mut().zip(pixel) {
            *s += f64::from(v);
        }
    }
    let n = (x.h * x.w) as f64;
    Tensor::from_vec(out, sums.iter().map(|s| (s / n) as f32).collect())
}

/// A softmax over the channels of each pixel, shifted by the pixel's largest value.
fn softmax(x: &Tensor) -> Tensor {
    let mut data = Vec::with_capacity(x.data.len());
    for pixel in x.data.chunks_exact(x.c) {
        let top = pixel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = pixel.iter().map(|&v| f64::from(v - top).exp()).collect();
        let sum: f64 = e.iter().sum();
        data.extend(e.iter().map(|v| (v / sum) as f32));
    }
    Tensor { data, ..*x }
}

/// `x` with zero rows and columns around it.
fn pad(x: &Tensor, p: Padding, out: Shape) -> Tensor {
    let mut y = Tensor::zeros(out);
    for row in 0..x.h {
        let src = &x.data[row * x.w * x.c..][..x.w * x.c];
        let at = ((row + p.top) * out.w + p.left) * x.c;
        y.data[at..at + src.len()].copy_from_slice(src);
    }
    y
}

fn concat(ins: &[&Tensor], out: Shape) -> Tensor {
    let mut data = Vec::with_capacity(out.len());
    for p in 0..out.h * out.w {
        for x in ins {
            data.extend_from_slice(&x.data[p * x.c..][..x.c]);
        }
    }
    Tensor::from_vec(out, data)
}
