//! The face graph: each face's nearest neighbours within `eps`, the costly half of clustering.
//!
//! Clustering needs, for every face, the faces within `eps` of it. Comparing every face with
//! every other is O(n²): 100,000 faces make 5·10⁹ pairs. The graph keeps each face's
//! [`MAX_NEIGHBOURS`] nearest neighbours within `eps`, and it is kept in a file beside the
//! index, so that a run searches only for the faces that are new (and for the few old faces
//! whose list lost a neighbour that may have had a successor). Labelling the graph is about
//! linear in its edges and cheap, so it is redone on every run.
//!
//! The search is exact (each face searched for against every face) for up to [`EXACT_FACES`]
//! faces searched: a first run of a library that size, and every later run that adds photos
//! to a library of any size. Past that, it asks an HNSW index
//! (`hnsw_rs`, built serially from a fixed seed, so the result is the same on every run) for
//! each face's nearest neighbours, and keeps those within `eps`.
//!
//! Labelling ([`FaceGraph::labels`]) is Chinese whispers over the graph. With exact search, and
//! no face with more than [`MAX_NEIGHBOURS`] neighbours, the graph holds every pair within
//! `eps`, and its DBSCAN ([`FaceGraph::dbscan`]) equals [`super::dbscan`] over every pair. A face
//! with more neighbours than that sits in a dense crowd of one person: it keeps a chosen few
//! (see `select`), which keeps the crowd connected.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use super::FaceKey;

/// The most neighbours a face keeps: enough to decide that it is a core face, and to keep a
/// dense person connected.
pub const MAX_NEIGHBOURS: usize = 32;

/// Searching for this many faces or fewer compares them with every face, however large the
/// library. Comparing one pair costs about 15 ns on one core and building and searching the
/// HNSW index about 0.5 ms per library face, so the exact search of `q` faces in a library of
/// `n` costs less than the index while `q · 15 ns < n · 0.5 ms`: for `q` below about 30,000
/// whatever `n` (`benches/people.rs` measures both). A margin below that keeps first runs of
/// large libraries on the index.
pub const EXACT_FACES: usize = 20_000;

/// How the faces of one update were searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Nothing was new.
    None,
    /// Every pair compared.
    Exact,
    /// Nearest neighbours from an HNSW index.
    Approximate,
}

/// What an update did, for a status line and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// Faces kept from the previous graph with their neighbours.
    pub kept: usize,
    /// Faces searched for: new faces, and kept faces whose full list lost a neighbour.
    pub searched: usize,
    /// Faces of the previous graph that are gone (or whose descriptor changed).
    pub removed: usize,
    pub search: Search,
}

/// Each face's nearest neighbours within `eps`, nearest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaceGraph {
    eps: f32,
    keys: Vec<FaceKey>,
    /// A hash of each face's descriptor: a face whose descriptor changed is searched again.
    marks: Vec<u64>,
    neighbours: Vec<Vec<(u32, f32)>>,
}

/// Euclidean distance: with AVX2 and FMA where the CPU has them (a tenth of the portable
/// time on 128-d descriptors), else summed in eight lanes. Both paths give the same distance
/// for a pair in either order, which keeps the graph symmetric.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { distance_avx2(a, b) };
    }
    distance_portable(a, b)
}

fn distance_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let d = x[l] - y[l];
            lanes[l] += d * d;
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| (x - y) * (x - y)).sum();
    (lanes.iter().sum::<f32>() + tail).sqrt()
}

/// Four independent FMA chains over 32 floats a step, then a tail of 8s and of singles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn distance_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY (all loads): `i + 8 <= n` for every load of 8 floats at offset `i`.
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let (x, y) = unsafe {
                (
                    _mm256_loadu_ps(pa.add(i + 8 * k)),
                    _mm256_loadu_ps(pb.add(i + 8 * k)),
                )
            };
            let d = _mm256_sub_ps(x, y);
            *acc = _mm256_fmadd_ps(d, d, *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
        let d = _mm256_sub_ps(x, y);
        acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
    let one = _mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1));
    let mut total = _mm_cvtss_f32(one);
    while i < n {
        let d = a[i] - b[i];
        total += d * d;
        i += 1;
    }
    total.sqrt()
}

