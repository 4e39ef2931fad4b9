//! Real ONNX models compiled whole by `nnc!` from their files as published, against ONNX
//! Runtime's outputs (`tests/onnx_models/*.safetensors`, written by
//! `models/onnx_ops/make_model_references.py`, so no Python runs here): YuNet-s and YuNet-n
//! with a dynamic input at 640x480 and 480x640, and fixed at 640x640. Every head, on the AVX2
//! and the portable path, within `1e-4 * (1 + |expected|)`; the interpreter on the imported
//! network too.

use nnc::ir::Shape;
use nnc::{Interpreter, Tensor};
use safetensors::SafeTensors;
use std::path::Path;

nnc::nnc! {
    /// YuNet-s (libfacedetection, Apache-2.0), dynamic input.
    mod yunet_s {
        model: "models/yunet_s.onnx",
        inputs: [640 x 480, 480 x 640],
    }
}

nnc::nnc! {
    /// YuNet-n, dynamic input.
    mod yunet_n {
        model: "models/yunet_n.onnx",
        inputs: [640 x 480, 480 x 640],
    }
}

nnc::nnc! {
    /// YuNet-s with its input fixed at 640x640.
    mod yunet_s_640 {
        model: "models/yunet_s_640.onnx",
        input: 640 x 640,
    }
}

nnc::nnc! {
    /// YuNet-n with its input fixed at 640x640.
    mod yunet_n_640 {
        model: "models/yunet_n_640.onnx",
        input: 640 x 640,
    }
}

/// YuNet's heads, in the order of its graph outputs.
const HEADS: [&str; 12] = [
    "cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32",
    "kps_8", "kps_16", "kps_32",
];

/// The heads of one compiled run, in `HEADS` order.
macro_rules! heads {
    ($o:expr) => {{
        let o = $o;
        [
            o.cls_8.data(),
            o.cls_16.data(),
            o.cls_32.data(),
            o.obj_8.data(),
            o.obj_16.data(),
            o.obj_32.data(),
            o.bbox_8.data(),
            o.bbox_16.data(),
            o.bbox_32.data(),
            o.kps_8.data(),
            o.kps_16.data(),
            o.kps_32.data(),
        ]
        .map(<[f32]>::to_vec)
    }};
}

/// The input both sides compute (see the Python script): NCHW values of a 32-bit linear
/// congruential generator over [0, 256), here returned in NHWC order.
fn pattern(h: usize, w: usize) -> Vec<f32> {
    let mut state: u32 = 7;
    let nchw: Vec<f32> = (0..3 * h * w)
        .map(|_| {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            (state >> 16) as f32 / 256.0
        })
        .collect();
    let mut nhwc = vec![0.0; nchw.len()];
    for c in 0..3 {
        for p in 0..h * w {
            nhwc[p * 3 + c] = nchw[c * h * w + p];
        }
    }
    nhwc
}

/// ONNX Runtime's heads for `name` at `w` x `h`, in `HEADS` order.
fn reference(name: &str, w: usize, h: usize) -> Vec<Vec<f32>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/onnx_models/{name}_{w}x{h}.safetensors"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    HEADS
        .iter()
        .map(|head| {
            tensors
                .tensor(head)
                .unwrap_or_else(|e| panic!("{}: {head}: {e}", path.display()))
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect()
}

fn compare(got: &[f32], expect: &[f32], what: &str) {
    assert_eq!(got.len(), expect.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expect).enumerate() {
        assert!(
            (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{what}[{i}]: nnc {g}, ONNX Runtime {e}"
        );
    }
}

/// The interpreter on the imported file, against the same reference.
fn check_interpreter(name: &str, w: usize, h: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/{name}.onnx"));
    let imported = nnc_onnx::import(&std::fs::read(&path).unwrap(), &path).unwrap();
    let outputs = Interpreter::new(imported.model(&path).unwrap())
        .run(&Tensor::from_vec(Shape { h, w, c: 3 }, pattern(h, w)))
        .unwrap();
    for (head, expect) in HEADS.iter().zip(reference(name, w, h)) {
        let got = &outputs.get(head).unwrap().data;
        compare(got, &expect, &format!("{name} {w}x{h} interpreter {head}"));
    }
}

fn check(name: &str, w: usize, h: usize, path: &str, heads: [Vec<f32>; 12]) {
    for ((head, got), expect) in HEADS.iter().zip(heads).zip(reference(name, w, h)) {
        compare(&got, &expect, &format!("{name} {w}x{h} {path} {head}"));
    }
}

#[test]
fn yunet_s_compiled_matches_onnx_runtime_at_both_orientations() {
    for mut net in [
        yunet_s::Network::new(),
        yunet_s::Network::without_avx512(),
        yunet_s::Network::portable(),
    ] {
        let path = net.path();
        let input = pattern(480, 640);
        let o = net.v640x480().scale0(input.as_slice().try_into().unwrap());
        check("yunet_s", 640, 480, path, heads!(o));
        let input = pattern(640, 480);
        let o = net.v480x640().scale0(input.as_slice().try_into().unwrap());
        check("yunet_s", 480, 640, path, heads!(o));
    }
    check_interpreter("yunet_s", 640, 480);
}

#[test]
fn yunet_n_compiled_matches_onnx_runtime_at_both_orientations() {
    for mut net in [
        yunet_n::Network::new(),
        yunet_n::Network::without_avx512(),
        yunet_n::Network::portable(),
    ] {
        let path = net.path();
        let input = pattern(480, 640);
        let o = net.v640x480().scale0(input.as_slice().try_into().unwrap());
        check("yunet_n", 640, 480, path, heads!(o));
        let input = pattern(640, 480);
        let o = net.v480x640().scale0(input.as_slice().try_into().unwrap());
        check("yunet_n", 480, 640, path, heads!(o));
    }
    check_interpreter("yunet_n", 480, 640);
}

#[test]
fn the_fixed_size_files_compiled_match_onnx_runtime() {
    let input = pattern(640, 640);
    for mut s in [
        yunet_s_640::Network::new(),
        yunet_s_640::Network::without_avx512(),
        yunet_s_640::Network::portable(),
    ] {
        let path = s.path();
        let o = s.v640x640().scale0(input.as_slice().try_into().unwrap());
        check("yunet_s_640", 640, 640, path, heads!(o));
    }
    for mut n in [
        yunet_n_640::Network::new(),
        yunet_n_640::Network::without_avx512(),
        yunet_n_640::Network::portable(),
    ] {
        let path = n.path();
        let o = n.v640x640().scale0(input.as_slice().try_into().unwrap());
        check("yunet_n_640", 640, 640, path, heads!(o));
    }
    check_interpreter("yunet_n_640", 640, 640);
}
