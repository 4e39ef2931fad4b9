//! The execution plan of a network compiled for fixed input sizes, built by stages that each
//! return plain data with a `Display`, so that every step can be printed and snapshot-tested:
//!
//! ```text
//! Graph + sizes --infer_shapes--> Vec<Shapes> --fuse--> Fused --schedule--> Schedule
//!               --band--> Schedule --liveness--> Liveness --place--> Plan --verify--> Ok(()) or PlanError
//! ```
//!
//! [`plan`] runs the stages from `infer_shapes` to `place`; the code generator calls them one by
//! one and then [`verify`], and only reads the plan.
//!
//! - **Fusion** ([`fuse`]). A convolution (dense or depthwise) absorbs the activation that alone
//!   reads it, and then a max-pool with `k == stride` and no padding that alone reads that,
//!   so the pre-activation and pre-pool tensors never reach memory. A residual sum (`add`,
//!   `padadd`) absorbs the `relu` that alone reads it, as ResNets write it. Every other node is a
//!   step of its own. The network input is read from the caller's buffer and is not in the arena.
//! - **Schedule** ([`schedule`]). The joint graph runs the steps of scale 0, then scale 1, and so
//!   on; one step index `t` counts across all of them. Each convolution step gets its algorithm
//!   here ([`choose`]), by its shape at its scale: depthwise, a 1x1 matrix product, Winograd
//!   F(2x2, 3x3) or F(4x4, 3x3), or direct. A layer that runs by Winograd at one scale and
//!   directly (or on the other tile size) at another has its weights packed each way it runs.
//! - **Bands** ([`band`]). A convolution whose output only the next step reads, a 3x3
//!   convolution, runs interleaved with it, a few rows at a time, where that lowers the arena's
//!   lower bound: its buffer is then a band of rows, not the whole map.
//! - **Scratch**. A Winograd step works in a buffer of its own ([`winograd_scratch`]), live for
//!   that step alone; it is placed like any other buffer and counts toward the lower bound.
//! - **Liveness** ([`liveness`]). A buffer lives from the step that writes it to the last step that
//!   reads it. Heads live to the end of the joint schedule, so that a run of every scale returns
//!   every head. **In place**: a pooled Winograd step whose input nothing else reads writes its
//!   output over the start of that input ([`winograd_in_place`] checks, tile by tile, that the
//!   kernel's writes never overtake its reads); the output then lives from the next step on and
//!   goes where the input goes, so at its step the two take the input's bytes alone (the face
//!   pyramid's 1.2 MB conv2 output inside conv1's 4.9 MB).
//! - **Placement** ([`place`]). Placing buffers is dynamic storage allocation (NP-hard in
//!   general). Several greedy orders are tried; each puts a buffer at the lowest offset free for
//!   its whole live range (an input and the output written in place over it: the lowest offset
//!   free for both). The best is kept, improved by a seeded swap search, and compared with the
//!   lower bound: the most bytes live at any one step.
//! - **Verification** ([`verify`]). The invariants the generated code relies on, checked on the
//!   finished plan; a planner bug is an error, never undefined behaviour in generated code.

use crate::error::{ErrorKind, ModelError};
use crate::ir::{Graph, Op, Shapes, ValueId};
use std::fmt;

/// Buffers start on 64-byte boundaries (a cache line, two AVX registers): 16 f32.
pub const ALIGN_FLOATS: usize = 16;

/// Nodes computed in one pass: a convolution with the activation and max-pool it absorbed, or a
/// single node. The last node's value is the one stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub nodes: Vec<ValueId>,
}

impl Group {
    /// The value this group stores.
    pub fn output(&self) -> ValueId {
        *self.nodes.last().expect("groups are never empty")
    }

    /// The group's first node: the convolution of a fused group, else the only node. Its inputs
    /// are the values the group reads (the nodes it absorbed read only their predecessor in the
    /// group, and their own weights).
    pub fn first(&self) -> ValueId {
        self.nodes[0]
    }
}

/// What every stage after shape inference names a group by: its nodes' names joined by `+`.
fn label(graph: &Graph, group: &Group) -> String {
    let names: Vec<&str> = group
        .nodes
        .iter()
        .map(|v| graph.node(*v).name.as_str())
        .collect();
    names.join("+")
}

fn bytes(floats: usize) -> usize {
    floats * 4
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN_FLOATS) * ALIGN_FLOATS
}

/// The register block of the Winograd kernel's products (`nnc_runtime::kernels::winograd`) for
/// `co` output channels at `lanes` lanes in a register file of `registers` vectors: `(V, TILES)`,
/// output vectors and tiles. Up to one vector per eight registers (four at sixteen lanes in 32
/// registers, two at eight in 16), and two on the portable path's eight as well: there a vector
/// is two SSE registers and each tile's input broadcast costs a shuffle (SSE has no broadcast
/// load), so two vectors, at two tiles a block, halve the shuffles per product
/// (`benches/NOTES.md`, attempt 16). Then as many tiles as fit beside the vectors' weights and
/// one broadcast, at most twelve, so that one or two output vectors still make enough
/// independent accumulations to keep both FMA ports busy.
pub const fn winograd_block(lanes: usize, registers: usize, co: usize) -> (usize, usize) {
    let most = if registers >= 16 {
        registers / 8
    } else if registers >= 8 {
        2
    } else {
        1
    };
    let needed = (co.div_ceil(8) * 8).div_ceil(lanes);
    let v = if needed > most {
        most
    } else if needed == 0 {
        1
    } else {
        needed
    };
    let tiles = (registers - v - 1) / v;
    (v, if tiles > 12 { 12 } else { tiles })
}

/// Elements of arena a Winograd step on `m x m` output tiles (2 or 4) with `ci` input and `co`
/// output channels works in, on whichever path needs more: one block's transformed input
/// (`(m + 2)²` positions by the block's tiles by `ci` rounded up to 16) and the products of one
/// chunk of output vectors (positions by tiles by the chunk's lanes); see [`winograd_block`].
pub const fn winograd_scratch(m: usize, ci: usize, co: usize) -> usize {
    let cip = ci.div_ceil(16) * 16;
    let positions = (m + 2) * (m + 2);
    // The AVX-512 path, the AVX2 path and the portable path with 16 or 8 registers.
    let blocks = [(16, 32), (8, 16), (8, 8)];
    let mut most = 0;
    let mut i = 0;
    while i < blocks.len() {
        let (lanes, registers) = blocks[i];
        let (v, t) = winograd_block(lanes, registers, co);
        let need = positions * t * (cip + v * lanes);
        if need > most {
            most = need;
        }
        i += 1;
    }
    most
}

