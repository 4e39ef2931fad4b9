nnc::nnc! {
    mod net {
        model: "tests/onnx/fixed_opset21_conv.onnx",
        inputs: [23 x 37, 640 x 480],
        scales: [1.0, 0.5],
    }
}

fn main() {}
