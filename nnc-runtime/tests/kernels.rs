//! Each convolution kernel configuration, dense and depthwise, on the portable and the AVX2 path,
//! against the reference interpreter running the same layers (conv, then the activation and
//! max-pool it fuses).

use nnc_runtime::ir::testing::{Rng, random_input, random_weights};
use nnc_runtime::ir::{Dtype, Model, Shape, ValueId, WeightRole, parse_graph};
use nnc_runtime::kernels::{ConvPtrs, act, layout, simd};
use nnc_runtime::{Interpreter, Tensor};
use std::io::Write as _;

/// One convolution: input size, channels, window (rows and columns each), groups, fused pool.
#[derive(Clone, Copy)]
struct Layer {
    h: usize,
    w: usize,
    ci: usize,
    co: usize,
    k: (usize, usize),
    st: (usize, usize),
    p: (usize, usize),
    d: (usize, usize),
    groups: usize,
    pk: usize,
}

impl Layer {
    /// A stride-1 3x3 layer padded by `p` on every side, the shape Winograd takes, with a fused
    /// `pk x pk` max-pool (1: none).
    fn winograd(h: usize, w: usize, ci: usize, co: usize, p: usize, pk: usize) -> Layer {
        Layer {
            h,
            w,
            ci,
            co,
            k: (3, 3),
            st: (1, 1),
            p: (p, p),
            d: (1, 1),
            groups: 1,
            pk,
        }
    }
}

/// A pair of window arguments as the description writes them: `3`, or `1x3` where they differ.
fn pair_arg((r, c): (usize, usize)) -> String {
    if r == c {
        r.to_string()
    } else {
        format!("{r}x{c}")
    }
}

/// The window's packed geometry, as the generated code gives it to the kernels.
const fn geometry(
    k: (usize, usize),
    st: (usize, usize),
    p: (usize, usize),
    d: (usize, usize),
) -> u64 {
    nnc_runtime::kernels::Geometry {
        kh: k.0,
        kw: k.1,
        sh: st.0,
        sw: st.1,
        ph: p.0,
        pw: p.1,
        dh: d.0,
        dw: d.1,
    }
    .pack()
}

/// `(r, c)` from a macro argument written `3` or `(1, 3)`, and `(1, 1)` from nothing.
macro_rules! pair {
    () => {
        (1, 1)
    };
    (($r:literal, $c:literal)) => {
        ($r, $c)
    };
    ($v:literal) => {
        ($v, $v)
    };
}

/// The description of `l` with activation `act_op` ("" for none) and its fused max-pool;
/// depthwise when `ci == co == groups`.
fn layer_src(l: Layer, act_op: &str) -> String {
    let mut src = format!(
        "x = input(channels={})\nc = conv(x, out={}, k={}, stride={}, pad={}, dilation={}, groups={})\n",
        l.ci,
        l.co,
        pair_arg(l.k),
        pair_arg(l.st),
        pair_arg(l.p),
        pair_arg(l.d),
        l.groups
    );
    let mut last = "c";
    if !act_op.is_empty() {
        src.push_str(&format!("a = {act_op}(c)\n"));
        last = "a";
    }
    if l.pk > 1 {
        src.push_str(&format!("m = maxpool({last}, k={})\n", l.pk));
        last = "m";
    }
    src.push_str(&format!("output {last}\n"));
    src
}

/// Packed weights and the interpreter's answer for one configuration.
struct Case {
    input: Vec<f32>,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    alpha: Vec<f32>,
    expect: Tensor,
}

/// The layer's model, with random weights seeded by its sizes.
fn model_of(l: Layer, act_op: &str) -> (Model, Rng) {
    let src = layer_src(l, act_op);
    let graph = parse_graph(&src, "k.nnc".as_ref()).unwrap();
    let window = l.k.0 + l.st.0 + l.p.0 + 17 * (l.k.1 + l.st.1 + l.p.1) + 29 * (l.d.0 + l.d.1);
    let seed = l.h * 31 + l.w * 7 + l.ci * 5 + l.co * 3 + window + l.pk;
    let mut rng = Rng::new(seed as u64);
    let bytes = random_weights(&graph, &mut rng, Dtype::F32);
    let model = Model::from_sources(&src, "k.nnc".as_ref(), &bytes, "k.st".as_ref()).unwrap();
    (model, rng)
}

fn case(l: Layer, act_op: &str) -> Case {
    let (model, mut rng) = model_of(l, act_op);
    let (h, w, ci, co) = (l.h, l.w, l.ci, l.co);
    let conv = ValueId(1);
    let kernel = model.weights.role(conv, WeightRole::Kernel).unwrap();
    let bias = model.weights.role(conv, WeightRole::Bias).unwrap();
    let alpha = if act_op == "prelu" {
        model.weights.of(ValueId(2))[0].data.clone()
    } else {
        vec![0.0; co]
    };
    let input = random_input(&mut rng, h, w, ci);
    let taps = l.k.0 * l.k.1;
    let kernel = if l.groups > 1 {
        layout::depthwise_kernel(&kernel.data, co, taps)
    } else {
        layout::conv_kernel(&kernel.data, co, ci, taps)
    };
    let bias = layout::channel_vector(&bias.data);
    let expect = Interpreter::new(model.clone())
        .run(&Tensor::from_vec(Shape { h, w, c: ci }, input.clone()))
        .unwrap()
        .heads
        .remove(0)
        .1;
    Case {
        input,
        kernel,
        bias,
        alpha: layout::channel_vector(&alpha),
        expect,
    }
}

