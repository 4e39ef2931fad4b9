//! Arbitrary bytes as a phone clip: the container reader must never panic, read past the file
//! or allocate without bound, and what it returns stays consistent (every frame inside the file,
//! a rotation of a quarter turn, a place in range); the first frames then go through the
//! decoders. Seeded from the clips in `../shared/data/phone` (see README, Fuzzing).
#![no_main]

use std::io::{Seek, SeekFrom, Write};

use libfuzzer_sys::fuzz_target;
use memories_media::clip::Clip;
use memories_media::frames::frames_at;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::tempfile().expect("a temporary file");
    file.write_all(data).expect("written");
    file.seek(SeekFrom::Start(0)).expect("rewound");
    let len = data.len() as u64;
    let Ok(clip) = Clip::read(&mut file, 0, len) else {
        return;
    };
    assert!(!clip.samples.is_empty());
    assert!([0, 90, 180, 270].contains(&clip.rotation));
    for s in &clip.samples {
        assert!(s.offset + u64::from(s.size) <= len);
    }
    if let Some((lat, lon)) = clip.location {
        assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0);
    }
    // Small frames only: a fuzzed header may claim 8K, which is legal but slow to decode.
    if u64::from(clip.coded_width) * u64::from(clip.coded_height) <= 1 << 20 {
        let _ = frames_at(&clip, &mut file, &[0, clip.samples.len() / 2], 2);
    }
});
