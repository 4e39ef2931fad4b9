//! How well `memories people` finds the people of a library made by `make_library`, against
//! the faces the generator pasted in (its ground truth, drawn again from the same seed).
//!
//! Each detected face is matched to the pasted face of its photo whose centre lies inside the
//! detected box (the nearest, when several do). Then, over the matched faces that a person
//! holds: purity is the share of faces in the majority true person of their cluster, and
//! completeness the share of each true person's faces in their largest cluster.
//!
//! ```text
//! cargo run --release -p memories --example library_people -- LIB --photos N --seed S --cache INDEX
//! ```

use clap::Parser;
use memories_library::{indexing, people};
use memories_networks::NETWORKS;
use std::collections::HashMap;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "support/library.rs"]
mod library;

#[derive(Parser)]
struct Args {
    /// The library folder, as make_library wrote it.
    dir: PathBuf,
    #[arg(long)]
    photos: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The library's index (indexed now if it is not yet).
    #[arg(long)]
    cache: PathBuf,
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))]
    data: PathBuf,
    /// Also cluster with Chinese whispers (an experiment): over the face graph, and up to 10,000
    /// faces over every neighbour (exact search, O(n^2)).
    #[arg(long)]
    chinese_whispers: bool,
}

fn main() {
    let args = Args::parse();
    let sources = library::Sources::load(&args.data, args.seed).expect("the real data");
    let truth: HashMap<String, Vec<library::PlacedFace>> =
        library::timeline(args.photos, args.seed)
            .iter()
            .map(|item| {
                (
                    item.rel.clone(),
                    library::faces_in(&sources, item, args.seed),
                )
            })
            .collect();
    let pasted: usize = truth.values().map(Vec::len).sum();
    drop(sources);

    let report =
        indexing::index_folder(&args.dir, Some(&args.cache), true, &NETWORKS).expect("indexed");
    let faces = people::library_faces(&report.records);
    let params = people::Params::default();
    let (graph, _) = people::library_graph(&args.cache, &faces, params);
    let labels = graph.labels(params.min_faces);
    let before = graph.dbscan(params.min_faces);

    // The pasted face each detected face is, where one matches: (person, photo of theirs).
    let source: Vec<Option<(usize, usize)>> = faces
        .iter()
        .map(|f| {
            let b = &f.face;
            truth
                .get(f.rel)?
                .iter()
                .filter_map(|t| {
                    let (cx, cy) = (t.x + t.size as f64 / 2.0, t.y + t.size as f64 / 2.0);
                    let inside = cx >= f64::from(b.x)
                        && cx <= f64::from(b.x + b.w)
                        && cy >= f64::from(b.y)
                        && cy <= f64::from(b.y + b.h);
                    let (bx, by) = (f64::from(b.x + b.w / 2.0), f64::from(b.y + b.h / 2.0));
                    inside.then(|| ((cx - bx).powi(2) + (cy - by).powi(2), (t.person, t.photo)))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, s)| s)
        })
        .collect();
    // The true person of each detected face.
    let who: Vec<Option<usize>> = source.iter().map(|s| s.map(|(person, _)| person)).collect();
    let matched = who.iter().flatten().count();
    {
        let mut same_photo = Vec::new();
        let mut same_person = Vec::new();
        let mut other = Vec::new();
        let idx: Vec<usize> = (0..faces.len()).filter(|&i| source[i].is_some()).collect();
        let stride = idx.len().div_ceil(2000).max(1);
        let idx: Vec<usize> = idx.into_iter().step_by(stride).collect();
        for (a, &i) in idx.iter().enumerate() {
            for &j in &idx[a + 1..] {
                let d = people::distance(faces[i].descriptor, faces[j].descriptor);
                let (si, sj) = (source[i].unwrap(), source[j].unwrap());
                if si == sj {
                    same_photo.push(d);
                } else if si.0 == sj.0 {
                    same_person.push(d);
                } else {
                    other.push(d);
                }
            }
        }
        for (name, v) in [
            ("same pasted photo", &mut same_photo),
            ("same person, other photo", &mut same_person),
            ("different people", &mut other),
        ] {
            v.sort_by(f32::total_cmp);
            let q = |f: f64| {
                v.get(((v.len() as f64 - 1.0) * f) as usize)
                    .copied()
                    .unwrap_or(f32::NAN)
            };
            let below =
                |t: f32| v.iter().filter(|&&d| d < t).count() as f64 / v.len().max(1) as f64;
            println!(
                "  distances, {name}: {} pairs, quantiles 1% {:.3} 10% {:.3} 50% {:.3} 90% {:.3}; under 0.1 {:.4}, 0.15 {:.4}, 0.2 {:.4}",
                v.len(),
                q(0.01),
                q(0.1),
                q(0.5),
                q(0.9),
                below(0.1),
                below(0.15),
                below(0.2)
            );
        }
    }

    // How separable the pasted faces are: pairs of matched faces within eps, same person or not
    // (every pair up to 3,000 faces, a fixed stride of them past that).
    let matched_faces: Vec<(usize, &[f32])> = who
        .iter()
        .zip(&faces)
        .filter_map(|(w, f)| w.map(|p| (p, f.descriptor)))
        .collect();
    let stride = matched_faces.len().div_ceil(3000).max(1);
    let sample: Vec<_> = matched_faces.iter().step_by(stride).collect();
    let (mut same, mut same_near, mut other, mut other_near) = (0u64, 0u64, 0u64, 0u64);
    for (i, a) in sample.iter().enumerate() {
        for b in &sample[i + 1..] {
            let near = people::distance(a.1, b.1) < params.eps;
            if a.0 == b.0 {
                same += 1;
                same_near += u64::from(near);
            } else {
                other += 1;
                other_near += u64::from(near);
            }
        }
    }
    println!(
        "  pairs within {}: same person {:.4} of {same}, different people {:.5} of {other}",
        params.eps,
        same_near as f64 / same.max(1) as f64,
        other_near as f64 / other.max(1) as f64
    );

    let (clusters, clustered, purity, completeness, sizes) = score(&labels, &who);
    println!(
        "{} photos: {pasted} faces pasted, {} detected with descriptors, {matched} matched to a pasted face",
        args.photos,
        faces.len(),
    );
    println!(
        "  memories people (Chinese whispers over the face graph): {clusters} clusters holding {clustered} matched faces; purity {purity:.4}, completeness {completeness:.4}; largest {sizes:?}"
    );
    let (clusters, clustered, purity, completeness, sizes) = score(&before, &who);
    println!(
        "  DBSCAN over the face graph (the rule before): {clusters} clusters holding {clustered} matched faces; purity {purity:.4}, completeness {completeness:.4}; largest {sizes:?}"
    );
    if args.chinese_whispers {
        // An experiment, not the product: Chinese whispers (dlib's face clustering) over every
        // neighbour within eps, exact search.
        // First over the face graph's lists (each face's 32 chosen neighbours, both ways), then,
        // up to 10,000 faces, over every neighbour within eps.
        let mut lists: Vec<Vec<(usize, f32)>> = vec![Vec::new(); faces.len()];
        for (i, list) in graph.neighbours().iter().enumerate() {
            for &(j, d) in list {
                lists[i].push((j as usize, d));
                lists[j as usize].push((i, d));
            }
        }
        for list in &mut lists {
            list.sort_by_key(|&(j, _)| j);
            list.dedup_by_key(|&mut (j, _)| j);
        }
        let mut variants = vec![("the face graph's lists", lists)];
        if faces.len() <= 10_000 {
            let descriptors: Vec<&[f32]> = faces.iter().map(|f| f.descriptor).collect();
            variants.push((
                "every neighbour within eps",
                within(&descriptors, params.eps),
            ));
        }
        for (name, lists) in &variants {
            for uniform in [false, true] {
                let cw = chinese_whispers(lists, params.eps, params.min_faces, uniform);
                let (clusters, clustered, purity, completeness, sizes) = score(&cw, &who);
                let weights = if uniform { "every edge 1" } else { "1 - d/eps" };
                println!(
                    "  Chinese whispers over {name} ({weights}): {clusters} clusters holding {clustered} matched faces; purity {purity:.4}, completeness {completeness:.4}; largest {sizes:?}"
                );
            }
        }
        // The best any clustering at this eps could do: the faces of one person joined only
        // through pairs of that person within eps (each person's connected pieces).
        if let Some((_, lists)) = variants.get(1) {
            let mut parent: Vec<usize> = (0..faces.len()).collect();
            fn root(parent: &mut [usize], mut i: usize) -> usize {
                while parent[i] != i {
                    parent[i] = parent[parent[i]];
                    i = parent[i];
                }
                i
            }
            for (i, list) in lists.iter().enumerate() {
                for &(j, _) in list {
                    if who[i].is_some() && who[i] == who[j] {
                        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                        parent[a.max(b)] = a.min(b);
                    }
                }
            }
            let pieces: Vec<usize> = (0..faces.len()).map(|i| root(&mut parent, i)).collect();
            let mut size: HashMap<usize, usize> = HashMap::new();
            for &p in &pieces {
                *size.entry(p).or_default() += 1;
            }
            let oracle: Vec<Option<usize>> = pieces
                .iter()
                .map(|p| (size[p] >= params.min_faces).then_some(*p))
                .collect();
            let (clusters, clustered, purity, completeness, _) = score(&oracle, &who);
            println!(
                "  ceiling: each person's pieces joined by their own pairs within eps: {clusters} clusters holding {clustered} matched faces; purity {purity:.4}, completeness {completeness:.4}"
            );
        }
    }
}

