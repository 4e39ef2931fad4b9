nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 64 x 48,
        inputs: [],
        scales: [],
        weights_as: f16,
        weights_as: f32,
    }
}

fn main() {}