fn compare(got: &[f32], expect: &Tensor, what: &str) {
    assert_eq!(got.len(), expect.data.len(), "{what}");
    for (i, (g, e)) in got.iter().zip(&expect.data).enumerate() {
        assert!(
            (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{what}: element {i}: {g} vs {e}"
        );
    }
}

/// Runs one kernel call on `c` into a fresh output with a guard band after it, checks that nothing
/// was written past the output (partial vectors are stored through masks), and compares the output
/// with the interpreter's.
fn check_path(c: &Case, what: &str, kernel: impl FnOnce(ConvPtrs)) {
    let len = c.expect.data.len();
    let mut out = vec![f32::NAN; len + 64];
    kernel(ConvPtrs {
        input: c.input.as_ptr(),
        kernel: c.kernel.as_ptr(),
        bias: c.bias.as_ptr(),
        alpha: c.alpha.as_ptr(),
        output: out.as_mut_ptr(),
        scratch: core::ptr::null_mut(),
    });
    assert!(
        out[len..].iter().all(|x| x.is_nan()),
        "{what}: a write past the output"
    );
    compare(&out[..len], &c.expect, what);
}

/// Called where this CPU cannot run the AVX2 path. A failure under `NNC_REQUIRE_AVX2=1`, which
/// `.ci/run` sets because its machines have AVX2 and FMA; elsewhere a note written straight to
/// stderr, since the harness hides what `eprintln!` prints in a passing test.
fn avx2_path_skipped() {
    assert!(
        std::env::var_os("NNC_REQUIRE_AVX2").is_none_or(|v| v != "1"),
        "NNC_REQUIRE_AVX2=1, but this CPU lacks AVX2+FMA: the AVX2 path was not tested"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED avx2 path: this CPU lacks AVX2+FMA"
    );
}

/// One test per configuration, running both paths.
macro_rules! conv_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal k=$k:tt st=$st:tt p=$p:tt $act:ident $act_op:literal pk=$pk:literal $(d=$d:tt)?) => {
        #[test]
        fn $name() {
            const COB: usize = layout::vectors($co);
            // As `nnc!` sizes the blocks: streamed weights take more pixels a block.
            const TAPS: usize = pair!($k).0 * pair!($k).1;
            const NPX: usize = if $pk > 1 {
                $pk * $pk
            } else {
                layout::direct_pixels_per_block(16, 8, COB, TAPS, ($h, $w))
            };
            let layer = Layer {
                h: $h,
                w: $w,
                ci: $ci,
                co: $co,
                k: pair!($k),
                st: pair!($st),
                p: pair!($p),
                d: pair!($($d)?),
                groups: 1,
                pk: $pk,
            };
            const G: u64 = geometry(pair!($k), pair!($st), pair!($p), pair!($($d)?));
            // The portable path's blocks are sized for its target's registers, as `nnc!` sizes
            // them (eight vectors on x86_64 without AVX, so its chunked and one-vector pooled
            // blocks are tested here beside the AVX2 path's).
            const PORTABLE_NPX: usize = if $pk > 1 {
                $pk * $pk
            } else {
                layout::direct_pixels_per_block(simd::PORTABLE_REGISTERS, 8, COB, TAPS, ($h, $w))
            };
            let c = case(layer, $act_op);
            check_path(&c, "portable", |p| unsafe {
                nnc_runtime::kernels::conv_portable::<
                    $h,
                    $w,
                    $ci,
                    $co,
                    COB,
                    G,
                    { act::$act },
                    $pk,
                    PORTABLE_NPX,
                >(p)
            });
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx2_fma() {
                check_path(&c, "avx2", |p| unsafe {
                    nnc_runtime::kernels::conv_avx2::<
                        $h,
                        $w,
                        $ci,
                        $co,
                        COB,
                        G,
                        { act::$act },
                        $pk,
                        NPX,
                    >(p)
                });
            } else {
                avx2_path_skipped();
            }
            #[cfg(not(target_arch = "x86_64"))]
            avx2_path_skipped();
        }
    };
}

conv_case!(first_layer_3_channels: 17 x 23, ci=3 co=16 k=3 st=1 p=1 RELU "relu" pk=1);
conv_case!(strided_prelu: 16 x 15, ci=3 co=16 k=3 st=2 p=1 PRELU "prelu" pk=1);
conv_case!(fused_relu_pool: 20 x 18, ci=8 co=16 k=3 st=1 p=1 RELU "relu" pk=2);
conv_case!(fused_pool_odd_sizes: 13 x 11, ci=5 co=12 k=3 st=1 p=0 NONE "" pk=2);
conv_case!(pointwise_many_channels: 9 x 10, ci=32 co=40 k=1 st=1 p=0 NONE "" pk=1);
conv_case!(head_sigmoid_one_channel: 7 x 9, ci=16 co=1 k=1 st=1 p=0 SIGMOID "sigmoid" pk=1);
conv_case!(wide_kernel_big_padding: 6 x 7, ci=4 co=8 k=5 st=1 p=2 RELU "relu" pk=1);
conv_case!(padding_beyond_the_input: 3 x 4, ci=2 co=9 k=5 st=2 p=3 NONE "" pk=1);
conv_case!(even_kernel: 8 x 8, ci=3 co=24 k=2 st=2 p=0 PRELU "prelu" pk=1);
// Five and six output vectors: computed two vectors (and a last one) at a time, six pixels a block.
conv_case!(chunked_48_channels: 9 x 14, ci=8 co=48 k=3 st=1 p=1 RELU "relu" pk=1);
conv_case!(chunked_odd_vectors_prelu: 7 x 13, ci=5 co=37 k=3 st=2 p=1 PRELU "prelu" pk=1);
// Wide layers on small maps (a ResNet's last stages): channel chunks outside, pixel blocks
// taken across rows, and a last block of 1 to 5 pixels.
conv_case!(wide_small_map_odd_vectors: 4 x 4, ci=64 co=72 k=3 st=1 p=1 RELU "relu" pk=1);
conv_case!(wide_strided_to_one_pixel: 4 x 4, ci=40 co=48 k=3 st=2 p=0 PRELU "prelu" pk=1);
conv_case!(wide_three_by_three_map: 3 x 3, ci=24 co=56 k=3 st=1 p=1 NONE "" pk=1);
conv_case!(blocks_across_rows: 5 x 7, ci=8 co=48 k=3 st=1 p=1 RELU "relu" pk=1);
// Maps smaller than a block, all pixels at once and several vectors a block, with leftovers.
conv_case!(tiny_one_pixel_nine_vectors: 4 x 4, ci=16 co=72 k=3 st=2 p=0 RELU "relu" pk=1);
conv_case!(tiny_two_pixels_five_vectors: 3 x 5, ci=8 co=40 k=3 st=2 p=0 PRELU "prelu" pk=1);
conv_case!(tiny_three_pixels_six_vectors: 3 x 7, ci=8 co=48 k=3 st=2 p=0 NONE "" pk=1);
conv_case!(tiny_four_pixels_seven_vectors: 4 x 4, ci=8 co=56 k=3 st=2 p=1 RELU "relu" pk=1);
// Few weights over a big map: pixel blocks outside.
conv_case!(pixels_outside_for_a_big_map: 24 x 20, ci=2 co=40 k=1 st=1 p=0 RELU "relu" pk=1);
conv_case!(fused_pool_3: 14 x 16, ci=4 co=8 k=3 st=1 p=1 SIGMOID "sigmoid" pk=3);
conv_case!(single_pixel_output: 3 x 3, ci=7 co=5 k=3 st=1 p=0 RELU "relu" pk=1);
conv_case!(fused_pool_in_channel_chunks: 12 x 10, ci=8 co=32 k=3 st=1 p=1 RELU "relu" pk=2);
conv_case!(fused_pool_chunks_with_a_partial_tail: 9 x 11, ci=5 co=20 k=3 st=1 p=1 PRELU "prelu" pk=2);
conv_case!(fused_pool_five_vectors: 8 x 8, ci=3 co=40 k=3 st=2 p=1 SIGMOID "sigmoid" pk=2);
// Windows that differ by axis: 1x3 and 3x1 kernels (Inception, UltraFace), unequal strides and
// padding, dilated taps (padding that grows with the dilation), and a fused pool after them.
conv_case!(one_by_three: 9 x 13, ci=5 co=16 k=(1, 3) st=1 p=(0, 1) RELU "relu" pk=1);
conv_case!(three_by_one_chunked: 11 x 7, ci=8 co=40 k=(3, 1) st=1 p=(1, 0) PRELU "prelu" pk=1);
conv_case!(unequal_strides: 13 x 17, ci=3 co=24 k=3 st=(2, 1) p=1 RELU "relu" pk=1);
conv_case!(dilated_2: 15 x 14, ci=6 co=16 k=3 st=1 p=2 RELU "relu" pk=1 d=2);
conv_case!(dilated_by_axis_strided: 17 x 19, ci=4 co=12 k=3 st=(1, 2) p=(3, 1) NONE "" pk=1 d=(3, 1));
conv_case!(rectangular_wide_small_map: 4 x 5, ci=32 co=72 k=(1, 3) st=1 p=(0, 1) RELU "relu" pk=1);
conv_case!(rectangular_fused_pool: 12 x 14, ci=5 co=16 k=(3, 5) st=1 p=(1, 2) RELU "relu" pk=2);

