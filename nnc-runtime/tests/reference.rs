//! The interpreter against an independent float64 evaluation on seeded random networks and inputs.
//!
//! The float64 evaluator below is written from the op definitions, differently from the
//! interpreter: plain OIHW weights, signed coordinates with explicit bounds tests, output channel
//! outermost. Agreement within f32 rounding means both read the definitions the same way.

use nnc_runtime::ir::testing::{Rng, random_input, random_network, random_weights};
use nnc_runtime::ir::{Dtype, Model, Op, ValueId, WeightRole, parse_graph};
use nnc_runtime::{Interpreter, Tensor};

/// A value in float64: height, width, channels, NHWC data.
#[derive(Clone)]
struct T64 {
    h: usize,
    w: usize,
    c: usize,
    d: Vec<f64>,
}

impl T64 {
    fn get(&self, y: isize, x: isize, c: usize) -> Option<f64> {
        let inside = y >= 0 && x >= 0 && (y as usize) < self.h && (x as usize) < self.w;
        inside.then(|| self.d[(y as usize * self.w + x as usize) * self.c + c])
    }
}

fn evaluate_f64(model: &Model, input: &Tensor) -> Vec<(String, T64)> {
    let graph = &model.graph;
    let shapes = graph.infer_shapes(input.h, input.w).unwrap();
    let mut values: Vec<T64> = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let s = shapes.of(ValueId(i));
        let mut out = T64 {
            h: s.h,
            w: s.w,
            c: s.c,
            d: vec![0.0; s.len()],
        };
        let arg = |n: usize| &values[node.inputs[n].0];
        let at = |t: &mut T64, y: usize, x: usize, c: usize| -> usize { (y * t.w + x) * t.c + c };
        match node.op {
            Op::Input { .. } => out.d = input.data.iter().map(|&v| v as f64).collect(),
            Op::Conv(conv) => {
                let x = arg(0);
                let kernel = &model
                    .weights
                    .role(ValueId(i), WeightRole::Kernel)
                    .unwrap()
                    .data;
                let bias = model.weights.role(ValueId(i), WeightRole::Bias);
                let (r, c) = (conv.window.rows, conv.window.cols);
                let [kh, kw, sh, sw, ph, pw, dh, dw] = [
                    r.kernel, c.kernel, r.stride, c.stride, r.pad, c.pad, r.dilation, c.dilation,
                ]
                .map(|v| v as isize);
                // Input channels per group; output channel `o` reads those of group
                // `o / (s.c / groups)`.
                let cig = x.c / conv.groups;
                for o in 0..s.c {
                    let first = o / (s.c / conv.groups) * cig;
                    for oy in 0..s.h {
                        for ox in 0..s.w {
                            let mut sum = bias.map_or(0.0, |b| b.data[o] as f64);
                            for ci in first..first + cig {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let iy = oy as isize * sh - ph + ky * dh;
                                        let ix = ox as isize * sw - pw + kx * dw;
                                        if let Some(v) = x.get(iy, ix, ci) {
                                            let wi = ((o * cig + ci - first) * kh as usize
                                                + ky as usize)
                                                * kw as usize
                                                + kx as usize;
                                            sum += v * kernel[wi] as f64;
                                        }
                                    }
                                }
                            }
                            let idx = at(&mut out, oy, ox, o);
                            out.d[idx] = sum;
                        }
                    }
                }
            }
            Op::MaxPool(wnd) | Op::AvgPool(wnd) => {
                let x = arg(0);
                let (r, cl) = (wnd.rows, wnd.cols);
                let [kh, kw, sh, sw, ph, pw] =
                    [r.kernel, cl.kernel, r.stride, cl.stride, r.pad, cl.pad].map(|v| v as isize);
                for c in 0..s.c {
                    for oy in 0..s.h {
                        for ox in 0..s.w {
                            let window: Vec<f64> = (0..kh * kw)
                                .filter_map(|t| {
                                    x.get(
                                        oy as isize * sh - ph + t / kw,
                                        ox as isize * sw - pw + t % kw,
                                        c,
                                    )
                                })
                                .collect();
                            let v = match node.op {
                                Op::MaxPool(_) => {
                                    window.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                                }
                                _ => window.iter().sum::<f64>() / window.len() as f64,
                            };
                            let idx = at(&mut out, oy, ox, c);
                            out.d[idx] = v;
                        }
                    }
                }
            }
            Op::Relu => {
                out.d = arg(0)
                    .d
                    .iter()
                    .map(|&v| if v > 0.0 { v } else { 0.0 })
                    .collect()
            }
            Op::Sigmoid => out.d = arg(0).d.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
            Op::Prelu => {
                let alpha = &model.weights.of(ValueId(i))[0].data;
                out.d = arg(0)
                    .d
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| {
                        if v > 0.0 {
                            v
                        } else {
                            alpha[j % s.c] as f64 * v
                        }
                    })
                    .collect();
            }
            Op::Add => out.d = arg(0).d.iter().zip(&arg(1).d).map(|(a, b)| a + b).collect(),
            Op::PadAdd => {
                // Each input reads as zero outside its own rows, columns and channels.
                let read = |x: &T64, y: usize, xx: usize, c: usize| {
                    let inside = c < x.c;
                    let v = inside.then(|| x.get(y as isize, xx as isize, c)).flatten();
                    v.unwrap_or(0.0)
                };
                for y in 0..s.h {
                    for xx in 0..s.w {
                        for c in 0..s.c {
                            let idx = at(&mut out, y, xx, c);
                            out.d[idx] = read(arg(0), y, xx, c) + read(arg(1), y, xx, c);
                        }
                    }
                }
            }
            Op::Upsample { factor } => {
                // Output pixel (y, x) is the input's (y / factor, x / factor), read by position.
                let x = arg(0);
                for y in 0..s.h {
                    for xx in 0..s.w {
                        let (sy, sx) = ((y / factor) as isize, (xx / factor) as isize);
                        for c in 0..s.c {
                            let idx = at(&mut out, y, xx, c);
                            out.d[idx] = x.get(sy, sx, c).expect("inside the input");
                        }
                    }
                }
            }
            Op::Clip { min, max } => {
                let (lo, hi) = (min.0 as f64, max.0 as f64);
                out.d = arg(0).d.iter().map(|&v| v.clamp(lo, hi)).collect();
            }
            Op::HardSigmoid { alpha, beta } => {
                let (a, b) = (alpha.0 as f64, beta.0 as f64);
                out.d = arg(0)
                    .d
                    .iter()
                    .map(|&v| (a * v + b).clamp(0.0, 1.0))
                    .collect();
            }
            Op::HardSwish => {
                out.d = arg(0)
                    .d
                    .iter()
                    .map(|&v| v * ((v + 3.0).clamp(0.0, 6.0) / 6.0))
                    .collect();
            }
            Op::Affine => {
                let w = model.weights.of(ValueId(i));
                let (scale, shift) = (&w[0].data, &w[1].data);
                out.d = arg(0)
                    .d
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| v * scale[j % s.c] as f64 + shift[j % s.c] as f64)
                    .collect();
            }
            Op::Mul => out.d = arg(0).d.iter().zip(&arg(1).d).map(|(a, b)| a * b).collect(),
            Op::GlobalAvgPool => {
                let x = arg(0);
                for c in 0..s.c {
                    let mut sum = 0.0;
                    for y in 0..x.h {
                        for xx in 0..x.w {
                            sum += x.get(y as isize, xx as isize, c).unwrap();
                        }
                    }
                    out.d[c] = sum / (x.h * x.w) as f64;
                }
            }
            Op::Softmax => {
                // exp(v) / sum exp, unshifted: the inputs here are small.
                for (o, x) in out.d.chunks_mut(s.c).zip(arg(0).d.chunks(s.c)) {
                    let sum: f64 = x.iter().map(|v| v.exp()).sum();
                    for (o, v) in o.iter_mut().zip(x) {
                        *o = v.exp() / sum;
                    }
                }
            }
            Op::Pad(p) => {
                // Output (y, x) reads input (y - top, x - left), zero outside it.
                let x = arg(0);
                for y in 0..s.h {
                    for xx in 0..s.w {
                        for c in 0..s.c {
                            let v = x.get(
                                y as isize - p.top as isize,
                                xx as isize - p.left as isize,
                                c,
                            );
                            let idx = at(&mut out, y, xx, c);
                            out.d[idx] = v.unwrap_or(0.0);
                        }
                    }
                }
            }
            Op::Concat => {
                let mut offset = 0;
                for n in 0..node.inputs.len() {
                    let x = arg(n);
                    for p in 0..s.h * s.w {
                        for c in 0..x.c {
                            out.d[p * s.c + offset + c] = x.d[p * x.c + c];
                        }
                    }
                    offset += x.c;
                }
            }
        }
        values.push(out);
    }
    graph
        .outputs
        .iter()
        .map(|h| (h.name.clone(), values[h.value.0].clone()))
        .collect()
}