/// [`winograd_scratch`] for a step with a fused 2x2 max-pool whose pooled output is `pw`
/// pixels wide: F(4x4, 3x3) stages its first tile row's two pooled rows past the working part
/// (see [`winograd_in_place`]); F(2x2, 3x3) stages nothing.
pub const fn winograd_pooled_scratch(m: usize, ci: usize, co: usize, pw: usize) -> usize {
    winograd_scratch(m, ci, co) + if m == 4 { 2 * pw * co } else { 0 }
}

/// Whether a Winograd step on `m x m` output tiles (2 or 4) with a fused 2x2 max-pool, on an
/// `h x w x ci` input padded by `p`, with `co` output channels, may write its output over the
/// start of its input's buffer. The kernel (`nnc_runtime::kernels::winograd`) reads a block of
/// tiles' input, in row-major tile order, before it writes any of their outputs, and writes a
/// pooled pixel `(py, px)` at `(py * pw + px) * co`; F(4x4, 3x3) holds its first tile row's
/// outputs (two pooled rows, the second ahead of that row's reads) in its scratch and writes
/// them once the row is done. So it is safe when, for every tile, the outputs written before it
/// end at or before the first input element the tile reads. A pooled output is a quarter of its
/// input's pixels, so this holds wherever `co` is not far above `ci` (checked tile by tile, not
/// assumed).
pub fn winograd_in_place(m: usize, h: usize, w: usize, p: usize, ci: usize, co: usize) -> bool {
    let (oh, ow) = (h + 2 * p - 2, w + 2 * p - 2);
    let (th, tw) = (oh.div_ceil(m), ow.div_ceil(m));
    let (ph, pw) = (oh / 2, ow / 2);
    let half = m / 2;
    // The end of the output written before the tile in row-major order.
    let mut written = 0;
    for ty in 0..th {
        if m == 4 && ty == 1 {
            // The staged rows, stored (at the latest) before the second tile row reads.
            written = ph.min(2) * pw * co;
        }
        for tx in 0..tw {
            let (row, col) = ((m * ty).saturating_sub(p), (m * tx).saturating_sub(p));
            if row < h && col < w && written > (row * w + col) * ci {
                return false;
            }
            if m == 4 && ty == 0 {
                continue;
            }
            for i in 0..half {
                for j in 0..half {
                    let (py, px) = (half * ty + i, half * tx + j);
                    if py < ph && px < pw {
                        written = written.max((py * pw + px + 1) * co);
                    }
                }
            }
        }
    }
    true
}

/// How a group is computed: its convolution's algorithm, or `None` for other steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Not a convolution.
    None,
    /// Direct convolution, any kernel, stride, padding and dilation, per axis.
    Direct,
    /// One filter per channel.
    Depthwise,
    /// A 1x1, stride-1 convolution as a matrix product over the pixels.
    Pointwise,
    /// Winograd F(2x2, 3x3): a stride-1 3x3 convolution on 2x2 output tiles.
    Winograd,
    /// Winograd F(4x4, 3x3): the same on 4x4 output tiles, 36 products for 16 outputs where
    /// F(2x2, 3x3) has 16 for 4, with costlier transforms and weights 36/16 the size.
    Winograd4x4,
}

impl Algorithm {
    /// The side of a Winograd algorithm's output tiles (2 or 4), or `None` for the others.
    pub fn winograd_tile(self) -> Option<usize> {
        match self {
            Algorithm::Winograd => Some(2),
            Algorithm::Winograd4x4 => Some(4),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::None => "-",
            Algorithm::Direct => "direct",
            Algorithm::Depthwise => "depthwise",
            Algorithm::Pointwise => "1x1-gemm",
            Algorithm::Winograd => "winograd",
            Algorithm::Winograd4x4 => "winograd4x4",
        })
    }
}

/// Which algorithms the planner may pick (`algorithms:` in `nnc!`, `--algorithms` in `nnc
/// plan`): by the cost model, or one forced wherever it applies, for tests and A/B runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithms {
    /// The cost model's choice per layer ([`choose`]).
    #[default]
    Auto,
    /// Direct convolution for every dense layer (depthwise stays depthwise).
    Direct,
    /// Winograd F(2x2, 3x3) wherever it applies, direct elsewhere.
    Winograd,
    /// Winograd F(4x4, 3x3) wherever it applies, direct elsewhere.
    Winograd4x4,
}

impl Algorithms {
    /// Parses `auto`, `direct`, `winograd` or `winograd4x4`.
    pub fn parse(name: &str) -> Option<Algorithms> {
        match name {
            "auto" => Some(Algorithms::Auto),
            "direct" => Some(Algorithms::Direct),
            "winograd" => Some(Algorithms::Winograd),
            "winograd4x4" => Some(Algorithms::Winograd4x4),
            _ => None,
        }
    }
}

/// The algorithm for `group` at the scale whose shapes are `shapes`, under `allowed`.
///
/// Winograd applies to stride-1 3x3 convolutions with padding 0 or 1, group 1, ReLU or no
/// activation and at most a 2x2 max-pool (a tile is a pooling window). The cost model then takes
/// it with at least 16 input and output channels, since the transforms cost per channel what the
/// products save per channel pair (a bound set from that count, not measured layer by layer),
/// and at least [`WINOGRAD_MIN_TILES`] output tiles, since below that the transformed weights
/// (16/9 of the direct ones) are read for too few tiles (measured on the embedding:
/// `benches/NOTES.md`, attempt 6). It takes 4x4 tiles, F(4x4, 3x3), unless the 4x4 weights
/// exceed [`WINOGRAD4X4_MAX_WEIGHT_BYTES`] (attempt 13), or the step is pooled and F(2x2, 3x3)
/// could write it over its input where 4x4 tiles could not ([`winograd_in_place`]; attempt 20).
pub fn choose(graph: &Graph, group: &Group, shapes: &Shapes, allowed: Algorithms) -> Algorithm {
    let node = graph.node(group.first());
    let Op::Conv(conv) = node.op else {
        return Algorithm::None;
    };
    if conv.is_depthwise() {
        return Algorithm::Depthwise;
    }
    let mut relu_or_none = true;
    let mut pool = 1;
    for v in &group.nodes[1..] {
        match graph.node(*v).op {
            Op::Relu => {}
            // Fused pools are square (see `fuse`).
            Op::MaxPool(w) => pool = w.rows.kernel,
            _ => relu_or_none = false,
        }
    }
    let square = conv.window.as_square();
    if allowed == Algorithms::Direct {
        return Algorithm::Direct;
    }
    if square == Some((1, 1, 0)) && pool == 1 && relu_or_none {
        return Algorithm::Pointwise;
    }
    let applies = matches!(square, Some((3, 1, pad)) if pad <= 1) && relu_or_none && pool <= 2;
    if !applies {
        return Algorithm::Direct;
    }
    match allowed {
        Algorithms::Winograd => return Algorithm::Winograd,
        Algorithms::Winograd4x4 => return Algorithm::Winograd4x4,
        Algorithms::Auto | Algorithms::Direct => {}
    }
    let input = shapes.of(node.inputs[0]);
    let (ci, co) = (input.c, conv.out_channels);
    let out = shapes.of(group.first());
    let tiles = out.h.div_ceil(2) * out.w.div_ceil(2);
    if ci < 16 || co < 16 || tiles < WINOGRAD_MIN_TILES {
        return Algorithm::Direct;
    }
    let pad = square.map_or(0, |(_, _, p)| p);
    let in_place = |m| winograd_in_place(m, input.h, input.w, pad, ci, co);
    if 36 * ci * co * 4 > WINOGRAD4X4_MAX_WEIGHT_BYTES {
        Algorithm::Winograd
    } else if pool == 2 && !in_place(4) && in_place(2) {
        // Writing a pooled step over its input (the arena's peak on the face pyramid) is worth
        // more than the faster tiles.
        Algorithm::Winograd
    } else {
        Algorithm::Winograd4x4
    }
}