/// One depthwise test per configuration, running both paths.
macro_rules! depthwise_case {
    ($name:ident: $h:literal x $w:literal, c=$c:literal k=$k:tt st=$st:tt p=$p:tt $act:ident $act_op:literal pk=$pk:literal $(d=$d:tt)?) => {
        #[test]
        fn $name() {
            const CB: usize = layout::vectors($c);
            const NPX: usize = layout::depthwise_pixels_per_block($pk);
            let layer = Layer {
                h: $h,
                w: $w,
                ci: $c,
                co: $c,
                k: pair!($k),
                st: pair!($st),
                p: pair!($p),
                d: pair!($($d)?),
                groups: $c,
                pk: $pk,
            };
            const G: u64 = geometry(pair!($k), pair!($st), pair!($p), pair!($($d)?));
            let c = case(layer, $act_op);
            check_path(&c, "portable", |p| unsafe {
                nnc_runtime::kernels::depthwise_portable::<
                    $h,
                    $w,
                    $c,
                    CB,
                    G,
                    { act::$act },
                    $pk,
                    NPX,
                >(p)
            });
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx2_fma() {
                check_path(&c, "avx2", |p| unsafe {
                    nnc_runtime::kernels::depthwise_avx2::<
                        $h,
                        $w,
                        $c,
                        CB,
                        G,
                        { act::$act },
                        $pk,
                        NPX,
                    >(p)
                });
            } else {
                avx2_path_skipped();
            }
            #[cfg(not(target_arch = "x86_64"))]
            avx2_path_skipped();
        }
    };
}

depthwise_case!(depthwise_3x3_relu: 20 x 27, c=16 k=3 st=1 p=1 RELU "relu" pk=1);
depthwise_case!(depthwise_strided_prelu: 17 x 22, c=32 k=3 st=2 p=1 PRELU "prelu" pk=1);
// Channels not a multiple of eight: the last vector is read and written through a lane mask.
depthwise_case!(depthwise_partial_vector: 9 x 21, c=13 k=3 st=1 p=1 NONE "" pk=1);
depthwise_case!(depthwise_one_channel_wide_kernel: 8 x 11, c=1 k=5 st=1 p=2 SIGMOID "sigmoid" pk=1);
depthwise_case!(depthwise_no_padding: 10 x 12, c=8 k=3 st=1 p=0 RELU "relu" pk=1);
depthwise_case!(depthwise_padding_beyond_the_input: 3 x 4, c=5 k=5 st=2 p=3 NONE "" pk=1);
depthwise_case!(depthwise_pointwise_kernel: 5 x 19, c=24 k=1 st=1 p=0 RELU "relu" pk=1);
// A fused max-pool: two 2x2 windows per block, a row whose last block is partial (an odd count of
// pooled pixels, and an odd unpooled width whose last column no window reads), and padding.
depthwise_case!(depthwise_fused_pool: 14 x 21, c=16 k=3 st=1 p=1 RELU "relu" pk=2);
depthwise_case!(depthwise_fused_pool_partial_vector: 11 x 13, c=10 k=3 st=1 p=1 PRELU "prelu" pk=2);
depthwise_case!(depthwise_fused_pool_3_strided: 19 x 20, c=5 k=3 st=2 p=1 SIGMOID "sigmoid" pk=3);
depthwise_case!(depthwise_one_by_five: 9 x 17, c=12 k=(1, 5) st=(1, 2) p=(0, 2) RELU "relu" pk=1);
depthwise_case!(depthwise_dilated: 16 x 15, c=16 k=3 st=1 p=2 PRELU "prelu" pk=1 d=2);
depthwise_case!(depthwise_dilated_pool: 14 x 18, c=8 k=3 st=1 p=(2, 3) NONE "" pk=2 d=(2, 3));

/// Called where this CPU cannot run the AVX-512 path: a failure under `NNC_REQUIRE_AVX512=1`,
/// else a note on stderr (the project machine, an AMD EPYC, has no AVX-512).
fn avx512_path_skipped() {
    assert!(
        std::env::var_os("NNC_REQUIRE_AVX512").is_none_or(|v| v != "1"),
        "NNC_REQUIRE_AVX512=1, but this CPU lacks AVX-512F: the AVX-512 path was not tested"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED avx512 path: this CPU lacks AVX-512F"
    );
}

/// One pointwise (1x1 as a matrix product) test per configuration, at eight lanes (portable and
/// AVX2) and at sixteen (AVX-512), each with its own register block.
macro_rules! pointwise_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal $act:ident $act_op:literal) => {
        #[test]
        fn $name() {
            const PIX: usize = $h * $w;
            const COP: usize = layout::vectors($co) * 8;
            // The blocks the generated code takes on each path: the portable one sized for the
            // target's registers (eight vectors on x86_64, so fewer output vectors a block).
            const BP: (usize, usize) =
                layout::pointwise_block(8, nnc_runtime::kernels::simd::PORTABLE_REGISTERS, COP);
            const B8: (usize, usize) = layout::pointwise_block(8, 16, COP);
            const B16: (usize, usize) = layout::pointwise_block(16, 32, COP);
            let layer = Layer {
                h: $h,
                w: $w,
                ci: $ci,
                co: $co,
                k: (1, 1),
                st: (1, 1),
                p: (0, 0),
                d: (1, 1),
                groups: 1,
                pk: 1,
            };
            let c = case(layer, $act_op);
            use nnc_runtime::kernels as k;
            check_path(&c, "portable", |p| unsafe {
                k::pointwise_portable::<PIX, $ci, $co, COP, { act::$act }, { BP.0 }, { BP.1 }>(p)
            });
            #[cfg(target_arch = "x86_64")]
            if k::simd::has_avx2_fma() {
                check_path(&c, "avx2", |p| unsafe {
                    k::pointwise_avx2::<PIX, $ci, $co, COP, { act::$act }, { B8.0 }, { B8.1 }>(p)
                });
            } else {
                avx2_path_skipped();
            }
            #[cfg(target_arch = "x86_64")]
            if k::simd::has_avx512() {
                check_path(&c, "avx512", |p| unsafe {
                    k::pointwise_avx512::<PIX, $ci, $co, COP, { act::$act }, { B16.0 }, { B16.1 }>(
                        p,
                    )
                });
            } else {
                avx512_path_skipped();
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                avx2_path_skipped();
                avx512_path_skipped();
            }
        }
    };
}

// YuNet's shapes: 64 channels are one chunk of four sixteen-lane vectors.
pointwise_case!(pointwise_64_to_64: 15 x 20, ci=64 co=64 NONE "");
// 16 channels: one vector at sixteen lanes, two at eight.
pointwise_case!(pointwise_16_relu: 9 x 31, ci=16 co=16 RELU "relu");
// Eight-padded channels that end in the middle of a sixteen-lane vector, read through a mask, and
// outputs that are not whole vectors at all; pixels that are not a whole number of blocks.
pointwise_case!(pointwise_partial_vectors: 7 x 11, ci=5 co=13 RELU "relu");
pointwise_case!(pointwise_single_output: 6 x 5, ci=24 co=1 NONE "");
// More than one chunk: 80 channels are 64 + 16 at sixteen lanes, 32 + 32 + 16 at eight.
pointwise_case!(pointwise_two_chunks: 4 x 13, ci=32 co=80 RELU "relu");

