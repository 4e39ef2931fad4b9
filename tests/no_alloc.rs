//! A compiled network allocates its arena and weights once, when it is made, and never again: a
//! counting global allocator watches every run.
//!
//! The allocator counts per thread. The test harness runs other threads beside this one (its own
//! main thread, which allocates while it reports), and a global count would charge their
//! allocations to the run being measured: that made this test fail by chance.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

thread_local! {
    // A const-initialised `Cell` with no destructor: reading it never allocates, so the
    // allocator may use it.
    static MINE: Cell<usize> = const { Cell::new(0) };
}

/// Every thread's allocations, only to show that the per-thread count leaves them out.
static ALL: AtomicUsize = AtomicUsize::new(0);

fn count() {
    MINE.with(|n| n.set(n.get() + 1));
    ALL.fetch_add(1, Ordering::SeqCst);
}

/// Allocations made so far by the calling thread.
fn mine() -> usize {
    MINE.with(Cell::get)
}

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
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
    for mut net in [
        testnet::Network::new(),
        testnet::Network::without_avx512(),
        testnet::Network::portable(),
    ] {
        let before = mine();
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
        let after = mine();
        assert_eq!(after - before, 0, "runs allocated (checksum {checksum})");
    }
    // The counter itself works: making a network allocates (arena and widened f16 weights).
    let before = mine();
    let net = testnet::Network::new();
    assert!(mine() - before >= 2, "{net:?}");
}

/// The per-thread count sees this thread's allocations and not another thread's, even one that
/// allocates while the window is open.
#[test]
fn the_counter_counts_this_thread_only() {
    static GO: AtomicBool = AtomicBool::new(false);
    static DONE: AtomicBool = AtomicBool::new(false);
    let other = std::thread::spawn(|| {
        while !GO.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        let v: Vec<u64> = std::hint::black_box((0..1000).collect());
        DONE.store(true, Ordering::SeqCst);
        v.len()
    });
    let (mine_before, all_before) = (mine(), ALL.load(Ordering::SeqCst));
    GO.store(true, Ordering::SeqCst);
    while !DONE.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    let (mine_after, all_after) = (mine(), ALL.load(Ordering::SeqCst));
    assert!(
        all_after > all_before,
        "the other thread allocated inside the window"
    );
    assert_eq!(mine_after, mine_before, "but none of it is counted here");
    let kept: Vec<u8> = std::hint::black_box(Vec::with_capacity(16));
    assert_eq!(mine() - mine_after, 1, "{kept:?}");
    assert_eq!(other.join().unwrap(), 1000);
}
