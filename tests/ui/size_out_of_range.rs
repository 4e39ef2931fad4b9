nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 640 x 20000,
    }
}

fn main() {}