fn mark(descriptor: &[f32]) -> u64 {
    let mut hasher = blake3::Hasher::new();
    for v in descriptor {
        hasher.update(&v.to_le_bytes());
    }
    let bytes = hasher.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Nearest first; equal distances by index, so that lists do not depend on search order.
fn order(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    a.1.total_cmp(&b.1).then(a.0.cmp(&b.0))
}

/// `L2` for hnsw_rs, with [`distance`].
struct L2;

impl hnsw_rs::prelude::Distance<f32> for L2 {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        distance(a, b)
    }
}

impl FaceGraph {
    /// Number of faces.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The faces' keys, in the order of the descriptors the graph was last updated with.
    pub fn keys(&self) -> &[FaceKey] {
        &self.keys
    }

    /// The graph of `keys` (one descriptor each), reusing what `self` found for the faces it
    /// already had with the same descriptor and the same `eps`.
    pub fn update(self, keys: &[FaceKey], descriptors: &[&[f32]], eps: f32) -> (FaceGraph, Update) {
        self.update_by(keys, descriptors, eps, None)
    }

    /// [`FaceGraph::update`], searching by `force` rather than by the rule, when given (for
    /// benchmarks and tests).
    pub fn update_by(
        self,
        keys: &[FaceKey],
        descriptors: &[&[f32]],
        eps: f32,
        force: Option<Search>,
    ) -> (FaceGraph, Update) {
        assert_eq!(keys.len(), descriptors.len(), "one descriptor per key");
        let n = keys.len();
        let previous = if self.eps == eps {
            self
        } else {
            FaceGraph::default()
        };
        let marks: Vec<u64> = descriptors.iter().map(|d| mark(d)).collect();
        let old: HashMap<&str, usize> = previous
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut old_to_new: Vec<Option<u32>> = vec![None; previous.len()];
        let mut search = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match old.get(key.as_str()) {
                Some(&o) if previous.marks[o] == marks[i] && old_to_new[o].is_none() => {
                    old_to_new[o] = Some(i as u32);
                }
                _ => search.push(i),
            }
        }
        let kept = old_to_new.iter().flatten().count();
        let removed = previous.len() - kept;
        let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        for (o, list) in previous.neighbours.into_iter().enumerate() {
            let Some(i) = old_to_new[o] else { continue };
            let full = list.len() == MAX_NEIGHBOURS;
            let list: Vec<(u32, f32)> = list
                .into_iter()
                .filter_map(|(j, d)| old_to_new[j as usize].map(|j| (j, d)))
                .collect();
            // A full list that lost a neighbour may have had more beyond its end.
            if full && list.len() < MAX_NEIGHBOURS {
                search.push(i as usize);
            }
            neighbours[i as usize] = list;
        }
        search.sort_unstable();
        let method = if search.is_empty() {
            Search::None
        } else if let Some(method) = force {
            method
        } else if search.len() <= EXACT_FACES {
            Search::Exact
        } else {
            Search::Approximate
        };
        let found: Vec<Vec<(u32, f32)>> = match method {
            Search::None => Vec::new(),
            Search::Exact => search
                .par_chunks(EXACT_BLOCK)
                .flat_map_iter(|block| exact(block, descriptors, eps))
                .collect(),
            Search::Approximate => approximate(&search, descriptors, eps),
        };
        for (&q, list) in search.iter().zip(found) {
            for &(j, d) in &list {
                insert(&mut neighbours[j as usize], (q as u32, d));
            }
            // A kept face searched again may already be on its neighbours' lists: its own
            // list is replaced, theirs only gain it.
            neighbours[q] = list;
        }
        // Labels read every edge both ways, so a full list need not hold the faces that chose
        // it: `insert` only adds where there is room.
        let update = Update {
            kept,
            searched: search.len(),
            removed,
            search: method,
        };
        let graph = FaceGraph {
            eps,
            keys: keys.to_vec(),
            marks,
            neighbours,
        };
        (graph, update)
    }

    /// Each face's kept neighbours with their distances, nearest first (in one direction: a
    /// face may be on another's list and not the other way round).
    pub fn neighbours(&self) -> &[Vec<(u32, f32)>] {
        &self.neighbours
    }

    /// DBSCAN over the graph, the rule `memories people` used before Chinese whispers (kept for
    /// the benchmarks' comparisons, and as the check that the graph holds every neighbour): a
    /// face with at least `min_faces` faces (itself included) among its neighbours, in either
    /// direction, is a core face; core faces that are neighbours are one cluster; a face next
    /// to a core face joins the first cluster that reaches it. Clusters are numbered in the
    /// order of their first face. It chains: one close pair of core faces joins two people.
    pub fn dbscan(&self, min_faces: usize) -> Vec<Option<usize>> {
        let mut adjacent: Vec<Vec<u32>> = self
            .neighbours
            .iter()
            .map(|l| l.iter().map(|&(j, _)| j).collect())
            .collect();
        for (i, list) in self.neighbours.iter().enumerate() {
            for &(j, _) in list {
                adjacent[j as usize].push(i as u32);
            }
        }
        for list in &mut adjacent {
            list.sort_unstable();
            list.dedup();
        }
        label(&adjacent, min_faces)
    }

    /// Chinese whispers over the graph (dlib's face clustering), after near-copies are put
    /// together. The steps:
    ///
    /// 1. Faces under [`NEAR_COPY`] apart (the frames of a burst, a photo saved twice) are one
    ///    group, which votes once: otherwise 60 frames of one face outvote the person's other
    ///    photos and become a person of their own.
    /// 2. Every group starts as a person of its own and, pass after pass, takes the person that
    ///    weighs most among its neighbouring groups, a neighbour at distance `d` (its nearest
    ///    pair) weighing `1 - d / eps`. The passes visit the groups in an order fixed by a hash
    ///    of their faces' keys (so that adding photos does not reshuffle the faces already
    ///    there), until no group changes or after [`WHISPER_PASSES`] passes.
    /// 3. A person held by fewer than `min_faces` faces is none. People are numbered in the
    ///    order of their first face.
    ///
    /// Unlike DBSCAN, a few close pairs between two people do not join them: a face goes with
    /// the majority of its neighbours, and the faces of one person outweigh a look-alike or two.
    pub fn labels(&self, min_faces: usize) -> Vec<Option<usize>> {
        let n = self.len();
        let weight = |d: f32| {
            if self.eps > 0.0 {
                1.0 - d / self.eps
            } else {
                1.0
            }
        };
        // 1. Groups of near-copies, by union-find over the near edges.
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for (i, list) in self.neighbours.iter().enumerate() {
            for &(j, d) in list {
                if d < NEAR_COPY {
                    let (a, b) = (root(&mut parent, i as u32), root(&mut parent, j));
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        let mut group_of_root: HashMap<u32, u32> = HashMap::new();
        let group: Vec<u32> = (0..n as u32)
            .map(|i| {
                let r = root(&mut parent, i);
                let next = group_of_root.len() as u32;
                *group_of_root.entry(r).or_insert(next)
            })
            .collect();
        let groups = group_of_root.len();
        // A group's place in the visiting order: the smallest hash of its faces' keys.
        let mut hash = vec![[u8::MAX; 32]; groups];
        for (key, &g) in self.keys.iter().zip(&group) {
            hash[g as usize] = hash[g as usize].min(*blake3::hash(key.as_bytes()).as_bytes());
        }
        // Neighbouring groups, both ways, by their nearest pair.
        let mut nearest: HashMap<(u32, u32), f32> = HashMap::new();
        for (i, list) in self.neighbours.iter().enumerate() {
            for &(j, d) in list {
                let (a, b) = (group[i], group[j as usize]);
                if a != b {
                    let e = nearest.entry((a.min(b), a.max(b))).or_insert(d);
                    *e = e.min(d);
                }
            }
        }
        let mut adjacent: Vec<Vec<(u32, f32)>> = vec![Vec::new(); groups];
        for (&(a, b), &d) in &nearest {
            adjacent[a as usize].push((b, weight(d)));
            adjacent[b as usize].push((a, weight(d)));
        }
        for list in &mut adjacent {
            list.sort_unstable_by_key(|&(j, _)| j);
        }
        // 2. Whispers over the groups.
        let person = whispers(&adjacent, &hash);
        // 3. People of `min_faces` faces or more, numbered in the order of their first face.
        let mut size: HashMap<u32, usize> = HashMap::new();
        for &g in &group {
            *size.entry(person[g as usize]).or_default() += 1;
        }
        let mut number: HashMap<u32, usize> = HashMap::new();
        group
            .iter()
            .map(|&g| {
                let p = person[g as usize];
                (size[&p] >= min_faces).then(|| {
                    let next = number.len();
                    *number.entry(p).or_insert(next)
                })
            })
            .collect()
    }

    /// The graph saved at `path`, or an empty graph when there is none or it cannot be read:
    /// the graph is a cache, rebuilt from the descriptors.
    pub fn load(path: &Path) -> FaceGraph {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default()
    }

    /// Writes the graph to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), memories_fs::WriteError> {
        memories_fs::write_atomically(path, &self.encode())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.len() * 96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.eps.to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for ((key, mark), list) in self.keys.iter().zip(&self.marks).zip(&self.neighbours) {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&mark.to_le_bytes());
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for &(j, d) in list {
                out.extend_from_slice(&j.to_le_bytes());
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(&sum.as_bytes()[..16]);
        out
    }
}

/// DBSCAN's labelling over `adjacent` (each face's neighbours within eps, itself left out, in
/// both directions, in ascending order): a face with at least `min_faces` faces counting itself
/// is a core face; core faces that are neighbours are one cluster; a face next to a core face
/// joins the first cluster that reaches it. Clusters are numbered in the order of their first
/// face.
pub(super) fn label(adjacent: &[Vec<u32>], min_faces: usize) -> Vec<Option<usize>> {
    let core: Vec<bool> = adjacent.iter().map(|a| a.len() + 1 >= min_faces).collect();
    let mut label: Vec<Option<usize>> = vec![None; adjacent.len()];
    let mut clusters = 0;
    for start in 0..adjacent.len() {
        if !core[start] || label[start].is_some() {
            continue;
        }
        let id = clusters;
        clusters += 1;
        label[start] = Some(id);
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in &adjacent[i] {
                let j = j as usize;
                if label[j].is_none() {
                    label[j] = Some(id);
                    // Border faces join but do not spread the cluster.
                    if core[j] {
                        stack.push(j);
                    }
                }
            }
        }
    }
    label
}

/// The most passes of Chinese whispers; the labels usually settle in under ten.
pub const WHISPER_PASSES: usize = 100;

/// Faces nearer than this are near-copies of one photo (burst frames, a photo saved twice),
/// which vote as one in [`FaceGraph::labels`]. In `library_people`'s measurements, 1% of the
/// pairs of two photos of one person are under 0.34 apart, of two people under 0.54, and none
/// of either under 0.2.
pub const NEAR_COPY: f32 = 0.15;

/// Chinese whispers over `adjacent` (each node's neighbours in both directions with their
/// weights, by node), visiting nodes in the order of `hash`: the person of each node, as the
/// number of the node whose label it took.
fn whispers(adjacent: &[Vec<(u32, f32)>], hash: &[[u8; 32]]) -> Vec<u32> {
    let n = adjacent.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (hash[i], i));
    // Each node starts as the person numbered by its place in that order, so that ties, which
    // go to the smaller number, do not depend on the order of the faces either.
    let mut label: Vec<u32> = vec![0; n];
    for (rank, &i) in order.iter().enumerate() {
        label[i] = rank as u32;
    }
    // Weights by label, for the node being visited.
    let mut tally: Vec<(u32, f32)> = Vec::new();
    for _ in 0..WHISPER_PASSES {
        let mut changed = false;
        for &i in &order {
            tally.clear();
            tally.extend(adjacent[i].iter().map(|&(j, w)| (label[j as usize], w)));
            if tally.is_empty() {
                continue;
            }
            tally.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            // The heaviest label; the smallest label among equals.
            let (mut best, mut best_weight) = (label[i], f32::NEG_INFINITY);
            let mut k = 0;
            while k < tally.len() {
                let l = tally[k].0;
                let mut w = 0.0;
                while k < tally.len() && tally[k].0 == l {
                    w += tally[k].1;
                    k += 1;
                }
                if w > best_weight {
                    (best, best_weight) = (l, w);
                }
            }
            if best != label[i] {
                label[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    label
}

/// The file's first bytes; a new layout gets a new version here, and old files are rebuilt.
const MAGIC: &[u8; 24] = b"memories face graph v1\n\0";

/// A saved graph, or `None` when the bytes are not a whole, well-formed graph.
fn decode(bytes: &[u8]) -> Option<FaceGraph> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(16)?)?;
    if blake3::hash(body).as_bytes()[..16] != *sum {
        return None;
    }
    let mut r = Reader(body.strip_prefix(MAGIC.as_slice())?);
    let eps = f32::from_le_bytes(r.take()?);
    let n = u32::from_le_bytes(r.take()?) as usize;
    let mut graph = FaceGraph {
        eps,
        ..FaceGraph::default()
    };
    for _ in 0..n {
        let len = u32::from_le_bytes(r.take()?) as usize;
        graph
            .keys
            .push(String::from_utf8(r.bytes(len)?.to_vec()).ok()?);
        graph.marks.push(u64::from_le_bytes(r.take()?));
        let count = u32::from_le_bytes(r.take()?) as usize;
        if count > MAX_NEIGHBOURS {
            return None;
        }
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            let j = u32::from_le_bytes(r.take()?);
            let d = f32::from_le_bytes(r.take()?);
            if j as usize >= n || !(0.0..=eps).contains(&d) {
                return None;
            }
            list.push((j, d));
        }
        graph.neighbours.push(list);
    }
    r.0.is_empty().then_some(graph)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }
}

