nnc::nnc! {
    mod net {
        model: "tests/ui/models/bf16.nnc",
        weights: "tests/ui/models/bf16.safetensors",
        input: 64 x 48,
    }
}

fn main() {}
