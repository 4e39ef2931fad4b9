nnc::nnc! {
    mod net {
        model: "models/no_such_model.nnc",
        weights: "models/testnet.safetensors",
        input: 64 x 48,
    }
}

fn main() {
    // The stub keeps this line free of errors of its own.
    let _ = net::Network::new();
}
