//! People: faces grouped by identity, with the user's corrections kept across runs.
//!
//! Every face has a 128-d identity descriptor (dlib's ResNet compiled by nnc; two faces of one
//! person are usually under 0.6 apart). Faces are clustered with a density rule, as DBSCAN
//! does: a face with at least [`Params::min_faces`] faces (itself included) within
//! [`Params::eps`] is a core face, core faces within `eps` of each other are one person, and
//! other faces within `eps` of a core face join its person. Lone faces stay unassigned: a person
//! needs several close faces.
//!
//! Clustering is redone from all faces on every run, so person ids come from the [`Book`], a
//! small file beside the index that remembers each person's faces, name, whether they are
//! hidden, merges and faces split off. A new cluster takes the id of the known person with whom
//! it shares the most faces; a cluster sharing none is a new person. The book is the user's
//! data, not a cache: it survives the index being rebuilt, because faces are named by the
//! content hash of their photo and their rank in it, not by index rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A face's name across runs: `<content hash of the photo>#<rank of the face in the photo>`.
pub type FaceKey = String;

/// Clustering thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Largest descriptor distance between neighbouring faces of one person.
    pub eps: f32,
    /// Faces within `eps` (itself included) that make a face a core face of a person.
    pub min_faces: usize,
}

impl Default for Params {
    /// dlib's descriptors put one person's faces under 0.6 apart (99.6% pair accuracy at 0.6 on
    /// `identities/`); a tighter 0.5 keeps look-alikes of different people from chaining into
    /// one cluster through a single in-between face. Three faces make a person.
    fn default() -> Self {
        Params {
            eps: 0.5,
            min_faces: 3,
        }
    }
}

/// Euclidean distance between two descriptors.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// DBSCAN over `points`: the cluster of each point, `None` for noise. Clusters are numbered in
/// the order of their first point, so the result depends only on the input order.
pub fn dbscan(points: &[&[f32]], params: Params) -> Vec<Option<usize>> {
    let n = points.len();
    let neighbours: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| distance(points[i], points[j]) <= params.eps)
                .collect()
        })
        .collect();
    let core: Vec<bool> = neighbours
        .iter()
        .map(|n| n.len() >= params.min_faces)
        .collect();
    let mut label: Vec<Option<usize>> = vec![None; n];
    let mut clusters = 0;
    for start in 0..n {
        if !core[start] || label[start].is_some() {
            continue;
        }
        let id = clusters;
        clusters += 1;
        label[start] = Some(id);
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in &neighbours[i] {
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

/// One person as the user knows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A hidden person's photos never appear in a memory.
    #[serde(default)]
    pub hidden: bool,
    /// Set when the user merged this person into another: its faces count for that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<u32>,
    /// The faces the person had after the last run.
    #[serde(default)]
    pub faces: BTreeSet<FaceKey>,
    /// Faces the user split off: never this person's again.
    #[serde(default)]
    pub not_faces: BTreeSet<FaceKey>,
}

/// Everything the user has said about people, and each person's faces after the last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Book {
    pub next_id: u32,
    pub people: Vec<Entry>,
}

#[derive(Debug, Error)]
pub enum BookError {
    #[error("people file {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("people file {} is not readable ({source}); move it away to start over", path.display())]
    Parse {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("there is no person {0}")]
    NoPerson(u32),
    #[error("person {0} was merged into person {1}")]
    Merged(u32, u32),
    #[error("no person has the face {0}")]
    NoFace(FaceKey),
}

/// A person after a run: their id and the indices of their faces in the run's face list.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: u32,
    pub name: Option<String>,
    pub hidden: bool,
    pub faces: Vec<usize>,
}

impl Book {
    /// Reads the book at `path`; a missing file is an empty book.
    pub fn load(path: &Path) -> Result<Book, BookError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| BookError::Parse {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Book::default()),
            Err(source) => Err(BookError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the book to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), crate::app::AppError> {
        let json = serde_json::to_vec_pretty(self).expect("a book always serializes");
        crate::app::write_atomically(path, &json)
    }

    fn entry_mut(&mut self, id: u32) -> Result<&mut Entry, BookError> {
        let entry = self
            .people
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or(BookError::NoPerson(id))?;
        match entry.merged_into {
            Some(into) => Err(BookError::Merged(id, into)),
            None => Ok(entry),
        }
    }

