nnc::nnc! {
    mod net {
        model: "tests/ui/models/onnx_dynamic_channels.onnx",
        input: 64 x 48,
    }
}

fn main() {}