/// Runs the interpreter and the float64 evaluator on one model and input, and compares every head
/// within `|a - b| <= 1e-4 * (1 + |b|)`.
fn check(model: Model, input: &Tensor, context: &str) {
    let expected = evaluate_f64(&model, input);
    let outputs = Interpreter::new(model).run(input).unwrap();
    // The zips below stop at the shorter list: compare the heads' names, in order, and each
    // head's length first, so that a missing head or a short tensor cannot pass unchecked.
    let got_names: Vec<&str> = outputs.heads.iter().map(|(n, _)| n.as_str()).collect();
    let want_names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got_names, want_names, "{context}: heads");
    for ((name, got), (_, want)) in outputs.heads.iter().zip(&expected) {
        assert_eq!(
            (got.h, got.w, got.c),
            (want.h, want.w, want.c),
            "{context}: head {name}"
        );
        assert_eq!(
            (got.data.len(), want.d.len()),
            (got.h * got.w * got.c, want.h * want.w * want.c),
            "{context}: head {name}: data lengths"
        );
        for (j, (g, w)) in got.data.iter().zip(&want.d).enumerate() {
            assert!(
                ((*g as f64) - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{context}: head {name}[{j}]: {g} vs {w}"
            );
        }
    }
}

#[test]
fn random_networks_match_a_float64_evaluation() {
    let mut checked = 0;
    for seed in 0..150 {
        let mut rng = Rng::new(seed);
        let src = random_network(&mut rng);
        let graph = parse_graph(&src, "random.nnc".as_ref())
            .unwrap_or_else(|e| panic!("seed {seed}:\n{src}\n{e}"));
        let Some(min) = graph.min_input_size().filter(|&m| m <= 48) else {
            continue;
        };
        let dtype = if seed % 2 == 0 {
            Dtype::F32
        } else {
            Dtype::F16
        };
        let bytes = random_weights(&graph, &mut rng, dtype);
        let model = Model::from_sources(&src, "random.nnc".as_ref(), &bytes, "w".as_ref()).unwrap();
        let (h, w) = (min + rng.range(0, 9), min + rng.range(0, 9));
        let c = graph.input_channels();
        // A size where branches misalign is a legitimate shape error; those are tested elsewhere.
        if graph.infer_shapes(h, w).is_err() {
            continue;
        }
        let input = Tensor::from_vec(
            nnc_runtime::ir::Shape { h, w, c },
            random_input(&mut rng, h, w, c),
        );
        check(model, &input, &format!("seed {seed} at {h}x{w}:\n{src}"));
        checked += 1;
    }
    assert!(
        checked >= 100,
        "only {checked} random networks were checked"
    );
}

