nnc::nnc! {
    mod net {
        model: "models/testnet.nnc",
        weights: "models/testnet.nnc",
        input: 64 x 48,
    }
}

fn main() {}
