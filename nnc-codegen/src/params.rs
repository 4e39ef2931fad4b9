//! The `pack` stage and the weight statics: every tensor packed at build time in the layout its
//! kernel reads (`nnc_runtime::kernels::layout`), one `static` each, shared by every scale and
//! variant.

use crate::input::Storage;
use nnc_ir::plan::{Algorithm, Plan};
use nnc_ir::{Model, Op, ValueId, WeightRole};
use nnc_runtime::kernels::layout;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::collections::HashMap;
use std::fmt;

/// One packed tensor and the name of its static.
#[derive(Debug)]
pub struct Packed {
    pub name: String,
    pub data: Vec<f32>,
    /// Stored as f32 whatever the network's storage: F(4x4, 3x3)'s transformed weights, whose
    /// output transform (coefficients up to 8) would carry their rounding to f16 past the
    /// tolerance. Under f16 storage they are the transform of the f16-rounded filters, so that
    /// the network still computes what its f16 weights describe.
    pub wide: bool,
}

/// The packed tensors, and which of them each layer reads.
#[derive(Debug, Default)]
pub struct Params {
    pub tensors: Vec<Packed>,
    /// For each convolution: its kernel's and bias's index in `tensors`. The kernel is packed
    /// for the direct, depthwise and pointwise kernels, unless every plan runs the layer by
    /// Winograd.
    pub conv: HashMap<ValueId, (Option<usize>, usize)>,
    /// For each convolution that some plan runs by Winograd: its transformed kernel's index.
    pub winograd: HashMap<(ValueId, usize), usize>,
    /// For each PReLU: its slopes' index.
    pub alpha: HashMap<ValueId, usize>,
    /// For each `affine`: its scale's and shift's index.
    pub affine: HashMap<ValueId, (usize, usize)>,
}

/// A static's name from a layer name, which may hold characters identifiers cannot.
fn static_name(layer: &str, role: &str) -> String {
    let clean: String = layer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("W_{clean}_{role}")
}