/// Clusters, matched faces they hold, purity, completeness and the largest cluster sizes.
fn score(labels: &[Option<usize>], who: &[Option<usize>]) -> (usize, usize, f64, f64, Vec<usize>) {
    // cluster -> true person -> faces
    let mut table: HashMap<usize, HashMap<usize, usize>> = HashMap::new();
    for (label, person) in labels.iter().zip(who) {
        if let (Some(label), Some(person)) = (label, person) {
            *table.entry(*label).or_default().entry(*person).or_default() += 1;
        }
    }
    let clustered: usize = table.values().flat_map(|m| m.values()).sum();
    let majority: usize = table.values().map(|m| m.values().max().unwrap()).sum();
    let mut by_person: HashMap<usize, Vec<usize>> = HashMap::new();
    for m in table.values() {
        for (&person, &n) in m {
            by_person.entry(person).or_default().push(n);
        }
    }
    let largest: usize = by_person.values().map(|v| *v.iter().max().unwrap()).sum();
    let mut sizes: Vec<usize> = table.values().map(|m| m.values().sum()).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.truncate(12);
    let of = clustered.max(1) as f64;
    (
        table.len(),
        clustered,
        majority as f64 / of,
        largest as f64 / of,
        sizes,
    )
}

/// Every other point within `eps` of each point, with its distance (exact search).
fn within(points: &[&[f32]], eps: f32) -> Vec<Vec<(usize, f32)>> {
    use rayon::prelude::*;
    (0..points.len())
        .into_par_iter()
        .map(|i| {
            (0..points.len())
                .filter(|&j| j != i)
                .filter_map(|j| {
                    let d = people::distance(points[i], points[j]);
                    (d < eps).then_some((j, d))
                })
                .collect()
        })
        .collect()
}