    /// The person `id` ends up as after merges.
    fn resolve(&self, mut id: u32) -> u32 {
        // Merges only point at people that were live when merged, so the chain ends; the bound
        // guards against a hand-edited file with a loop.
        for _ in 0..=self.people.len() {
            match self
                .people
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.merged_into)
            {
                Some(into) => id = into,
                None => break,
            }
        }
        id
    }

    pub fn name(&mut self, id: u32, name: &str) -> Result<(), BookError> {
        self.entry_mut(id)?.name = Some(name.to_string());
        Ok(())
    }

    pub fn set_hidden(&mut self, id: u32, hidden: bool) -> Result<(), BookError> {
        self.entry_mut(id)?.hidden = hidden;
        Ok(())
    }

    /// Person `from` is the same as person `into`: their faces count for `into` from now on.
    pub fn merge(&mut self, from: u32, into: u32) -> Result<(), BookError> {
        if from == into {
            return Ok(());
        }
        self.entry_mut(into)?;
        let faces = std::mem::take(&mut self.entry_mut(from)?.faces);
        self.entry_mut(from)?.merged_into = Some(into);
        self.entry_mut(into)?.faces.extend(faces);
        Ok(())
    }

    /// The face is not the person it was given to; it stays out of that person from now on.
    pub fn split(&mut self, face: &str) -> Result<u32, BookError> {
        let entry = self
            .people
            .iter_mut()
            .find(|e| e.merged_into.is_none() && e.faces.contains(face))
            .ok_or_else(|| BookError::NoFace(face.to_string()))?;
        entry.faces.remove(face);
        entry.not_faces.insert(face.to_string());
        Ok(entry.id)
    }

    /// Clusters `descriptors` (one per face, named by `keys`), gives each cluster its known
    /// person's id or a new one, applies the user's corrections, and records the result.
    pub fn assign(
        &mut self,
        keys: &[FaceKey],
        descriptors: &[&[f32]],
        params: Params,
    ) -> Vec<Person> {
        let labels = dbscan(descriptors, params);
        let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (face, label) in labels.iter().enumerate() {
            if let Some(label) = label {
                clusters.entry(*label).or_default().push(face);
            }
        }
        // Which live person each face belonged to after the last run.
        let mut owner: HashMap<FaceKey, u32> = HashMap::new();
        for e in &self.people {
            let id = self.resolve(e.id);
            for f in &e.faces {
                owner.insert(f.clone(), id);
            }
        }
        let mut members: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for faces in clusters.values() {
            let mut votes: BTreeMap<u32, usize> = BTreeMap::new();
            for &f in faces {
                if let Some(&id) = owner.get(&keys[f]) {
                    *votes.entry(id).or_default() += 1;
                }
            }
            // Most shared faces wins; ties go to the older (smaller) id.
            let id = match votes
                .iter()
                .max_by_key(|&(id, n)| (*n, std::cmp::Reverse(*id)))
            {
                Some((&id, _)) => id,
                None => {
                    let id = self.next_id.max(1);
                    self.next_id = id + 1;
                    self.people.push(Entry {
                        id,
                        ..Entry::default()
                    });
                    id
                }
            };
            members.entry(id).or_default().extend(faces);
        }
        let mut people = Vec::new();
        for (id, mut faces) in members {
            let entry = self
                .people
                .iter_mut()
                .find(|e| e.id == id)
                .expect("every id given out has an entry");
            faces.retain(|&f| !entry.not_faces.contains(&keys[f]));
            faces.sort_unstable();
            entry.faces = faces.iter().map(|&f| keys[f].clone()).collect();
            if faces.is_empty() {
                continue;
            }
            people.push(Person {
                id,
                name: entry.name.clone(),
                hidden: entry.hidden,
                faces,
            });
        }
        people
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor near `centre` (a unit axis), nudged by `jitter` along another axis.
    fn face(centre: usize, jitter: f32) -> Vec<f32> {
        let mut v = vec![0.0; 128];
        v[centre] = 1.0;
        v[(centre + 64) % 128] = jitter;
        v
    }

    fn run(book: &mut Book, faces: &[(&str, Vec<f32>)]) -> Vec<(u32, Vec<String>)> {
        let keys: Vec<FaceKey> = faces.iter().map(|(k, _)| k.to_string()).collect();
        let descriptors: Vec<&[f32]> = faces.iter().map(|(_, d)| d.as_slice()).collect();
        book.assign(&keys, &descriptors, Params::default())
            .into_iter()
            .map(|p| (p.id, p.faces.iter().map(|&f| keys[f].clone()).collect()))
            .collect()
    }

    #[test]
    fn dense_groups_are_people_and_lone_faces_are_not() {
        let points = [
            face(0, 0.0),
            face(0, 0.1),
            face(0, 0.2),
            face(1, 0.0),
            face(1, 0.3),
            face(1, -0.3),
            face(2, 0.0),
            face(3, 0.0),
            face(3, 0.05),
        ];
        let refs: Vec<&[f32]> = points.iter().map(Vec::as_slice).collect();
        let labels = dbscan(&refs, Params::default());
        assert_eq!(
            labels,
            [
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(1),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn ids_stay_put_as_photos_come_and_go() {
        let mut book = Book::default();
        let a = |n: usize| (format!("a#{n}"), face(0, n as f32 * 0.05));
        let b = |n: usize| (format!("b#{n}"), face(1, n as f32 * 0.05));
        let first: Vec<(String, Vec<f32>)> = vec![a(0), a(1), a(2), b(0), b(1), b(2)];
        let first: Vec<(&str, Vec<f32>)> =
            first.iter().map(|(k, d)| (k.as_str(), d.clone())).collect();
        let got = run(&mut book, &first);
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2]);
        // B's photos come first now, A has a new face and lost one: same ids.
        let second: Vec<(String, Vec<f32>)> = vec![b(0), b(1), b(2), a(1), a(2), a(3)];
        let second: Vec<(&str, Vec<f32>)> = second
            .iter()
            .map(|(k, d)| (k.as_str(), d.clone()))
            .collect();
        let got = run(&mut book, &second);
        assert_eq!(got[0], (1, vec!["a#1".into(), "a#2".into(), "a#3".into()]));
        assert_eq!(got[1], (2, vec!["b#0".into(), "b#1".into(), "b#2".into()]));
        // A third person appears: a new id.
        let c: Vec<(String, Vec<f32>)> = (0..3).map(|n| (format!("c#{n}"), face(2, 0.0))).collect();
        let mut third = second.clone();
        third.extend(c.iter().map(|(k, d)| (k.as_str(), d.clone())));
        let got = run(&mut book, &third);
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn corrections_survive_reclustering() {
        let mut book = Book::default();
        let faces: Vec<(String, Vec<f32>)> = (0..4)
            .map(|n| (format!("a#{n}"), face(0, n as f32 * 0.05)))
            .chain((0..3).map(|n| (format!("b#{n}"), face(1, n as f32 * 0.05))))
            .collect();
        let faces: Vec<(&str, Vec<f32>)> =
            faces.iter().map(|(k, d)| (k.as_str(), d.clone())).collect();
        run(&mut book, &faces);
        book.name(1, "Ada").unwrap();
        book.set_hidden(2, true).unwrap();
        assert_eq!(book.split("a#3").unwrap(), 1);
        let got = book.assign(
            &faces.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>(),
            &faces.iter().map(|(_, d)| d.as_slice()).collect::<Vec<_>>(),
            Params::default(),
        );
        assert_eq!(got[0].name.as_deref(), Some("Ada"));
        assert_eq!(got[0].faces, [0, 1, 2]);
        assert!(got[1].hidden);

        // The two are the same person after all: both clusters are person 1 from now on.
        book.merge(2, 1).unwrap();
        let got = run(&mut book, &faces);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1.len(), 6);
        assert!(matches!(book.name(2, "x"), Err(BookError::Merged(2, 1))));
        assert!(matches!(book.name(9, "x"), Err(BookError::NoPerson(9))));
        assert!(matches!(book.split("zz#0"), Err(BookError::NoFace(_))));
    }

    #[test]
    fn the_book_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.json");
        assert_eq!(Book::load(&path).unwrap(), Book::default());
        let mut book = Book::default();
        let faces: Vec<(String, Vec<f32>)> =
            (0..3).map(|n| (format!("a#{n}"), face(0, 0.0))).collect();
        let faces: Vec<(&str, Vec<f32>)> =
            faces.iter().map(|(k, d)| (k.as_str(), d.clone())).collect();
        run(&mut book, &faces);
        book.name(1, "Ada \"A\" Lovelace").unwrap();
        book.save(&path).unwrap();
        assert_eq!(Book::load(&path).unwrap(), book);
        std::fs::write(&path, "{ not json").unwrap();
        let err = Book::load(&path).unwrap_err().to_string();
        assert!(err.contains("people.json is not readable"), "{err}");
    }
}

