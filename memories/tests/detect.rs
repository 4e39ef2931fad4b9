//! `memories detect` on bad input: every kind of broken or unusual file is skipped with a reason or
//! handled, the run finishes, and the JSON contract holds. The files are built by the tests.

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};
use std::path::Path;
use std::process::Command;

/// Runs `memories detect --json` on `paths`; returns (one parsed JSON value per stdout line, stderr).
fn detect(paths: &[&Path]) -> (Vec<serde_json::Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_memories"))
        .arg("detect")
        .arg("--json")
        .args(paths)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "detect failed: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (lines, stderr)
}

fn save(dir: &Path, name: &str, image: DynamicImage, format: ImageFormat) -> std::path::PathBuf {
    let path = dir.join(name);
    image.save_with_format(&path, format).unwrap();
    path
}

#[test]
fn unusual_images_are_handled_and_broken_files_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tiny = save(
        d,
        "one-pixel.png",
        DynamicImage::ImageRgb8(ImageBuffer::from_pixel(1, 1, Rgb([9, 9, 9]))),
        ImageFormat::Png,
    );
    let grey = save(
        d,
        "grey.png",
        DynamicImage::ImageLuma8(ImageBuffer::from_pixel(300, 200, Luma([128]))),
        ImageFormat::Png,
    );
    let rgba = save(
        d,
        "rgba.png",
        DynamicImage::ImageRgba8(ImageBuffer::from_pixel(120, 90, Rgba([1, 2, 3, 4]))),
        ImageFormat::Png,
    );
    let deep = save(
        d,
        "sixteen-bit.png",
        DynamicImage::ImageLumaA16(ImageBuffer::from_pixel(64, 48, LumaA([40000u16, 65535]))),
        ImageFormat::Png,
    );
    let tall = save(
        d,
        "tall.jpg",
        DynamicImage::ImageRgb8(ImageBuffer::from_pixel(20, 2000, Rgb([200, 10, 10]))),
        ImageFormat::Jpeg,
    );
    let empty = d.join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let text = d.join("notes.jpg");
    std::fs::write(&text, b"this is text, not a photo").unwrap();
    // Cut short in its pixel data, a JPEG decodes, grey where the data is missing (a photo cut
    // off by a failed copy still shows its top); cut inside its header, it is skipped.
    let whole = std::fs::read(&tall).unwrap();
    let truncated = d.join("truncated.jpg");
    std::fs::write(&truncated, &whole[..whole.len() / 3]).unwrap();
    let header_only = d.join("header-only.jpg");
    std::fs::write(&header_only, &whole[..100]).unwrap();
    // A PNG whose header claims 100000 x 100000 pixels: refused before any decoding.
    let bomb = d.join("bomb.png");
    let mut png = Vec::new();
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR");
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&png[12..]);
    png.extend_from_slice(&crc.to_be_bytes());
    // A start of image data, so that the header is complete to a reader.
    png.extend_from_slice(&2u32.to_be_bytes());
    let idat_start = png.len();
    png.extend_from_slice(b"IDAT\x78\x9c");
    let crc = crc32(&png[idat_start..]);
    png.extend_from_slice(&crc.to_be_bytes());
    std::fs::write(&bomb, &png).unwrap();
    let missing = d.join("vanished.jpg");

    let paths = [
        &tiny,
        &grey,
        &rgba,
        &deep,
        &tall,
        &truncated,
        &empty,
        &text,
        &header_only,
        &bomb,
        &missing,
    ];
    let (lines, stderr) = detect(&paths.map(|p| p.as_path()));
    let sizes: Vec<(String, u64, u64)> = lines
        .iter()
        .map(|l| {
            let name = Path::new(l["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(l["faces"].is_array(), "{l}");
            (
                name,
                l["width"].as_u64().unwrap(),
                l["height"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        [
            ("one-pixel.png".to_string(), 1, 1),
            ("grey.png".to_string(), 300, 200),
            ("rgba.png".to_string(), 120, 90),
            ("sixteen-bit.png".to_string(), 64, 48),
            ("tall.jpg".to_string(), 20, 2000),
            ("truncated.jpg".to_string(), 20, 2000),
        ]
    );
    for (file, reason) in [
        ("empty.jpg", "empty file"),
        ("notes.jpg", "not a JPEG, PNG, WebP or HEIC image"),
        ("header-only.jpg", "corrupt or unsupported"),
        ("bomb.png", "decompression bomb"),
        ("vanished.jpg", "cannot read"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not reported:\n{stderr}"));
        assert!(line.contains(reason), "{line}");
    }
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("memories: 6 photos, ") && summary.ends_with(", 5 files skipped"),
        "{summary}"
    );
}

#[test]
fn folders_are_searched_and_faceless_photos_have_no_faces() {
    // The outing photos are landscapes and buildings; the detector should find no faces there.
    let outing = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/outing");
    let (lines, _) = detect(&[&outing]);
    assert_eq!(lines.len(), 9);
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["path", "width", "height", "faces"]);
    }
    let with_faces: Vec<_> = lines
        .iter()
        .filter(|l| !l["faces"].as_array().unwrap().is_empty())
        .collect();
    assert!(
        with_faces.len() <= 1,
        "faces found in landscapes: {with_faces:?}"
    );
}

/// CRC-32 (IEEE) for the PNG chunk the bomb test writes.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_symlink_loop_in_a_folder_does_not_hang_or_repeat_photos() {
    let dir = tempfile::tempdir().unwrap();
    let photo = save(
        dir.path(),
        "photo.png",
        DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 48, Rgb([90, 120, 150]))),
        ImageFormat::Png,
    );
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let (lines, _) = detect(&[dir.path()]);
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [photo.to_str().unwrap()]);
}

/// `--interpreter` runs the same network in nnc's reference interpreter: the compiled code must
/// find the same faces, to rounding.
#[test]
fn compiled_detector_finds_what_the_interpreter_finds() {
    let people = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/people");
    let photos = [
        "group-1.jpg",
        "person-linda.jpg",
        "sample1.jpg",
        "sample4.jpg",
    ]
    .map(|name| people.join(name));
    // Both detectors: YuNet (the default) and the student.
    for detector in ["yunet", "student"] {
        let mut args: Vec<&Path> = vec![Path::new("--detector"), Path::new(detector)];
        args.extend(photos.iter().map(|p| p.as_path()));
        let (compiled, _) = detect(&args);
        let (interpreted, _) = detect(&[&[Path::new("--interpreter")], &args[..]].concat());
        assert_eq!(compiled.len(), photos.len(), "{detector}: {compiled:?}");
        assert_eq!(
            interpreted.len(),
            photos.len(),
            "{detector}: {interpreted:?}"
        );
        let mut faces = 0;
        for (c, i) in compiled.iter().zip(&interpreted) {
            assert_eq!(c["path"], i["path"]);
            let (cf, jf) = (
                c["faces"].as_array().unwrap(),
                i["faces"].as_array().unwrap(),
            );
            assert_eq!(cf.len(), jf.len(), "{detector}: {c}\n{i}");
            for (a, b) in cf.iter().zip(jf) {
                for key in ["x", "y", "w", "h"] {
                    let (a, b) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
                    assert!(
                        (a - b).abs() <= 0.5,
                        "{detector} {key}: {a} vs {b}\n{c}\n{i}"
                    );
                }
                let (a, b) = (a["score"].as_f64().unwrap(), b["score"].as_f64().unwrap());
                assert!((a - b).abs() <= 0.002, "{detector} score: {a} vs {b}");
            }
            faces += cf.len();
        }
        assert!(faces >= 4, "{detector}: {compiled:?}");
    }
}
