//! Weights: a safetensors file read, checked against what each layer needs, and bound to the graph.
//!
//! A layer `NAME` finds its tensors as `NAME.SUFFIX` (`conv1.weight`, `conv1.bias`, `act1.alpha`,
//! see [`Op::weight_specs`](crate::ir::Op::weight_specs)). Tensors may be stored as f32 or f16 and
//! are widened to f32 here; the stored dtype is kept so that the compiler can tell whether storing
//! them as f16 loses anything. Every tensor must be used: a stray tensor usually means a layer was
//! renamed in one file and not the other.

use crate::error::{ErrorKind, ModelError, ModelErrors};
use crate::ir::{Graph, ValueId, WeightRole};
use safetensors::{Dtype as StDtype, SafeTensors};
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// How a tensor is stored in the weights file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    F32,
    F16,
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
        })
    }
}

/// One weight tensor, widened to f32, in the layout the description documents for its role.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTensor {
    /// Its name in the weights file.
    pub name: String,
    pub role: WeightRole,
    pub shape: Vec<usize>,
    /// The dtype it was stored in.
    pub stored_as: Dtype,
    pub data: Vec<f32>,
}

/// The weights of every layer, indexed by node.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Weights {
    per_node: Vec<Vec<WeightTensor>>,
}

impl Weights {
    /// The tensors of the layer producing `value`, in [`Op::weight_specs`](crate::ir::Op::weight_specs) order.
    pub fn of(&self, value: ValueId) -> &[WeightTensor] {
        &self.per_node[value.0]
    }

    /// The tensor of `value`'s layer with the given role, if it has one.
    pub fn role(&self, value: ValueId, role: WeightRole) -> Option<&WeightTensor> {
        self.of(value).iter().find(|t| t.role == role)
    }

    /// Total number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.per_node.iter().flatten().map(|t| t.data.len()).sum()
    }

    /// The same weights as they come back from f16 storage: what a network compiled with
    /// `weights_as: f16` computes with.
    pub fn rounded_to_f16(&self) -> Weights {
        let mut rounded = self.clone();
        for t in rounded.per_node.iter_mut().flatten() {
            for x in &mut t.data {
                *x = half::f16::from_f32(*x).to_f32();
            }
        }
        rounded
    }

    /// Every tensor, in node order.
    pub fn iter(&self) -> impl Iterator<Item = &WeightTensor> {
        self.per_node.iter().flatten()
    }
}

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<_> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// Reads the tensors in `bytes` (the contents of `file`) that `graph` names, checking each one.
pub fn bind(graph: &Graph, bytes: &[u8], file: &Path) -> Result<Weights, ModelErrors> {
    let shown = file.display();
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        ModelError::in_file(
            ErrorKind::WeightsFile,
            file,
            format!("{shown} is not a valid safetensors file: {e}"),
        )
        .with_help("write weights with `safetensors.torch.save_file` or `safetensors::serialize`")
    })?;
    let mut errors = ModelErrors::default();
    let mut unused: BTreeSet<String> = st.names().into_iter().map(str::to_string).collect();
    let mut per_node = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let mut tensors = Vec::new();
        for spec in node.op.weight_specs(&graph.input_channels_of(node)) {
            let name = format!("{}.{}", node.name, spec.suffix);
            unused.remove(&name);
            let view = match st.tensor(&name) {
                Ok(view) => view,
                Err(_) => {
                    errors.push(graph.error_at(
                        node.span,
                        ErrorKind::MissingWeight,
                        format!(
                            "layer `{}` needs the tensor `{name}` of shape {}, which {shown} does not have",
                            node.name,
                            shape_text(&spec.shape)
                        ),
                    ));
                    continue;
                }
            };
            let stored_as = match view.dtype() {
                StDtype::F32 => Dtype::F32,
                StDtype::F16 => Dtype::F16,
                other => {
                    errors.push(
                        graph
                            .error_at(
                                node.span,
                                ErrorKind::WeightDtype,
                                format!("tensor `{name}` in {shown} is stored as {other:?}"),
                            )
                            .with_help("nnc reads tensors stored as F32 or F16"),
                    );
                    continue;
                }
            };
            if view.shape() != spec.shape.as_slice() {
                let layout = match spec.role {
                    WeightRole::Kernel => {
                        "convolution kernels are [out, in / groups, k, k] ([out, in, k, k] unless \
                         depthwise)"
                    }
                    WeightRole::Bias => "a bias has one value per output channel",
                    WeightRole::Slope => "a PReLU slope has one value per channel",
                    WeightRole::Scale | WeightRole::Shift => {
                        "an affine scale and shift have one value per channel"
                    }
                };
                errors.push(
                    graph
                        .error_at(
                            node.span,
                            ErrorKind::WeightShape,
                            format!(
                                "tensor `{name}` in {shown} has shape {}, but layer `{}` needs {}",
                                shape_text(view.shape()),
                                node.name,
                                shape_text(&spec.shape)
                            ),
                        )
                        .with_help(layout),
                );
                continue;
            }
            let data = match stored_as {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Dtype::F16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            };
            tensors.push(WeightTensor {
                name,
                role: spec.role,
                shape: spec.shape,
                stored_as,
                data,
            });
        }
        per_node.push(tensors);
    }
    for name in unused {
        errors.push(
            ModelError::in_file(
                ErrorKind::ExtraWeight,
                file,
                format!("tensor `{name}` in {shown} is not used by any layer of {}", graph.file.display()),
            )
            .with_help("a layer `L` reads `L.weight`, `L.bias` (conv) or `L.alpha` (prelu); was a layer renamed?"),
        );
    }
    errors.finish(Weights { per_node })
}