/// One face of the library, as clustering sees it.
#[derive(Debug, Clone)]
pub struct LibraryFace<'a> {
    pub key: FaceKey,
    /// The photo's path below the folder (the first, when several files hold the same bytes).
    pub rel: &'a str,
    pub face: crate::index::FaceBox,
    pub descriptor: &'a [f32],
}

/// Every face with a descriptor, once per distinct photo content.
pub fn library_faces(records: &[crate::index::Record]) -> Vec<LibraryFace<'_>> {
    let mut seen = std::collections::HashSet::new();
    let mut faces = Vec::new();
    for r in records {
        let crate::index::Outcome::Analysed(info) = &r.outcome else {
            continue;
        };
        if !seen.insert(r.content_hash.as_str()) {
            continue;
        }
        for (rank, (face, descriptor)) in info.faces.iter().zip(&info.descriptors).enumerate() {
            if let Some(descriptor) = descriptor {
                faces.push(LibraryFace {
                    key: format!("{}#{rank}", r.content_hash),
                    rel: &r.rel,
                    face: *face,
                    descriptor,
                });
            }
        }
    }
    faces
}

/// Where the book of the index at `index_path` lives: beside it.
pub fn book_path(index_path: &Path) -> std::path::PathBuf {
    let mut name = index_path.file_name().unwrap_or_default().to_os_string();
    name.push(".people.json");
    index_path.with_file_name(name)
}

