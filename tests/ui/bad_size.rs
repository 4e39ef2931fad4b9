nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 64 by 48,
    }
}

fn main() {}