/// The largest F(4x4, 3x3) weights (36 values per input and output channel pair, f32: up to 64
/// channels in and out) for which the cost model takes 4x4 tiles over 2x2. Alone, every layer
/// shape measured ran 1.1-1.5 times faster on 4x4 tiles; in the embedding, the 128-channel
/// layers' 4x4 weights (2.36 MB each) took the network's weights past the L3 the machine gives
/// one core, and the whole network was no faster. With this limit it was 6-8% faster
/// (`benches/NOTES.md`, attempt 13).
pub const WINOGRAD4X4_MAX_WEIGHT_BYTES: usize = 640 << 10;

/// The fewest 2x2 output tiles for which the cost model takes Winograd.
pub const WINOGRAD_MIN_TILES: usize = 16;

/// The nodes that read each value.
fn consumers(graph: &Graph) -> Vec<Vec<ValueId>> {
    let mut readers = vec![Vec::new(); graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in &node.inputs {
            readers[v.0].push(ValueId(i));
        }
    }
    readers
}

/// Every value's shape at each `(height, width)` size, through [`Graph::infer_shapes`].
///
/// Fails when some size is too small for the network.
pub fn infer_shapes(graph: &Graph, sizes: &[(usize, usize)]) -> Result<Vec<Shapes>, ModelError> {
    sizes
        .iter()
        .map(|&(h, w)| graph.infer_shapes(h, w))
        .collect()
}

/// The graph's nodes grouped for computation, in graph order, which is the order they run in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fused {
    /// The network's name, for display.
    pub name: String,
    /// The groups, in graph order. The input is not among them.
    pub groups: Vec<Group>,
    /// Each group's node names joined by `+`, for display.
    pub labels: Vec<String>,
}

impl fmt::Display for Fused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fused {}: {} groups", self.name, self.groups.len())?;
        for label in &self.labels {
            writeln!(f, "  {label}")?;
        }
        Ok(())
    }
}

/// Groups the graph's nodes for computation (see the module docs for the fusion rule).
///
/// Fails when the input is itself a head: it is not in the arena, so it cannot be returned from
/// it.
pub fn fuse(graph: &Graph) -> Result<Fused, ModelError> {
    if let Some(head) = graph.outputs.iter().find(|h| h.value == graph.input()) {
        return Err(graph.error_at(
            head.span,
            ErrorKind::BadGraph,
            format!(
                "head `{}` is the input itself; compiled networks return computed values",
                head.name
            ),
        ));
    }
    let readers = consumers(graph);
    let is_head = |v: ValueId| graph.outputs.iter().any(|h| h.value == v);
    // The single reader of `v`, if `v` has exactly one and is not a head.
    let sole_reader = |v: ValueId| match readers[v.0].as_slice() {
        [only] if !is_head(v) => Some(*only),
        _ => None,
    };
    let mut absorbed = vec![false; graph.nodes.len()];
    let mut groups = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        if absorbed[i] || matches!(node.op, Op::Input { .. }) {
            continue;
        }
        let mut group = vec![ValueId(i)];
        if let Op::Conv(_) = node.op {
            let mut cur = ValueId(i);
            if let Some(next) = sole_reader(cur)
                && matches!(graph.node(next).op, Op::Relu | Op::Prelu | Op::Sigmoid)
            {
                group.push(next);
                cur = next;
            }
            if let Some(next) = sole_reader(cur)
                && let Op::MaxPool(w) = graph.node(next).op
                && let Some((k, stride, 0)) = w.as_square()
                && k == stride
                && !w.ceil
            {
                group.push(next);
            }
        }
        if matches!(node.op, Op::Add | Op::PadAdd)
            && let Some(next) = sole_reader(ValueId(i))
            && graph.node(next).op == Op::Relu
        {
            group.push(next);
        }
        for v in &group[1..] {
            absorbed[v.0] = true;
        }
        groups.push(Group { nodes: group });
    }
    let labels = groups.iter().map(|g| label(graph, g)).collect();
    Ok(Fused {
        name: graph.name.clone(),
        groups,
        labels,
    })
}

/// One step of the joint schedule: a group run at one scale, storing one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub scale: usize,
    /// The group's index in [`Schedule::groups`].
    pub group: usize,
    /// The value it stores.
    pub value: ValueId,
    /// The stored tensor's element count.
    pub len: usize,
    /// How the step computes its convolution ([`Algorithm::None`] for other steps).
    pub algorithm: Algorithm,
    /// Elements of scratch the step works in (0 for none).
    pub scratch: usize,
    /// For a step run in bands with the next one ([`band`]): the next step's output rows (before
    /// its pool) a band computes. `len` is then the band buffer's, `rows + 2` rows of the
    /// stored tensor.
    pub band: Option<usize>,
}