/// Chinese whispers: every face starts as its own label and takes, pass after pass in a fixed
/// shuffled order, the label that weighs most among its neighbours (weight `1 - d / eps`),
/// until no label changes; labels held by fewer than `min_faces` faces are none.
fn chinese_whispers(
    neighbours: &[Vec<(usize, f32)>],
    eps: f32,
    min_faces: usize,
    uniform: bool,
) -> Vec<Option<usize>> {
    let n = neighbours.len();
    let mut labels: Vec<usize> = (0..n).collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = library::Rng::new(7);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for _ in 0..50 {
        let mut changed = 0;
        for &i in &order {
            let mut weight: HashMap<usize, f32> = HashMap::new();
            for &(j, d) in &neighbours[i] {
                *weight.entry(labels[j]).or_default() += if uniform { 1.0 } else { 1.0 - d / eps };
            }
            let best = weight
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(label, _)| label);
            if let Some(best) = best.filter(|&b| b != labels[i]) {
                labels[i] = best;
                changed += 1;
            }
        }
        if changed == 0 {
            break;
        }
    }
    let mut count: HashMap<usize, usize> = HashMap::new();
    for &l in &labels {
        *count.entry(l).or_default() += 1;
    }
    labels
        .into_iter()
        .map(|l| (count[&l] >= min_faces).then_some(l))
        .collect()
}
