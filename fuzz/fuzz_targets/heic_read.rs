//! Arbitrary bytes as a HEIC still, read the way the index reads it: the item reader must never
//! panic or allocate without bound, and a picture it decodes has the size it says. Pictures
//! over a megapixel are only read, not decoded (a fuzzed grid may claim 64 MP, which is legal
//! but slow). Seeded from the stills in `../shared/data/phone/heic` (see README, Fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memories_media::heic::{decode_reduced, size};

fuzz_target!(|data: &[u8]| {
    let Ok((w, h)) = size(data) else {
        return;
    };
    if u64::from(w) * u64::from(h) > 1 << 20 {
        return;
    }
    if let Ok(r) = decode_reduced(data, 64) {
        assert_eq!((r.full_width, r.full_height), (w, h));
        assert_eq!(r.rgb.len(), 3 * r.width as usize * r.height as usize);
        assert!(r.width <= w.max(h) && r.height <= w.max(h));
    }
});