/// A depthwise configuration at sixteen lanes (AVX-512, where ReLU or no activation is fused):
/// `CB` counts sixteen-lane vectors over weights padded to eight.
macro_rules! depthwise_avx512_case {
    ($name:ident: $h:literal x $w:literal, c=$c:literal k=$k:tt st=$st:tt p=$p:tt $act:ident $act_op:literal pk=$pk:literal $(d=$d:tt)?) => {
        #[test]
        fn $name() {
            let layer = Layer {
                h: $h,
                w: $w,
                ci: $c,
                co: $c,
                k: pair!($k),
                st: pair!($st),
                p: pair!($p),
                d: pair!($($d)?),
                groups: $c,
                pk: $pk,
            };
            const G: u64 = geometry(pair!($k), pair!($st), pair!($p), pair!($($d)?));
            let c = case(layer, $act_op);
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx512() {
                const CB: usize = ($c as usize).div_ceil(16);
                const NPX: usize = layout::depthwise_pixels_per_block($pk);
                check_path(&c, "avx512", |p| unsafe {
                    nnc_runtime::kernels::depthwise_avx512::<
                        $h,
                        $w,
                        $c,
                        CB,
                        G,
                        { act::$act },
                        $pk,
                        NPX,
                    >(p)
                });
            } else {
                avx512_path_skipped();
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = c;
                avx512_path_skipped();
            }
        }
    };
}

depthwise_avx512_case!(depthwise_avx512_64: 20 x 27, c=64 k=3 st=1 p=1 RELU "relu" pk=1);
// Channels that end in the eight-lane padding of a sixteen-lane vector, and in neither.
depthwise_avx512_case!(depthwise_avx512_partial: 9 x 21, c=24 k=3 st=1 p=1 NONE "" pk=1);
depthwise_avx512_case!(depthwise_avx512_odd: 8 x 11, c=13 k=5 st=2 p=2 RELU "relu" pk=1);
depthwise_avx512_case!(depthwise_avx512_fused_pool: 14 x 21, c=16 k=3 st=1 p=1 RELU "relu" pk=2);
depthwise_avx512_case!(depthwise_avx512_pool_partial: 11 x 13, c=10 k=3 st=1 p=1 NONE "" pk=2);
depthwise_avx512_case!(depthwise_avx512_rectangular: 10 x 12, c=24 k=(3, 1) st=(2, 1) p=(1, 0) RELU "relu" pk=1);
depthwise_avx512_case!(depthwise_avx512_dilated: 13 x 14, c=32 k=3 st=1 p=3 RELU "relu" pk=1 d=3);

/// A dense configuration at sixteen lanes (AVX-512, where ReLU or no activation is fused): `COB`
/// counts sixteen-lane vectors over weights padded to eight, and blocks are sized for 32
/// registers.
macro_rules! conv_avx512_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal k=$k:tt st=$st:tt p=$p:tt $act:ident $act_op:literal pk=$pk:literal $(d=$d:tt)?) => {
        #[test]
        fn $name() {
            let layer = Layer {
                h: $h,
                w: $w,
                ci: $ci,
                co: $co,
                k: pair!($k),
                st: pair!($st),
                p: pair!($p),
                d: pair!($($d)?),
                groups: 1,
                pk: $pk,
            };
            const G: u64 = geometry(pair!($k), pair!($st), pair!($p), pair!($($d)?));
            let c = case(layer, $act_op);
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx512() {
                const COB: usize = ($co as usize).div_ceil(16);
                const NPX: usize = if $pk > 1 {
                    layout::pooled_pixels_per_block_in(32, $pk, COB)
                } else {
                    layout::direct_pixels_per_block(32, 16, COB, pair!($k).0 * pair!($k).1, ($h, $w))
                };
                check_path(&c, "avx512", |p| unsafe {
                    nnc_runtime::kernels::conv_avx512::<
                        $h,
                        $w,
                        $ci,
                        $co,
                        COB,
                        G,
                        { act::$act },
                        $pk,
                        NPX,
                    >(p)
                });
            } else {
                avx512_path_skipped();
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = c;
                avx512_path_skipped();
            }
        }
    };
}

conv_avx512_case!(avx512_first_layer: 17 x 23, ci=3 co=16 k=3 st=1 p=1 RELU "relu" pk=1);
conv_avx512_case!(avx512_strided: 16 x 15, ci=3 co=16 k=3 st=2 p=1 NONE "" pk=1);
conv_avx512_case!(avx512_fused_pool: 20 x 18, ci=8 co=16 k=3 st=1 p=1 RELU "relu" pk=2);
// 12 and 24 channels: a vector that ends in the eight-lane padding, loaded through a mask.
conv_avx512_case!(avx512_pool_half_vector: 13 x 11, ci=5 co=12 k=3 st=1 p=0 NONE "" pk=2);
conv_avx512_case!(avx512_half_vector: 9 x 10, ci=7 co=24 k=3 st=1 p=1 RELU "relu" pk=1);
conv_avx512_case!(avx512_even_kernel: 8 x 8, ci=3 co=24 k=2 st=2 p=0 RELU "relu" pk=1);
conv_avx512_case!(avx512_wide_kernel: 6 x 7, ci=4 co=8 k=5 st=1 p=2 RELU "relu" pk=1);
conv_avx512_case!(avx512_padding_beyond: 3 x 4, ci=2 co=9 k=5 st=2 p=3 NONE "" pk=1);
// 48 and 64 channels: three and four vectors, one block.
conv_avx512_case!(avx512_48_channels: 9 x 14, ci=8 co=48 k=3 st=1 p=1 RELU "relu" pk=1);
conv_avx512_case!(avx512_64_channels_pooled: 10 x 12, ci=8 co=64 k=3 st=1 p=1 RELU "relu" pk=2);
// Five vectors and more: chunks of two, across rows, channel chunks outside, tiny maps.
conv_avx512_case!(avx512_chunked_72: 7 x 13, ci=5 co=72 k=3 st=2 p=1 RELU "relu" pk=1);
conv_avx512_case!(avx512_wide_small_map: 4 x 4, ci=64 co=136 k=3 st=1 p=1 RELU "relu" pk=1);
conv_avx512_case!(avx512_one_pixel: 4 x 4, ci=16 co=144 k=3 st=2 p=0 RELU "relu" pk=1);
conv_avx512_case!(avx512_three_pixels: 3 x 7, ci=8 co=104 k=3 st=2 p=0 NONE "" pk=1);
conv_avx512_case!(avx512_pixels_outside: 24 x 20, ci=2 co=88 k=1 st=1 p=0 RELU "relu" pk=1);
conv_avx512_case!(avx512_pool_chunks_partial: 9 x 11, ci=5 co=40 k=3 st=1 p=1 RELU "relu" pk=2);
conv_avx512_case!(avx512_pool_3: 14 x 16, ci=4 co=8 k=3 st=1 p=1 NONE "" pk=3);
// Two pooling windows a block: an odd count of windows in a row (the last block has one), padding
// on both sides, and an unpooled width whose last column no window reads.
conv_avx512_case!(avx512_two_windows_odd_row: 11 x 13, ci=3 co=16 k=3 st=1 p=1 RELU "relu" pk=2);
conv_avx512_case!(avx512_two_windows_two_vectors: 10 x 14, ci=16 co=32 k=3 st=1 p=1 RELU "relu" pk=2);
conv_avx512_case!(avx512_two_windows_strided: 20 x 23, ci=3 co=24 k=3 st=2 p=1 NONE "" pk=2);
conv_avx512_case!(avx512_one_by_three: 9 x 13, ci=5 co=40 k=(1, 3) st=1 p=(0, 1) RELU "relu" pk=1);
conv_avx512_case!(avx512_three_by_one_strided: 11 x 9, ci=16 co=24 k=(3, 1) st=(2, 1) p=(1, 0) NONE "" pk=1);
conv_avx512_case!(avx512_dilated: 15 x 14, ci=6 co=32 k=3 st=1 p=2 RELU "relu" pk=1 d=2);
conv_avx512_case!(avx512_dilated_pooled: 14 x 16, ci=4 co=16 k=3 st=1 p=(2, 1) RELU "relu" pk=2 d=(2, 1));

