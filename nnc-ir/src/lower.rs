//! Lowering: checks a [`SyntaxTree`] and turns it into a typed [`Graph`].
//!
//! This is where a description's meaning is checked: known ops, their arguments, names defined
//! before use and defined once, channel counts that fit, one input, at least one output, and no
//! layer that no output depends on. Every problem is collected; lowering goes on after an error so
//! that one run reports them all.

use crate::error::{ErrorKind, ModelError, ModelErrors, Span};
use crate::ir::{Arity, Axis, Conv, Graph, Head, Node, Op, OpKind, Padding, Real, ValueId, Window};
use crate::syntax::{Arg, Ident, Literal, Statement, SyntaxTree, error_at};
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;

/// Largest kernel, stride, padding and dilation accepted: far beyond any useful network, small
/// enough that shape arithmetic can never overflow, and each fits the byte the generated code
/// packs it in (`nnc_runtime::kernels::Geometry`).
const MAX_WINDOW: i64 = 255;
/// The largest upsampling factor a description may ask for.
const MAX_UPSAMPLE: i64 = 64;
/// Largest channel count accepted.
const MAX_CHANNELS: i64 = 1 << 16;

struct Lowerer<'a> {
    src: &'a str,
    file: &'a Path,
    errors: Vec<ModelError>,
}

impl Lowerer<'_> {
    /// Records an error and hands it back so that the caller can add a hint.
    fn error(
        &mut self,
        kind: ErrorKind,
        span: Span,
        message: impl Into<String>,
    ) -> &mut ModelError {
        self.errors
            .push(error_at(self.src, self.file, kind, span, message));
        self.errors.last_mut().expect("just pushed")
    }
}

/// The keyword arguments of one call, checked off as the op reads them.
struct Kwargs<'t> {
    op: &'t str,
    args: Vec<(&'t Ident, &'t Literal, Span, bool)>,
}

impl<'t> Kwargs<'t> {
    fn take(&mut self, key: &str) -> Option<(&'t Literal, Span)> {
        let found = self
            .args
            .iter_mut()
            .find(|(k, _, _, used)| k.text == key && !used)?;
        found.3 = true;
        Some((found.1, found.2))
    }

    /// Whether the call has an unread argument `key`.
    fn has(&self, key: &str) -> bool {
        self.args
            .iter()
            .any(|(k, _, _, used)| k.text == key && !used)
    }

    /// Reports that the call lacks the argument `key`, which is written as `form`.
    fn missing(&self, lw: &mut Lowerer<'_>, key: &str, call: Span, form: String) {
        lw.error(
            ErrorKind::BadArgument,
            call,
            format!("`{}` needs the argument `{key}`", self.op),
        )
        .help = Some(format!("write {form}"));
    }

    /// A whole number from `min` to `max`.
    fn int(
        &mut self,
        lw: &mut Lowerer<'_>,
        key: &str,
        default: Option<i64>,
        min: i64,
        max: i64,
        call: Span,
    ) -> Option<usize> {
        self.whole(lw, key, default, min..=max, call, false)
            .map(|(n, _)| n)
    }

    /// A whole number for both axes (`k=3`), or one for the rows and one for the columns
    /// (`k=1x3`), each from `min` to `max`.
    fn pair(
        &mut self,
        lw: &mut Lowerer<'_>,
        key: &str,
        default: Option<i64>,
        min: i64,
        max: i64,
        call: Span,
    ) -> Option<(usize, usize)> {
        self.whole(lw, key, default, min..=max, call, true)
    }

    /// [`Kwargs::int`] twice over, or [`Kwargs::pair`] where `pairs`.
    fn whole(
        &mut self,
        lw: &mut Lowerer<'_>,
        key: &str,
        default: Option<i64>,
        range: RangeInclusive<i64>,
        call: Span,
        pairs: bool,
    ) -> Option<(usize, usize)> {
        let (min, max) = (*range.start(), *range.end());
        let Some((lit, span)) = self.take(key) else {
            if default.is_none() {
                let form = if pairs {
                    format!("`{key}=N`, or `{key}=RxC` for rows and columns, from {min} to {max}")
                } else {
                    format!("`{key}=N` with N from {min} to {max}")
                };
                self.missing(lw, key, call, form);
            }
            return default.map(|d| (d as usize, d as usize));
        };
        match lit {
            Literal::Int(i) if range.contains(i) => Some((*i as usize, *i as usize)),
            Literal::Pair(r, c) if pairs && range.contains(r) && range.contains(c) => {
                Some((*r as usize, *c as usize))
            }
            other => {
                let what = if pairs {
                    format!("a whole number from {min} to {max}, or two of them written `RxC`")
                } else {
                    format!("a whole number from {min} to {max}")
                };
                lw.error(
                    ErrorKind::BadArgument,
                    span,
                    format!("`{key}` must be {what}, found {}", show(other)),
                );
                None
            }
        }
    }