#[test]
fn the_committed_test_model_matches_a_float64_evaluation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let model = Model::load(&root.join("testnet.nnc"), &root.join("testnet.safetensors")).unwrap();
    let mut rng = Rng::new(42);
    for (h, w) in [(8, 8), (48, 64), (61, 37)] {
        let input = Tensor::from_vec(
            nnc_runtime::ir::Shape { h, w, c: 3 },
            random_input(&mut rng, h, w, 3),
        );
        check(model.clone(), &input, &format!("testnet at {h}x{w}"));
    }
}

/// `upsample`, which the random networks do not draw, in the feature pyramid of `tests/models`.
#[test]
fn the_feature_pyramid_model_matches_a_float64_evaluation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models");
    let model = Model::load(&root.join("fpn.nnc"), &root.join("fpn.safetensors")).unwrap();
    let mut rng = Rng::new(43);
    for (h, w) in [(8, 8), (48, 64), (40, 24)] {
        let input = Tensor::from_vec(
            nnc_runtime::ir::Shape { h, w, c: 3 },
            random_input(&mut rng, h, w, 3),
        );
        check(model.clone(), &input, &format!("fpn at {h}x{w}"));
    }
}

/// The ops ONNX import brought (clip, hardsigmoid, hardswish, affine, mul, pad, global average,
/// softmax, ceil-mode pooling, windows that differ by axis, dilation), which the random networks
/// do not draw, in one network at odd sizes.
#[test]
fn the_imported_ops_match_a_float64_evaluation() {
    let src = "image = input(channels=3)\n\
               padded = pad(image, top=1, left=2, bottom=0, right=3)\n\
               c1 = conv(padded, out=6, k=3, stride=2)\n\
               scaled = affine(c1)\n\
               six = clip(scaled, min=-5e-1, max=1.5e+0)\n\
               gate = hardsigmoid(six, alpha=0.7, beta=0.25)\n\
               swish = hardswish(scaled)\n\
               both = mul(gate, swish)\n\
               pooled = globalavgpool(both)\n\
               logits = conv(pooled, out=4, k=1)\n\
               probs = softmax(logits)\n\
               map = softmax(both)\n\
               coarse = avgpool(swish, k=3, stride=2, ceil=true)\n\
               peaks = maxpool(coarse, k=2, pad=1, ceil=true)\n\
               rows = conv(padded, out=5, k=3x1, stride=1x2, pad=1x0)\n\
               atrous = conv(rows, out=4, k=3, pad=2x1, dilation=2x1)\n\
               depth = conv(atrous, out=4, k=1x3, stride=2x1, pad=0x2, dilation=1x2, groups=4)\n\
               strips = maxpool(depth, k=1x3, stride=1x2, pad=0x1, ceil=true)\n\
               bands = avgpool(depth, k=3x2, stride=2x1, pad=1x0)\n\
               output probs\n\
               output map\n\
               output peaks\n\
               output strips\n\
               output bands\n";
    let graph = parse_graph(src, "imported_ops.nnc".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng::new(8);
    for (dtype, (h, w)) in [(Dtype::F32, (13, 9)), (Dtype::F16, (6, 21))] {
        let bytes = random_weights(&graph, &mut rng, dtype);
        let model = Model::from_sources(src, "imported_ops.nnc".as_ref(), &bytes, "w".as_ref())
            .unwrap_or_else(|e| panic!("{e}"));
        let input = Tensor::from_vec(
            nnc_runtime::ir::Shape { h, w, c: 3 },
            random_input(&mut rng, h, w, 3),
        );
        check(model, &input, &format!("imported ops at {h}x{w}"));
    }
}