/// Runs a Winograd kernel call on `c`, with its weights transformed by `g` and a scratch of the
/// size the plan reserves, filled with NaN so that a read of scratch the kernel did not write
/// shows in its output (a pooled F(4x4, 3x3) layer's staged rows included). Where the plan would
/// run the layer in place (`plan::winograd_in_place`, a pooled layer), it runs again with the
/// output written over the start of the input's buffer, as the arena then holds them.
fn check_winograd(
    c: &Case,
    g: &[[f64; 3]],
    oihw: &[f32],
    l: Layer,
    what: &str,
    kernel: impl Fn(ConvPtrs),
) {
    let u = layout::winograd_kernel_with(oihw, l.co, l.ci, g);
    let m = g.len() - 2;
    let len = if l.pk == 2 {
        let pw = (l.w + 2 * l.p.1 - 2) / 2;
        nnc_runtime::ir::plan::winograd_pooled_scratch(m, l.ci, l.co, pw)
    } else {
        nnc_runtime::ir::plan::winograd_scratch(m, l.ci, l.co)
    };
    let mut scratch = vec![f32::NAN; len];
    let transformed = Case {
        input: c.input.clone(),
        kernel: u,
        bias: c.bias.clone(),
        alpha: c.alpha.clone(),
        expect: c.expect.clone(),
    };
    check_path(&transformed, what, |mut p| {
        p.scratch = scratch.as_mut_ptr();
        kernel(p)
    });
    if l.pk == 2 && nnc_runtime::ir::plan::winograd_in_place(m, l.h, l.w, l.p.0, l.ci, l.co) {
        let len = c.expect.data.len();
        let mut shared = c.input.clone();
        shared.resize(shared.len().max(len), f32::NAN);
        kernel(ConvPtrs {
            input: shared.as_ptr(),
            kernel: transformed.kernel.as_ptr(),
            bias: c.bias.as_ptr(),
            alpha: c.alpha.as_ptr(),
            output: shared.as_mut_ptr(),
            scratch: scratch.as_mut_ptr(),
        });
        compare(&shared[..len], &c.expect, &format!("{what}, in place"));
    }
}

/// One Winograd configuration (F(2x2, 3x3) with `m=2`, F(4x4, 3x3) with `m=4`) on every path,
/// against the interpreter's direct convolution.
macro_rules! winograd_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal p=$p:literal $act:ident $act_op:literal pk=$pk:literal m=$m:literal) => {
        #[test]
        fn $name() {
            let layer = Layer::winograd($h, $w, $ci, $co, $p, $pk);
            let c = case(layer, $act_op);
            let oihw = oihw_of(layer, $act_op);
            let g = layout::winograd_g($m);
            const PORTABLE: (usize, usize) =
                layout::winograd_block(8, simd::PORTABLE_REGISTERS, $co);
            const B8: (usize, usize) = layout::winograd_block(8, 16, $co);
            const B16: (usize, usize) = layout::winograd_block(16, 32, $co);
            check_winograd(&c, g, &oihw, layer, "portable", |p| unsafe {
                nnc_runtime::kernels::winograd_portable::<
                    $h,
                    $w,
                    $ci,
                    $co,
                    $p,
                    $m,
                    { act::$act },
                    $pk,
                    { PORTABLE.0 },
                    { PORTABLE.1 },
                >(p)
            });
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx2_fma() {
                check_winograd(&c, g, &oihw, layer, "avx2", |p| unsafe {
                    nnc_runtime::kernels::winograd_avx2::<
                        $h,
                        $w,
                        $ci,
                        $co,
                        $p,
                        $m,
                        { act::$act },
                        $pk,
                        { B8.0 },
                        { B8.1 },
                    >(p)
                });
            } else {
                avx2_path_skipped();
            }
            #[cfg(target_arch = "x86_64")]
            if nnc_runtime::kernels::simd::has_avx512() {
                check_winograd(&c, g, &oihw, layer, "avx512", |p| unsafe {
                    nnc_runtime::kernels::winograd_avx512::<
                        $h,
                        $w,
                        $ci,
                        $co,
                        $p,
                        $m,
                        { act::$act },
                        $pk,
                        { B16.0 },
                        { B16.1 },
                    >(p)
                });
            } else {
                avx512_path_skipped();
            }
        }
    };
}

/// The `[out, in, 3, 3]` kernel of the case `case(l, act_op)` builds, as the interpreter reads it.
fn oihw_of(l: Layer, act_op: &str) -> Vec<f32> {
    let (model, _) = model_of(l, act_op);
    model
        .weights
        .role(ValueId(1), WeightRole::Kernel)
        .unwrap()
        .data
        .clone()
}