impl Book {
    /// [`Book::assign`] over the library's faces.
    pub fn assign_library(&mut self, faces: &[LibraryFace<'_>], params: Params) -> Vec<Person> {
        let keys: Vec<FaceKey> = faces.iter().map(|f| f.key.clone()).collect();
        let descriptors: Vec<&[f32]> = faces.iter().map(|f| f.descriptor).collect();
        self.assign(&keys, &descriptors, params)
    }
}

/// A contact sheet: up to `columns * rows` chips of the person's faces, `side` pixels each, cut
/// from the photos under `root`.
pub fn contact_sheet(
    root: &Path,
    faces: &[&LibraryFace<'_>],
    columns: u32,
    rows: u32,
    side: u32,
) -> image::RgbImage {
    use crate::align::chip;
    use crate::analysis::decode_rgb;
    let shown = faces.len().min((columns * rows) as usize) as u32;
    let used_rows = shown.div_ceil(columns).max(1);
    let mut sheet =
        image::RgbImage::from_pixel(columns * side, used_rows * side, image::Rgb([24, 24, 24]));
    for (n, face) in faces.iter().take(shown as usize).enumerate() {
        let Some(landmarks) = face.face.landmarks else {
            continue;
        };
        let Ok(bytes) = std::fs::read(root.join(face.rel)) else {
            continue;
        };
        let crate::scan::Sniffed::Image(format) = crate::scan::sniff(&bytes) else {
            continue;
        };
        let meta = crate::metadata::PhotoMeta::read(&bytes, std::time::SystemTime::UNIX_EPOCH);
        let Ok(decoded) = decode_rgb(&bytes, format, meta.orientation, 1280) else {
            continue;
        };
        let scale = decoded.image.width() as f32 / decoded.full_width.max(1) as f32;
        let cut = chip(
            &decoded.image,
            &landmarks.map(|(x, y)| (x * scale, y * scale)),
        );
        let small =
            image::imageops::resize(&cut, side, side, image::imageops::FilterType::Triangle);
        let (x, y) = ((n as u32 % columns) * side, (n as u32 / columns) * side);
        image::imageops::replace(&mut sheet, &small, i64::from(x), i64::from(y));
    }
    sheet
}

/// The people in each photo, by path (every copy of a photo's bytes included).
pub fn photo_people(
    records: &[crate::index::Record],
    faces: &[LibraryFace<'_>],
    people: &[Person],
) -> crate::plan::PhotoPeople {
    let mut by_hash: HashMap<&str, Vec<crate::plan::PersonTag>> = HashMap::new();
    for p in people {
        for &i in &p.faces {
            let hash = faces[i].key.split('#').next().unwrap_or_default();
            let tags = by_hash.entry(hash).or_default();
            if tags.iter().all(|t| t.id != p.id) {
                tags.push(crate::plan::PersonTag {
                    id: p.id,
                    name: p.name.clone(),
                    hidden: p.hidden,
                });
            }
        }
    }
    records
        .iter()
        .filter_map(|r| Some((r.rel.clone(), by_hash.get(r.content_hash.as_str())?.clone())))
        .collect()
}
