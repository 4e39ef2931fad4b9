nnc::nnc! {
    mod net {
        model: "tests/ui/models/names.nnc",
        weights: "models/testnet.safetensors",
        input: 64 x 48,
    }
}

fn main() {}
