//! The execution plan of a network compiled for fixed input sizes: fusion, schedule, liveness over
//! the joint graph of every size, and the arena offsets that follow from it.
//!
//! The plan is plain data. The code generator only reads it, and its `Display` is what the snapshot
//! tests and `nnc-explain` show a person.
//!
//! - **Fusion.** A convolution absorbs the activation that alone reads it, and then (unless it is
//!   depthwise) a max-pool with `k == stride` and no padding that alone reads that, so the
//!   pre-activation and pre-pool tensors never reach memory. Every other node is a step of its own. The network input is read from the
//!   caller's buffer and is not in the arena.
//! - **Schedule.** The joint graph runs the steps of scale 0, then scale 1, and so on; one step
//!   index `t` counts across all of them.
//! - **Liveness.** A buffer lives from the step that writes it to the last step that reads it. Heads
//!   live to the end of the joint schedule, so that a run of every scale returns every head.
//! - **Offsets.** Placing buffers is dynamic storage allocation (NP-hard in general). Several greedy
//!   orders are tried; each puts a buffer at the lowest offset free for its whole live range. The
//!   best is kept, and compared with the lower bound: the most bytes live at any one step.

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

    /// The value written by the first node's inputs, i.e. what the group reads.
    pub fn first(&self) -> ValueId {
        self.nodes[0]
    }
}

/// One stored tensor: which scale and value, where it sits in the arena, and when it is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    pub scale: usize,
    pub value: ValueId,
    /// Offset in the arena, in f32 elements; a multiple of [`ALIGN_FLOATS`].
    pub offset: usize,
    /// The tensor's element count.
    pub len: usize,
    /// Space it occupies: `len` rounded up to [`ALIGN_FLOATS`].
    pub reserved: usize,
    /// First and last joint step at which the buffer is live (inclusive).
    pub first: usize,
    pub last: usize,
}

impl Buffer {
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
    /// Input height and width of each scale.
    pub sizes: Vec<(usize, usize)>,
    /// Every value's shape at each scale.
    pub shapes: Vec<Shapes>,
    /// FLOPs of each scale (direct convolution count).
    pub flops: Vec<u64>,
    /// One buffer per scale and group, in (scale, group) order.
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

/// Groups the graph's nodes for computation (see the module docs for the fusion rule).
pub fn fuse(graph: &Graph) -> Vec<Group> {
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
        if let Op::Conv(conv) = node.op {
            let mut cur = ValueId(i);
            if let Some(next) = sole_reader(cur)
                && matches!(graph.node(next).op, Op::Relu | Op::Prelu | Op::Sigmoid)
            {
                group.push(next);
                cur = next;
            }
            // The depthwise kernel has no fused pool.
            if let Some(next) = sole_reader(cur)
                && !conv.is_depthwise()
                && let Op::MaxPool(w) = graph.node(next).op
                && w.kernel == w.stride
                && w.pad == 0
            {
                group.push(next);
            }
        }
        for v in &group[1..] {
            absorbed[v.0] = true;
        }
        groups.push(Group { nodes: group });
    }
    groups
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN_FLOATS) * ALIGN_FLOATS
}

/// Plans `graph` for inputs of the given `(height, width)` sizes.
///
/// Fails when some size is too small for the network, or when the input is itself a head (it is
/// not in the arena, so it cannot be returned from it).
pub fn plan(graph: &Graph, sizes: &[(usize, usize)]) -> Result<Plan, ModelError> {
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
    let shapes: Vec<Shapes> = sizes
        .iter()
        .map(|&(h, w)| graph.infer_shapes(h, w))
        .collect::<Result<_, _>>()?;
    let groups = fuse(graph);
    let steps_per_scale = groups.len();
    let total_steps = steps_per_scale * sizes.len();
    // The group index that computes each value (for absorbed nodes, their group's index).
    let mut group_of = vec![usize::MAX; graph.nodes.len()];
    for (g, group) in groups.iter().enumerate() {
        for v in &group.nodes {
            group_of[v.0] = g;
        }
    }
    let readers = consumers(graph);
    let mut buffers = Vec::with_capacity(total_steps);
    for (scale, scale_shapes) in shapes.iter().enumerate() {
        let base = scale * steps_per_scale;
        for (g, group) in groups.iter().enumerate() {
            let value = group.output();
            let len = scale_shapes.of(value).len();
            let last = if graph.outputs.iter().any(|h| h.value == value) {
                total_steps - 1
            } else {
                base + readers[value.0]
                    .iter()
                    .map(|r| group_of[r.0])
                    .max()
                    .expect("every value is read")
            };
            buffers.push(Buffer {
                scale,
                value,
                offset: 0,
                len,
                reserved: round_up(len),
                first: base + g,
                last,
            });
        }
    }
    let naive_len = buffers.iter().map(|b| b.reserved).sum();
    let lower_bound_len = (0..total_steps)
        .map(|t| {
            buffers
                .iter()
                .filter(|b| b.first <= t && t <= b.last)
                .map(|b| b.reserved)
                .sum()
        })
        .max()
        .unwrap_or(0);
    let (strategy, arena_len) = place_best(&mut buffers, lower_bound_len);
    let flops = shapes.iter().map(|s| graph.flops(s).iter().sum()).collect();
    let plan = Plan {
        name: graph.name.clone(),
        groups,
        sizes: sizes.to_vec(),
        shapes,
        flops,
        buffers,
        arena_len,
        naive_len,
        lower_bound_len,
        strategy,
    };
    plan.verify()
        .expect("a fresh plan satisfies its own invariants");
    Ok(plan)
}

