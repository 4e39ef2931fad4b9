//! Seeded random networks, weights and inputs, for testing nnc against its reference interpreter.
//!
//! Everything here is deterministic for a given seed, so a failing case can be replayed from the
//! seed printed by the test. It is public so that the compiler's tests, the runtime's tests and the
//! `make_weights` example share one generator rather than three.

use crate::ir::{Graph, Op};
use crate::weights::Dtype;

/// A small, fast, seedable generator (SplitMix64): good enough for test data, no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Uniform in `[-1, 1)`.
    pub fn symmetric(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }
}

/// A pair of window arguments as a description writes them: `3`, or `1x3` where they differ.
fn both(r: usize, c: usize) -> String {
    if r == c {
        r.to_string()
    } else {
        format!("{r}x{c}")
    }
}

/// A convolution's window arguments (`, k=3, stride=1, pad=1`), with kernel sides from `sides`.
/// One window in four differs by axis, and half of those are dilated. `same` keeps the size
/// (stride 1, padding half the span; `sides` must be odd); otherwise the stride is 1 or 2 and
/// the padding up to half the span, per axis.
fn window(rng: &mut Rng, sides: &[usize], same: bool) -> String {
    let odd = rng.chance(0.25);
    let (kh, kw) = if odd {
        (*rng.pick(sides), *rng.pick(sides))
    } else {
        let k = *rng.pick(sides);
        (k, k)
    };
    let (dh, dw) = if odd && rng.chance(0.5) {
        (rng.range(1, 3), rng.range(1, 2))
    } else {
        (1, 1)
    };
    let mut axis = |k: usize, d: usize| {
        let span = d * (k - 1) + 1;
        if same {
            (1, span / 2)
        } else {
            (rng.range(1, 2), rng.range(0, span / 2))
        }
    };
    let ((sh, ph), (sw, pw)) = (axis(kh, dh), axis(kw, dw));
    let mut args = format!(
        ", k={}, stride={}, pad={}",
        both(kh, kw),
        both(sh, sw),
        both(ph, pw)
    );
    if (dh, dw) != (1, 1) {
        args += &format!(", dilation={}", both(dh, dw));
    }
    args
}