/// The groups of every scale in one joint order: all of scale 0's, then all of scale 1's, and so
/// on. Step `t` is group `t % steps_per_scale` at scale `t / steps_per_scale`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The network's name, for display.
    pub name: String,
    /// The fused groups, the same at every scale.
    pub groups: Vec<Group>,
    /// Each group's node names joined by `+`, for display.
    pub labels: Vec<String>,
    /// Input height and width of each scale.
    pub sizes: Vec<(usize, usize)>,
    /// Every value's shape at each scale.
    pub shapes: Vec<Shapes>,
    /// FLOPs of each scale (direct convolution count).
    pub flops: Vec<u64>,
    /// The joint steps, in the order they run.
    pub steps: Vec<Step>,
}

impl Schedule {
    /// Steps in one scale's schedule.
    pub fn steps_per_scale(&self) -> usize {
        self.groups.len()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule {} for {} scales, {} steps each, {} joint steps",
            self.name,
            self.sizes.len(),
            self.steps_per_scale(),
            self.steps.len()
        )?;
        for (t, step) in self.steps.iter().enumerate() {
            if step.group == 0 {
                let (h, w) = self.sizes[step.scale];
                writeln!(
                    f,
                    "  scale {}: input {h}x{w}, {} flops",
                    step.scale, self.flops[step.scale]
                )?;
            }
            writeln!(
                f,
                "    t={t:<3} {:<24} {:<11} {}{}",
                self.labels[step.group],
                step.algorithm.to_string(),
                self.shapes[step.scale].of(step.value),
                match step.band {
                    Some(rows) => format!("  in bands with the next step, {rows} rows a band"),
                    None => String::new(),
                }
            )?;
        }
        Ok(())
    }
}

/// Orders the fused groups of every scale into one joint schedule, with each convolution step's
/// algorithm chosen among those `allowed`.
pub fn schedule(
    graph: &Graph,
    fused: Fused,
    sizes: &[(usize, usize)],
    shapes: Vec<Shapes>,
    allowed: Algorithms,
) -> Schedule {
    let Fused {
        name,
        groups,
        labels,
    } = fused;
    let steps = (0..sizes.len())
        .flat_map(|scale| {
            let shapes = &shapes[scale];
            groups.iter().enumerate().map(move |(group, g)| {
                let algorithm = choose(graph, g, shapes, allowed);
                Step {
                    scale,
                    group,
                    value: g.output(),
                    len: shapes.of(g.output()).len(),
                    algorithm,
                    scratch: match algorithm.winograd_tile() {
                        Some(m) => {
                            let (ci, co) = (
                                shapes.of(graph.node(g.first()).inputs[0]).c,
                                shapes.of(g.first()).c,
                            );
                            let pooled = g.nodes[1..]
                                .iter()
                                .any(|v| matches!(graph.node(*v).op, Op::MaxPool(_)));
                            if pooled {
                                // The group ends in the fused pool: its output is pooled.
                                winograd_pooled_scratch(m, ci, co, shapes.of(g.output()).w)
                            } else {
                                winograd_scratch(m, ci, co)
                            }
                        }
                        None => 0,
                    },
                    band: None,
                }
            })
        })
        .collect();
    let flops = shapes.iter().map(|s| graph.flops(s).iter().sum()).collect();
    Schedule {
        name,
        groups,
        labels,
        sizes: sizes.to_vec(),
        shapes,
        flops,
        steps,
    }
}

/// The most bytes a band buffer takes ([`band`]): a few rows of a wide map, in the L2 cache with
/// room for the next step's scratch and the rows it writes.
pub const BAND_BYTES: usize = 256 << 10;

/// The most output channels of an unpooled convolution run in bands: the direct kernel's
/// register blocks of up to four vectors of eight lanes cover one row's pixels, so it computes
/// any range of rows; with more vectors its blocks run across rows.
pub const BAND_UNPOOLED_CHANNELS: usize = 32;

/// The rows (before its pool) the consumer of a banded step computes a band: the most that keep
/// the band buffer, `rows + 2` rows of `w x c`, within [`BAND_BYTES`], a multiple of four (whole
/// F(4x4, 3x3) tiles and 2x2 pooling windows), at least four.
pub fn band_rows(w: usize, c: usize) -> usize {
    let fit = BAND_BYTES / bytes(w * c).max(1);
    (fit.saturating_sub(2) / 4 * 4).max(4)
}

/// Whether step `t` can run in bands with the step after it, and how many rows a band then
/// has: `t` is a dense convolution by Winograd (`nnc_runtime::kernels::winograd::winograd_rows`)
/// or direct, pooled or with at most [`BAND_UNPOOLED_CHANNELS`] output channels
/// (`nnc_runtime::kernels::conv::conv_rows`), either computing any range of its rows; it is not
/// the next step of a band itself, and its output only the next step reads, as its data input; the next step is a dense 3x3 convolution, stride 1 and padding 1 along rows,
/// direct or Winograd, whose fused pool (if any) tiles a band's rows, with at least two bands.
fn bandable(graph: &Graph, schedule: &Schedule, t: usize) -> Option<usize> {
    let step = &schedule.steps[t];
    let next = schedule.steps.get(t + 1)?;
    // Neither step already in bands with another: a band's producer is not itself a consumer.
    let consumes =
        t > 0 && schedule.steps[t - 1].scale == step.scale && schedule.steps[t - 1].band.is_some();
    if next.scale != step.scale || step.band.is_some() || consumes {
        return None;
    }
    let (producer, consumer) = (&schedule.groups[step.group], &schedule.groups[next.group]);
    let pooled = |g: &Group| {
        g.nodes[1..]
            .iter()
            .any(|v| matches!(graph.node(*v).op, Op::MaxPool(_)))
    };
    let dense = |g: &Group| matches!(graph.node(g.first()).op, Op::Conv(c) if !c.is_depthwise());
    let value = step.value;
    let readers = consumers(graph);
    let only_next = readers[value.0].iter().all(|r| consumer.nodes.contains(r))
        && graph.node(consumer.first()).inputs.first() == Some(&value)
        && !graph.outputs.iter().any(|h| h.value == value);
    let Op::Conv(conv) = graph.node(consumer.first()).op else {
        return None;
    };
    let rows = conv.window.rows;
    let shape = schedule.shapes[step.scale].of(value);
    let band = band_rows(shape.w, shape.c);
    // The next step's pooling windows must not straddle two bands.
    let next_pool = consumer.nodes[1..]
        .iter()
        .find_map(|v| match graph.node(*v).op {
            Op::MaxPool(w) => Some(w.rows.kernel),
            _ => None,
        })
        .unwrap_or(1);
    let rows_of_producer = match step.algorithm {
        Algorithm::Direct => pooled(producer) || shape.c <= BAND_UNPOOLED_CHANNELS,
        Algorithm::Winograd | Algorithm::Winograd4x4 => true,
        _ => false,
    };
    let ok = rows_of_producer
        && dense(producer)
        && only_next
        && dense(consumer)
        && matches!(
            next.algorithm,
            Algorithm::Direct | Algorithm::Winograd | Algorithm::Winograd4x4
        )
        && (rows.kernel, rows.stride, rows.pad, rows.dilation) == (3, 1, 1, 1)
        && band.is_multiple_of(next_pool)
        && band < shape.h;
    ok.then_some(band)
}

