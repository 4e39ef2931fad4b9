nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        threads: 4,
        input: 64 x 48,
        scales: [1.0, 1.5],
        weights_as: bf16,
    }
}

fn main() {}
