//! One function per kind of step: each emits the call of its kernel with every size a constant.

use crate::params::Params;
use nnc_ir::plan::{Algorithm, Group, Plan};
use nnc_ir::{Graph, Op, ValueId, Window};
use nnc_runtime::kernels::layout;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;

/// An integer literal without a type suffix, so that generated code reads `3`, not `3usize`.
pub fn n(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// A window as the kernels' `G` argument: `{ rt::Geometry::square(3, 1, 1).pack() }`, or the
/// whole struct where the axes differ or a tap is dilated.
fn geometry(window: Window) -> TokenStream {
    if let Some((k, stride, pad)) = window.as_square() {
        let [k, stride, pad] = [k, stride, pad].map(n);
        return quote! { { rt::Geometry::square(#k, #stride, #pad).pack() } };
    }
    let (r, c) = (window.rows, window.cols);
    let [kh, kw, sh, sw, ph, pw, dh, dw] = [
        r.kernel, c.kernel, r.stride, c.stride, r.pad, c.pad, r.dilation, c.dilation,
    ]
    .map(n);
    quote! {
        {
            rt::Geometry {
                kh: #kh, kw: #kw, sh: #sh, sw: #sw, ph: #ph, pw: #pw, dh: #dh, dw: #dw
            }
            .pack()
        }
    }
}

/// Which instruction sets a scale function's kernels run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Portable,
    Avx2,
    /// The AVX2 path, but convolutions with ReLU or no activation run on sixteen-lane AVX-512
    /// vectors (1x1 ones as a matrix product) where those are not half empty
    /// ([`sixteen_lanes`]).
    Avx512,
}

/// A kernel function of a variant: one kernel instance, called by every step, on any scale and
/// path, that runs that instance.
pub struct KernelFn {
    /// The kernel call it makes, `rt::conv::<rt::Avx2, ...>`, as text: the key it is shared by.
    pub call: String,
    /// The path module it is defined in, and its name there.
    pub module: Ident,
    pub name: Ident,
    pub definition: TokenStream,
}

/// What a step needs to know about where things are.
pub struct StepCtx<'a> {
    pub graph: &'a Graph,
    pub plan: &'a Plan,
    pub params: &'a Params,
    pub scale: usize,
    pub path: Path,
    /// The module of the path's functions, where its kernel functions are defined.
    pub module: &'a Ident,
    /// The variant's kernel functions so far, with the kernel call each makes ([`Isa::call`]),
    /// shared by its scales and paths.
    pub kernels: &'a RefCell<Vec<KernelFn>>,
}

impl StepCtx<'_> {
    /// A pointer expression to `value` at this scale: the caller's input, or the arena.
    fn ptr(&self, value: ValueId) -> TokenStream {
        if value == self.graph.input() {
            quote! { input }
        } else {
            let offset = n(self.plan.buffer(self.scale, value).offset);
            quote! { arena.add(#offset) }
        }
    }

    fn out(&self, group: &Group) -> TokenStream {
        self.ptr(group.output())
    }

    fn shape(&self, value: ValueId) -> nnc_ir::Shape {
        self.plan.shapes[self.scale].of(value)
    }
}

/// The kernel call for fused group `g` of the plan (for a group run in bands with the next, the
/// calls of both; the next then has none of its own).
pub fn step(cx: &StepCtx<'_>, g: usize) -> TokenStream {
    if cx.plan.band(cx.scale, g).is_some() {
        return banded(cx, g);
    }
    if g > 0 && cx.plan.band(cx.scale, g - 1).is_some() {
        return TokenStream::new();
    }
    let group = &cx.plan.groups[g];
    let first = cx.graph.node(group.first());
    match first.op {
        Op::Conv(_) => conv(cx, g, Part::Whole, cx.ptr(first.inputs[0]), cx.out(group)),
        Op::Relu | Op::Prelu | Op::Sigmoid => activation(cx, group),
        Op::MaxPool(_) | Op::AvgPool(_) => pool(cx, group),
        Op::Add | Op::Mul => add(cx, group),
        Op::PadAdd => pad_add(cx, group),
        Op::Concat => concat(cx, group),
        Op::Upsample { .. } => upsample(cx, group),
        Op::Clip { .. } | Op::HardSigmoid { .. } | Op::HardSwish => hard(cx, group),
        Op::Affine => affine(cx, group),
        Op::GlobalAvgPool => global_avg_pool(cx, group),
        Op::Softmax => softmax(cx, group),
        Op::Pad(_) => pad(cx, group),
        Op::Input { .. } => unreachable!("the input is not a step"),
    }
}

/// Group `g` and the next run in bands of rows (`plan::band`): the first writes a band of rows
/// to its buffer, `rows + 2` rows of its output (row `j` of band `k` is the output's row
/// `k * rows - 1 + j`), the second reads the band, unpadded along rows, and writes its own
/// `rows` rows (before its pool) of output. A band's first two rows are the last two of the
/// band before, copied; where a band reaches past the map, its rows are zeros (the second
/// step's padding).
fn banded(cx: &StepCtx<'_>, g: usize) -> TokenStream {
    let rows = cx.plan.band(cx.scale, g).expect("a banded step");
    let (group, next) = (&cx.plan.groups[g], &cx.plan.groups[g + 1]);
    let first = cx.graph.node(group.first());
    let produced = cx.shape(group.output());
    let out = cx.shape(next.output());
    let pool = next.nodes[1..]
        .iter()
        .find_map(|v| match cx.graph.node(*v).op {
            Op::MaxPool(w) => Some(w.rows.kernel),
            _ => None,
        })
        .unwrap_or(1);
    let height = produced.h;
    let bands = height.div_ceil(rows);
    let last = height - (bands - 1) * rows;
    let row = produced.w * produced.c;
    let out_step = rows / pool * out.w * out.c;
    let input = cx.ptr(first.inputs[0]);
    let band_ptr = cx.out(group);
    let dst = cx.out(next);
    let produce = |at: usize| {
        let at = n(at * row);
        conv(cx, g, Part::Rows, input.clone(), quote! { band.add(#at) })
    };
    let (first_rows, middle_rows) = (produce(1), produce(2));
    let out_step = n(out_step);
    let whole = conv(
        cx,
        g + 1,
        Part::Band { h: rows + 2 },
        quote! { band },
        quote! { out.add(k * #out_step) },
    );
    let end = conv(
        cx,
        g + 1,
        Part::Band { h: last + 2 },
        quote! { band },
        quote! { out.add(k * #out_step) },
    );
    let [rows_n, row_n, bands_n, height_n, halo, zero_at] =
        [rows, row, bands, height, rows * row, (last + 1) * row].map(n);
    quote! {
        {
            let band = #band_ptr;
            let out = #dst;
            // Band 0: a zero row above the map, then rows 0..=rows.
            ::core::ptr::write_bytes(band, 0, #row_n);
            let rows = (0, #rows_n + 1);
            let k = 0;
            #first_rows
            #whole
            for k in 1..#bands_n - 1 {
                ::core::ptr::copy_nonoverlapping(band.add(#halo), band, 2 * #row_n);
                let rows = (k * #rows_n + 1, k * #rows_n + #rows_n + 1);
                #middle_rows
                #whole
            }
            let k = #bands_n - 1;
            ::core::ptr::copy_nonoverlapping(band.add(#halo), band, 2 * #row_n);
            let rows = (k * #rows_n + 1, #height_n);
            #middle_rows
            // A zero row below the map.
            ::core::ptr::write_bytes(band.add(#zero_at), 0, #row_n);
            #end
        }
    }
}

/// What part of a convolution's map one call computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// All of it, from the input's buffer to the output's.
    Whole,
    /// The output rows `rows` (a variable of the generated code) of a step run in bands, to
    /// its band buffer (`rt::conv_rows`, `rt::winograd_rows`).
    Rows,
    /// The next step over a band buffer of `h` rows, unpadded along rows (`rt::winograd_band`,
    /// or the direct kernel with no row padding).
    Band { h: usize },
}

/// Convolution with its fused activation and max-pool, by the plan's algorithm, the `part` of
/// its map from `src` to `dst`.
fn conv(cx: &StepCtx<'_>, g: usize, part: Part, src: TokenStream, dst: TokenStream) -> TokenStream {
    let group = &cx.plan.groups[g];
    let algorithm = cx.plan.algorithm(cx.scale, g);
    let node = cx.graph.node(group.first());
    let Op::Conv(conv) = node.op else {
        unreachable!()
    };
    let input = node.inputs[0];
    let s = cx.shape(input);
    let (mut h, w, ci) = (s.h, s.w, s.c);
    let mut window = conv.window;
    if let Part::Band { h: rows } = part {
        h = rows;
        window.rows.pad = 0;
    }
    let co = conv.out_channels;
    let cob = layout::vectors(co);
    let geom = geometry(window);
    let taps = conv.window.rows.kernel * conv.window.cols.kernel;
    let mut act = quote! { rt::act::NONE };
    let mut alpha = quote! { ::core::ptr::null() };
    let mut pk = 1usize;
    let mut relu_or_none = true;
    for v in &group.nodes[1..] {
        match cx.graph.node(*v).op {
            Op::Relu => act = quote! { rt::act::RELU },
            Op::Sigmoid => {
                act = quote! { rt::act::SIGMOID };
                relu_or_none = false;
            }
            Op::Prelu => {
                act = quote! { rt::act::PRELU };
                relu_or_none = false;
                let index = n(cx.params.alpha[v]);
                alpha = quote! { w.ptr(#index) };
            }
            // Fused pools are square (`plan::fuse`).
            Op::MaxPool(window) => pk = window.rows.kernel,
            _ => unreachable!("only activations and max-pools are fused"),
        }
    }
    let (kernel, bias) = cx.params.conv[&group.first()];
    let kernel = match algorithm.winograd_tile() {
        Some(m) => cx.params.winograd[&(group.first(), m)],
        None => kernel.expect("packed for every plan that runs the layer directly"),
    };
    let (kernel, bias) = (n(kernel), n(bias));
    let scratch = match cx.plan.scratch(cx.scale, g) {
        Some(s) => {
            let offset = n(s.offset);
            quote! { arena.add(#offset) }
        }
        None => quote! { ::core::ptr::null_mut() },
    };
    let ptrs = quote! {
        rt::ConvPtrs {
            input: #src,
            kernel: w.ptr(#kernel),
            bias: w.ptr(#bias),
            alpha: #alpha,
            output: #dst,
            scratch: #scratch,
        }
    };
    if let Some(m) = algorithm.winograd_tile() {
        // Winograd F(2x2, 3x3) or F(4x4, 3x3), sixteen lanes on the AVX-512 path.
        let (_, _, p) = conv
            .window
            .as_square()
            .expect("Winograd takes square windows");
        let isa = Isa::of(cx.path, sixteen_lanes(cx.path, true, co));
        let (v, nt) = register_block(isa, "winograd_block", layout::winograd_block, co);
        let kernel = match part {
            Part::Whole => quote! { rt::winograd },
            Part::Rows => quote! { rt::winograd_rows },
            Part::Band { .. } => quote! { rt::winograd_band },
        };
        let [h, w, ci, co, p, m, pk] = [h, w, ci, co, p, m, pk].map(n);
        return isa.call(
            cx,
            g,
            kernel,
            quote! { #h, #w, #ci, #co, #p, #m, { #act }, #pk, #v, #nt },
            ptrs,
            part,
        );
    }
    if conv.is_depthwise() {
        // Channels in, channels out; at sixteen lanes where the activation and channels allow.
        let npx = layout::depthwise_pixels_per_block(pk);
        let wide = sixteen_lanes(cx.path, relu_or_none, ci);
        let cb = if wide { ci.div_ceil(16) } else { cob };
        let [h, w, c, cb, pk, npx] = [h, w, ci, cb, pk, npx].map(n);
        return Isa::of(cx.path, wide).call(
            cx,
            g,
            quote! { rt::depthwise },
            quote! { #h, #w, #c, #cb, #geom, { #act }, #pk, #npx },
            ptrs,
            part,
        );
    }
    if algorithm == Algorithm::Pointwise {
        // A matrix product over the pixels: sixteen output channels a vector on the AVX-512
        // path, eight on the others. (Run as a direct convolution, a 1x1 head such as the face
        // student's 48->10 `landmarks` took LLVM seconds a scale and path to compile, for the
        // same speed: `benches/NOTES.md`, attempt 19.)
        let cop = cob * 8;
        let isa = Isa::of(cx.path, sixteen_lanes(cx.path, true, co));
        let (v, npx) = register_block(isa, "pointwise_block", layout::pointwise_block, cop);
        let [pixels, ci, co, cop] = [h * w, ci, co, cop].map(n);
        return isa.call(
            cx,
            g,
            quote! { rt::pointwise },
            quote! { #pixels, #ci, #co, #cop, { #act }, #v, #npx },
            ptrs,
            part,
        );
    }
    // Direct convolution, at sixteen lanes where the activation and channels allow.
    let wide = sixteen_lanes(cx.path, relu_or_none, co);
    let (cob, registers) = if wide {
        (co.div_ceil(16), 32)
    } else {
        (cob, 16)
    };
    let npx = if pk > 1 && wide {
        let npx = n(layout::pooled_pixels_per_block_in(registers, pk, cob));
        quote! { #npx }
    } else if pk > 1 {
        let npx = n(pk * pk);
        quote! { #npx }
    } else if cx.path == Path::Portable {
        // Sized by the registers of the crate's target (`rt::PORTABLE_REGISTERS`).
        let [cob, taps, h, w] = [cob, taps, h, w].map(n);
        quote! {
            { rt::layout::direct_pixels_per_block(rt::PORTABLE_REGISTERS, 8, #cob, #taps, (#h, #w)) }
        }
    } else {
        let lanes = if wide { 16 } else { 8 };
        let npx = n(layout::direct_pixels_per_block(
            registers,
            lanes,
            cob,
            taps,
            (h, w),
        ));
        quote! { #npx }
    };
    let kernel = match part {
        Part::Rows => quote! { rt::conv_rows },
        _ => quote! { rt::conv },
    };
    let [h, w, ci, co, cob, pk] = [h, w, ci, co, cob, pk].map(n);
    Isa::of(cx.path, wide).call(
        cx,
        g,
        kernel,
        quote! { #h, #w, #ci, #co, #cob, #geom, { #act }, #pk, #npx },
        ptrs,
        part,
    )
}

/// Whether a kernel over `channels` channels runs on sixteen lanes on `path`: on the AVX-512
/// path, where the kernel takes them (`kernel_can`: ReLU or no activation) and where sixteen-lane
/// vectors cover the channels in no more halves than eight-lane vectors do. The AMD EPYCs this
/// runs on split a sixteen-lane FMA into two eight-lane ones, so a half-empty vector (8
/// channels, or 4, or 24 as two) costs twice its work; what sixteen lanes gain is the 32
/// registers. (testnet's 16->8 5x5 layer took it 16% slower than its AVX2 path:
/// `benches/NOTES.md`, attempt 23.)
fn sixteen_lanes(path: Path, kernel_can: bool, channels: usize) -> bool {
    path == Path::Avx512 && kernel_can && channels.div_ceil(16) * 2 == channels.div_ceil(8)
}

/// The register block `rule(lanes, registers, channels)` (a `const fn` of `rt::layout`, named
/// `name` there) gives a kernel on `isa`: on the portable path an expression the user's crate
/// evaluates, since the registers are its target's (`rt::PORTABLE_REGISTERS`); on the others
/// the numbers, for eight lanes in 16 registers (AVX2) or sixteen in 32 (AVX-512).
fn register_block(
    isa: Isa,
    name: &str,
    rule: fn(usize, usize, usize) -> (usize, usize),
    channels: usize,
) -> (TokenStream, TokenStream) {
    let (lanes, registers) = match isa {
        Isa::Portable => {
            let (rule, channels) = (format_ident!("{name}"), n(channels));
            return (
                quote! { { rt::layout::#rule(8, rt::PORTABLE_REGISTERS, #channels).0 } },
                quote! { { rt::layout::#rule(8, rt::PORTABLE_REGISTERS, #channels).1 } },
            );
        }
        Isa::Avx2 => (8, 16),
        Isa::Avx512 => (16, 32),
    };
    let (a, b) = rule(lanes, registers, channels);
    let [a, b] = [a, b].map(n);
    (quote! { #a }, quote! { #b })
}

/// The instruction set one kernel call runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    Avx2,
    Avx512,
}

impl Isa {
    /// The kernel's instruction set on `path`: sixteen lanes on the AVX-512 path only where the
    /// kernel can take them (`wide`), else eight.
    fn of(path: Path, wide: bool) -> Isa {
        match path {
            Path::Portable => Isa::Portable,
            Path::Avx512 if wide => Isa::Avx512,
            Path::Avx2 | Path::Avx512 => Isa::Avx2,
        }
    }

    /// The call of `kernel::<S, generics>(ptrs)` for step `g`, through a function of the path's
    /// module: never inlined into the scale function, compiled with this instruction set's
    /// features, named after the first step that runs it, its layer and the instruction set
    /// (`scale0_step3_conv3_avx2`), and defined once for every step, scale and path of the variant that runs
    /// the same kernel instance (the embedding's residual blocks repeat their shapes, and the AVX-512
    /// path calls the AVX2 kernel of a convolution that cannot take sixteen lanes).
    ///
    /// The function is local to the generated module, so rustc places it, and the kernel
    /// instance inlined into it, in that module's codegen unit. Calling a generic entry point of
    /// `nnc_runtime` instead would put every kernel instance of the crate in one codegen unit
    /// (rustc places an upstream generic by the module that defines it), which LLVM then
    /// optimizes on one thread however many the build has. The names also make profiles read
    /// by layer.
    ///
    /// A call of [`Part::Rows`] passes the generated code's `rows` on; one over a band is named
    /// for the band's height (`..._band10_avx2`), since a map's last band may differ.
    fn call(
        self,
        cx: &StepCtx<'_>,
        g: usize,
        kernel: TokenStream,
        generics: TokenStream,
        ptrs: TokenStream,
        part: Part,
    ) -> TokenStream {
        let (params, args, suffix) = match part {
            Part::Whole => (quote! {}, quote! {}, String::new()),
            Part::Rows => (
                quote! { , rows: (usize, usize) },
                quote! { , rows },
                "_rows".to_string(),
            ),
            Part::Band { h } => (quote! {}, quote! {}, format!("_band{h}")),
        };
        let (simd, features, isa) = match self {
            Isa::Portable => (quote! { rt::Portable }, None, "portable"),
            Isa::Avx2 => (quote! { rt::Avx2 }, Some("avx2,fma"), "avx2"),
            Isa::Avx512 => (quote! { rt::Avx512 }, Some("avx512f,avx2,fma"), "avx512"),
        };
        let call = quote! { #kernel::<#simd, #generics> };
        let mut kernels = cx.kernels.borrow_mut();
        let key = call.to_string();
        if let Some(known) = kernels.iter().find(|k| k.call == key) {
            let (module, name) = (&known.module, &known.name);
            return quote! { super::#module::#name(#ptrs #args); };
        }
        let layer: String = cx
            .graph
            .node(cx.plan.groups[g].first())
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        let name = format_ident!(
            "scale{}_step{}_{}{}_{}",
            cx.scale,
            g,
            layer.trim_matches('_'),
            suffix,
            isa
        );
        let features = features.map(|f| quote! { #[target_feature(enable = #f)] });
        // Safety: as the scale function's calls (`emit::path_modules`).
        let definition = quote! {
            #[inline(never)]
            #features
            pub(super) unsafe fn #name(p: rt::ConvPtrs #params) {
                unsafe { #call(p #args) }
            }
        };
        kernels.push(KernelFn {
            call: key,
            module: cx.module.clone(),
            name: name.clone(),
            definition,
        });
        let module = cx.module;
        quote! { super::#module::#name(#ptrs #args); }
    }
}

/// An activation that no convolution absorbed.
fn activation(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let v = group.first();
    let node = cx.graph.node(v);
    let s = cx.shape(v);
    let (pixels, c) = (n(s.h * s.w), n(s.c));
    let (act, alpha) = match node.op {
        Op::Relu => (
            quote! { rt::other::kind::RELU },
            quote! { ::core::ptr::null() },
        ),
        Op::Sigmoid => (
            quote! { rt::other::kind::SIGMOID },
            quote! { ::core::ptr::null() },
        ),
        _ => {
            let index = n(cx.params.alpha[&v]);
            (quote! { rt::other::kind::PRELU }, quote! { w.ptr(#index) })
        }
    };
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::activation::<#pixels, #c, { #act }>(#src, #alpha, #dst); }
}

/// A pooling layer that no convolution absorbed.
fn pool(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let (window, avg) = match node.op {
        Op::MaxPool(w) => (w, false),
        Op::AvgPool(w) => (w, true),
        _ => unreachable!(),
    };
    let s = cx.shape(node.inputs[0]);
    let [h, w, c] = [s.h, s.w, s.c].map(n);
    let g = geometry(window);
    let ceil = window.ceil;
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::pool::<#h, #w, #c, #g, #avg, #ceil>(#src, #dst); }
}

/// `add` and `mul`: one element-wise kernel, with the ReLU a sum absorbed.
fn add(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let len = n(cx.shape(group.first()).len());
    let mul = node.op == Op::Mul;
    let relu = relu_absorbed(cx, group);
    let (a, b, dst) = (
        cx.ptr(node.inputs[0]),
        cx.ptr(node.inputs[1]),
        cx.out(group),
    );
    quote! { rt::other::add::<#len, #mul, #relu>(#a, #b, #dst); }
}

/// Whether a sum's group ends in the `relu` it absorbed (see `nnc_ir::plan::fuse`).
fn relu_absorbed(cx: &StepCtx<'_>, group: &Group) -> bool {
    group.nodes.len() > 1 && cx.graph.node(group.output()).op == Op::Relu
}

/// A sum whose inputs may be smaller than its output: each is read as zero outside its own shape.
fn pad_add(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let dims = |v: ValueId| {
        let s = cx.shape(v);
        [s.h, s.w, s.c].map(n)
    };
    let ([h, w, c], [ha, wa, ca], [hb, wb, cb]) = (dims(group.first()), dims(a), dims(b));
    let relu = relu_absorbed(cx, group);
    let (a, b, dst) = (cx.ptr(a), cx.ptr(b), cx.out(group));
    quote! { rt::other::pad_add::<#h, #w, #c, #ha, #wa, #ca, #hb, #wb, #cb, #relu>(#a, #b, #dst); }
}

/// Nearest-neighbour upsampling.
fn upsample(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let Op::Upsample { factor } = node.op else {
        unreachable!()
    };
    let input = node.inputs[0];
    let s = cx.shape(input);
    let [h, w, c, f] = [s.h, s.w, s.c, factor].map(n);
    let (src, dst) = (cx.ptr(input), cx.out(group));
    quote! { rt::other::upsample::<#h, #w, #c, #f>(#src, #dst); }
}

fn concat(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let out = cx.shape(group.first());
    let (pixels, total) = (n(out.h * out.w), n(out.c));
    let dst = cx.out(group);
    let mut offset = 0usize;
    let parts = node.inputs.iter().map(|v| {
        let c = cx.shape(*v).c;
        let src = cx.ptr(*v);
        let (lit_c, lit_offset) = (n(c), n(offset));
        let part =
            quote! { rt::other::concat_part::<#pixels, #lit_c, #lit_offset, #total>(#src, #dst); };
        offset += c;
        part
    });
    let parts: Vec<TokenStream> = parts.collect();
    quote! { #(#parts)* }
}

/// `clip`, `hardsigmoid` and `hardswish`: one clamped affine map, times `x` for `hardswish`.
fn hard(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let len = n(cx.shape(group.first()).len());
    let ([a, b, lo, hi], times_x) = match node.op {
        Op::Clip { min, max } => ([1.0, 0.0, min.0, max.0], false),
        Op::HardSigmoid { alpha, beta } => ([alpha.0, beta.0, 0.0, 1.0], false),
        Op::HardSwish => ([1.0 / 6.0, 0.5, 0.0, 1.0], true),
        _ => unreachable!(),
    };
    let [a, b, lo, hi] = [a, b, lo, hi].map(Literal::f32_suffixed);
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::hard::<#len, #times_x>(#src, [#a, #b, #lo, #hi], #dst); }
}

fn affine(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let v = group.first();
    let node = cx.graph.node(v);
    let s = cx.shape(v);
    let (pixels, c) = (n(s.h * s.w), n(s.c));
    let (scale, shift) = cx.params.affine[&v];
    let (scale, shift) = (n(scale), n(shift));
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::affine::<#pixels, #c>(#src, w.ptr(#scale), w.ptr(#shift), #dst); }
}

fn global_avg_pool(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let s = cx.shape(node.inputs[0]);
    let (pixels, c) = (n(s.h * s.w), n(s.c));
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::global_avg_pool::<#pixels, #c>(#src, #dst); }
}

fn softmax(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let s = cx.shape(group.first());
    let (pixels, c) = (n(s.h * s.w), n(s.c));
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::softmax::<#pixels, #c>(#src, #dst); }
}

fn pad(cx: &StepCtx<'_>, group: &Group) -> TokenStream {
    let node = cx.graph.node(group.first());
    let Op::Pad(p) = node.op else { unreachable!() };
    let s = cx.shape(node.inputs[0]);
    let [h, w, c, t, l, b, r] = [s.h, s.w, s.c, p.top, p.left, p.bottom, p.right].map(n);
    let (src, dst) = (cx.ptr(node.inputs[0]), cx.out(group));
    quote! { rt::other::pad::<#h, #w, #c, #t, #l, #b, #r>(#src, #dst); }
}
