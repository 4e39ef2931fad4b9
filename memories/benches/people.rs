//! People clustering at 10,000 and 100,000 faces, on one core.
//!
//! The faces are real: identity descriptors of LFW photos (the people with two photos or more,
//! through the product's detector, landmarks, chip and compiled embedding network), cached in
//! `target/people-bench/descriptors.bin`. Each library face is a copy of one of them moved by
//! Gaussian noise (0.28 from its photo on average, about as far as two photos of one person
//! are), so that the clusters have the structure of real people: several photos each, some
//! look-alikes, and many people with few faces.
//!
//! For each size it measures, inside a one-thread rayon pool:
//! - a first run: the face graph from nothing (HNSW search), and its labelling;
//! - a run that adds 1,000 faces, and one that adds 100 (exact search of the new faces);
//! - a run with nothing new; and the graph file's size, save and load times;
//! - the crossover behind `EXACT_FACES`: exact search time per face against HNSW build time
//!   per face;
//!
//! and, untimed: DBSCAN over the graph against exact DBSCAN over every pair (on all cores), the
//! share of same-cluster pairs that agree both ways (the graph's search finding every edge);
//! and the purity and completeness against the true LFW person of exact DBSCAN (the rule
//! before Chinese whispers) and of `memories people`'s Chinese whispers over the graph. Before
//! the noisy copies, both rules cluster the real photos alone.
//!
//! ```text
//! cargo bench -p memories --bench people            # writes target/people-bench/results.json
//! ```

use memories_library::people::graph::{FaceGraph, Search, Update};
use memories_library::people::{FaceKey, Params, dbscan};
use memories_networks::NETWORKS;
use memories_vision::embedding::FaceEmbedder;
use memories_vision::faces::FaceDetector;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "../examples/support/describe.rs"]
mod describe;
use describe::describe;

// Only the probe is used here.
#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

/// Real descriptors wanted: enough people with several photos each.
const REAL: usize = 2500;

