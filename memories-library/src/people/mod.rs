//! People: faces grouped by identity, with the user's corrections kept across runs.
//!
//! Every face has a 128-d identity descriptor (dlib's ResNet compiled by nnc; two faces of one
//! person are usually under 0.6 apart). Faces are clustered by Chinese whispers, dlib's face
//! clustering, over each face's neighbours within [`Params::eps`] ([`FaceGraph::labels`]): a
//! face takes the person that weighs most among its neighbours, so that a look-alike or two do
//! not join two people, as they did under DBSCAN ([`dbscan`], kept as a reference). A person
//! needs [`Params::min_faces`] faces; lone faces stay unassigned.
//!
//! Finding each face's neighbours is the costly half of clustering; [`graph::FaceGraph`] keeps
//! them in a file beside the index, so that a run searches only for new faces (with an HNSW
//! index once a search is too large to compare every pair). The labelling of the graph is
//! redone from all faces on every run, so person ids come from the [`Book`], a
//! small file beside the index that remembers each person's faces, name, whether they are
//! hidden, merges and faces split off. A new cluster takes the id of the known person with whom
//! it shares the most faces; a cluster sharing none is a new person. The book is the user's
//! data, not a cache: it survives the index being rebuilt, because faces are named by the
//! content hash of their photo and their rank in it, not by index rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod graph;

pub use graph::FaceGraph;

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
    /// `identities/`); a tighter 0.5 keeps look-alikes of different people apart. Three faces
    /// make a person.
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