/// Runs a convolution in bands of rows with the step after it wherever that lowers the arena's
/// lower bound: the first step writes a band of rows to a buffer of a few rows ([`band_rows`]),
/// the second reads it and writes its rows of output, and so on down the map, so the first
/// step's whole output never exists (the face pyramid's conv1, 4.9 MB at 640x480, only feeds
/// conv2; its conv3, 2.5 MB, only conv4). Each step so run gets [`Step::band`], and its stored length becomes the band buffer's.
/// Steps are tried in order and kept where the bound drops ([`liveness`] counts both steps'
/// buffers live while either runs).
pub fn band(graph: &Graph, schedule: Schedule) -> Schedule {
    let mut schedule = schedule;
    let mut bound = liveness(graph, schedule.clone()).lower_bound_len;
    for t in 0..schedule.steps.len() {
        let Some(rows) = bandable(graph, &schedule, t) else {
            continue;
        };
        let mut trial = schedule.clone();
        let step = &mut trial.steps[t];
        let shape = trial.shapes[step.scale].of(step.value);
        step.band = Some(rows);
        step.len = (rows + 2) * shape.w * shape.c;
        let trial_bound = liveness(graph, trial.clone()).lower_bound_len;
        if trial_bound < bound {
            schedule = trial;
            bound = trial_bound;
        }
    }
    schedule
}

/// When one stored tensor is live, and the space it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveRange {
    pub scale: usize,
    pub value: ValueId,
    /// The joint step that writes it.
    pub step: usize,
    /// The tensor's element count.
    pub len: usize,
    /// Space it occupies: `len` rounded up to [`ALIGN_FLOATS`].
    pub reserved: usize,
    /// First and last joint step at which it is live (inclusive).
    pub first: usize,
    pub last: usize,
    /// A step's scratch (live for that step alone) rather than the tensor it stores.
    pub scratch: bool,
    /// For a tensor written in place ([`winograd_in_place`]): the index of the range of the input
    /// it is written over, at step `first - 1`, the input's last. It starts where that input
    /// starts, so it is live from `first` on only: at its step, the input's bytes hold both.
    pub over: Option<usize>,
}

impl LiveRange {
    fn overlaps_in_time(&self, other: &LiveRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// The live range of every step's tensor, and the bounds they set on the arena.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    pub schedule: Schedule,
    /// One range per joint step, in step order, then one per step with scratch, in step order.
    pub ranges: Vec<LiveRange>,
    /// Reserved elements live at each joint step.
    pub live_at: Vec<usize>,
    /// Sum of every range's reserved size: the arena without any reuse.
    pub naive_len: usize,
    /// The most reserved elements live at any one step: no placement can beat it.
    pub lower_bound_len: usize,
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peak = self
            .live_at
            .iter()
            .position(|&l| l == self.lower_bound_len)
            .unwrap_or(0);
        writeln!(
            f,
            "liveness {}: lower bound {} bytes (at t={peak}), naive sum {} bytes",
            self.schedule.name,
            bytes(self.lower_bound_len),
            bytes(self.naive_len)
        )?;
        for (t, (r, step)) in self.ranges.iter().zip(&self.schedule.steps).enumerate() {
            writeln!(
                f,
                "    t={t:<3} {:<24} bytes={:<9} live={:<10} live at t: {} bytes",
                self.schedule.labels[step.group],
                bytes(r.reserved),
                format!("{}..={}", r.first, r.last),
                bytes(self.live_at[t])
            )?;
        }
        for r in self.ranges.iter().filter(|r| r.scratch) {
            let step = &self.schedule.steps[r.step];
            writeln!(
                f,
                "    t={:<3} {:<24} scratch bytes={}",
                r.step,
                self.schedule.labels[step.group],
                bytes(r.reserved)
            )?;
        }
        Ok(())
    }
}

/// The live range of every step's tensor (see the module docs for the rule).
pub fn liveness(graph: &Graph, schedule: Schedule) -> Liveness {
    let steps_per_scale = schedule.steps_per_scale();
    let total_steps = schedule.steps.len();
    // The group index that computes each value (for absorbed nodes, their group's index).
    let mut group_of = vec![usize::MAX; graph.nodes.len()];
    for (g, group) in schedule.groups.iter().enumerate() {
        for v in &group.nodes {
            group_of[v.0] = g;
        }
    }
    let readers = consumers(graph);
    let is_head = |v: ValueId| graph.outputs.iter().any(|h| h.value == v);
    // A step that runs in bands with the one before it ([`band`]) writes its output, and works
    // in its scratch, while that step runs too.
    let banded: Vec<bool> = (0..total_steps)
        .map(|t| t % steps_per_scale > 0 && schedule.steps[t - 1].band.is_some())
        .collect();
    let mut ranges: Vec<LiveRange> = Vec::with_capacity(total_steps);
    for (t, step) in schedule.steps.iter().enumerate() {
        let base = step.scale * steps_per_scale;
        let last = if is_head(step.value) {
            total_steps - 1
        } else {
            base + readers[step.value.0]
                .iter()
                .map(|r| group_of[r.0])
                .max()
                .expect("every value is read")
        };
        // In place over its input: a pooled Winograd step whose input is read by it alone, is
        // no head and not itself written in place, where the kernel's order allows it.
        let group = &schedule.groups[step.group];
        let node = graph.node(group.first());
        let pooled = group.nodes[1..]
            .iter()
            .any(|v| matches!(graph.node(*v).op, Op::MaxPool(w) if w.rows.kernel == 2));
        let input = node.inputs.first().copied();
        let over = match (step.algorithm, input, &node.op) {
            (Algorithm::Winograd | Algorithm::Winograd4x4, Some(input), Op::Conv(conv))
                if pooled
                    && !banded[t]
                    && last > t
                    && group_of[input.0] != usize::MAX
                    && !is_head(input)
                    && readers[input.0].iter().all(|r| group_of[r.0] == step.group) =>
            {
                let at = base + group_of[input.0];
                let shape = schedule.shapes[step.scale].of(input);
                let (_, _, p) = conv
                    .window
                    .as_square()
                    .expect("Winograd takes square windows");
                let co = schedule.shapes[step.scale].of(step.value).c;
                let m = step.algorithm.winograd_tile().expect("a Winograd step");
                (ranges[at].over.is_none()
                    && winograd_in_place(m, shape.h, shape.w, p, shape.c, co))
                .then_some(at)
            }
            _ => None,
        };
        ranges.push(LiveRange {
            scale: step.scale,
            value: step.value,
            step: t,
            len: step.len,
            reserved: round_up(step.len),
            first: if over.is_some() {
                t + 1
            } else if banded[t] {
                t - 1
            } else {
                t
            },
            last,
            scratch: false,
            over,
        });
    }
    for (t, step) in schedule.steps.iter().enumerate() {
        if step.scratch > 0 {
            ranges.push(LiveRange {
                scale: step.scale,
                value: step.value,
                step: t,
                len: step.scratch,
                reserved: round_up(step.scratch),
                first: if banded[t] { t - 1 } else { t },
                // A banded step works in its scratch while the next step runs too.
                last: if step.band.is_some() { t + 1 } else { t },
                scratch: true,
                over: None,
            });
        }
    }
    let naive_len = ranges.iter().map(|r| r.reserved).sum();
    let live_at: Vec<usize> = (0..total_steps)
        .map(|t| {
            ranges
                .iter()
                .filter(|r| r.first <= t && t <= r.last)
                .map(|r| r.reserved)
                .sum()
        })
        .collect();
    let lower_bound_len = live_at.iter().copied().max().unwrap_or(0);
    Liveness {
        schedule,
        ranges,
        live_at,
        naive_len,
        lower_bound_len,
    }
}

