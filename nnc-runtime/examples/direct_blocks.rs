//! How many output pixels a direct convolution's register block should take
//! (`benches/NOTES.md`, attempt 14): the same kernel with the block the rule before took and the
//! one `layout::direct_pixels_per_block` takes now, on YuNet's, testnet's and the embedding's
//! shapes, on the AVX2 path (where the CPU has it) and the portable path. Alternates them in
//! fifteen rounds and prints the medians, and checks that both blocks wrote the same output.
//!
//! ```text
//! cargo run --release -p nnc-runtime --example direct_blocks
//! ```

mod support;

use support::{Buffers, median, per_call};

use nnc_runtime::kernels::{ConvPtrs, Geometry, act, layout, simd};

/// A direct convolution with ReLU, square kernel `$k`, stride `$st`, padding `$p`, `$npx`
/// pixels a block, on the path of entry point `$f`.
macro_rules! direct {
    ($name:ident, $f:ident, $h:literal, $w:literal, $ci:literal, $co:literal, $k:literal, $st:literal, $p:literal, $npx:literal) => {
        #[inline(never)]
        fn $name(p: ConvPtrs) {
            const COB: usize = layout::vectors($co);
            const G: u64 = Geometry::square($k, $st, $p).pack();
            // SAFETY: `Buffers` sizes every buffer for this layer; the AVX2 cases run only where
            // the CPU has AVX2 and FMA.
            unsafe {
                nnc_runtime::kernels::$f::<$h, $w, $ci, $co, COB, G, { act::RELU }, 1, $npx>(p)
            }
        }
    };
}

// Two output vectors by six pixels before (twelve accumulators), four now.
direct!(yunet_stem_6, conv_avx2, 480, 640, 3, 16, 3, 2, 1, 6);
direct!(yunet_stem_4, conv_avx2, 480, 640, 3, 16, 3, 2, 1, 4);
direct!(yunet_1x1_6, conv_avx2, 240, 320, 16, 16, 1, 1, 0, 6);
direct!(yunet_1x1_4, conv_avx2, 240, 320, 16, 16, 1, 1, 0, 4);
// Three output vectors by four pixels before, by two now.
direct!(testnet_24_4, conv_avx2, 60, 80, 32, 24, 3, 2, 1, 4);
direct!(testnet_24_2, conv_avx2, 60, 80, 32, 24, 3, 2, 1, 2);
// Streamed weights (chunks of two vectors outside): six pixels, before and now, against four.
direct!(wide_6, conv_avx2, 4, 4, 256, 256, 3, 1, 1, 6);
direct!(wide_4, conv_avx2, 4, 4, 256, 256, 3, 1, 1, 4);
direct!(wide_strided_6, conv_avx2, 8, 8, 128, 256, 3, 2, 0, 6);
direct!(wide_strided_4, conv_avx2, 8, 8, 128, 256, 3, 2, 0, 4);
// The portable path on x86_64 (eight registers of eight lanes): one vector by six pixels
// before, four now.
direct!(portable_8_6, conv_portable, 120, 160, 16, 8, 3, 1, 1, 6);
direct!(portable_8_4, conv_portable, 120, 160, 16, 8, 3, 1, 1, 4);

/// A shape, its buffers' index, the block before and the block now, and whether it needs AVX2.
type Case = (&'static str, usize, fn(ConvPtrs), fn(ConvPtrs), bool);

fn main() {
    let avx2 = simd::has_avx2_fma();
    let shapes = [
        (480, 640, 3, 16, 9),
        (240, 320, 16, 16, 1),
        (60, 80, 32, 24, 9),
        (4, 4, 256, 256, 9),
        (8, 8, 128, 256, 9),
        (120, 160, 16, 8, 9),
    ];
    let mut bufs: Vec<Buffers> = shapes.map(|shape| Buffers::direct(shape, 0)).into();
    let cases: [Case; 6] = [
        (
            "YuNet stem 480x640 3->16 s2, 6 -> 4 px",
            0,
            yunet_stem_6,
            yunet_stem_4,
            true,
        ),
        (
            "YuNet 1x1 240x320 16->16, 6 -> 4 px",
            1,
            yunet_1x1_6,
            yunet_1x1_4,
            true,
        ),
        (
            "3x3 s2 60x80 32->24, 4 -> 2 px",
            2,
            testnet_24_4,
            testnet_24_2,
            true,
        ),
        (
            "embedding 4x4 256->256 (streamed), 6 kept; 4",
            3,
            wide_6,
            wide_4,
            true,
        ),
        (
            "embedding 8x8 s2 128->256 (streamed), 6 kept; 4",
            4,
            wide_strided_6,
            wide_strided_4,
            true,
        ),
        (
            "portable 120x160 16->8, 6 -> 4 px",
            5,
            portable_8_6,
            portable_8_4,
            false,
        ),
    ];
    println!(
        "direct convolution blocks, median ms of 15 alternating rounds (before, after, ratio):"
    );
    for (name, b, before, after, needs_avx2) in cases {
        if needs_avx2 && !avx2 {
            println!("{name}: skipped, this CPU lacks AVX2 and FMA");
            continue;
        }
        let buf = &mut bufs[b];
        let reps = (4_000_000 / buf.output.len()).max(5);
        let (mut t0, mut t1) = (Vec::new(), Vec::new());
        let (mut o0, mut o1) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            t0.push(per_call(reps, buf, before));
            o0.clone_from(&buf.output);
            t1.push(per_call(reps, buf, after));
            o1.clone_from(&buf.output);
        }
        assert!(o0 == o1, "{name}: the two blocks wrote different outputs");
        let (m0, m1) = (median(t0), median(t1));
        println!("{name}: {m0:.4} {m1:.4} {:.2}x", m0 / m1);
    }
}