/// Adds `entry` to a face's list unless it is there or the list is full. A full list was
/// chosen by [`select`], and the edge is kept on the other face's list.
fn insert(list: &mut Vec<(u32, f32)>, entry: (u32, f32)) {
    if list.len() >= MAX_NEIGHBOURS || list.iter().any(|&(j, _)| j == entry.0) {
        return;
    }
    let at = list.partition_point(|e| order(e, &entry).is_lt());
    list.insert(at, entry);
}

/// Faces searched together by the exact search: each library face is read from memory once
/// per block rather than once per face (64 descriptors are 32 KiB, and stay in L1 and L2).
const EXACT_BLOCK: usize = 64;

/// The neighbours of each face in `block` (see [`select`]), every face compared.
fn exact(block: &[usize], descriptors: &[&[f32]], eps: f32) -> Vec<Vec<(u32, f32)>> {
    let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); block.len()];
    for (j, d) in descriptors.iter().enumerate() {
        for (list, &q) in lists.iter_mut().zip(block) {
            let dist = distance(descriptors[q], d);
            if dist <= eps && q != j {
                list.push((j as u32, dist));
            }
        }
    }
    lists
        .into_iter()
        .map(|candidates| select(candidates, descriptors))
        .collect()
}

/// Candidates a face's list is chosen from, nearest first: enough to reach past a burst of
/// near-copies of one photo to the person's other photos.
const CANDIDATES: usize = 1024;

