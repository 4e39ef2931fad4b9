nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 32 x 24,
        scales: [1.0, 0.5, 0.25, 0.125, 0.0625],
    }
}

fn main() {}