// Odd sizes (tiles past the edge), channels not multiples of eight or sixteen, padding 0 and 1,
// tile blocks across rows and a last partial block.
winograd_case!(winograd_embedding_like: 11 x 13, ci=32 co=32 p=1 RELU "relu" pk=1 m=2);
winograd_case!(winograd_odd_channels: 9 x 7, ci=13 co=20 p=1 NONE "" pk=1 m=2);
winograd_case!(winograd_no_padding: 10 x 9, ci=16 co=24 p=0 RELU "relu" pk=1 m=2);
winograd_case!(winograd_wide: 6 x 5, ci=40 co=72 p=1 RELU "relu" pk=1 m=2);
winograd_case!(winograd_fused_pool: 12 x 10, ci=16 co=16 p=1 RELU "relu" pk=2 m=2);
winograd_case!(winograd_fused_pool_odd: 9 x 11, ci=5 co=48 p=1 NONE "" pk=2 m=2);
winograd_case!(winograd_one_tile: 3 x 3, ci=8 co=8 p=0 NONE "" pk=1 m=2);
// Pooled, unpadded and odd-sized, several blocks a row: also run in place.
winograd_case!(winograd_fused_pool_unpadded: 13 x 15, ci=24 co=24 p=0 RELU "relu" pk=2 m=2);
// F(4x4, 3x3): sizes that are no multiple of four (tiles past the bottom and right edges, by one
// to three pixels), channels not multiples of eight, padding 0 and 1, pools whose last window
// row or column is cut, one tile, and the embedding's 17x17 and 8x8 maps.
winograd_case!(winograd4_embedding_like: 17 x 17, ci=64 co=64 p=1 RELU "relu" pk=1 m=4);
winograd_case!(winograd4_odd_channels: 9 x 7, ci=13 co=20 p=1 NONE "" pk=1 m=4);
winograd_case!(winograd4_no_padding: 11 x 10, ci=16 co=24 p=0 RELU "relu" pk=1 m=4);
winograd_case!(winograd4_wide: 8 x 8, ci=40 co=72 p=1 RELU "relu" pk=1 m=4);
winograd_case!(winograd4_fused_pool: 12 x 10, ci=16 co=16 p=1 RELU "relu" pk=2 m=4);
winograd_case!(winograd4_fused_pool_odd: 9 x 11, ci=5 co=48 p=1 NONE "" pk=2 m=4);
winograd_case!(winograd4_fused_pool_unpadded: 13 x 15, ci=24 co=24 p=0 RELU "relu" pk=2 m=4);
winograd_case!(winograd4_one_tile: 6 x 6, ci=8 co=8 p=0 NONE "" pk=1 m=4);
// One tile row, all of it staged: two pooled rows, then one (the second pooled row not whole).
winograd_case!(winograd4_fused_pool_one_tile_row: 6 x 18, ci=8 co=8 p=0 RELU "relu" pk=2 m=4);
winograd_case!(winograd4_fused_pool_one_pooled_row: 5 x 14, ci=16 co=16 p=0 NONE "" pk=2 m=4);
// Wide enough that the first tile row takes several blocks, and a last tile row cut short.
winograd_case!(winograd4_fused_pool_wide: 11 x 70, ci=16 co=16 p=1 RELU "relu" pk=2 m=4);

/// The pooled cases above that the plan would run in place are run in place too
/// (`check_winograd`); the rule refuses the ones whose outputs would overtake their reads.
#[test]
fn winograd_in_place_rule_on_the_pooled_cases() {
    use nnc_runtime::ir::plan::winograd_in_place;
    for m in [2, 4] {
        assert!(winograd_in_place(m, 12, 10, 1, 16, 16), "fused_pool, m={m}");
        assert!(
            winograd_in_place(m, 13, 15, 0, 24, 24),
            "fused_pool_unpadded, m={m}"
        );
        assert!(
            !winograd_in_place(m, 9, 11, 1, 5, 48),
            "fused_pool_odd, m={m}"
        );
        // The face student's pooled Winograd layers at its largest scale.
        assert!(winograd_in_place(m, 240, 320, 1, 16, 16));
        assert!(winograd_in_place(m, 120, 160, 1, 32, 32));
    }
    assert!(winograd_in_place(4, 6, 18, 0, 8, 8), "one_tile_row");
    assert!(winograd_in_place(4, 5, 14, 0, 16, 16), "one_pooled_row");
    assert!(winograd_in_place(4, 11, 70, 1, 16, 16), "fused_pool_wide");
}

/// What the staging of a pooled F(4x4, 3x3) layer's first tile row is for: without it (its
/// outputs stored as the tiles are done, like every other row), the same layer in place reads
/// pooled outputs where its input was, and fails the numerical check.
#[test]
fn winograd4_in_place_without_the_staged_row_fails_the_check() {
    let layer = Layer::winograd(11, 70, 16, 16, 1, 2);
    let c = case(layer, "relu");
    let oihw = oihw_of(layer, "relu");
    let u = layout::winograd_kernel_with(&oihw, 16, 16, layout::winograd_g(4));
    // The working part of the scratch only: the first tile row's outputs go straight to the
    // output (`winograd_unstaged_for_tests`).
    let mut scratch = vec![f32::NAN; nnc_runtime::ir::plan::winograd_scratch(4, 16, 16)];
    let len = c.expect.data.len();
    let mut shared = c.input.clone();
    shared.resize(shared.len().max(len), f32::NAN);
    const B: (usize, usize) = layout::winograd_block(8, simd::PORTABLE_REGISTERS, 16);
    unsafe {
        nnc_runtime::kernels::winograd_unstaged_for_tests::<
            11,
            70,
            16,
            16,
            1,
            { act::RELU },
            { B.0 },
            { B.1 },
        >(ConvPtrs {
            input: shared.as_ptr(),
            kernel: u.as_ptr(),
            bias: c.bias.as_ptr(),
            alpha: c.alpha.as_ptr(),
            output: shared.as_mut_ptr(),
            scratch: scratch.as_mut_ptr(),
        })
    };
    let worst = shared[..len]
        .iter()
        .zip(&c.expect.data)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(
            0.0f32,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        );
    assert!(
        worst > 1e-2,
        "in place without staging matched the interpreter ({worst})"
    );
}

/// The numerical check can fail: a filter transform with one coefficient wrong (the sign of
/// `G[2][1]`) gives outputs off by far more than the tolerance, for both tile sizes.
#[test]
fn winograd_with_a_wrong_transform_fails_the_check() {
    wrong_transform_fails::<2>();
    wrong_transform_fails::<4>();
}

/// [`winograd_with_a_wrong_transform_fails_the_check`] for tiles of `M`.
fn wrong_transform_fails<const M: usize>() {
    let layer = Layer::winograd(8, 8, 16, 16, 1, 1);
    let c = case(layer, "relu");
    let oihw = oihw_of(layer, "relu");
    const B: (usize, usize) = layout::winograd_block(8, simd::PORTABLE_REGISTERS, 16);
    let mut g = layout::winograd_g(M).to_vec();
    g[2][1] = -g[2][1];
    let wrong = std::panic::catch_unwind(|| {
        check_winograd(&c, &g, &oihw, layer, "portable, wrong G", |p| unsafe {
            nnc_runtime::kernels::winograd_portable::<
                8,
                8,
                16,
                16,
                1,
                M,
                { act::RELU },
                1,
                { B.0 },
                { B.1 },
            >(p)
        })
    });
    assert!(
        wrong.is_err(),
        "a wrong F({M}x{M}, 3x3) transform passed the check"
    );
}

