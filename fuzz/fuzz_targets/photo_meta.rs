//! Arbitrary bytes as a photo file: the format sniffer, the EXIF reader (capture time, place,
//! orientation, camera) and the decoders must never panic, and what the reader returns stays in
//! range. Seeded from the real camera files in `../shared/data/exif` (see README, Fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memories_library::analysis::decode_rgb;
use memories_library::metadata::PhotoMeta;
use memories_library::scan::{Sniffed, sniff};

fuzz_target!(|data: &[u8]| {
    let meta = PhotoMeta::read(data, std::time::SystemTime::UNIX_EPOCH);
    assert!((1..=8).contains(&meta.orientation));
    if let Some(p) = meta.gps {
        assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0);
    }
    if let Sniffed::Image(format) = sniff(data) {
        let _ = decode_rgb(data, format, meta.orientation, 160);
    }
});
