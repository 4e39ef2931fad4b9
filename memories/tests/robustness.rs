//! Damaged photos never panic the readers: the EXIF reader (capture time, place, orientation,
//! camera), the format sniffer and the JPEG decoder, on seeded mutations of the real camera
//! files in `../shared/data/exif`. A stable-toolchain companion to the `photo_meta` target in
//! `fuzz/`, run on every `cargo test`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use memories_library::analysis::decode_rgb;
use memories_library::metadata::{PhotoMeta, TimeSource};
use memories_library::scan::{Format, Sniffed, sniff};

#[path = "support/shared_data.rs"]
mod shared_data;

#[path = "support/seeded.rs"]
mod seeded;
use seeded::Rng;

/// Where the EXIF block (APP1 `Exif\0\0`) of a JPEG lies, or the first 4 KiB.
fn exif_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let found = bytes.windows(6).position(|w| w == b"Exif\0\0");
    match found {
        Some(at) if at >= 4 => {
            let len = usize::from(u16::from_be_bytes([bytes[at - 2], bytes[at - 1]]));
            (at - 4)..(at - 2 + len).min(bytes.len())
        }
        _ => 0..bytes.len().min(4096),
    }
}

/// One to four kinds of damage, mostly inside the EXIF block: a byte flipped or set to 0 or
/// 0xFF, a 32-bit field set to a huge count or offset, a run cut out, a run repeated, or the
/// file cut short.
fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    let exif = exif_range(&bytes);
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = if rng.below(4) > 0 && exif.end <= bytes.len() && !exif.is_empty() {
            exif.start + rng.below(exif.len())
        } else {
            rng.below(bytes.len())
        };
        match rng.below(6) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = [0x00, 0xFF][rng.below(2)],
            2 if at + 4 <= bytes.len() => {
                let huge = [0xFFFF_FFFFu32, 0x7FFF_FFFF, 0x0001_0000, 0][rng.below(4)];
                bytes[at..at + 4].copy_from_slice(&huge.to_be_bytes());
            }
            3 => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                let run = bytes[at..end].to_vec();
                bytes.splice(at..at, run);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

#[test]
fn damaged_camera_files_never_panic_the_readers() {
    let Some(dir) = shared_data::shared_data("exif") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "{} JPEGs in {}",
        files.len(),
        dir.display()
    );
    let originals: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut dated, mut placed, mut decoded) = (0, 0, 0);
    for round in 0..4000 {
        let n = rng.below(originals.len());
        let bytes = mutate(&mut rng, &originals[n]);
        let meta = PhotoMeta::read(&bytes, modified);
        // What comes out is still in range.
        assert!(
            (1..=8).contains(&meta.orientation),
            "{}",
            files[n].display()
        );
        if let Some(p) = meta.gps {
            assert!(
                p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0 && p.lat.is_finite(),
                "{}: {p:?}",
                files[n].display()
            );
            placed += 1;
        }
        if meta.taken.source != TimeSource::FileModified {
            dated += 1;
        }
        // One in eight also goes through the decoder, at the index's size.
        if round % 8 == 0
            && let Sniffed::Image(Format::Jpeg) = sniff(&bytes)
            && decode_rgb(&bytes, Format::Jpeg, meta.orientation, 640).is_ok()
        {
            decoded += 1;
        }
    }
    eprintln!(
        "4000 damaged files from {} cameras: {dated} still dated by EXIF, {placed} still placed, {decoded} of 500 decoded",
        files.len()
    );
    // The damage is real: some files lose their EXIF date, most keep it.
    assert!(dated > 1000 && dated < 4000, "{dated}");
}
