nnc::nnc! {
    mod net {
        model: "tests/ui/models/misaligned.nnc",
        weights: "models/testnet.safetensors",
        inputs: [64 x 48, 68 x 50],
    }
}

fn main() {}