/// A face's list from its candidates within `eps`: all of them when they fit, else
/// [`MAX_NEIGHBOURS`] chosen as HNSW chooses links. Nearest first, a candidate is taken unless a
/// face already taken is nearer to it than this face is (it is then reached through that one);
/// places left are filled with the nearest candidates passed over. A burst of 50 near-copies of
/// one photo would fill a list of the 32 nearest and cut the person's other photos off; this
/// way the list holds a few of the copies and the way out to the rest.
fn select(mut candidates: Vec<(u32, f32)>, descriptors: &[&[f32]]) -> Vec<(u32, f32)> {
    candidates.sort_unstable_by(order);
    candidates.dedup_by_key(|c| c.0);
    if candidates.len() <= MAX_NEIGHBOURS {
        return candidates;
    }
    candidates.truncate(CANDIDATES);
    let mut taken: Vec<(u32, f32)> = Vec::with_capacity(MAX_NEIGHBOURS);
    let mut passed = Vec::new();
    for c in candidates {
        if taken.len() == MAX_NEIGHBOURS {
            break;
        }
        let occluded = taken
            .iter()
            .any(|t| distance(descriptors[t.0 as usize], descriptors[c.0 as usize]) < c.1);
        if occluded {
            passed.push(c);
        } else {
            taken.push(c);
        }
    }
    let room = MAX_NEIGHBOURS - taken.len();
    taken.extend(passed.into_iter().take(room));
    taken.sort_unstable_by(order);
    taken
}

