//! Seeded random networks 00 to 09 (`tests/random/`) compiled with `nnc!` against the interpreter;
//! `compiled_random_b.rs` has the other half. Each network's unrolled code takes minutes to
//! compile, so the twenty are two test crates that two cores build at once. The check and the
//! macro are in `random_nets/mod.rs`.

#[macro_use]
mod random_nets;

random_net!(
    net00,
    "tests/random/net00.nnc",
    "tests/random/net00.safetensors"
);
random_net!(
    net01,
    "tests/random/net01.nnc",
    "tests/random/net01.safetensors"
);
random_net!(
    net02,
    "tests/random/net02.nnc",
    "tests/random/net02.safetensors"
);
random_net!(
    net03,
    "tests/random/net03.nnc",
    "tests/random/net03.safetensors"
);
random_net!(
    net04,
    "tests/random/net04.nnc",
    "tests/random/net04.safetensors"
);
random_net!(
    net05,
    "tests/random/net05.nnc",
    "tests/random/net05.safetensors"
);
random_net!(
    net06,
    "tests/random/net06.nnc",
    "tests/random/net06.safetensors"
);
random_net!(
    net07,
    "tests/random/net07.nnc",
    "tests/random/net07.safetensors"
);
random_net!(
    net08,
    "tests/random/net08.nnc",
    "tests/random/net08.safetensors"
);
random_net!(
    net09,
    "tests/random/net09.nnc",
    "tests/random/net09.safetensors"
);
