//! Seeded random networks 10 to 19 (`tests/random/`) compiled with `nnc!` against the interpreter;
//! `compiled_random_a.rs` has the other half. Each network's unrolled code takes minutes to
//! compile, so the twenty are two test crates that two cores build at once. The check and the
//! macro are in `random_nets/mod.rs`.

#[macro_use]
mod random_nets;

random_net!(
    net10,
    "tests/random/net10.nnc",
    "tests/random/net10.safetensors"
);
random_net!(
    net11,
    "tests/random/net11.nnc",
    "tests/random/net11.safetensors"
);
random_net!(
    net12,
    "tests/random/net12.nnc",
    "tests/random/net12.safetensors"
);
random_net!(
    net13,
    "tests/random/net13.nnc",
    "tests/random/net13.safetensors"
);
random_net!(
    net14,
    "tests/random/net14.nnc",
    "tests/random/net14.safetensors"
);
random_net!(
    net15,
    "tests/random/net15.nnc",
    "tests/random/net15.safetensors"
);
random_net!(
    net16,
    "tests/random/net16.nnc",
    "tests/random/net16.safetensors"
);
random_net!(
    net17,
    "tests/random/net17.nnc",
    "tests/random/net17.safetensors"
);
random_net!(
    net18,
    "tests/random/net18.nnc",
    "tests/random/net18.safetensors"
);
random_net!(
    net19,
    "tests/random/net19.nnc",
    "tests/random/net19.safetensors"
);