/// The neighbours of each face in `search` (see [`select`]), from an HNSW index of all faces:
/// the nearest it finds, and the face's own links in the index, which HNSW chose spread out.
fn approximate(search: &[usize], descriptors: &[&[f32]], eps: f32) -> Vec<Vec<(u32, f32)>> {
    use hnsw_rs::prelude::Hnsw;
    // 12 links a layer and a candidate list of 48 while building: on 20,000 real-structured
    // faces, the same clusters as exact DBSCAN and as 16 and 64, in 0.7 of the time (see
    // `benches/people.rs`; 8 and 32 lost edges).
    let index: Hnsw<'_, f32, L2> = Hnsw::new(12, descriptors.len(), 16, 48, L2);
    // Serially, in face order: the layer generator has a fixed seed, so the index, and with
    // it the clusters, is the same on every run.
    for (i, d) in descriptors.iter().enumerate() {
        index.insert_slice((d, i));
    }
    let mut links: Vec<Vec<(u32, f32)>> = vec![Vec::new(); descriptors.len()];
    for point in index.get_point_indexation() {
        if let Some(layer) = point.get_neighborhood_id().into_iter().next() {
            links[point.get_origin_id()] = layer
                .into_iter()
                .filter(|n| n.distance <= eps)
                .map(|n| (n.d_id as u32, n.distance))
                .collect();
        }
    }
    let k = MAX_NEIGHBOURS + 1;
    search
        .par_iter()
        .map(|&q| {
            let mut candidates = links[q].clone();
            candidates.extend(
                index
                    .search(descriptors[q], k, 2 * k)
                    .into_iter()
                    .filter(|n| n.d_id != q && n.distance <= eps)
                    .map(|n| (n.d_id as u32, n.distance)),
            );
            // The distances the index stored are the same function's, but recomputed so that a
            // pair has one distance whichever list it is on.
            for c in &mut candidates {
                c.1 = distance(descriptors[q], descriptors[c.0 as usize]);
            }
            candidates.retain(|c| c.0 as usize != q && c.1 <= eps);
            select(candidates, descriptors)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Params, dbscan};
    use super::*;

    /// A deterministic cloud: `people` centres on the unit sphere, each with `faces` faces
    /// scattered around it, and some lone faces.
    fn cloud(people: usize, faces: usize, lone: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let mut unit = |scale: f32| -> Vec<f32> { (0..128).map(|_| next() * scale).collect() };
        let mut out = Vec::new();
        for _ in 0..people {
            let centre = unit(0.25);
            for _ in 0..faces {
                let jitter = unit(0.05);
                out.push(centre.iter().zip(&jitter).map(|(c, j)| c + j).collect());
            }
        }
        for _ in 0..lone {
            out.push(unit(0.25));
        }
        out
    }

    /// A seeded point maker: `around(centre, scale)` moves every coordinate of `centre` by a
    /// uniform amount in `[-scale / 2, scale / 2)`.
    fn jitter(seed: u64) -> impl FnMut(&[f32], f32) -> Vec<f32> {
        let mut state = seed;
        move |centre, scale| {
            centre
                .iter()
                .map(|c| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    c + ((state >> 11) as f32 / (1u64 << 53) as f32 - 0.5) * scale
                })
                .collect()
        }
    }

    fn keys(n: usize, prefix: &str) -> Vec<FaceKey> {
        (0..n).map(|i| format!("{prefix}{i}#0")).collect()
    }

    fn refs(points: &[Vec<f32>]) -> Vec<&[f32]> {
        points.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn exact_graph_labels_equal_dbscan() {
        let params = Params::default();
        let points = cloud(12, 9, 20, 1);
        let (graph, update) =
            FaceGraph::default().update(&keys(points.len(), "a"), &refs(&points), params.eps);
        assert_eq!(update.search, Search::Exact);
        assert_eq!(update.searched, points.len());
        let labels = graph.dbscan(params.min_faces);
        assert_eq!(labels, dbscan(&refs(&points), params));
        // The cloud has structure: people found and lone faces left out.
        assert_eq!(labels.iter().flatten().max(), Some(&11));
        assert!(labels[labels.len() - 20..].iter().all(Option::is_none));
    }

    #[test]
    fn an_update_searches_only_new_faces_and_equals_a_fresh_build() {
        let params = Params::default();
        let points = cloud(10, 8, 10, 2);
        let all_keys = keys(points.len(), "p");
        // First run: every other face.
        let first: Vec<usize> = (0..points.len()).filter(|i| i % 2 == 0).collect();
        let first_keys: Vec<FaceKey> = first.iter().map(|&i| all_keys[i].clone()).collect();
        let first_points: Vec<&[f32]> = first.iter().map(|&i| points[i].as_slice()).collect();
        let (graph, _) = FaceGraph::default().update(&first_keys, &first_points, params.eps);
        // Second run: all faces but the first three, in a new order.
        let order: Vec<usize> = (3..points.len()).rev().collect();
        let keys2: Vec<FaceKey> = order.iter().map(|&i| all_keys[i].clone()).collect();
        let points2: Vec<&[f32]> = order.iter().map(|&i| points[i].as_slice()).collect();
        let (updated, update) = graph.update(&keys2, &points2, params.eps);
        let new = order.iter().filter(|&&i| i % 2 == 1).count();
        assert_eq!(update.searched, new);
        assert_eq!(update.removed, 2);
        assert_eq!(update.kept, keys2.len() - new);
        let (fresh, _) = FaceGraph::default().update(&keys2, &points2, params.eps);
        assert_eq!(updated, fresh);
        assert_eq!(updated.dbscan(params.min_faces), dbscan(&points2, params));
    }

    #[test]
    fn a_changed_descriptor_or_eps_is_searched_again() {
        let points = cloud(3, 5, 0, 3);
        let k = keys(points.len(), "c");
        let (graph, _) = FaceGraph::default().update(&k, &refs(&points), 0.5);
        let mut moved = points.clone();
        moved[4][0] += 0.01;
        let (graph, update) = graph.update(&k, &refs(&moved), 0.5);
        assert_eq!((update.searched, update.kept, update.removed), (1, 14, 1));
        let (_, update) = graph.update(&k, &refs(&moved), 0.45);
        assert_eq!((update.searched, update.kept), (15, 0));
    }

    #[test]
    fn approximate_search_finds_the_exact_graph_on_clustered_faces() {
        let params = Params::default();
        let points = cloud(40, 20, 100, 4);
        let p = refs(&points);
        let search: Vec<usize> = (0..p.len()).collect();
        let found = approximate(&search, &p, params.eps);
        let exact = exact(&search, &p, params.eps);
        let total: usize = exact.iter().map(Vec::len).sum();
        let hit: usize = found
            .iter()
            .zip(&exact)
            .map(|(f, e)| e.iter().filter(|x| f.iter().any(|y| y.0 == x.0)).count())
            .sum();
        assert!(total > 10_000, "{total} edges");
        assert!(
            hit as f64 >= 0.99 * total as f64,
            "{hit} of {total} edges found"
        );
    }

    /// Three photos of one person, each shot 60 times (a burst), and one other person: the
    /// 32 nearest faces of every copy are copies of its own photo, so a list of the nearest
    /// would make each burst a person of its own.
    #[test]
    fn a_burst_of_copies_does_not_cut_a_person_apart() {
        let mut around = jitter(99);
        let zero = vec![0.0; 128];
        let mut points = Vec::new();
        for person in 0..2 {
            let centre = around(&zero, 0.25);
            for _ in 0..3 {
                let photo = around(&centre, 0.06);
                for _ in 0..60 {
                    points.push(around(&photo, 0.009));
                }
            }
            assert_eq!(points.len(), 180 * (person + 1));
        }
        let p = refs(&points);
        let params = Params::default();
        assert!(
            distance(p[0], p[60]) < 0.4 && distance(p[0], p[1]) < 0.06,
            "photos {} apart, copies {}",
            distance(p[0], p[60]),
            distance(p[0], p[1])
        );
        let reference = dbscan(&p, params);
        for search in [Search::Exact, Search::Approximate] {
            let (graph, _) = FaceGraph::default().update_by(
                &keys(points.len(), "b"),
                &p,
                params.eps,
                Some(search),
            );
            assert!(graph.neighbours.iter().all(|l| l.len() == MAX_NEIGHBOURS));
            let labels = graph.dbscan(params.min_faces);
            assert_eq!(labels, reference, "{search:?}");
            // Chinese whispers, over the same lists, keeps each person whole as well.
            assert_eq!(graph.labels(params.min_faces), reference, "{search:?}");
        }
        assert!(reference[..180].iter().all(|l| *l == Some(0)));
        assert!(reference[180..].iter().all(|l| *l == Some(1)));
    }

    /// Two people 0.9 apart, and three faces in between (a look-alike, or faces of poor
    /// quality) spaced so that every step is under eps: DBSCAN chains the two into one person,
    /// Chinese whispers keeps them apart.
    #[test]
    fn a_few_faces_in_between_do_not_join_two_people() {
        let params = Params::default();
        let cloud = cloud(2, 1, 0, 8);
        let (a, mut b) = (cloud[0].clone(), cloud[1].clone());
        // Put b exactly 0.9 from a.
        let gap = distance(&a, &b);
        for (x, y) in b.iter_mut().zip(&a) {
            *x = y + (*x - y) * 0.9 / gap;
        }
        let mut around = jitter(5);
        let mut points = Vec::new();
        // Twenty photos of each, about 0.28 apart (not near-copies).
        for centre in [&a, &b] {
            for _ in 0..20 {
                points.push(around(centre, 0.06));
            }
        }
        for t in [0.25f32, 0.5, 0.75] {
            let on_line: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + t * (y - x)).collect();
            points.push(around(&on_line, 0.005));
        }
        let p = refs(&points);
        assert!(distance(p[40], p[41]) < params.eps && distance(p[0], p[40]) < params.eps);
        let (graph, _) = FaceGraph::default().update(&keys(points.len(), "l"), &p, params.eps);
        let chained = graph.dbscan(params.min_faces);
        assert!(chained.iter().all(|l| *l == Some(0)), "{chained:?}");
        let labels = graph.labels(params.min_faces);
        assert!(labels[..20].iter().all(|l| *l == labels[0] && l.is_some()));
        assert!(
            labels[20..40]
                .iter()
                .all(|l| *l == labels[20] && l.is_some())
        );
        assert_ne!(labels[0], labels[20], "{labels:?}");
    }

    /// The same faces in another order make the same people, and lone faces none.
    #[test]
    fn people_do_not_depend_on_the_order_of_the_faces() {
        let params = Params::default();
        let points = cloud(12, 9, 20, 1);
        let k = keys(points.len(), "o");
        let (graph, _) = FaceGraph::default().update(&k, &refs(&points), params.eps);
        let labels = graph.labels(params.min_faces);
        assert_eq!(labels.iter().flatten().max(), Some(&11));
        assert!(labels[labels.len() - 20..].iter().all(Option::is_none));
        let reversed: Vec<usize> = (0..points.len()).rev().collect();
        let keys2: Vec<FaceKey> = reversed.iter().map(|&i| k[i].clone()).collect();
        let points2: Vec<&[f32]> = reversed.iter().map(|&i| points[i].as_slice()).collect();
        let (graph2, _) = FaceGraph::default().update(&keys2, &points2, params.eps);
        let labels2 = graph2.labels(params.min_faces);
        // Same partition: faces together in one are together in the other.
        for (x, &i) in reversed.iter().enumerate() {
            for (y, &j) in reversed.iter().enumerate() {
                let together = labels[i].is_some() && labels[i] == labels[j];
                let together2 = labels2[x].is_some() && labels2[x] == labels2[y];
                assert_eq!(together, together2, "faces {i} and {j}");
            }
        }
    }

    #[test]
    fn both_distances_agree() {
        let points = cloud(2, 3, 4, 6);
        for a in &points {
            for b in &points {
                let (fast, portable) = (distance(a, b), distance_portable(a, b));
                assert!(
                    (fast - portable).abs() <= 1e-5 * portable.max(1.0),
                    "{fast} {portable}"
                );
                assert_eq!(distance(a, b), distance(b, a));
            }
        }
        assert_eq!(distance(&[3.0; 37], &[4.0; 37]), 37f32.sqrt());
    }

    #[test]
    fn the_graph_round_trips_through_its_file_and_a_damaged_file_is_empty() {
        let points = cloud(4, 6, 3, 5);
        let (graph, _) = FaceGraph::default().update(&keys(points.len(), "f"), &refs(&points), 0.5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph");
        graph.save(&path).unwrap();
        assert_eq!(FaceGraph::load(&path), graph);
        let bytes = std::fs::read(&path).unwrap();
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert!(decode(&flipped).is_none());
        assert_eq!(
            FaceGraph::load(&dir.path().join("missing")),
            FaceGraph::default()
        );
    }
}
