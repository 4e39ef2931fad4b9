nnc::nnc! {
    mod net {
        model: "tests/ui/models/onnx_truncated.onnx",
        input: 64 x 48,
    }
}

fn main() {}