/// One stored tensor: which scale and value, where it sits in the arena, and when it is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    pub scale: usize,
    pub value: ValueId,
    /// The joint step that writes it (for scratch, that works in it).
    pub step: usize,
    /// Offset in the arena, in f32 elements; a multiple of [`ALIGN_FLOATS`].
    pub offset: usize,
    /// The tensor's element count.
    pub len: usize,
    /// Space it occupies: `len` rounded up to [`ALIGN_FLOATS`].
    pub reserved: usize,
    /// First and last joint step at which the buffer is live (inclusive).
    pub first: usize,
    pub last: usize,
    /// A step's scratch rather than the tensor it stores.
    pub scratch: bool,
    /// For a tensor written in place: the index of the buffer it is written over, at step
    /// `first - 1`, at the same offset (see [`LiveRange::over`]).
    pub over: Option<usize>,
}

impl Buffer {
    /// The step that writes the buffer.
    pub fn written_at(&self) -> usize {
        self.step
    }

    fn overlaps_in_time(&self, other: &Buffer) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    fn overlaps_in_space(&self, other: &Buffer) -> bool {
        self.offset < other.offset + other.reserved && other.offset < self.offset + self.reserved
    }
}

/// The whole plan for one network at a list of input sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The network's name, for display.
    pub name: String,
    /// Fused groups in schedule order, the same at every scale. The input is not among them.
    pub groups: Vec<Group>,
    /// Each step's algorithm, in (scale, group) order ([`Plan::algorithm`]).
    pub algorithms: Vec<Algorithm>,
    /// Each step's band rows where it runs in bands with the next step ([`Step::band`]), in
    /// (scale, group) order ([`Plan::band`]).
    pub bands: Vec<Option<usize>>,
    /// Input height and width of each scale.
    pub sizes: Vec<(usize, usize)>,
    /// Every value's shape at each scale.
    pub shapes: Vec<Shapes>,
    /// FLOPs of each scale (direct convolution count).
    pub flops: Vec<u64>,
    /// One buffer per scale and group, in (scale, group) order, then the scratch of each step
    /// that has one, in step order.
    pub buffers: Vec<Buffer>,
    /// Arena size in f32 elements.
    pub arena_len: usize,
    /// Sum of every buffer's reserved size: the arena without any reuse.
    pub naive_len: usize,
    /// The most reserved elements live at any one step: no placement can beat it.
    pub lower_bound_len: usize,
    /// Which greedy order gave the kept placement.
    pub strategy: &'static str,
}

/// The input size of each scale of a `(height, width)` frame, as `(height, width)`: each side
/// times the scale, rounded, never below one pixel. The one rule by which `nnc!` and `nnc plan`
/// size a pyramid.
pub fn scaled_sizes((height, width): (usize, usize), scales: &[f64]) -> Vec<(usize, usize)> {
    scales
        .iter()
        .map(|s| {
            let h = (height as f64 * s).round().max(1.0) as usize;
            let w = (width as f64 * s).round().max(1.0) as usize;
            (h, w)
        })
        .collect()
}

/// Plans `graph` for inputs of the given `(height, width)` sizes: every stage from
/// [`infer_shapes`] to [`place`], in order. The plan is not verified; see [`verify`].
///
/// Fails when some size is too small for the network, or when the input is itself a head.
pub fn plan(graph: &Graph, sizes: &[(usize, usize)]) -> Result<Plan, ModelError> {
    plan_with(graph, sizes, Algorithms::Auto)
}

/// [`plan`] with the algorithms `allowed`.
pub fn plan_with(
    graph: &Graph,
    sizes: &[(usize, usize)],
    allowed: Algorithms,
) -> Result<Plan, ModelError> {
    let shapes = infer_shapes(graph, sizes)?;
    let fused = fuse(graph)?;
    let schedule = schedule(graph, fused, sizes, shapes, allowed);
    let schedule = band(graph, schedule);
    let liveness = liveness(graph, schedule);
    Ok(place(liveness))
}

/// Gives every live range an arena offset: the smallest arena that the greedy orders and the swap
/// search find (see the module docs).
pub fn place(liveness: Liveness) -> Plan {
    let Liveness {
        schedule,
        ranges,
        naive_len,
        lower_bound_len,
        ..
    } = liveness;
    let (strategy, arena_len, offsets) = place_best(&ranges, lower_bound_len);
    let buffers = ranges
        .iter()
        .zip(offsets)
        .map(|(r, offset)| Buffer {
            scale: r.scale,
            value: r.value,
            step: r.step,
            offset,
            len: r.len,
            reserved: r.reserved,
            first: r.first,
            last: r.last,
            scratch: r.scratch,
            over: r.over,
        })
        .collect();
    Plan {
        name: schedule.name,
        groups: schedule.groups,
        algorithms: schedule.steps.iter().map(|s| s.algorithm).collect(),
        bands: schedule.steps.iter().map(|s| s.band).collect(),
        sizes: schedule.sizes,
        shapes: schedule.shapes,
        flops: schedule.flops,
        buffers,
        arena_len,
        naive_len,
        lower_bound_len,
        strategy,
    }
}

