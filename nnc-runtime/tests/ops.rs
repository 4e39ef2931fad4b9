//! Every op on small cases computed by hand.

use nnc_runtime::ir::testing::serialize;
use nnc_runtime::ir::{Dtype, Model, Shape};
use nnc_runtime::{Interpreter, Tensor};

/// Runs `body` (layers over an input `x` with `c` channels, ending in `output y`) on `input`,
/// with the given weights, and compares head `y` with `expect` (shape and values).
fn check(
    c: usize,
    body: &str,
    weights: &[(&str, &[usize], &[f32])],
    input: (usize, usize, &[f32]),
    expect: (usize, usize, &[f32]),
) {
    let src = format!("x = input(channels={c})\n{body}\noutput y\n");
    let tensors: Vec<_> = weights
        .iter()
        .map(|(name, shape, data)| (name.to_string(), shape.to_vec(), data.to_vec()))
        .collect();
    let bytes = serialize(&tensors, Dtype::F32);
    let model = Model::from_sources(&src, "t.nnc".as_ref(), &bytes, "t.safetensors".as_ref())
        .unwrap_or_else(|e| panic!("{e}"));
    let (h, w, data) = input;
    let input = Tensor::from_vec(Shape { h, w, c }, data.to_vec());
    let outputs = Interpreter::new(model).run(&input).unwrap();
    let y = outputs.get("y").unwrap();
    let (eh, ew, values) = expect;
    assert_eq!((y.h, y.w), (eh, ew), "output size");
    assert_eq!(y.data.len(), values.len(), "output length");
    for (i, (got, want)) in y.data.iter().zip(values).enumerate() {
        assert!(
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "element {i}: got {got}, want {want}\n{:?}",
            y.data
        );
    }
}

#[test]
fn conv_3x3_valid_single_channel() {
    // 3x3 input 1..9, kernel all ones plus bias 0.5: one output, 45.5.
    check(
        1,
        "y = conv(x, out=1, k=3)",
        &[
            ("y.weight", &[1, 1, 3, 3], &[1.0; 9]),
            ("y.bias", &[1], &[0.5]),
        ],
        (3, 3, &[1., 2., 3., 4., 5., 6., 7., 8., 9.]),
        (1, 1, &[45.5]),
    );
}

#[test]
fn conv_zero_padding_and_stride() {
    // 2x2 input, k=3 pad=1 stride=1, kernel with a single 1 at the top-left tap: each output
    // reads the input one up and one left, which is zero padding on the first row and column.
    let mut kernel = [0.0; 9];
    kernel[0] = 1.0;
    check(
        1,
        "y = conv(x, out=1, k=3, pad=1, bias=false)",
        &[("y.weight", &[1, 1, 3, 3], &kernel)],
        (2, 2, &[1., 2., 3., 4.]),
        (2, 2, &[0., 0., 0., 1.]),
    );
    // Stride 2 over a 4x4 input with a 1x1 kernel picks every other pixel.
    let input: Vec<f32> = (0..16).map(|i| i as f32).collect();
    check(
        1,
        "y = conv(x, out=1, k=1, stride=2, bias=false)",
        &[("y.weight", &[1, 1, 1, 1], &[2.0])],
        (4, 4, &input),
        (2, 2, &[0., 4., 16., 20.]),
    );
}

#[test]
fn conv_mixes_channels_with_oihw_weights() {
    // One pixel, 2 input channels (3, 5), 3 outputs: weights[o][i] = o*2 + i + 1.
    // out0 = 3*1 + 5*2 = 13, out1 = 3*3 + 5*4 = 29, out2 = 3*5 + 5*6 = 45, plus biases 1, 2, 3.
    check(
        2,
        "y = conv(x, out=3, k=1)",
        &[
            ("y.weight", &[3, 2, 1, 1], &[1., 2., 3., 4., 5., 6.]),
            ("y.bias", &[3], &[1., 2., 3.]),
        ],
        (1, 1, &[3., 5.]),
        (1, 1, &[14., 31., 48.]),
    );
}

#[test]
fn conv_kernel_is_not_transposed() {
    // An asymmetric 2x2 kernel [[1, 2], [3, 4]] over [[10, 20], [30, 40]]: 10 + 40 + 90 + 160.
    check(
        1,
        "y = conv(x, out=1, k=2, bias=false)",
        &[("y.weight", &[1, 1, 2, 2], &[1., 2., 3., 4.])],
        (2, 2, &[10., 20., 30., 40.]),
        (1, 1, &[300.]),
    );
}