/// A random valid description: a trunk of convolutions (dense and depthwise), activations and
/// pooling with residual adds, downsampling residuals joined by `padadd`, and concatenated
/// branches, ending in a score head and a box head.
pub fn random_network(rng: &mut Rng) -> String {
    let mut src = format!(
        "# random network\nimage = input(channels={})\n",
        rng.range(1, 4)
    );
    let mut cur = "image".to_string();
    let mut channels = 0; // unknown until the first conv; the input channel count stays as is
    let mut n = 0;
    let mut fresh = |prefix: &str| {
        n += 1;
        format!("{prefix}{n}")
    };
    let conv =
        |rng: &mut Rng, src: &mut String, name: &str, input: &str, out: usize, same: bool| {
            let sides: &[usize] = if same { &[1, 3, 5] } else { &[1, 2, 3, 5] };
            let window = window(rng, sides, same);
            let bias = if rng.chance(0.8) { "" } else { ", bias=false" };
            src.push_str(&format!(
                "{name} = conv({input}, out={out}{window}{bias})\n"
            ));
        };
    for _ in 0..rng.range(2, 7) {
        match rng.range(0, 10) {
            0..=3 => {
                let name = fresh("conv");
                channels = rng.range(1, 12);
                conv(rng, &mut src, &name, &cur, channels, false);
                cur = name;
            }
            4 => {
                let name = fresh("act");
                let op = rng.pick(&["relu", "prelu", "sigmoid"]);
                src.push_str(&format!("{name} = {op}({cur})\n"));
                cur = name;
            }
            5 | 6 => {
                let name = fresh("pool");
                let op = rng.pick(&["maxpool", "avgpool"]);
                let window = if rng.chance(0.75) {
                    let k = rng.range(2, 3);
                    let stride = rng.range(1, 2);
                    let pad = rng.range(0, 1);
                    format!(", k={k}, stride={stride}, pad={pad}")
                } else {
                    // A window that differs by axis, padded less than its kernel along each.
                    let (kh, kw) = (rng.range(1, 3), rng.range(2, 3));
                    let (sh, sw) = (rng.range(1, 2), rng.range(1, 2));
                    let (ph, pw) = (rng.range(0, kh - 1).min(1), rng.range(0, 1));
                    format!(
                        ", k={}, stride={}, pad={}",
                        both(kh, kw),
                        both(sh, sw),
                        both(ph, pw)
                    )
                };
                src.push_str(&format!("{name} = {op}({cur}{window})\n"));
                cur = name;
            }
            9 if channels > 0 => {
                // Depthwise, then the activation it fuses and sometimes a max-pool it does not.
                let name = fresh("dw");
                let window = window(rng, &[1, 3, 5], false);
                src.push_str(&format!(
                    "{name} = conv({cur}, out={channels}{window}, groups={channels})\n"
                ));
                cur = name;
                if rng.chance(0.7) {
                    let act = fresh("act");
                    let op = rng.pick(&["relu", "prelu"]);
                    src.push_str(&format!("{act} = {op}({cur})\n"));
                    cur = act;
                }
                if rng.chance(0.3) {
                    let pool = fresh("pool");
                    src.push_str(&format!("{pool} = maxpool({cur}, k=2)\n"));
                    cur = pool;
                }
            }
            7 if channels > 0 => {
                // Residual: a shape-preserving conv whose output is added back.
                let branch = fresh("res");
                conv(rng, &mut src, &branch, &cur, channels, true);
                let name = fresh("add");
                src.push_str(&format!("{name} = add({cur}, {branch})\n"));
                cur = name;
            }
            8 if channels > 0 => {
                // A downsampling residual as in dlib's ResNets: a strided conv beside an average
                // pool, which may differ in channels and by a row or column, joined by `padadd`.
                let (down, skip) = (fresh("down"), fresh("skip"));
                let out = rng.range(1, 12);
                let pad = rng.range(0, 1);
                src.push_str(&format!(
                    "{down} = conv({cur}, out={out}, k=3, stride=2, pad={pad})\n"
                ));
                src.push_str(&format!("{skip} = avgpool({cur}, k=2)\n"));
                let name = fresh("padadd");
                let (a, b) = if rng.chance(0.5) {
                    (&down, &skip)
                } else {
                    (&skip, &down)
                };
                src.push_str(&format!("{name} = padadd({a}, {b})\n"));
                channels = channels.max(out);
                cur = name;
            }
            _ => {
                // Two branches of the same geometry, concatenated.
                let (a, b) = (fresh("left"), fresh("right"));
                let (ca, cb) = (rng.range(1, 6), rng.range(1, 6));
                let k = *rng.pick(&[1, 3]);
                let stride = rng.range(1, 2);
                src.push_str(&format!(
                    "{a} = conv({cur}, out={ca}, k={k}, stride={stride}, pad={})\n",
                    k / 2
                ));
                src.push_str(&format!(
                    "{b} = conv({cur}, out={cb}, k={k}, stride={stride}, pad={})\n",
                    k / 2
                ));
                let name = fresh("cat");
                src.push_str(&format!("{name} = concat({a}, {b})\n"));
                channels = ca + cb;
                cur = name;
            }
        }
    }
    src.push_str(&format!(
        "score_logit = conv({cur}, out=1, k=1)\nscore = sigmoid(score_logit)\n"
    ));
    src.push_str(&format!(
        "box = conv({cur}, out=4, k=1)\noutput score\noutput box\n"
    ));
    src
}

/// Weights for every tensor `graph` needs, uniform with a fan-in scale so activations stay near 1,
/// serialized as a safetensors file with every tensor stored as `dtype`.
pub fn random_weights(graph: &Graph, rng: &mut Rng, dtype: Dtype) -> Vec<u8> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    for node in &graph.nodes {
        for spec in node.op.weight_specs(&graph.input_channels_of(node)) {
            let len: usize = spec.shape.iter().product();
            let scale = match node.op {
                Op::Conv(_) => (3.0 / (len / spec.shape[0]).max(1) as f32).sqrt(),
                _ => 0.5,
            };
            let data = (0..len).map(|_| rng.symmetric() * scale).collect();
            tensors.push((format!("{}.{}", node.name, spec.suffix), spec.shape, data));
        }
    }
    serialize(&tensors, dtype)
}

/// Serializes named f32 tensors as a safetensors file, stored as `dtype`.
pub fn serialize(tensors: &[(String, Vec<usize>, Vec<f32>)], dtype: Dtype) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape, data)| {
            let bytes = match dtype {
                Dtype::F32 => data.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Dtype::F16 => data
                    .iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect(),
            };
            (name.clone(), shape.clone(), bytes)
        })
        .collect();
    let st_dtype = match dtype {
        Dtype::F32 => safetensors::Dtype::F32,
        Dtype::F16 => safetensors::Dtype::F16,
    };
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(st_dtype, shape.clone(), bytes)
                .expect("sizes agree by construction");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, None).expect("in-memory serialization cannot fail")
}

/// A random input image in `[-1, 1)`, as NHWC values.
pub fn random_input(rng: &mut Rng, h: usize, w: usize, c: usize) -> Vec<f32> {
    (0..h * w * c).map(|_| rng.symmetric()).collect()
}
