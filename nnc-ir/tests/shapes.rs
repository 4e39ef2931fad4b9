//! Shape inference at any input size, checked by hand, and its errors.

use nnc_ir::{ErrorKind, parse_graph};

/// Infers shapes of `src` at `h` x `w` and compares every value's `HxWxC` with `expect`.
fn check(src: &str, h: usize, w: usize, expect: &[&str]) {
    let graph = parse_graph(src, "net.nnc".as_ref()).unwrap();
    let shapes = graph.infer_shapes(h, w).unwrap();
    let found: Vec<String> = shapes.all().iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expect);
}

#[test]
fn convolution_output_size_is_floor_of_padded_span_over_stride_plus_one() {
    let src = "x = input(channels=3)\n\
               a = conv(x, out=4, k=3)\n\
               b = conv(a, out=5, k=3, stride=2, pad=1)\n\
               c = conv(b, out=6, k=5, stride=3, pad=2)\n\
               output c\n";
    // 11 -> 9 -> (9+2-3)/2+1 = 5 -> (5+4-5)/3+1 = 2 ; 8 -> 6 -> 3 -> 1
    check(src, 11, 8, &["11x8x3", "9x6x4", "5x3x5", "2x1x6"]);
}

#[test]
fn pooling_defaults_stride_to_kernel_and_floors() {
    let src = "x = input(channels=2)\n\
               m = maxpool(x, k=2)\n\
               a = avgpool(m, k=3, stride=1, pad=1)\n\
               output a\n";
    check(src, 7, 6, &["7x6x2", "3x3x2", "3x3x2"]);
}

#[test]
fn concat_sums_channels_and_add_keeps_them() {
    let src = "x = input(channels=1)\n\
               a = conv(x, out=2, k=1)\n\
               b = conv(x, out=3, k=3, pad=1)\n\
               c = concat(a, b, x)\n\
               d = conv(c, out=6, k=1)\n\
               e = add(c, d)\n\
               output e\n";
    check(
        src,
        4,
        5,
        &["4x5x1", "4x5x2", "4x5x3", "4x5x6", "4x5x6", "4x5x6"],
    );
}

#[test]
fn padadd_takes_the_larger_size_along_every_axis() {
    let src = "x = input(channels=2)\n\
               down = conv(x, out=5, k=3, stride=2)\n\
               skip = avgpool(x, k=2)\n\
               s = padadd(down, skip)\n\
               t = padadd(skip, x)\n\
               output s\n\
               output t\n";
    // 8 -> conv (8-3)/2+1 = 3, pool 4 ; 9 -> 4, 4. Channels max(5, 2) = 5; then x is larger.
    check(src, 8, 9, &["8x9x2", "3x4x5", "4x4x2", "4x4x5", "8x9x2"]);
}

#[test]
fn too_small_input_names_the_layer_and_the_smallest_input() {
    let src = "x = input(channels=3)\n\
               a = conv(x, out=4, k=3)\n\
               p = maxpool(a, k=2)\n\
               b = conv(p, out=4, k=3)\n\
               output b\n";
    let graph = parse_graph(src, "models/net.nnc".as_ref()).unwrap();
    // 3 -> 1 after `a`, but `p` needs 2; 8 -> 6 -> 3 -> 1 is the smallest that works.
    assert_eq!(graph.min_input_size(), Some(8));
    assert!(graph.infer_shapes(8, 8).is_ok());
    let error = graph.infer_shapes(7, 40).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InputTooSmall);
    insta::assert_snapshot!("too_small", error.to_string());
}

#[test]
fn misaligned_branches_are_a_shape_error_only_at_sizes_where_they_differ() {
    let src = "x = input(channels=1)\n\
               a = conv(x, out=2, k=3, stride=2, pad=1)\n\
               b = maxpool(x, k=2)\n\
               c = concat(a, b)\n\
               output c\n";
    let graph = parse_graph(src, "models/net.nnc".as_ref()).unwrap();
    assert!(graph.infer_shapes(8, 8).is_ok(), "both halve even sizes");
    let error = graph.infer_shapes(9, 8).unwrap_err();
    assert_eq!(error.kind, ErrorKind::ShapeMismatch);
    insta::assert_snapshot!("misaligned", error.to_string());
}

#[test]
fn an_empty_input_is_refused() {
    let graph = parse_graph("x = input(channels=1)\noutput x\n", "n.nnc".as_ref()).unwrap();
    assert_eq!(
        graph.infer_shapes(0, 5).unwrap_err().kind,
        ErrorKind::InputTooSmall
    );
}