#[test]
fn relu_prelu_sigmoid() {
    check(
        1,
        "y = relu(x)",
        &[],
        (1, 3, &[-2., 0., 3.]),
        (1, 3, &[0., 0., 3.]),
    );
    check(
        2,
        "y = prelu(x)",
        &[("y.alpha", &[2], &[0.1, -2.0])],
        (1, 2, &[-1., -1., 4., 4.]),
        (1, 2, &[-0.1, 2.0, 4., 4.]),
    );
    let s = |x: f32| 1.0 / (1.0 + (-x).exp());
    check(
        1,
        "y = sigmoid(x)",
        &[],
        (1, 3, &[-1., 0., 2.]),
        (1, 3, &[s(-1.), 0.5, s(2.)]),
    );
}

#[test]
fn maxpool_ignores_padding_even_when_everything_is_negative() {
    check(
        1,
        "y = maxpool(x, k=2)",
        &[],
        (2, 4, &[1., 5., -1., -2., 3., 2., -3., -4.]),
        (1, 2, &[5., -1.]),
    );
    // Padding must never win: all values negative, pad=1.
    check(
        1,
        "y = maxpool(x, k=3, stride=2, pad=1)",
        &[],
        (2, 2, &[-4., -3., -2., -1.]),
        (1, 1, &[-1.]),
    );
}

#[test]
fn avgpool_divides_by_the_pixels_inside_the_input() {
    check(
        1,
        "y = avgpool(x, k=2)",
        &[],
        (2, 2, &[1., 2., 3., 6.]),
        (1, 1, &[3.]),
    );
    // Corner window of a padded 3x3 average covers 4 real pixels: (1+2+4+5)/4 = 3.
    check(
        1,
        "y = avgpool(x, k=3, stride=2, pad=1)",
        &[],
        (3, 3, &[1., 2., 3., 4., 5., 6., 7., 8., 9.]),
        (2, 2, &[3., 4., 6., 7.]),
    );
}

#[test]
fn add_and_concat() {
    check(
        2,
        "a = relu(x)\ny = add(x, a)",
        &[],
        (1, 2, &[-1., 2., 3., -4.]),
        (1, 2, &[-1., 4., 6., -4.]),
    );
    check(
        2,
        "a = relu(x)\ny = concat(x, a, x)",
        &[],
        (1, 2, &[-1., 2., 3., -4.]),
        (1, 2, &[-1., 2., 0., 2., -1., 2., 3., -4., 3., 0., 3., -4.]),
    );
}

#[test]
fn padadd_reads_the_smaller_input_as_zero_below_right_and_in_missing_channels() {
    // a = 2x2x1 averages [3, 4, 6, 7] at the top left; b = 3x3x2 (x twice). Channel 0 gets x + a
    // where a exists, channel 1 is x alone; the order of the inputs does not matter.
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let expect = [
        4., 1., 6., 2., 3., 3., //
        10., 4., 12., 5., 6., 6., //
        7., 7., 8., 8., 9., 9.,
    ];
    for sum in ["padadd(a, b)", "padadd(b, a)"] {
        check(
            1,
            &format!("a = avgpool(x, k=2, stride=1)\nb = concat(x, x)\ny = {sum}"),
            &[],
            (3, 3, &x),
            (3, 3, &expect),
        );
    }
}

#[test]
fn wrong_input_channels_and_too_small_inputs_are_errors() {
    let src = "x = input(channels=3)\ny = maxpool(x, k=4)\noutput y\n";
    let bytes = serialize(&[], Dtype::F32);
    let model =
        Model::from_sources(src, "t.nnc".as_ref(), &bytes, "t.safetensors".as_ref()).unwrap();
    let interpreter = Interpreter::new(model);
    let two_channels = Tensor::zeros(Shape { h: 8, w: 8, c: 2 });
    assert_eq!(
        interpreter.run(&two_channels).unwrap_err().to_string(),
        "the network takes 3 input channels, the input has 2"
    );
    let small = Tensor::zeros(Shape { h: 3, w: 8, c: 3 });
    assert!(
        interpreter
            .run(&small)
            .unwrap_err()
            .to_string()
            .contains("too small")
    );
}