    /// A finite real number, written as a whole number or with a decimal point.
    fn real(
        &mut self,
        lw: &mut Lowerer<'_>,
        key: &str,
        default: Option<f32>,
        call: Span,
    ) -> Option<Real> {
        let Some((lit, span)) = self.take(key) else {
            if default.is_none() {
                self.missing(lw, key, call, format!("`{key}=X` with a number X"));
            }
            return default.map(Real);
        };
        let value = match lit {
            Literal::Int(i) => Some(*i as f32),
            Literal::Float(x) => Some(*x as f32),
            _ => None,
        };
        match value.filter(|v| v.is_finite()) {
            Some(v) => Some(Real(v)),
            None => {
                lw.error(
                    ErrorKind::BadArgument,
                    span,
                    format!("`{key}` must be a finite number, found {}", show(lit)),
                );
                None
            }
        }
    }

    fn bool(&mut self, lw: &mut Lowerer<'_>, key: &str, default: bool) -> bool {
        let Some((lit, span)) = self.take(key) else {
            return default;
        };
        match lit {
            Literal::Word(w) if w == "true" => true,
            Literal::Word(w) if w == "false" => false,
            other => {
                lw.error(
                    ErrorKind::BadArgument,
                    span,
                    format!("`{key}` must be `true` or `false`, found {}", show(other)),
                );
                default
            }
        }
    }

    /// Reports every argument no one asked for: unknown, or given twice.
    fn finish(self, lw: &mut Lowerer<'_>, known: &[&str]) {
        for (key, _, _, used) in &self.args {
            if *used {
                continue;
            }
            let repeated = known.contains(&key.text.as_str());
            let message = if repeated {
                format!("`{}` is given more than once", key.text)
            } else {
                format!("`{}` has no argument `{}`", self.op, key.text)
            };
            let help = if known.is_empty() {
                format!("`{}` takes no arguments besides its inputs", self.op)
            } else {
                format!("`{}` takes: {}", self.op, known.join(", "))
            };
            lw.error(ErrorKind::BadArgument, key.span, message).help = Some(help);
        }
    }
}

fn show(lit: &Literal) -> String {
    match lit {
        Literal::Int(i) => format!("`{i}`"),
        Literal::Pair(r, c) => format!("`{r}x{c}`"),
        Literal::Float(x) => format!("`{x}`"),
        Literal::Word(w) => format!("`{w}`"),
        Literal::Str(s) => format!("\"{s}\""),
    }
}

/// The candidate within two edits of `word` (a typo), if there is one.
fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (diagonal + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                diagonal = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    };
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