/// Orders tried for greedy placement, by name.
type Order = (&'static str, fn(&Buffer) -> (i64, i64, i64));

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

/// Places `buffers` with each greedy order, then improves the best order by seeded swaps while
/// the arena is above the lower bound; keeps the smallest arena and returns its size.
fn place_best(buffers: &mut [Buffer], lower_bound: usize) -> (&'static str, usize) {
    let arena = |offsets: &[usize]| {
        buffers
            .iter()
            .zip(offsets)
            .map(|(b, o)| o + b.reserved)
            .max()
            .unwrap_or(0)
    };
    let mut best: Option<(&'static str, usize, Vec<usize>)> = None;
    for (name, key) in ORDERS {
        let mut order: Vec<usize> = (0..buffers.len()).collect();
        order.sort_by_key(|&i| (key(&buffers[i]), i));
        let offsets = place_in_order(buffers, &order);
        let len = arena(&offsets);
        if best.as_ref().is_none_or(|(_, best_len, _)| len < *best_len) {
            best = Some((name, len, order));
        }
    }
    let (mut name, mut best_len, mut order) = best.expect("at least one order");
    // Hill climbing on the order: swap two buffers, keep the swap unless the arena grows. Plans
    // have tens to hundreds of buffers, so a few thousand placements take milliseconds.
    let mut rng = crate::testing::Rng::new(0x5EED);
    let tries = if buffers.len() < 2 { 0 } else { 4000 };
    for _ in 0..tries {
        if best_len == lower_bound {
            break;
        }
        let (i, j) = (rng.range(0, order.len() - 1), rng.range(0, order.len() - 1));
        order.swap(i, j);
        let len = arena(&place_in_order(buffers, &order));
        if len <= best_len {
            if len < best_len {
                name = "greedy, improved by swaps";
            }
            best_len = len;
        } else {
            order.swap(i, j);
        }
    }
    let offsets = place_in_order(buffers, &order);
    for (b, o) in buffers.iter_mut().zip(offsets) {
        b.offset = o;
    }
    (name, best_len)
}

/// Puts each buffer, in `order`, at the lowest offset not used by an already placed buffer that
/// is live at the same time.
fn place_in_order(buffers: &[Buffer], order: &[usize]) -> Vec<usize> {
    let mut offsets = vec![usize::MAX; buffers.len()];
    let mut placed: Vec<usize> = Vec::with_capacity(order.len());
    let mut busy: Vec<(usize, usize)> = Vec::new();
    for &i in order {
        let b = &buffers[i];
        busy.clear();
        busy.extend(
            placed
                .iter()
                .filter(|&&j| buffers[j].overlaps_in_time(b))
                .map(|&j| (offsets[j], offsets[j] + buffers[j].reserved)),
        );
        busy.sort_unstable();
        let mut offset = 0;
        for &(start, end) in &busy {
            if start >= offset + b.reserved {
                break;
            }
            offset = offset.max(end);
        }
        offsets[i] = offset;
        placed.push(i);
    }
    offsets
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

    /// Checks the invariants the generated code relies on: offsets aligned, buffers inside the
    /// arena, and no two buffers live at the same step sharing a byte.
    pub fn verify(&self) -> Result<(), String> {
        for (i, a) in self.buffers.iter().enumerate() {
            if a.offset % ALIGN_FLOATS != 0 {
                return Err(format!("buffer {i} at offset {} is not aligned", a.offset));
            }
            if a.offset + a.reserved > self.arena_len || a.len > a.reserved {
                return Err(format!("buffer {i} does not fit the arena"));
            }
            for (j, b) in self.buffers.iter().enumerate().skip(i + 1) {
                if a.overlaps_in_time(b) && a.overlaps_in_space(b) {
                    return Err(format!(
                        "buffers {i} and {j} are live together (steps {}..={} and {}..={}) and overlap",
                        a.first, a.last, b.first, b.last
                    ));
                }
            }
        }
        if self.arena_len < self.lower_bound_len {
            return Err("the arena is below the lower bound, which is impossible".to_string());
        }
        Ok(())
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
        let bytes = |floats: usize| floats * 4;
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
            for group in &plan.groups {
                let b = plan.buffer(scale, group.output());
                let names: Vec<&str> = group
                    .nodes
                    .iter()
                    .map(|v| graph.node(*v).name.as_str())
                    .collect();
                let shape = plan.shapes[scale].of(group.output());
                writeln!(
                    f,
                    "    t={:<3} {:<24} {:<11} offset={:<9} bytes={:<9} live={}..={}",
                    b.first,
                    names.join("+"),
                    shape.to_string(),
                    bytes(b.offset),
                    bytes(b.reserved),
                    b.first,
                    b.last
                )?;
            }
        }
        Ok(())
    }
}