/// Orders tried for greedy placement, by name.
type Order = (&'static str, fn(&LiveRange) -> (i64, i64, i64));

const ORDERS: &[Order] = &[
    ("largest first", |b| {
        (-(b.reserved as i64), b.first as i64, 0)
    }),
    ("longest-lived first", |b| {
        (
            -((b.last - b.first) as i64),
            -(b.reserved as i64),
            b.first as i64,
        )
    }),
    ("largest area first", |b| {
        (
            -((b.reserved * (b.last - b.first + 1)) as i64),
            b.first as i64,
            0,
        )
    }),
    ("earliest first", |b| {
        (b.first as i64, -(b.reserved as i64), 0)
    }),
];

/// The swap search's generator (SplitMix64), private to the planner. A fixed seed gives a model
/// the same plan on every build; the plans in the snapshots were found with this exact sequence.
struct SwapRng(u64);

impl SwapRng {
    fn new(seed: u64) -> SwapRng {
        SwapRng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Places `ranges` with each greedy order, then improves the best order by seeded swaps while
/// the arena is above the lower bound; keeps the smallest arena. Returns the strategy's name, the
/// arena's size and each range's offset.
fn place_best(ranges: &[LiveRange], lower_bound: usize) -> (&'static str, usize, Vec<usize>) {
    let arena = |offsets: &[usize]| {
        ranges
            .iter()
            .zip(offsets)
            .map(|(b, o)| o + b.reserved)
            .max()
            .unwrap_or(0)
    };
    let mut best: Option<(&'static str, usize, Vec<usize>)> = None;
    for (name, key) in ORDERS {
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| (key(&ranges[i]), i));
        let offsets = place_in_order(ranges, &order);
        let len = arena(&offsets);
        if best.as_ref().is_none_or(|(_, best_len, _)| len < *best_len) {
            best = Some((name, len, order));
        }
    }
    let (mut name, mut best_len, mut order) = best.expect("at least one order");
    // Hill climbing on the order: swap two buffers, keep the swap unless the arena grows. Plans
    // have tens to hundreds of buffers, so a few thousand placements take milliseconds.
    let mut rng = SwapRng::new(0x5EED);
    let tries = if ranges.len() < 2 { 0 } else { 4000 };
    for _ in 0..tries {
        if best_len == lower_bound {
            break;
        }
        let (i, j) = (rng.below(order.len()), rng.below(order.len()));
        order.swap(i, j);
        let len = arena(&place_in_order(ranges, &order));
        if len <= best_len {
            if len < best_len {
                name = "greedy, improved by swaps";
            }
            best_len = len;
        } else {
            order.swap(i, j);
        }
    }
    (name, best_len, place_in_order(ranges, &order))
}

/// Puts each range, in `order`, at the lowest offset not used by an already placed range that
/// is live at the same time. A range written in place goes where the input it is written over
/// goes: that input takes the lowest offset free for both of them.
fn place_in_order(ranges: &[LiveRange], order: &[usize]) -> Vec<usize> {
    let mut tied = vec![None; ranges.len()];
    for (j, r) in ranges.iter().enumerate() {
        if let Some(i) = r.over {
            tied[i] = Some(j);
        }
    }
    let mut offsets = vec![usize::MAX; ranges.len()];
    let mut placed: Vec<usize> = Vec::with_capacity(order.len());
    let mut busy: Vec<(usize, usize)> = Vec::new();
    let mut busy_tied: Vec<(usize, usize, usize)> = Vec::new();
    for &i in order {
        let b = &ranges[i];
        if b.over.is_some() {
            continue;
        }
        let offset = match tied[i] {
            None => {
                busy.clear();
                busy.extend(
                    placed
                        .iter()
                        .filter(|&&j| ranges[j].overlaps_in_time(b))
                        .map(|&j| (offsets[j], offsets[j] + ranges[j].reserved)),
                );
                busy.sort_unstable();
                let mut offset = 0;
                for &(start, end) in &busy {
                    if start >= offset + b.reserved {
                        break;
                    }
                    offset = offset.max(end);
                }
                offset
            }
            Some(t) => {
                // Each placed range live with either of the two, with the size of the one it
                // is live with; then the lowest offset past every clash.
                busy_tied.clear();
                for k in [i, t] {
                    let r = &ranges[k];
                    busy_tied.extend(
                        placed
                            .iter()
                            .filter(|&&j| ranges[j].overlaps_in_time(r))
                            .map(|&j| (offsets[j], offsets[j] + ranges[j].reserved, r.reserved)),
                    );
                }
                let mut offset = 0;
                while let Some(end) = busy_tied
                    .iter()
                    .filter(|&&(start, end, size)| start < offset + size && offset < end)
                    .map(|&(_, end, _)| end)
                    .max()
                {
                    offset = end;
                }
                offsets[t] = offset;
                placed.push(t);
                offset
            }
        };
        offsets[i] = offset;
        placed.push(i);
    }
    offsets
}

/// A broken invariant of a [`Plan`]: a bug in the planner, never in the user's model. Buffers are
/// named by their index in [`Plan::buffers`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// A buffer's offset is not a multiple of [`ALIGN_FLOATS`].
    Misaligned { buffer: usize, offset: usize },
    /// A buffer reaches past the arena, or holds more than it reserves.
    OutsideArena { buffer: usize },
    /// Two buffers live at the same step share bytes.
    Overlap {
        buffers: (usize, usize),
        live: ((usize, usize), (usize, usize)),
    },
    /// The arena is smaller than the bytes live at some step.
    BelowLowerBound,
    /// A buffer written in place does not start where the input it overwrites starts, outgrows
    /// it, or does not follow it.
    NotInPlace { buffer: usize },
    /// A step run in bands ([`band`]) whose buffer is not `rows + 2` rows of its tensor, whose
    /// rows are no multiple of four, or whose next step's output or scratch is not live while
    /// it runs.
    Band { buffer: usize },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Misaligned { buffer, offset } => {
                write!(f, "buffer {buffer} at offset {offset} is not aligned")
            }
            PlanError::OutsideArena { buffer } => {
                write!(f, "buffer {buffer} does not fit the arena")
            }
            PlanError::Overlap {
                buffers: (i, j),
                live: ((a_first, a_last), (b_first, b_last)),
            } => write!(
                f,
                "buffers {i} and {j} are live together (steps {a_first}..={a_last} and \
                 {b_first}..={b_last}) and overlap"
            ),
            PlanError::BelowLowerBound => {
                write!(f, "the arena is below the lower bound, which is impossible")
            }
            PlanError::NotInPlace { buffer } => write!(
                f,
                "buffer {buffer} is written in place but not at the start of its input's bytes"
            ),
            PlanError::Band { buffer } => write!(
                f,
                "buffer {buffer} runs in bands but its band or its next step's buffers do not \
                 match"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// Checks the invariants the generated code relies on: offsets aligned, buffers inside the arena,
/// no two buffers live at the same step sharing a byte, and each buffer written in place at the
/// start of its input's bytes, no larger, its input live until the step that writes it.
pub fn verify(plan: &Plan) -> Result<(), PlanError> {
    for (i, a) in plan.buffers.iter().enumerate() {
        if let Some(over) = a.over {
            let input = plan.buffers.get(over);
            if !input.is_some_and(|b| {
                b.offset == a.offset && b.reserved >= a.reserved && b.last + 1 == a.first
            }) {
                return Err(PlanError::NotInPlace { buffer: i });
            }
        }
        if a.offset % ALIGN_FLOATS != 0 {
            return Err(PlanError::Misaligned {
                buffer: i,
                offset: a.offset,
            });
        }
        if a.offset + a.reserved > plan.arena_len || a.len > a.reserved {
            return Err(PlanError::OutsideArena { buffer: i });
        }
        for (j, b) in plan.buffers.iter().enumerate().skip(i + 1) {
            if a.overlaps_in_time(b) && a.overlaps_in_space(b) {
                return Err(PlanError::Overlap {
                    buffers: (i, j),
                    live: ((a.first, a.last), (b.first, b.last)),
                });
            }
        }
    }
    if plan.arena_len < plan.lower_bound_len {
        return Err(PlanError::BelowLowerBound);
    }
    let steps = plan.steps_per_scale();
    for (t, rows) in plan.bands.iter().enumerate() {
        let Some(rows) = *rows else { continue };
        let (scale, g) = (t / steps, t % steps);
        let band = &plan.buffers[t];
        let shape = plan.shapes[scale].of(band.value);
        let next_live = g + 1 < steps
            && plan.buffers[t + 1].first <= t
            && plan.scratch(scale, g + 1).is_none_or(|s| s.first <= t);
        if band.len != (rows + 2) * shape.w * shape.c
            || rows % 4 != 0
            || rows >= shape.h
            || !next_live
        {
            return Err(PlanError::Band { buffer: t });
        }
    }
    Ok(())
}

impl Plan {
    /// Steps in one scale's schedule.
    pub fn steps_per_scale(&self) -> usize {
        self.groups.len()
    }

    /// The buffer holding `value` at `scale`.
    ///
    /// # Panics
    /// When `value` is not stored (the input, or a node absorbed into a fused group).
    pub fn buffer(&self, scale: usize, value: ValueId) -> &Buffer {
        let g = self
            .groups
            .iter()
            .position(|g| g.output() == value)
            .expect("value is stored");
        &self.buffers[scale * self.steps_per_scale() + g]
    }

    /// The algorithm of group `group` at `scale`.
    pub fn algorithm(&self, scale: usize, group: usize) -> Algorithm {
        self.algorithms[scale * self.steps_per_scale() + group]
    }

    /// The scratch of group `group` at `scale`, if its algorithm needs one.
    pub fn scratch(&self, scale: usize, group: usize) -> Option<&Buffer> {
        let t = scale * self.steps_per_scale() + group;
        self.buffers[self.steps_per_scale() * self.sizes.len()..]
            .iter()
            .find(|b| b.step == t)
    }

    /// The rows a band has where group `group` at `scale` runs in bands with the next group
    /// ([`band`]); its buffer then holds `rows + 2` rows.
    pub fn band(&self, scale: usize, group: usize) -> Option<usize> {
        self.bands[scale * self.steps_per_scale() + group]
    }

    /// A listing against a graph (for value names), for snapshots and explanations.
    pub fn display<'a>(&'a self, graph: &'a Graph) -> impl fmt::Display + 'a {
        DisplayPlan { plan: self, graph }
    }
}

struct DisplayPlan<'a> {
    plan: &'a Plan,
    graph: &'a Graph,
}

impl fmt::Display for DisplayPlan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (plan, graph) = (self.plan, self.graph);
        writeln!(
            f,
            "plan {} for {} scales, {} steps each",
            plan.name,
            plan.sizes.len(),
            plan.steps_per_scale()
        )?;
        writeln!(
            f,
            "  arena {} bytes, lower bound {} bytes, naive sum {} bytes ({})",
            bytes(plan.arena_len),
            bytes(plan.lower_bound_len),
            bytes(plan.naive_len),
            plan.strategy
        )?;
        for (scale, &(h, w)) in plan.sizes.iter().enumerate() {
            writeln!(
                f,
                "  scale {scale}: input {h}x{w}, {} flops",
                plan.flops[scale]
            )?;
            for (g, group) in plan.groups.iter().enumerate() {
                let b = plan.buffer(scale, group.output());
                let shape = plan.shapes[scale].of(group.output());
                writeln!(
                    f,
                    "    t={:<3} {:<24} {:<11} {:<11} offset={:<9} bytes={:<9} live={}..={}{}",
                    b.written_at(),
                    label(graph, group),
                    plan.algorithm(scale, g).to_string(),
                    shape.to_string(),
                    bytes(b.offset),
                    bytes(b.reserved),
                    b.first,
                    b.last,
                    if b.over.is_some() {
                        "  in place over its input".to_string()
                    } else if let Some(rows) = plan.band(scale, g) {
                        format!(
                            "  a band of {} rows, {rows} a band for the next step",
                            rows + 2
                        )
                    } else if g > 0 && plan.band(scale, g - 1).is_some() {
                        "  in bands".to_string()
                    } else {
                        String::new()
                    }
                )?;
                if let Some(s) = plan.scratch(scale, g) {
                    writeln!(
                        f,
                        "          {:<24} {:<11} {:<11} offset={:<9} bytes={:<9} live={}..={}",
                        "",
                        "",
                        "scratch",
                        bytes(s.offset),
                        bytes(s.reserved),
                        s.first,
                        s.last
                    )?;
                }
            }
        }
        Ok(())
    }
}