/// Reads an op's keyword arguments into an [`Op`], or `None` after reporting what is wrong.
fn build_op(lw: &mut Lowerer<'_>, op: &Ident, mut kw: Kwargs<'_>) -> Option<Op> {
    let call = op.span;
    let window = |lw: &mut Lowerer<'_>, kw: &mut Kwargs<'_>, pool: bool| {
        let kernel = kw.pair(lw, "k", None, 1, MAX_WINDOW, call);
        // A pool's stride defaults to its kernel, along each axis.
        let stride = match kernel {
            Some((r, c)) if pool && !kw.has("stride") => Some((r, c)),
            _ => kw.pair(lw, "stride", Some(1), 1, MAX_WINDOW, call),
        };
        let pad = kw.pair(lw, "pad", Some(0), 0, MAX_WINDOW, call);
        let dilation = if pool {
            Some((1, 1))
        } else {
            kw.pair(lw, "dilation", Some(1), 1, MAX_WINDOW, call)
        };
        let (kernel, stride, pad, dilation) = (kernel?, stride?, pad?, dilation?);
        if pool && (pad.0 >= kernel.0 || pad.1 >= kernel.1) {
            let show = |(r, c): (usize, usize)| {
                if r == c {
                    r.to_string()
                } else {
                    format!("{r}x{c}")
                }
            };
            lw.error(
                ErrorKind::BadArgument,
                call,
                format!(
                    "`{}` needs `pad` smaller than `k`, got pad={} and k={}",
                    op.text,
                    show(pad),
                    show(kernel)
                ),
            )
            .help = Some("a window made only of padding has no value to pool".to_string());
            return None;
        }
        let ceil = pool && kw.bool(lw, "ceil", false);
        let axis = |i: usize| {
            let of = |p: (usize, usize)| if i == 0 { p.0 } else { p.1 };
            Axis {
                kernel: of(kernel),
                stride: of(stride),
                pad: of(pad),
                dilation: of(dilation),
            }
        };
        Some(Window {
            rows: axis(0),
            cols: axis(1),
            ceil,
        })
    };
    let (built, known): (Option<Op>, &[&str]) = match OpKind::from_name(&op.text) {
        Some(OpKind::Input) => {
            let channels = kw.int(lw, "channels", None, 1, MAX_CHANNELS, call);
            (
                channels.map(|channels| Op::Input { channels }),
                &["channels"],
            )
        }
        Some(OpKind::Conv) => {
            let out = kw.int(lw, "out", None, 1, MAX_CHANNELS, call);
            let window = window(lw, &mut kw, false);
            let bias = kw.bool(lw, "bias", true);
            // Whether the groups fit the channels is the op's shape rule, checked with the rest.
            let groups = kw.int(lw, "groups", Some(1), 1, MAX_CHANNELS, call);
            let conv = out
                .zip(window)
                .zip(groups)
                .map(|((out_channels, window), groups)| Conv {
                    out_channels,
                    window,
                    bias,
                    groups,
                });
            (
                conv.map(Op::Conv),
                &["out", "k", "stride", "pad", "dilation", "bias", "groups"],
            )
        }
        Some(OpKind::MaxPool) => (
            window(lw, &mut kw, true).map(Op::MaxPool),
            &["k", "stride", "pad", "ceil"],
        ),
        Some(OpKind::AvgPool) => (
            window(lw, &mut kw, true).map(Op::AvgPool),
            &["k", "stride", "pad", "ceil"],
        ),
        Some(OpKind::Relu) => (Some(Op::Relu), &[]),
        Some(OpKind::Prelu) => (Some(Op::Prelu), &[]),
        Some(OpKind::Sigmoid) => (Some(Op::Sigmoid), &[]),
        Some(OpKind::Add) => (Some(Op::Add), &[]),
        Some(OpKind::PadAdd) => (Some(Op::PadAdd), &[]),
        Some(OpKind::Concat) => (Some(Op::Concat), &[]),
        Some(OpKind::Upsample) => (
            kw.int(lw, "factor", None, 2, MAX_UPSAMPLE, call)
                .map(|factor| Op::Upsample { factor }),
            &["factor"],
        ),
        Some(OpKind::Clip) => {
            let min = kw.real(lw, "min", None, call);
            let max = kw.real(lw, "max", None, call);
            let clip = match (min, max) {
                (Some(min), Some(max)) if min.0 > max.0 => {
                    lw.error(
                        ErrorKind::BadArgument,
                        call,
                        format!("`clip` needs min <= max, got min={min} and max={max}"),
                    );
                    None
                }
                (Some(min), Some(max)) => Some(Op::Clip { min, max }),
                _ => None,
            };
            (clip, &["min", "max"])
        }
        Some(OpKind::HardSigmoid) => {
            let alpha = kw.real(lw, "alpha", Some(0.2), call);
            let beta = kw.real(lw, "beta", Some(0.5), call);
            (
                alpha
                    .zip(beta)
                    .map(|(alpha, beta)| Op::HardSigmoid { alpha, beta }),
                &["alpha", "beta"],
            )
        }
        Some(OpKind::HardSwish) => (Some(Op::HardSwish), &[]),
        Some(OpKind::Affine) => (Some(Op::Affine), &[]),
        Some(OpKind::Mul) => (Some(Op::Mul), &[]),
        Some(OpKind::GlobalAvgPool) => (Some(Op::GlobalAvgPool), &[]),
        Some(OpKind::Softmax) => (Some(Op::Softmax), &[]),
        Some(OpKind::Pad) => {
            let mut side = |key| kw.int(lw, key, Some(0), 0, MAX_WINDOW, call);
            let (top, left, bottom, right) =
                (side("top"), side("left"), side("bottom"), side("right"));
            let pad = match (top, left, bottom, right) {
                (Some(top), Some(left), Some(bottom), Some(right)) => Some(Op::Pad(Padding {
                    top,
                    left,
                    bottom,
                    right,
                })),
                _ => None,
            };
            (pad, &["top", "left", "bottom", "right"])
        }
        None => {
            let other = op.text.as_str();
            let ops = OpKind::names().collect::<Vec<_>>().join(", ");
            let help = match closest(other, OpKind::names()) {
                Some(close) => format!("did you mean `{close}`? The ops are: {ops}"),
                None => format!("expected one of: {ops}"),
            };
            lw.error(
                ErrorKind::UnknownOp,
                op.span,
                format!("unknown op `{other}`"),
            )
            .help = Some(help);
            return None;
        }
    };
    kw.finish(lw, known);
    built
}

