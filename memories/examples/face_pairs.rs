//! Face identity measurements on `../shared/data` (not part of the product).
//!
//! ```text
//! cargo run --release -p memories --example face_pairs -- template
//! cargo run --release -p memories --example face_pairs -- speed
//! cargo run --release -p memories --example face_pairs
//! ```
//!
//! `speed`: the time of one embedding, compiled (AVX2 and portable paths) and interpreted, as
//! the mean over dlib's 64 reference chips after one warm-up pass.
//!
//! `template`: runs the face detector on dlib's aligned reference chips and prints the mean
//! position of each landmark, which is `embedding::TEMPLATE`.
//!
//! Otherwise: detects the largest face of every photo in `identities/` (bbt: 8 people x 5;
//! deepface: pairs listed in `master.csv`), aligns it with `embedding::align`, embeds it, and
//! prints (1) how far each descriptor is from dlib's own for the same photo (dlib's alignment with
//! its 5-point model), and (2) pair accuracy at dlib's 0.6 threshold, ours and dlib's.

use memories::analysis::decode_rgb;
use memories::embedding::{self, Chip, FaceEmbedder, SAME_PERSON};
use memories::faces::{DEFAULT_SCORE, FaceDetector};
use memories::metadata::PhotoMeta;
use memories::scan::{self, Sniffed};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

type Descriptor = [f32; embedding::DIMENSIONS];

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// dlib's reference: source photo (relative to `data()`) -> (chip path, descriptor).
fn references() -> HashMap<String, (PathBuf, Descriptor)> {
    let dir = data().join("embedding/dlib-reference");
    let text = std::fs::read_to_string(dir.join("descriptors.json")).expect("dlib-reference");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("descriptors.json");
    entries
        .iter()
        .map(|e| {
            let values: Vec<f32> = e["descriptor"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            (
                e["source"].as_str().unwrap().to_string(),
                (
                    dir.join(e["chip"].as_str().unwrap()),
                    values.try_into().unwrap(),
                ),
            )
        })
        .collect()
}

fn template(detector: &mut FaceDetector) {
    let mut sums = [(0.0f64, 0.0f64); 5];
    let mut count = 0;
    let mut refs: Vec<_> = references().into_values().collect();
    refs.sort_by(|a, b| a.0.cmp(&b.0));
    for (chip, _) in refs {
        let found = detector.detect_file(&chip).unwrap();
        let best = found
            .faces
            .iter()
            .filter(|f| f.landmarks.is_some())
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let Some(face) = best else {
            println!("{}: no face", chip.display());
            continue;
        };
        for (s, (x, y)) in sums.iter_mut().zip(face.landmarks.unwrap()) {
            s.0 += f64::from(x);
            s.1 += f64::from(y);
        }
        count += 1;
    }
    println!("landmarks found on {count} chips; mean positions (x, y):");
    for (x, y) in sums {
        println!("    ({:.1}, {:.1}),", x / count as f64, y / count as f64);
    }
}

/// The descriptor of the largest face in the photo at `path`, or why there is none.
fn describe(
    path: &Path,
    detector: &mut FaceDetector,
    embedder: &mut FaceEmbedder,
) -> Result<Descriptor, String> {
    let found = detector.detect_file(path)?;
    let face = found
        .faces
        .iter()
        .filter(|f| f.landmarks.is_some())
        .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)))
        .ok_or("no face")?;
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let Sniffed::Image(format) = scan::sniff(&bytes) else {
        return Err("not an image".to_string());
    };
    let meta = PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
    let decoded = decode_rgb(&bytes, format, meta.orientation, 8192).map_err(|e| e.to_string())?;
    let scale = decoded.image.width() as f32 / found.width as f32;
    let landmarks = face.landmarks.unwrap().map(|(x, y)| (x * scale, y * scale));
    let chip: Chip = embedding::align(&decoded.image, &landmarks);
    Ok(embedder.embed(&chip))
}

/// Accuracy of `same == (distance < SAME_PERSON)` over `pairs`.
fn accuracy(pairs: &[(Descriptor, Descriptor, bool)]) -> f64 {
    let right = pairs
        .iter()
        .filter(|(a, b, same)| (embedding::distance(a, b) < SAME_PERSON) == *same)
        .count();
    right as f64 / pairs.len() as f64
}

