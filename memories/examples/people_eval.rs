//! Measures what `memories people` relies on, with the product's own pipeline (detector,
//! landmarks, chip, compiled embedding network): pair accuracy at distance 0.6 on
//! `../shared/data/identities` (every pair of `bbt/`, and `deepface/master.csv`) and on LFW
//! (the first 300 people with two or more photos: one same-person and one different-person pair
//! each), and the clustering's purity and completeness on `bbt/`.
//!
//! ```text
//! cargo run --release -p memories --example people_eval
//! ```

use memories_library::people::{FaceGraph, Params, dbscan, distance};
use memories_networks::NETWORKS;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::FaceDetector;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "support/describe.rs"]
mod describe;
use describe::describe;

const THRESHOLD: f32 = 0.6;

/// Share of pairs called right at [`THRESHOLD`], and the number of pairs.
fn accuracy(pairs: &[(f32, bool)]) -> (f64, usize) {
    let right = pairs
        .iter()
        .filter(|(d, same)| (*d < THRESHOLD) == *same)
        .count();
    (right as f64 / pairs.len().max(1) as f64, pairs.len())
}

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let mut detector = FaceDetector::new(&NETWORKS, 0.5);
    let mut embedder = FaceEmbedder::new(&NETWORKS);

    // bbt: one folder per person.
    let bbt = data.join("identities/bbt");
    let mut people: Vec<(String, PathBuf)> = Vec::new();
    for person in std::fs::read_dir(&bbt).expect("identities/bbt").flatten() {
        for photo in std::fs::read_dir(person.path()).unwrap().flatten() {
            people.push((
                person.file_name().to_string_lossy().into_owned(),
                photo.path(),
            ));
        }
    }
    people.sort();
    let mut described: Vec<(String, Vec<f32>)> = Vec::new();
    for (who, path) in &people {
        match describe(path, &mut detector, &mut embedder) {
            Some(d) => described.push((who.clone(), d)),
            None => println!("bbt: no face found in {}", path.display()),
        }
    }
    let mut pairs = Vec::new();
    for i in 0..described.len() {
        for j in i + 1..described.len() {
            pairs.push((
                distance(&described[i].1, &described[j].1),
                described[i].0 == described[j].0,
            ));
        }
    }
    let (acc, n) = accuracy(&pairs);
    println!(
        "bbt: {} of {} photos described; pair accuracy {acc:.3} over {n} pairs",
        described.len(),
        people.len()
    );

    // Clustered as `memories people` does, through the face graph; the labels must equal exact
    // DBSCAN's, since every pair is compared at this size.
    let refs: Vec<&[f32]> = described.iter().map(|(_, d)| d.as_slice()).collect();
    let keys: Vec<String> = (0..refs.len()).map(|i| format!("bbt{i}#0")).collect();
    let params = Params::default();
    let (graph, _) = FaceGraph::default().update(&keys, &refs, params.eps);
    println!(
        "bbt: the face graph's DBSCAN equals exact DBSCAN's: {}",
        graph.dbscan(params.min_faces) == dbscan(&refs, params)
    );
    for (rule, labels) in [
        ("DBSCAN (before)", graph.dbscan(params.min_faces)),
        (
            "Chinese whispers (memories people)",
            graph.labels(params.min_faces),
        ),
    ] {
        cluster_report(rule, &described, &labels);
    }
    // Speed of one embedding: the compiled network on one chip, single-threaded.
    let chip_image = image::RgbImage::from_fn(150, 150, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let rounds = 50;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(embedder.embed(&chip_image));
    }
    println!(
        "one embedding (150x150 chip, compiled, AVX2 where available): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3 / f64::from(rounds)
    );

    // deepface: labelled pairs.
    let dir = data.join("identities/deepface");
    let csv = std::fs::read_to_string(dir.join("master.csv")).expect("master.csv");
    let mut cache: BTreeMap<String, Option<Vec<f32>>> = BTreeMap::new();
    let mut pairs = Vec::new();
    let mut missing = 0;
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let mut get = |name: &str| {
            cache
                .entry(name.to_string())
                .or_insert_with(|| describe(&dir.join(name), &mut detector, &mut embedder))
                .clone()
        };
        match (get(cols[0]), get(cols[1])) {
            (Some(a), Some(b)) => pairs.push((distance(&a, &b), cols[2].trim() == "Yes")),
            _ => missing += 1,
        }
    }
    let (acc, n) = accuracy(&pairs);
    println!(
        "deepface master.csv: pair accuracy {acc:.3} over {n} pairs ({missing} pairs without a face)"
    );

    // LFW: frontalized 90x90 crops, one folder per person.
    let lfw = data.join("lfw");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&lfw)
        .expect("lfw")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let photos = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let multi: Vec<Vec<PathBuf>> = folders
        .iter()
        .map(|f| photos(f))
        .filter(|p| p.len() >= 2)
        .take(301)
        .collect();
    let mut pairs = Vec::new();
    let mut missing = 0;
    for k in 0..multi.len() - 1 {
        let a = describe(&multi[k][0], &mut detector, &mut embedder);
        let b = describe(&multi[k][1], &mut detector, &mut embedder);
        let c = describe(&multi[k + 1][0], &mut detector, &mut embedder);
        match (&a, &b) {
            (Some(a), Some(b)) => pairs.push((distance(a, b), true)),
            _ => missing += 1,
        }
        match (&a, &c) {
            (Some(a), Some(c)) => pairs.push((distance(a, c), false)),
            _ => missing += 1,
        }
    }
    let (acc, n) = accuracy(&pairs);
    println!("lfw: pair accuracy {acc:.3} over {n} pairs ({missing} pairs without a face)");
}

/// Purity and completeness of `labels` against the true people of `described`.
fn cluster_report(rule: &str, described: &[(String, Vec<f32>)], labels: &[Option<usize>]) {
    let mut clusters: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for ((who, _), label) in described.iter().zip(labels) {
        if let Some(l) = label {
            clusters.entry(*l).or_default().push(who);
        }
    }
    let majority = |names: &[&str]| {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for n in names {
            *count.entry(n).or_default() += 1;
        }
        count
            .into_iter()
            .max_by_key(|(_, c)| *c)
            .map(|(n, c)| (n.to_string(), c))
            .unwrap()
    };
    let assigned: usize = clusters.values().map(Vec::len).sum();
    let pure: usize = clusters.values().map(|c| majority(c).1).sum();
    // Completeness: for each person, the share of their photos in their largest cluster.
    let mut by_person: BTreeMap<&str, Vec<Option<usize>>> = BTreeMap::new();
    for ((who, _), label) in described.iter().zip(labels) {
        by_person.entry(who).or_default().push(*label);
    }
    let together: usize = by_person
        .values()
        .map(|ls| {
            let mut count: BTreeMap<usize, usize> = BTreeMap::new();
            for l in ls.iter().flatten() {
                *count.entry(*l).or_default() += 1;
            }
            count.values().max().copied().unwrap_or(0)
        })
        .sum();
    println!(
        "bbt clustering, {rule} (eps {}, {} faces): {} clusters for {} people, purity {:.3}, completeness {:.3}, {} of {} faces unassigned",
        Params::default().eps,
        Params::default().min_faces,
        clusters.len(),
        by_person.len(),
        pure as f64 / assigned.max(1) as f64,
        together as f64 / described.len() as f64,
        described.len() - assigned,
        described.len()
    );
}