/// Checks a syntax tree and lowers it to a [`Graph`] named `name`.
pub fn lower(tree: &SyntaxTree, src: &str, file: &Path, name: &str) -> Result<Graph, ModelErrors> {
    let mut lw = Lowerer {
        src,
        file,
        errors: Vec::new(),
    };
    let mut nodes: Vec<Node> = Vec::new();
    // Every name defined anywhere, to tell "defined later" from "never defined".
    let all_defined: HashMap<&str, Span> = tree
        .statements
        .iter()
        .rev()
        .filter_map(|s| match s {
            Statement::Layer { name, .. } => Some((name.text.as_str(), name.span)),
            Statement::Output { .. } => None,
        })
        .collect();
    let mut defined: HashMap<String, ValueId> = HashMap::new();
    // Layers whose own definition failed: uses of them are not errors of their own, so that one
    // mistake is reported once rather than at every layer downstream.
    let mut failed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut outputs: Vec<Head> = Vec::new();
    let mut input_seen: Option<Span> = None;

    for statement in &tree.statements {
        match statement {
            Statement::Layer { name, op, args } => {
                // Until it lowers, count the layer as failed (see `failed`).
                failed.insert(name.text.clone());
                let mut inputs = Vec::new();
                let mut resolved = true;
                let mut kwargs = Kwargs {
                    op: &op.text,
                    args: Vec::new(),
                };
                for arg in args {
                    match arg {
                        Arg::Positional(id) => match defined.get(&id.text) {
                            Some(v) => inputs.push(*v),
                            None if failed.contains(&id.text) => resolved = false,
                            None => {
                                resolved = false;
                                let e = lw.error(
                                    ErrorKind::UndefinedName,
                                    id.span,
                                    format!("`{}` is not defined above this line", id.text),
                                );
                                if let Some(later) = all_defined.get(id.text.as_str()) {
                                    e.help = Some(format!(
                                        "`{}` is defined later, at line {}; a layer can only use \
                                         layers above it",
                                        id.text, later.line
                                    ));
                                } else if let Some(close) =
                                    closest(&id.text, defined.keys().map(String::as_str))
                                {
                                    e.help = Some(format!("did you mean `{close}`?"));
                                }
                            }
                        },
                        Arg::Keyword {
                            key,
                            value,
                            value_span,
                        } => kwargs.args.push((key, value, *value_span, false)),
                    }
                }
                let built = build_op(&mut lw, op, kwargs);
                if let Some(first) = defined.get(&name.text) {
                    let first_line = nodes[first.0].span.line;
                    lw.error(
                        ErrorKind::DuplicateName,
                        name.span,
                        format!("`{}` is defined twice", name.text),
                    )
                    .help = Some(format!(
                        "first defined at line {first_line}; give each layer its own name"
                    ));
                    continue;
                }
                let Some(built) = built else { continue };
                if let Op::Input { .. } = built {
                    if let Some(first) = input_seen {
                        lw.error(
                            ErrorKind::BadGraph,
                            name.span,
                            "a network has exactly one input; this is a second one",
                        )
                        .help = Some(format!("the input is defined at line {}", first.line));
                        continue;
                    }
                    input_seen = Some(name.span);
                }
                if !resolved {
                    continue;
                }
                let arity_ok = match built.arity() {
                    Arity::Exactly(n) => inputs.len() == n,
                    Arity::AtLeast(n) => inputs.len() >= n,
                };
                if !arity_ok {
                    let wanted = match built.arity() {
                        Arity::Exactly(0) => "no inputs".to_string(),
                        Arity::Exactly(1) => "exactly one input".to_string(),
                        Arity::Exactly(n) => format!("exactly {n} inputs"),
                        Arity::AtLeast(n) => format!("at least {n} inputs"),
                    };
                    lw.error(
                        ErrorKind::BadArgument,
                        op.span,
                        format!("`{}` takes {wanted}, found {}", op.text, inputs.len()),
                    );
                    continue;
                }
                let in_channels: Vec<usize> = inputs.iter().map(|v| nodes[v.0].channels).collect();
                let channels = match built.output_channels(&in_channels) {
                    Ok(c) => c,
                    Err(message) => {
                        let e = lw.error(ErrorKind::ChannelMismatch, op.span, message);
                        if matches!(built, Op::Conv(_)) {
                            e.help = Some(format!(
                                "nnc's convolutions are dense (groups=1) or depthwise \
                                 (groups = input channels = out); for {} input channels write \
                                 `out={}, groups={}`",
                                in_channels[0], in_channels[0], in_channels[0]
                            ));
                        }
                        if built == Op::Add {
                            e.help = Some(
                                "`padadd` adds inputs of different channels or sizes, reading the \
                                 smaller as zeros"
                                    .to_string(),
                            );
                        }
                        continue;
                    }
                };
                failed.remove(&name.text);
                defined.insert(name.text.clone(), ValueId(nodes.len()));
                nodes.push(Node {
                    name: name.text.clone(),
                    op: built,
                    inputs,
                    channels,
                    span: name.span,
                });
            }
            Statement::Output { head, value } => {
                if let Some(first) = outputs.iter().find(|h| h.name == head.text) {
                    let line = first.span.line;
                    lw.error(
                        ErrorKind::DuplicateName,
                        head.span,
                        format!("output `{}` is declared twice", head.text),
                    )
                    .help = Some(format!("first declared at line {line}"));
                    continue;
                }
                match defined.get(&value.text) {
                    Some(v) => outputs.push(Head {
                        name: head.text.clone(),
                        value: *v,
                        span: head.span,
                    }),
                    None if all_defined.contains_key(value.text.as_str()) => {
                        // The layer exists but failed to lower; its own error says why.
                    }
                    None => {
                        lw.error(
                            ErrorKind::UndefinedName,
                            value.span,
                            format!(
                                "output `{}` names `{}`, which is not defined",
                                head.text, value.text
                            ),
                        );
                    }
                }
            }
        }
    }

    if input_seen.is_none() {
        lw.errors.push(
            ModelError::in_file(ErrorKind::BadGraph, file, "the network has no input")
                .with_help("add a line like `image = input(channels=3)`"),
        );
    }
    let declared_outputs = tree
        .statements
        .iter()
        .any(|s| matches!(s, Statement::Output { .. }));
    if !declared_outputs {
        lw.errors.push(
            ModelError::in_file(ErrorKind::BadGraph, file, "the network has no output")
                .with_help("add a line like `output score = LAYER` for each head"),
        );
    }
    if lw.errors.is_empty() {
        // A layer that no output depends on would be computed for nothing.
        let mut used = vec![false; nodes.len()];
        for head in &outputs {
            used[head.value.0] = true;
        }
        for i in (0..nodes.len()).rev() {
            if used[i] {
                for v in &nodes[i].inputs {
                    used[v.0] = true;
                }
            }
        }
        for (node, used) in nodes.iter().zip(&used) {
            if !used {
                lw.error(
                    ErrorKind::BadGraph,
                    node.span,
                    format!("layer `{}` is not used by any output", node.name),
                )
                .help = Some("remove it, or expose it with `output NAME`".to_string());
            }
        }
    }
    let graph = Graph {
        name: name.to_string(),
        file: file.to_path_buf(),
        source: src.to_string(),
        nodes,
        outputs,
    };
    lw.errors.into_iter().collect::<ModelErrors>().finish(graph)
}