/// DBSCAN over `points`, every pair compared (on every core): the cluster of each point, `None`
/// for noise. Clusters are numbered in the order of their first point, so the result depends
/// only on the input order. The reference for [`FaceGraph::dbscan`], which gives the same
/// labels when its search was exact; `memories people` used it until it was found to chain
/// people together in libraries of a few hundred photos.
pub fn dbscan(points: &[&[f32]], params: Params) -> Vec<Option<usize>> {
    use rayon::prelude::*;
    // Rows in blocks of 64, so that each point is read from memory once per block.
    let rows: Vec<usize> = (0..points.len()).collect();
    let neighbours: Vec<Vec<u32>> = rows
        .par_chunks(64)
        .flat_map_iter(|block| {
            let mut lists = vec![Vec::new(); block.len()];
            for (j, p) in points.iter().enumerate() {
                for (list, &i) in lists.iter_mut().zip(block) {
                    if i != j && graph::distance(points[i], p) <= params.eps {
                        list.push(j as u32);
                    }
                }
            }
            lists
        })
        .collect();
    graph::label(&neighbours, params.min_faces)
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
    #[error("{0:?} is not a name: a name is one line of text, with no control character")]
    BadName(String),
    #[error("no person has the face {0}")]
    NoFace(FaceKey),
    #[error("people file {0}")]
    Write(#[from] memories_fs::WriteError),
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
    pub fn save(&self, path: &Path) -> Result<(), BookError> {
        let json = serde_json::to_vec_pretty(self).expect("a book always serializes");
        Ok(memories_fs::write_atomically(path, &json)?)
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
    fn resolve(&self, id: u32) -> u32 {
        // Merges only point at people that were live when merged, so through the API the chain
        // ends at a live person. A hand-edited file can hold a loop, or point at a person it no
        // longer lists: a loop resolves to its smallest id (the same one from anywhere on it),
        // and a chain stops at the last person that has an entry, so every id resolved has one.
        let mut seen = vec![id];
        let mut id = id;
        loop {
            let next = self
                .people
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.merged_into)
                .filter(|into| self.people.iter().any(|e| e.id == *into));
            match next {
                None => return id,
                Some(into) => match seen.iter().position(|&s| s == into) {
                    Some(start) => return seen[start..].iter().copied().min().unwrap_or(into),
                    None => {
                        seen.push(into);
                        id = into;
                    }
                },
            }
        }
    }

    /// Names person `id`. A name is one line of text: empty names and control characters
    /// (newlines, tabs) are refused.
    pub fn name(&mut self, id: u32, name: &str) -> Result<(), BookError> {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(BookError::BadName(name.to_string()));
        }
        self.entry_mut(id)?.name = Some(name.to_string());
        Ok(())
    }

    pub fn set_hidden(&mut self, id: u32, hidden: bool) -> Result<(), BookError> {
        self.entry_mut(id)?.hidden = hidden;
        Ok(())
    }

    /// Person `from` is the same as person `into`: their faces count for `into` from now on.
    pub fn merge(&mut self, from: u32, into: u32) -> Result<(), BookError> {
        // Both must be live: merging into or out of a merged person names the wrong one.
        self.entry_mut(into)?;
        if from == into {
            return Ok(());
        }
        let entry = self.entry_mut(from)?;
        let faces = std::mem::take(&mut entry.faces);
        // The faces split off `from` are not `into` either, now that the two are one person.
        let not_faces = std::mem::take(&mut entry.not_faces);
        entry.merged_into = Some(into);
        let entry = self.entry_mut(into)?;
        entry.faces.extend(faces);
        entry.not_faces.extend(not_faces);
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

    /// Clusters `descriptors` (one per face, named by `keys`) from scratch, then
    /// [`Book::assign_labels`].
    pub fn assign(
        &mut self,
        keys: &[FaceKey],
        descriptors: &[&[f32]],
        params: Params,
    ) -> Vec<Person> {
        let (graph, _) = FaceGraph::default().update(keys, descriptors, params.eps);
        self.assign_labels(keys, &graph.labels(params.min_faces))
    }

    /// Gives each cluster of `labels` (one per face, named by `keys`) its known person's id or
    /// a new one, applies the user's corrections, and records the result.
    pub fn assign_labels(&mut self, keys: &[FaceKey], labels: &[Option<usize>]) -> Vec<Person> {
        assert_eq!(keys.len(), labels.len(), "one label per face");
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
        // The faces split off each live person or off anyone merged into them. Books written
        // before merges moved `not_faces` along keep them on the merged entry, so they are
        // gathered here rather than read from the surviving entry alone.
        let mut not_faces: HashMap<u32, BTreeSet<FaceKey>> = HashMap::new();
        for e in &self.people {
            not_faces
                .entry(self.resolve(e.id))
                .or_default()
                .extend(e.not_faces.iter().cloned());
        }
        let mut people = Vec::new();
        for (id, mut faces) in members {
            if let Some(not) = not_faces.get(&id) {
                faces.retain(|&f| !not.contains(&keys[f]));
            }
            let entry = self
                .people
                .iter_mut()
                .find(|e| e.id == id)
                .expect("every id given out has an entry");
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

    /// Four faces of each named person, `a#0..a#3` near axis 0, `b#..` near axis 1 and so on.
    fn four_each(names: &[&str]) -> Vec<(String, Vec<f32>)> {
        names
            .iter()
            .enumerate()
            .flat_map(|(axis, name)| {
                (0..4).map(move |n| (format!("{name}#{n}"), face(axis, n as f32 * 0.05)))
            })
            .collect()
    }

    /// One run over `faces`: each person's id and face keys.
    fn run_owned(book: &mut Book, faces: &[(String, Vec<f32>)]) -> Vec<(u32, Vec<String>)> {
        let faces: Vec<(&str, Vec<f32>)> =
            faces.iter().map(|(k, d)| (k.as_str(), d.clone())).collect();
        run(book, &faces)
    }

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn a_split_face_stays_out_when_its_person_is_merged() {
        let faces = four_each(&["a", "b"]);
        let mut book = Book::default();
        run_owned(&mut book, &faces);
        // a#3 is not person 1; b#0 is not person 2. Then they are one person after all.
        assert_eq!(book.split("a#3").unwrap(), 1);
        assert_eq!(book.split("b#0").unwrap(), 2);
        book.merge(1, 2).unwrap();
        let got = run_owned(&mut book, &faces);
        let expect = keys(&["a#0", "a#1", "a#2", "b#1", "b#2", "b#3"]);
        assert_eq!(got, [(2, expect.clone())]);
        // And on every later run.
        assert_eq!(run_owned(&mut book, &faces), [(2, expect)]);
    }

    /// A book written before merges moved the faces split off: the merged entry still holds them.
    #[test]
    fn a_split_face_stays_out_in_books_merged_before_the_fix() {
        let faces = four_each(&["a", "b", "c"]);
        let book = |people: &str| -> Book {
            serde_json::from_str(&format!(r#"{{"next_id": 4, "people": [{people}]}}"#)).unwrap()
        };
        // 1 merged into 2 with a#3 split off 1.
        let mut one = book(
            r#"{"id": 1, "merged_into": 2, "faces": [], "not_faces": ["a#3"]},
               {"id": 2, "faces": ["a#0", "a#1", "a#2", "b#0", "b#1", "b#2", "b#3"]},
               {"id": 3, "faces": ["c#0", "c#1", "c#2", "c#3"]}"#,
        );
        let got = run_owned(&mut one, &faces);
        assert_eq!(got[0].0, 2);
        assert_eq!(
            got[0].1,
            keys(&["a#0", "a#1", "a#2", "b#0", "b#1", "b#2", "b#3"])
        );
        // A chain, 1 into 2 into 3, each with a face split off before its merge.
        let mut chain = book(
            r#"{"id": 1, "merged_into": 2, "faces": [], "not_faces": ["a#3"]},
               {"id": 2, "merged_into": 3, "faces": [], "not_faces": ["b#3"]},
               {"id": 3, "faces": ["a#0", "a#1", "a#2", "b#0", "b#1", "b#2", "c#0", "c#1", "c#2", "c#3"]}"#,
        );
        let got = run_owned(&mut chain, &faces);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 3);
        assert!(!got[0].1.contains(&"a#3".to_string()), "{got:?}");
        assert!(!got[0].1.contains(&"b#3".to_string()), "{got:?}");
        assert_eq!(got[0].1.len(), 10);
    }

    #[test]
    fn chained_merges_end_at_the_last_person_with_every_correction() {
        let faces = four_each(&["a", "b", "c"]);
        let mut book = Book::default();
        run_owned(&mut book, &faces);
        book.name(3, "Cy").unwrap();
        assert_eq!(book.split("a#3").unwrap(), 1);
        book.merge(1, 2).unwrap();
        assert_eq!(book.split("b#3").unwrap(), 2);
        book.merge(2, 3).unwrap();
        let got = book.assign(
            &faces.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            &faces.iter().map(|(_, d)| d.as_slice()).collect::<Vec<_>>(),
            Params::default(),
        );
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].id, got[0].name.as_deref()), (3, Some("Cy")));
        let mine: Vec<&str> = got[0].faces.iter().map(|&f| faces[f].0.as_str()).collect();
        assert_eq!(
            mine,
            [
                "a#0", "a#1", "a#2", "b#0", "b#1", "b#2", "c#0", "c#1", "c#2", "c#3"
            ]
        );
        assert!(matches!(book.name(1, "x"), Err(BookError::Merged(1, 2))));
        assert!(matches!(book.name(2, "x"), Err(BookError::Merged(2, 3))));
        // The survivor can still be split, and the face split off earlier cannot be found.
        assert_eq!(book.split("a#0").unwrap(), 3);
        assert!(matches!(book.split("a#3"), Err(BookError::NoFace(_))));
    }

    #[test]
    fn merging_a_merged_person_is_refused_and_changes_nothing() {
        let faces = four_each(&["a", "b", "c"]);
        let mut book = Book::default();
        run_owned(&mut book, &faces);
        book.merge(1, 2).unwrap();
        let before = book.clone();
        for (from, into) in [(1, 3), (3, 1), (1, 1), (1, 2)] {
            let err = book.merge(from, into).unwrap_err();
            assert!(
                matches!(err, BookError::Merged(1, 2)),
                "{from} into {into}: {err}"
            );
        }
        assert!(matches!(book.merge(9, 2), Err(BookError::NoPerson(9))));
        assert!(matches!(book.merge(2, 9), Err(BookError::NoPerson(9))));
        assert_eq!(book, before);
        // A live person merged into itself is a no-op.
        book.merge(2, 2).unwrap();
        assert_eq!(book, before);
    }

    /// A hand-edited file with a merge loop, or a merge into a person it no longer lists, still
    /// assigns every cluster to one person (and returns at all: a hang fails after a minute).
    #[test]
    fn hand_edited_merge_loops_and_dangling_merges_resolve() {
        let faces = four_each(&["a", "b", "c"]);
        let mut book: Book = serde_json::from_str(
            r#"{"next_id": 8, "people": [
                {"id": 5, "merged_into": 2, "faces": ["a#0", "a#1"]},
                {"id": 2, "merged_into": 6, "faces": ["a#2"], "not_faces": ["a#3"]},
                {"id": 6, "merged_into": 5, "faces": ["b#0", "b#1", "b#2"]},
                {"id": 7, "merged_into": 99, "faces": ["c#0", "c#1", "c#2", "c#3"]}
            ]}"#,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got = run_owned(&mut book, &faces);
            tx.send(got).unwrap();
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("assign returns on a merge loop");
        // The loop 5 -> 2 -> 6 -> 5 is one person, its smallest id, whichever entry a face
        // was on; person 7's merge points at nobody, so 7 stays 7.
        assert_eq!(
            got,
            [
                (2, keys(&["a#0", "a#1", "a#2", "b#0", "b#1", "b#2", "b#3"])),
                (7, keys(&["c#0", "c#1", "c#2", "c#3"])),
            ]
        );
    }
}

