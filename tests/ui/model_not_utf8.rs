nnc::nnc! {
    mod net {
        model: "models/testnet.safetensors",
        weights: "models/testnet.safetensors",
        input: 64 x 48,
    }
}

fn main() {}