/// On x86_64 the portable path runs on SSE registers (`simd::Portable`) instead of the
/// `[f32; 8]` arrays every other target runs (`simd::Arrays`). The kernels are generic over the
/// vector type, so the two paths agree wherever each operation agrees: checked here bit for bit
/// on random values, on whole and partial loads and stores, so that the arrays, which this
/// machine's kernels no longer run, stay checked too.
#[cfg(target_arch = "x86_64")]
#[test]
fn sse_vectors_match_the_arrays_operation_by_operation() {
    use simd::{Arrays, Portable, Simd};

    fn lanes<S: Simd>(v: S::V) -> [f32; 8] {
        let mut out = [f32::NAN; 8];
        // SAFETY: eight writable f32; both types need nothing beyond x86_64's baseline.
        unsafe { S::store(out.as_mut_ptr(), v) };
        out
    }
    fn ops<S: Simd>(a: &[f32; 8], b: &[f32; 8], c: &[f32; 8], n: usize) -> Vec<[f32; 8]> {
        // SAFETY: as above; partial loads and stores touch `n <= 8` lanes of eight.
        unsafe {
            let (x, y, z) = (
                S::load(a.as_ptr()),
                S::load(b.as_ptr()),
                S::load(c.as_ptr()),
            );
            let mut partial = [-7.0f32; 8];
            S::store_part(partial.as_mut_ptr(), y, n);
            vec![
                lanes::<S>(S::splat(a[3])),
                lanes::<S>(S::load_part(a.as_ptr(), n)),
                partial,
                lanes::<S>(S::fma(x, y, z)),
                lanes::<S>(S::add(x, y)),
                lanes::<S>(S::sub(x, y)),
                lanes::<S>(S::mul(x, y)),
                lanes::<S>(S::max(x, y)),
                lanes::<S>(S::min(x, y)),
            ]
        }
    }
    let mut rng = Rng::new(18);
    for round in 0..200 {
        let mut draw = || -> [f32; 8] { std::array::from_fn(|_| rng.symmetric() * 3.0) };
        let (a, b, c) = (draw(), draw(), draw());
        let n = round % 9;
        let (sse, arrays) = (ops::<Portable>(&a, &b, &c, n), ops::<Arrays>(&a, &b, &c, n));
        for (op, (s, r)) in sse.iter().zip(&arrays).enumerate() {
            let bits = |v: &[f32; 8]| v.map(f32::to_bits);
            assert_eq!(
                bits(s),
                bits(r),
                "operation {op} on {a:?}, {b:?}, {c:?}, n = {n}"
            );
        }
    }
}

/// Runs `kernel` (a pooled convolution's `conv_rows`) for each range of pooled rows in `pieces`,
/// each into an output of its own rows only, with a guard band after it, and compares the rows
/// put together with the interpreter's whole map.
fn check_rows(
    c: &Case,
    (ph, pw, co): (usize, usize, usize),
    pieces: &[(usize, usize)],
    what: &str,
    kernel: impl Fn(ConvPtrs, (usize, usize)),
) {
    let mut whole = Vec::new();
    for &(first, end) in pieces {
        let len = (end.min(ph) - first) * pw * co;
        let mut out = vec![f32::NAN; len + 64];
        kernel(
            ConvPtrs {
                input: c.input.as_ptr(),
                kernel: c.kernel.as_ptr(),
                bias: c.bias.as_ptr(),
                alpha: c.alpha.as_ptr(),
                output: out.as_mut_ptr(),
                scratch: core::ptr::null_mut(),
            },
            (first, end),
        );
        assert!(
            out[len..].iter().all(|x| x.is_nan()),
            "{what}: rows {first}..{end} wrote past their rows"
        );
        whole.extend_from_slice(&out[..len]);
    }
    compare(&whole, &c.expect, &format!("{what}, in pieces of rows"));
}

/// A pooled convolution's rows computed a range at a time (`conv_rows`, what a step run in bands
/// does), ranges of one and several rows, the last reaching past the map, on every path.
#[test]
fn pooled_rows_in_ranges_make_the_whole_map() {
    // 20 x 18 input, 3x3 padded by 1, 2x2 pool: 10 x 9 pooled rows.
    let layer = Layer::winograd(20, 18, 8, 16, 1, 2);
    let c = case(layer, "relu");
    let pieces = [(0, 3), (3, 4), (4, 9), (9, 12)];
    const G: u64 = geometry((3, 3), (1, 1), (1, 1), (1, 1));
    check_rows(&c, (10, 9, 16), &pieces, "portable", |p, rows| unsafe {
        nnc_runtime::kernels::conv_rows_portable::<20, 18, 8, 16, 2, G, { act::RELU }, 2, 4>(
            p, rows,
        )
    });
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        check_rows(&c, (10, 9, 16), &pieces, "avx2", |p, rows| unsafe {
            nnc_runtime::kernels::conv_rows_avx2::<20, 18, 8, 16, 2, G, { act::RELU }, 2, 4>(
                p, rows,
            )
        });
    } else {
        avx2_path_skipped();
    }
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        const NPX: usize = layout::pooled_pixels_per_block_in(32, 2, 1);
        check_rows(&c, (10, 9, 16), &pieces, "avx512", |p, rows| unsafe {
            nnc_runtime::kernels::conv_rows_avx512::<20, 18, 8, 16, 1, G, { act::RELU }, 2, NPX>(
                p, rows,
            )
        });
    } else {
        avx512_path_skipped();
    }
}

/// A Winograd layer's rows a range at a time (`winograd_rows`, a Winograd layer run in bands with
/// the next): tiles that start on the range's first row, whatever its parity, ranges of one
/// row and of several tiles, the last past the map; pooled and not, both tile sizes.
macro_rules! winograd_rows_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal pk=$pk:literal m=$m:literal out=$oh:literal x $ow:literal pieces=$pieces:expr) => {
        #[test]
        fn $name() {
            let layer = Layer::winograd($h, $w, $ci, $co, 1, $pk);
            let c = case(layer, "relu");
            let u = layout::winograd_kernel_with(
                &oihw_of(layer, "relu"),
                $co,
                $ci,
                layout::winograd_g($m),
            );
            let c = Case { kernel: u, ..c };
            let len = nnc_runtime::ir::plan::winograd_scratch($m, $ci, $co);
            let mut scratch = vec![f32::NAN; len];
            let scratch = scratch.as_mut_ptr();
            let pieces: &[(usize, usize)] = &$pieces;
            const PORTABLE: (usize, usize) =
                layout::winograd_block(8, simd::PORTABLE_REGISTERS, $co);
            const B8: (usize, usize) = layout::winograd_block(8, 16, $co);
            const B16: (usize, usize) = layout::winograd_block(16, 32, $co);
            macro_rules! rows {
                ($entry:ident, $b:ident) => {
                    |mut p: ConvPtrs, rows| unsafe {
                        p.scratch = scratch;
                        nnc_runtime::kernels::$entry::<
                            $h,
                            $w,
                            $ci,
                            $co,
                            1,
                            $m,
                            { act::RELU },
                            $pk,
                            { $b.0 },
                            { $b.1 },
                        >(p, rows)
                    }
                };
            }
            let out = ($oh, $ow, $co);
            check_rows(
                &c,
                out,
                pieces,
                "portable",
                rows!(winograd_rows_portable, PORTABLE),
            );
            #[cfg(target_arch = "x86_64")]
            if simd::has_avx2_fma() {
                check_rows(&c, out, pieces, "avx2", rows!(winograd_rows_avx2, B8));
            } else {
                avx2_path_skipped();
            }
            #[cfg(target_arch = "x86_64")]
            if simd::has_avx512() {
                check_rows(&c, out, pieces, "avx512", rows!(winograd_rows_avx512, B16));
            } else {
                avx512_path_skipped();
            }
        }
    };
}

winograd_rows_case!(winograd4_rows: 19 x 13, ci=16 co=32 pk=1 m=4 out=19 x 13
    pieces=[(0, 9), (9, 17), (17, 18), (18, 25)]);
winograd_rows_case!(winograd4_pooled_rows: 22 x 18, ci=16 co=16 pk=2 m=4 out=11 x 9
    pieces=[(0, 5), (5, 9), (9, 10), (10, 14)]);