/// One face of the library, as clustering sees it.
#[derive(Debug, Clone)]
pub struct LibraryFace<'a> {
    pub key: FaceKey,
    /// The photo's path below the folder (the first, when several files hold the same bytes).
    pub rel: &'a str,
    pub face: memories_vision::faces::FaceBox,
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

/// Where the face graph of the index at `index_path` lives: beside it.
pub fn graph_path(index_path: &Path) -> std::path::PathBuf {
    let mut name = index_path.file_name().unwrap_or_default().to_os_string();
    name.push(".faces");
    index_path.with_file_name(name)
}

/// The library's face graph: the one saved beside the index brought up to date with `faces`.
/// The caller saves it with [`FaceGraph::save`].
pub fn library_graph(
    index_path: &Path,
    faces: &[LibraryFace<'_>],
    params: Params,
) -> (FaceGraph, graph::Update) {
    let keys: Vec<FaceKey> = faces.iter().map(|f| f.key.clone()).collect();
    let descriptors: Vec<&[f32]> = faces.iter().map(|f| f.descriptor).collect();
    FaceGraph::load(&graph_path(index_path)).update(&keys, &descriptors, params.eps)
}

impl Book {
    /// [`Book::assign_labels`] over the library's faces, clustered by `graph` (of the same
    /// faces, in the same order: see [`library_graph`]).
    pub fn assign_library(
        &mut self,
        faces: &[LibraryFace<'_>],
        graph: &FaceGraph,
        params: Params,
    ) -> Vec<Person> {
        let keys: Vec<FaceKey> = faces.iter().map(|f| f.key.clone()).collect();
        assert_eq!(graph.keys(), keys, "the graph of these faces");
        self.assign_labels(&keys, &graph.labels(params.min_faces))
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
    use crate::analysis::decode_file;
    use memories_vision::align::chip;
    let shown = faces.len().min((columns * rows) as usize) as u32;
    let used_rows = shown.div_ceil(columns).max(1);
    let mut sheet =
        image::RgbImage::from_pixel(columns * side, used_rows * side, image::Rgb([24, 24, 24]));
    for (n, face) in faces.iter().take(shown as usize).enumerate() {
        let Some(landmarks) = face.face.landmarks else {
            continue;
        };
        let Ok(decoded) = decode_file(&root.join(face.rel), 1280) else {
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