/// Packs every weight of `model` in the layout its kernel reads under `plans` (a layer that one
/// plan runs by Winograd and another directly gets both layouts), for statics of `storage`.
pub fn pack(model: &Model, plans: &[&Plan], storage: Storage) -> Params {
    let mut params = Params::default();
    let graph = &model.graph;
    // Each convolution's algorithms across the plans.
    let mut uses: HashMap<ValueId, Vec<Algorithm>> = HashMap::new();
    for plan in plans {
        for (t, algorithm) in plan.algorithms.iter().enumerate() {
            let group = &plan.groups[t % plan.steps_per_scale()];
            uses.entry(group.first()).or_default().push(*algorithm);
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let v = ValueId(i);
        match node.op {
            Op::Conv(conv) => {
                let kernel = model
                    .weights
                    .role(v, WeightRole::Kernel)
                    .expect("checked by bind");
                let (out, inp, taps) = (conv.out_channels, kernel.shape[1], conv.window.taps());
                let bias = match model.weights.role(v, WeightRole::Bias) {
                    Some(b) => layout::channel_vector(&b.data),
                    None => vec![0.0; layout::vectors(out) * 8],
                };
                let algorithms = uses.get(&v).map(Vec::as_slice).unwrap_or_default();
                let tiles = |m| algorithms.iter().any(|a| a.winograd_tile() == Some(m));
                let direct =
                    algorithms.is_empty() || algorithms.iter().any(|a| a.winograd_tile().is_none());
                let k_index = direct.then(|| {
                    params.push(
                        static_name(&node.name, "KERNEL"),
                        if conv.is_depthwise() {
                            layout::depthwise_kernel(&kernel.data, out, taps)
                        } else {
                            layout::conv_kernel(&kernel.data, out, inp, taps)
                        },
                    )
                });
                if tiles(2) {
                    let u = params.push(
                        static_name(&node.name, "WINOGRAD"),
                        layout::winograd_kernel(&kernel.data, out, inp, 2),
                    );
                    params.winograd.insert((v, 2), u);
                }
                if tiles(4) {
                    let filters: Vec<f32> = match storage {
                        Storage::F32 => kernel.data.clone(),
                        Storage::F16 => kernel
                            .data
                            .iter()
                            .map(|x| half::f16::from_f32(*x).to_f32())
                            .collect(),
                    };
                    params.tensors.push(Packed {
                        name: static_name(&node.name, "WINOGRAD4X4"),
                        data: layout::winograd_kernel(&filters, out, inp, 4),
                        wide: true,
                    });
                    params.winograd.insert((v, 4), params.tensors.len() - 1);
                }
                let b_index = params.push(static_name(&node.name, "BIAS"), bias);
                params.conv.insert(v, (k_index, b_index));
            }
            Op::Prelu => {
                let alpha = model
                    .weights
                    .role(v, WeightRole::Slope)
                    .expect("checked by bind");
                let index = params.push(
                    static_name(&node.name, "ALPHA"),
                    layout::channel_vector(&alpha.data),
                );
                params.alpha.insert(v, index);
            }
            Op::Affine => {
                let [scale, shift] = [WeightRole::Scale, WeightRole::Shift].map(|role| {
                    let w = model.weights.role(v, role).expect("checked by bind");
                    layout::channel_vector(&w.data)
                });
                let scale = params.push(static_name(&node.name, "SCALE"), scale);
                let shift = params.push(static_name(&node.name, "SHIFT"), shift);
                params.affine.insert(v, (scale, shift));
            }
            _ => {}
        }
    }
    params
}

impl Params {
    fn push(&mut self, name: String, data: Vec<f32>) -> usize {
        self.tensors.push(Packed {
            name,
            data,
            wide: false,
        });
        self.tensors.len() - 1
    }

    /// Whether each tensor's static is f32 under `storage`.
    pub fn stored_as_f32(&self, storage: Storage) -> Vec<bool> {
        self.tensors
            .iter()
            .map(|t| t.wide || storage == Storage::F32)
            .collect()
    }

    /// Elements of every packed tensor together.
    pub fn value_count(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }

    /// Bytes the statics take in the binary.
    pub fn bytes(&self, storage: Storage) -> usize {
        self.tensors
            .iter()
            .zip(self.stored_as_f32(storage))
            .map(|(t, as_f32)| t.data.len() * if as_f32 { 4 } else { 2 })
            .sum()
    }

    /// One aligned byte-string `static` per tensor, and `PARAMS` listing them in index order.
    ///
    /// Weights travel as one byte-string literal per tensor rather than one token per number, so
    /// that expanding a model with a million weights stays fast.
    pub fn statics(&self, storage: Storage) -> TokenStream {
        let mut items = Vec::new();
        let mut names = Vec::new();
        for (t, as_f32) in self.tensors.iter().zip(self.stored_as_f32(storage)) {
            let bytes: Vec<u8> = if as_f32 {
                t.data.iter().flat_map(|x| x.to_le_bytes()).collect()
            } else {
                t.data
                    .iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect()
            };
            let name = format_ident!("{}", t.name);
            let len = Literal::usize_unsuffixed(bytes.len());
            let literal = Literal::byte_string(&bytes);
            items.push(quote! {
                static #name: rt::Aligned<[u8; #len]> = rt::Aligned(*#literal);
            });
            names.push(name);
        }
        let count = Literal::usize_unsuffixed(self.tensors.len());
        quote! {
            #(#items)*
            static PARAMS: [&[u8]; #count] = [#(&#names.0),*];
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "params: {} tensors, {} values",
            self.tensors.len(),
            self.value_count()
        )?;
        for t in &self.tensors {
            writeln!(f, "  {:<32} {}", t.name, t.data.len())?;
        }
        Ok(())
    }
}
