nnc::nnc! {
    mod net {
        model: "tests/ui/models/onnx_unsupported.onnx",
        input: 64 x 48,
    }
}

fn main() {}
