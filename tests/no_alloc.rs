//! A compiled network allocates its arena and weights once, when it is made, and never again: a
//! counting global allocator watches every run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

nnc::nnc! {
    mod testnet {
        model: "models/testnet.nnc",
        weights: "models/testnet.safetensors",
        input: 160 x 120,
        scales: [1.0, 0.5, 0.25],
        weights_as: f16,
    }
}

#[test]
fn runs_allocate_nothing_after_construction() {
    let inputs: Vec<Vec<f32>> = testnet::v160x120::SIZES
        .iter()
        .map(|(h, w)| vec![0.25; h * w * 3])
        .collect();
    for mut net in [testnet::Network::new(), testnet::Network::portable()] {
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let mut checksum = 0.0;
        for _ in 0..3 {
            let o = net.v160x120().run_all(testnet::v160x120::Inputs {
                scale0: inputs[0].as_slice().try_into().unwrap(),
                scale1: inputs[1].as_slice().try_into().unwrap(),
                scale2: inputs[2].as_slice().try_into().unwrap(),
            });
            checksum += o.scale2.score.at(0, 0, 0);
            let one = net
                .v160x120()
                .scale1(inputs[1].as_slice().try_into().unwrap());
            checksum += one.r#box.at(1, 1, 3);
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(after - before, 0, "runs allocated (checksum {checksum})");
    }
    // The counter itself works: making a network allocates (arena and widened f16 weights).
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let net = testnet::Network::new();
    assert!(ALLOCATIONS.load(Ordering::SeqCst) - before >= 2, "{net:?}");
}