winograd_rows_case!(winograd2_rows: 11 x 10, ci=13 co=20 pk=1 m=2 out=11 x 10
    pieces=[(0, 5), (5, 6), (6, 13)]);

/// An unpooled convolution's rows a range at a time (`conv_rows`, as a strided first layer run
/// in bands computes them): stride 2 with PReLU on the eight-lane paths, ReLU at sixteen lanes.
#[test]
fn unpooled_rows_in_ranges_make_the_whole_map() {
    // 17 x 15 input, 3x3 stride 2 padded by 1: 9 x 8 output rows.
    let layer = Layer {
        st: (2, 2),
        ..Layer::winograd(17, 15, 3, 16, 1, 1)
    };
    let pieces = [(0, 1), (1, 4), (4, 8), (8, 11)];
    const G: u64 = geometry((3, 3), (2, 2), (1, 1), (1, 1));
    const NPX: usize = layout::direct_pixels_per_block(16, 8, 2, 9, (17, 15));
    const PORTABLE_NPX: usize =
        layout::direct_pixels_per_block(simd::PORTABLE_REGISTERS, 8, 2, 9, (17, 15));
    let c = case(layer, "prelu");
    check_rows(&c, (9, 8, 16), &pieces, "portable", |p, rows| unsafe {
        nnc_runtime::kernels::conv_rows_portable::<
            17,
            15,
            3,
            16,
            2,
            G,
            { act::PRELU },
            1,
            PORTABLE_NPX,
        >(p, rows)
    });
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        check_rows(&c, (9, 8, 16), &pieces, "avx2", |p, rows| unsafe {
            nnc_runtime::kernels::conv_rows_avx2::<17, 15, 3, 16, 2, G, { act::PRELU }, 1, NPX>(
                p, rows,
            )
        });
    } else {
        avx2_path_skipped();
    }
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        const NPX16: usize = layout::direct_pixels_per_block(32, 16, 1, 9, (17, 15));
        let c = case(layer, "relu");
        check_rows(&c, (9, 8, 16), &pieces, "avx512", |p, rows| unsafe {
            nnc_runtime::kernels::conv_rows_avx512::<17, 15, 3, 16, 1, G, { act::RELU }, 1, NPX16>(
                p, rows,
            )
        });
    } else {
        avx512_path_skipped();
    }
}

/// Runs a stride-1 3x3 layer (padding 1) band by band, as the step after a banded one does: each
/// band of `rows` output rows (before the pool; the last band the rest) reads `rows + 2` input
/// rows, zeros where they fall outside the map, through `winograd_band` (`full` for a whole
/// band, `last` for the last), and writes its pooled rows at their place in the output. The
/// scratch, filled with NaN, is the unpooled size: a band stages nothing.
fn check_bands(
    c: &Case,
    l: Layer,
    m: usize,
    rows: usize,
    what: &str,
    full: impl Fn(ConvPtrs),
    last: impl Fn(ConvPtrs),
) {
    let u = layout::winograd_kernel_with(&oihw_of(l, "relu"), l.co, l.ci, layout::winograd_g(m));
    let mut scratch = vec![f32::NAN; nnc_runtime::ir::plan::winograd_scratch(m, l.ci, l.co)];
    let row = l.w * l.ci;
    let pw = l.w / l.pk;
    let len = c.expect.data.len();
    let mut out = vec![f32::NAN; len + 64];
    let mut first = 0;
    while first < l.h {
        let n = rows.min(l.h - first);
        let mut band = vec![0.0f32; (n + 2) * row];
        for j in 0..n + 2 {
            let y = (first + j).checked_sub(1).filter(|&y| y < l.h);
            if let Some(y) = y {
                band[j * row..(j + 1) * row].copy_from_slice(&c.input[y * row..(y + 1) * row]);
            }
        }
        let p = ConvPtrs {
            input: band.as_ptr(),
            kernel: u.as_ptr(),
            bias: c.bias.as_ptr(),
            alpha: c.alpha.as_ptr(),
            output: out[first / l.pk * pw * l.co..].as_mut_ptr(),
            scratch: scratch.as_mut_ptr(),
        };
        if n == rows {
            full(p)
        } else {
            last(p)
        }
        first += n;
    }
    assert!(
        out[len..].iter().all(|x| x.is_nan()),
        "{what}: a write past the output"
    );
    compare(
        &out[..len],
        &c.expect,
        &format!("{what}, in bands of {rows} rows"),
    );
}

/// One layer run in bands (`winograd_band`) on every path, against the interpreter's direct
/// convolution of the whole map: `$rows` rows a band, the last band `$last` rows.
macro_rules! winograd_band_case {
    ($name:ident: $h:literal x $w:literal, ci=$ci:literal co=$co:literal pk=$pk:literal m=$m:literal rows=$rows:literal last=$last:literal) => {
        #[test]
        fn $name() {
            let layer = Layer::winograd($h, $w, $ci, $co, 1, $pk);
            let c = case(layer, "relu");
            const PORTABLE: (usize, usize) =
                layout::winograd_block(8, simd::PORTABLE_REGISTERS, $co);
            const B8: (usize, usize) = layout::winograd_block(8, 16, $co);
            const B16: (usize, usize) = layout::winograd_block(16, 32, $co);
            macro_rules! band {
                ($entry:ident, $b:ident, $bh:expr) => {
                    |p| unsafe {
                        nnc_runtime::kernels::$entry::<
                            { $bh + 2 },
                            $w,
                            $ci,
                            $co,
                            1,
                            $m,
                            { act::RELU },
                            $pk,
                            { $b.0 },
                            { $b.1 },
                        >(p)
                    }
                };
            }
            check_bands(
                &c,
                layer,
                $m,
                $rows,
                "portable",
                band!(winograd_band_portable, PORTABLE, $rows),
                band!(winograd_band_portable, PORTABLE, $last),
            );
            #[cfg(target_arch = "x86_64")]
            if simd::has_avx2_fma() {
                check_bands(
                    &c,
                    layer,
                    $m,
                    $rows,
                    "avx2",
                    band!(winograd_band_avx2, B8, $rows),
                    band!(winograd_band_avx2, B8, $last),
                );
            } else {
                avx2_path_skipped();
            }
            #[cfg(target_arch = "x86_64")]
            if simd::has_avx512() {
                check_bands(
                    &c,
                    layer,
                    $m,
                    $rows,
                    "avx512",
                    band!(winograd_band_avx512, B16, $rows),
                    band!(winograd_band_avx512, B16, $last),
                );
            } else {
                avx512_path_skipped();
            }
        }
    };
}

// Pooled, as the face pyramid's conv2 runs: bands of whole tiles, a last band of fewer rows (a
// part tile; for 2x2 tiles one row, whose pooling window is cut), a width no multiple of the
// tile; and unpooled, odd channels.
winograd_band_case!(winograd4_pooled_bands: 20 x 18, ci=16 co=16 pk=2 m=4 rows=8 last=4);
winograd_band_case!(winograd4_pooled_bands_short_last: 22 x 13, ci=8 co=24 pk=2 m=4 rows=8 last=6);
winograd_band_case!(winograd2_pooled_bands: 17 x 10, ci=16 co=16 pk=2 m=2 rows=4 last=1);
winograd_band_case!(winograd4_unpooled_bands: 13 x 9, ci=13 co=20 pk=1 m=4 rows=4 last=1);
