nnc::nnc! {
    mod net {
        model: "tests/ui/models/onnx_not_onnx.onnx",
        input: 64 x 48,
    }
}

fn main() {}