/// (person, descriptor) of LFW photos of people with two photos or more, in name order.
fn real_descriptors(lfw: &Path, cache: &Path) -> Vec<(u32, Vec<f32>)> {
    if let Ok(bytes) = std::fs::read(cache) {
        let rows: Vec<(u32, Vec<f32>)> = bytes
            .chunks_exact(4 + 128 * 4)
            .map(|c| {
                let person = u32::from_le_bytes(c[..4].try_into().unwrap());
                let d = c[4..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                (person, d)
            })
            .collect();
        if rows.len() >= REAL {
            return rows;
        }
    }
    let mut people: Vec<PathBuf> = std::fs::read_dir(lfw)
        .expect("../shared/data/lfw")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    people.sort();
    let mut detector = FaceDetector::new(&NETWORKS, 0.5);
    let mut embedder = FaceEmbedder::new(&NETWORKS);
    let mut rows = Vec::new();
    let started = Instant::now();
    'people: for (person, dir) in people.iter().enumerate() {
        let mut photos: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        if photos.len() < 2 {
            continue;
        }
        photos.sort();
        for photo in photos {
            if let Some(d) = describe(&photo, &mut detector, &mut embedder) {
                rows.push((person as u32, d));
                if rows.len() == REAL {
                    break 'people;
                }
            }
        }
    }
    println!(
        "described {} LFW photos in {:.0} s (cached in {})",
        rows.len(),
        started.elapsed().as_secs_f64(),
        cache.display()
    );
    let mut bytes = Vec::new();
    for (person, d) in &rows {
        bytes.extend_from_slice(&person.to_le_bytes());
        for v in d {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(cache, bytes).unwrap();
    rows
}

/// `n` faces: copies of the real descriptors in turn, each moved by Gaussian noise of `sigma`
/// per dimension; with the true person of each.
fn library(real: &[(u32, Vec<f32>)], n: usize, sigma: f32, seed: u64) -> (Vec<Vec<f32>>, Vec<u32>) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut gaussian = move || {
        let (u, v) = (uniform(), uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let mut faces = Vec::with_capacity(n);
    let mut truth = Vec::with_capacity(n);
    for i in 0..n {
        let (person, base) = &real[i % real.len()];
        faces.push(base.iter().map(|v| v + sigma * gaussian()).collect());
        truth.push(*person);
    }
    (faces, truth)
}

fn keys(n: usize, prefix: &str) -> Vec<FaceKey> {
    (0..n).map(|i| format!("{prefix}{i:06}#0")).collect()
}

/// Same-cluster pairs of `a` that are same-cluster in `b`, and the number of them; noise is
/// in no pair.
fn pairs_kept(a: &[Option<usize>], b: &[Option<usize>]) -> (u64, u64) {
    let mut both: HashMap<(usize, usize), u64> = HashMap::new();
    let mut only_a: HashMap<usize, u64> = HashMap::new();
    for (x, y) in a.iter().zip(b) {
        if let Some(x) = x {
            *only_a.entry(*x).or_default() += 1;
            if let Some(y) = y {
                *both.entry((*x, *y)).or_default() += 1;
            }
        }
    }
    let pairs = |c: u64| c * c.saturating_sub(1) / 2;
    (
        both.values().map(|&c| pairs(c)).sum(),
        only_a.values().map(|&c| pairs(c)).sum(),
    )
}

/// Share of clustered faces whose cluster's most common true person is theirs, and the share
/// of faces clustered.
fn purity(labels: &[Option<usize>], truth: &[u32]) -> (f64, f64) {
    let mut count: HashMap<(usize, u32), usize> = HashMap::new();
    for (l, t) in labels.iter().zip(truth) {
        if let Some(l) = l {
            *count.entry((*l, *t)).or_default() += 1;
        }
    }
    let mut best: HashMap<usize, usize> = HashMap::new();
    for ((l, _), c) in count {
        let b = best.entry(l).or_default();
        *b = (*b).max(c);
    }
    let clustered = labels.iter().flatten().count();
    (
        best.values().sum::<usize>() as f64 / clustered.max(1) as f64,
        clustered as f64 / labels.len() as f64,
    )
}

/// Share of faces in the cluster that holds most of their true person's faces (noise holds
/// none).
fn completeness(labels: &[Option<usize>], truth: &[u32]) -> f64 {
    let mut count: HashMap<(u32, usize), usize> = HashMap::new();
    for (l, t) in labels.iter().zip(truth) {
        if let Some(l) = l {
            *count.entry((*t, *l)).or_default() += 1;
        }
    }
    let mut best: HashMap<u32, usize> = HashMap::new();
    for ((t, _), c) in count {
        let b = best.entry(t).or_default();
        *b = (*b).max(c);
    }
    best.values().sum::<usize>() as f64 / labels.len() as f64
}

fn seconds(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn method(u: &Update) -> &'static str {
    match u.search {
        Search::None => "none",
        Search::Exact => "exact",
        Search::Approximate => "hnsw",
    }
}

fn main() {
    let before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", before.trim());
    let peak = support::fma_peak();
    match peak {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured (no AVX2/FMA)"),
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lfw = root.join("../../shared/data/lfw");
    if !lfw.is_dir() {
        println!("SKIPPED: no LFW photos under {}", lfw.display());
        return;
    }
    let out = root.join("../target/people-bench");
    let real = real_descriptors(&lfw, &out.join("descriptors.bin"));
    let people = real
        .iter()
        .map(|(p, _)| p)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!("{} real descriptors of {people} LFW people", real.len());
    let params = Params::default();
    // The real photos alone, every pair compared: how each rule does on real faces.
    let real_row = {
        let refs: Vec<&[f32]> = real.iter().map(|(_, d)| d.as_slice()).collect();
        let truth: Vec<u32> = real.iter().map(|(p, _)| *p).collect();
        let k = keys(refs.len(), "r");
        let (graph, _) = FaceGraph::default().update(&k, &refs, params.eps);
        let mut row = serde_json::Map::new();
        for (rule, labels) in [
            ("dbscan", graph.dbscan(params.min_faces)),
            ("whispers", graph.labels(params.min_faces)),
        ] {
            let (p, clustered) = purity(&labels, &truth);
            let c = completeness(&labels, &truth);
            println!(
                "the {} real photos alone, {rule}: purity {p:.4}, completeness {c:.4} ({:.1}% clustered)",
                refs.len(),
                100.0 * clustered
            );
            row.insert(
                rule.to_string(),
                serde_json::json!({"purity": p, "completeness": c, "clustered": clustered}),
            );
        }
        row
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut rows = Vec::new();
    let sizes: Vec<usize> = std::env::var("PEOPLE_BENCH_FACES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    for n in sizes {
        let sigma = 0.28 / 128f32.sqrt();
        let (faces, truth) = library(&real, n + 1000, sigma, 7);
        let refs: Vec<&[f32]> = faces.iter().map(Vec::as_slice).collect();
        let all_keys = keys(n + 1000, "f");
        let (base_keys, base_refs) = (&all_keys[..n], &refs[..n]);
        println!("\n{n} faces (+1,000 for the incremental runs), one thread:");
        let (graph, first, t_first, t_labels, labels) = one.install(|| {
            let t = Instant::now();
            let (graph, first) = FaceGraph::default().update(base_keys, base_refs, params.eps);
            let t_first = seconds(t);
            let t = Instant::now();
            let labels = graph.labels(params.min_faces);
            (graph, first, t_first, seconds(t), labels)
        });
        let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
        println!(
            "  first run ({} search): graph {t_first:.2} s, labels {:.3} s; {clusters} people",
            method(&first),
            t_labels
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("graph");
        let t = Instant::now();
        graph.save(&file).unwrap();
        let t_save = seconds(t);
        let t = Instant::now();
        let loaded = FaceGraph::load(&file);
        let t_load = seconds(t);
        assert_eq!(loaded, graph);
        let size = std::fs::metadata(&file).unwrap().len();
        println!(
            "  graph file {:.1} MB: save {t_save:.3} s, load {t_load:.3} s",
            size as f64 / 1e6
        );
        let (t_same, t_100, t_1000, u100, u1000, t_update) = one.install(|| {
            let t = Instant::now();
            let (same, u) = loaded.clone().update(base_keys, base_refs, params.eps);
            let t_update = seconds(t);
            same.labels(params.min_faces);
            assert_eq!(u.search, Search::None);
            let t_same = seconds(t);
            let t = Instant::now();
            let (_, u100) =
                loaded
                    .clone()
                    .update(&all_keys[..n + 100], &refs[..n + 100], params.eps);
            let t_100 = seconds(t);
            let t = Instant::now();
            let (g, u1000) = loaded.clone().update(&all_keys, &refs, params.eps);
            g.labels(params.min_faces);
            (t_same, t_100, seconds(t), u100, u1000, t_update)
        });
        println!(
            "  nothing new: {t_same:.3} s; +100 faces ({}): {t_100:.3} s; +1,000 faces ({}), labels included: {t_1000:.2} s",
            method(&u100),
            method(&u1000)
        );
        // Crossover: exact search time per face against HNSW time per face.
        let probe: Vec<usize> = (0..200).collect();
        let probe_keys: Vec<FaceKey> = probe.iter().map(|i| format!("probe{i}")).collect();
        let (t_exact_face, t_hnsw_face) = one.install(|| {
            let mut k = base_keys.to_vec();
            k.extend(probe_keys.iter().cloned());
            let mut r = base_refs.to_vec();
            r.extend(probe.iter().map(|&i| refs[n + i]));
            let t = Instant::now();
            let (_, u) = loaded
                .clone()
                .update_by(&k, &r, params.eps, Some(Search::Exact));
            assert_eq!(u.searched, probe.len());
            // Less the cost of an update with nothing new.
            let exact = (seconds(t) - t_update).max(0.0) / probe.len() as f64;
            let hnsw = if first.search == Search::Approximate {
                t_first
            } else {
                let t = Instant::now();
                FaceGraph::default().update_by(
                    base_keys,
                    base_refs,
                    params.eps,
                    Some(Search::Approximate),
                );
                seconds(t)
            };
            (exact, hnsw / n as f64)
        });
        println!(
            "  exact search {:.2} ms per face searched ({:.1} ns a pair); HNSW {:.2} ms per library face (build and search): exact is faster below {:.0} faces searched",
            t_exact_face * 1e3,
            t_exact_face * 1e9 / n as f64,
            t_hnsw_face * 1e3,
            n as f64 * t_hnsw_face / t_exact_face
        );
        // Quality, untimed. The graph's neighbours against every pair: DBSCAN over the graph
        // against exact DBSCAN (on all cores), which agree when the search found every edge.
        let t = Instant::now();
        let reference = dbscan(base_refs, params);
        let t_reference = seconds(t);
        let graph_dbscan = graph.dbscan(params.min_faces);
        let (kept, of) = pairs_kept(&reference, &graph_dbscan);
        let (kept_back, of_back) = pairs_kept(&graph_dbscan, &reference);
        let noise_differs = reference
            .iter()
            .zip(&graph_dbscan)
            .filter(|(a, b)| a.is_some() != b.is_some())
            .count();
        println!(
            "  the graph's DBSCAN against exact DBSCAN ({t_reference:.0} s on all cores): {:.4} of its same-cluster pairs kept, {:.4} of the graph's are its; {noise_differs} faces differ in being clustered",
            kept as f64 / of.max(1) as f64,
            kept_back as f64 / of_back.max(1) as f64
        );
        // Each rule against the true person.
        let (purity_exact, clustered_exact) = purity(&reference, &truth[..n]);
        let (purity_graph, clustered_graph) = purity(&labels, &truth[..n]);
        let (complete_exact, complete_graph) = (
            completeness(&reference, &truth[..n]),
            completeness(&labels, &truth[..n]),
        );
        println!(
            "  against the true person: exact DBSCAN (before) purity {purity_exact:.4}, completeness {complete_exact:.4} ({:.1}% clustered); Chinese whispers over the graph (memories people) purity {purity_graph:.4}, completeness {complete_graph:.4} ({:.1}% clustered)",
            100.0 * clustered_exact,
            100.0 * clustered_graph
        );
        rows.push(serde_json::json!({
            "faces": n,
            "first_run_s": t_first,
            "first_run_search": method(&first),
            "labels_s": t_labels,
            "people": clusters,
            "graph_file_bytes": size,
            "save_s": t_save,
            "load_s": t_load,
            "nothing_new_s": t_same,
            "add_100_s": t_100,
            "add_1000_s": t_1000,
            "add_1000_search": method(&u1000),
            "exact_ms_per_face_searched": t_exact_face * 1e3,
            "hnsw_ms_per_library_face": t_hnsw_face * 1e3,
            "pairs_kept_of_exact": kept as f64 / of.max(1) as f64,
            "pairs_that_exact_has": kept_back as f64 / of_back.max(1) as f64,
            "faces_clustered_differently": noise_differs,
            "purity_exact": purity_exact,
            "purity_graph": purity_graph,
            "completeness_exact": complete_exact,
            "completeness_graph": complete_graph,
        }));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average after: {}", load.trim());
    let json = serde_json::json!({
        "load_average_before": before.trim(),
        "load_average_after": load.trim(),
        "fma_peak_gflops": peak,
        "real_descriptors": real.len(),
        "real_people": people,
        "real_photos_alone": real_row,
        "rows": rows,
    });
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    println!("wrote {}", out.join("results.json").display());
}