fn speed() {
    let mut chips: Vec<Vec<f32>> = references()
        .into_values()
        .map(|(path, _)| {
            let image = image::open(&path).unwrap().to_rgb8();
            image.as_raw().iter().map(|&b| f32::from(b)).collect()
        })
        .collect();
    chips.sort_by(|a, b| a.iter().sum::<f32>().total_cmp(&b.iter().sum()));
    let time = |what: &str, run: &mut dyn FnMut(&[f32]) -> f32| {
        let mut sink = 0.0;
        for chip in &chips {
            sink += run(chip);
        }
        let start = std::time::Instant::now();
        for chip in &chips {
            sink += run(chip);
        }
        let ms = start.elapsed().as_secs_f64() * 1e3 / chips.len() as f64;
        println!("{what}: {ms:.2} ms per 150x150 chip (checksum {sink:.3})");
    };
    for mut net in [
        embedding::network::Network::new(),
        embedding::network::Network::portable(),
    ] {
        let what = if net.uses_avx2() {
            "nnc compiled, AVX2"
        } else {
            "nnc compiled, portable"
        };
        time(what, &mut |chip| {
            let out = net.v150x150().scale0(chip.try_into().unwrap());
            out.descriptor.data()[0]
        });
    }
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let model = nnc::ir::Model::load(
        &models.join("face_embedding.nnc"),
        &models.join("face_embedding.safetensors"),
    )
    .unwrap();
    let interpreter = nnc::Interpreter::new(model);
    time("nnc interpreter", &mut |chip| {
        let shape = nnc::ir::Shape {
            h: 150,
            w: 150,
            c: 3,
        };
        let out = interpreter
            .run(&nnc::Tensor::from_vec(shape, chip.to_vec()))
            .unwrap();
        out.get("descriptor").unwrap().data[0]
    });
}

fn main() {
    let mut detector = FaceDetector::new(DEFAULT_SCORE);
    match std::env::args().nth(1).as_deref() {
        Some("template") => return template(&mut detector),
        Some("speed") => return speed(),
        _ => {}
    }
    let mut embedder = FaceEmbedder::new();
    let refs = references();
    let root = data();
    // Every photo: (relative path, identity or None for deepface, which pairs by csv).
    let mut photos: Vec<(String, Option<String>)> = Vec::new();
    for person in std::fs::read_dir(root.join("identities/bbt")).unwrap() {
        let person = person.unwrap().path();
        let name = person.file_name().unwrap().to_string_lossy().to_string();
        for photo in std::fs::read_dir(&person).unwrap() {
            let photo = photo.unwrap().path();
            let relative = photo
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            photos.push((relative, Some(name.clone())));
        }
    }
    for photo in std::fs::read_dir(root.join("identities/deepface")).unwrap() {
        let photo = photo.unwrap().path();
        if photo.extension().is_some_and(|e| e == "jpg") {
            let relative = photo
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            photos.push((relative, None));
        }
    }
    photos.sort();
    let start = std::time::Instant::now();
    let mut ours: HashMap<String, Descriptor> = HashMap::new();
    let mut to_dlib = Vec::new();
    for (relative, _) in &photos {
        match describe(&root.join(relative), &mut detector, &mut embedder) {
            Ok(d) => {
                if let Some((_, reference)) = refs.get(relative) {
                    to_dlib.push(embedding::distance(&d, reference));
                }
                ours.insert(relative.clone(), d);
            }
            Err(e) => println!("{relative}: {e}"),
        }
    }
    println!(
        "{} of {} photos described in {:.1} s",
        ours.len(),
        photos.len(),
        start.elapsed().as_secs_f64()
    );
    to_dlib.sort_by(f32::total_cmp);
    println!(
        "distance to dlib's descriptor of the same photo ({} photos): median {:.3}, mean {:.3}, max {:.3}",
        to_dlib.len(),
        to_dlib[to_dlib.len() / 2],
        to_dlib.iter().sum::<f32>() / to_dlib.len() as f32,
        to_dlib.last().unwrap()
    );

    // bbt: every pair of photos; deepface: master.csv.
    let bbt: Vec<&(String, Option<String>)> = photos.iter().filter(|p| p.1.is_some()).collect();
    let mut bbt_pairs = Vec::new();
    for (i, a) in bbt.iter().enumerate() {
        for b in &bbt[i + 1..] {
            bbt_pairs.push((a.0.clone(), b.0.clone(), a.1 == b.1));
        }
    }
    let csv = std::fs::read_to_string(root.join("identities/deepface/master.csv")).unwrap();
    let deepface_pairs: Vec<(String, String, bool)> = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(',');
            let (a, b, d) = (f.next()?, f.next()?, f.next()?);
            Some((
                format!("identities/deepface/{a}"),
                format!("identities/deepface/{b}"),
                d.trim() == "Yes",
            ))
        })
        .collect();
    for (set, pairs) in [("bbt", &bbt_pairs), ("deepface", &deepface_pairs)] {
        let with = |table: &dyn Fn(&str) -> Option<Descriptor>| {
            pairs
                .iter()
                .filter_map(|(a, b, same)| Some((table(a)?, table(b)?, *same)))
                .collect::<Vec<_>>()
        };
        let mine = with(&|p| ours.get(p).copied());
        let theirs = with(&|p| refs.get(p).map(|r| r.1));
        let both = with(&|p| refs.get(p).and(ours.get(p).copied()));
        println!(
            "{set}: {} pairs; ours {:.4} on {} pairs ({:.4} on the {} pairs dlib has), dlib {:.4} on {}",
            pairs.len(),
            accuracy(&mine),
            mine.len(),
            accuracy(&both),
            both.len(),
            accuracy(&theirs),
            theirs.len()
        );
    }
}
