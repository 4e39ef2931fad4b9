//! Which photos of a memory make it into the movie.
//!
//! First each group of near-duplicates (a burst, a re-saved copy) is collapsed to its best
//! photo, so the movie never shows the same picture twice. The remaining photos (in time order)
//! are cut into as many consecutive runs as the movie has shots, each run holding about the same
//! number of photos, and the best photo of each run is taken. Runs by count rather than by clock
//! time follow the photographer: a busy hour gets more shots than a quiet one, yet every part of
//! the event is represented. The result is in time order and depends only on the photos' data:
//! the same input always gives the same movie.

use memories_library::analysis::bursts;
use memories_library::index::PhotoInfo;

/// Settings for collapsing near-duplicates; the defaults are the planner's
/// ([`memories_library::config::Exclude`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Photos whose dHashes differ in at most this many of 64 bits look alike...
    pub duplicate_bits: u32,
    /// ...when taken at most this many seconds apart.
    pub burst_secs: i64,
}

/// What selection needs to know about one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Seconds on one timeline, for ordering and bursts.
    pub time: i64,
    /// Tie-breaker, so equal photos are chosen the same way on every run.
    pub rel: String,
    pub score: f32,
    pub dhash: u64,
}

impl Candidate {
    pub fn new(rel: &str, info: &PhotoInfo) -> Candidate {
        Candidate {
            time: info.meta.taken.timeline_secs(),
            rel: rel.to_string(),
            score: score(info),
            dhash: info.analysis.dhash,
        }
    }
}

/// How much a photo deserves a place in a movie: the planner's quality (sharpness and exposure,
/// about 3 to 8 for good photos) plus what makes a memory personal: faces, large ones most, and
/// no face cut by the photo's edge (a face touching the border usually has its eyes or chin
/// cut off).
pub fn score(info: &PhotoInfo) -> f32 {
    let a = &info.analysis;
    let (w, h) = (a.width.max(1) as f32, a.height.max(1) as f32);
    let mut score = a.quality();
    if !info.faces.is_empty() {
        score += 1.0 + 0.25 * (info.faces.len().min(4) as f32);
        let largest = info.faces.iter().map(|f| f.w * f.h).fold(0.0f32, f32::max);
        // A face filling a quarter of the photo adds 2; the square root rewards the step from a
        // distant face to a visible one more than from a large face to a huge one.
        score += 4.0 * (largest / (w * h)).min(0.25).sqrt();
        let margin = 0.01 * w.min(h);
        let cut = info.faces.iter().any(|f| {
            f.x < margin || f.y < margin || f.x + f.w > w - margin || f.y + f.h > h - margin
        });
        if cut {
            score -= 1.5;
        }
    }
    score
}

/// Picks up to `count` of `photos` (given in time order): indices into `photos`, in time order.
pub fn select(photos: &[Candidate], count: usize, similar: &Similarity) -> Vec<usize> {
    let kept = collapse_bursts(photos, similar);
    let n = kept.len();
    let count = count.min(n);
    (0..count)
        .map(|run| {
            let (start, end) = (run * n / count, (run + 1) * n / count);
            *kept[start..end]
                .iter()
                .min_by(|&&a, &&b| better(&photos[a], &photos[b]))
                .expect("runs are never empty when count <= n")
        })
        .collect()
}

/// Higher score first; on equal scores the smaller path, so choices are stable across runs.
fn better(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then_with(|| a.rel.cmp(&b.rel))
}

/// The best photo of each group of near-duplicates, in time order; the groups are the
/// planner's ([`bursts`]).
pub fn collapse_bursts(photos: &[Candidate], similar: &Similarity) -> Vec<usize> {
    let groups = bursts(
        photos.iter().enumerate().map(|(i, p)| (i, p.time, p.dhash)),
        similar.burst_secs,
        similar.duplicate_bits,
    );
    let mut best: Vec<usize> = groups
        .iter()
        .map(|g| {
            *g.iter()
                .min_by(|&&a, &&b| better(&photos[a], &photos[b]))
                .expect("groups are never empty")
        })
        .collect();
    best.sort_unstable();
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMILAR: Similarity = Similarity {
        duplicate_bits: 8,
        burst_secs: 600,
    };

    /// "name minute score hash" per photo.
    fn candidates(specs: &[&str]) -> Vec<Candidate> {
        specs
            .iter()
            .map(|s| {
                let f: Vec<&str> = s.split_whitespace().collect();
                Candidate {
                    rel: f[0].to_string(),
                    time: f[1].parse::<i64>().unwrap() * 60,
                    score: f[2].parse().unwrap(),
                    dhash: u64::from_str_radix(f[3], 16).unwrap(),
                }
            })
            .collect()
    }

    fn check(specs: &[&str], count: usize, expect: &[&str]) {
        let photos = candidates(specs);
        let got: Vec<&str> = select(&photos, count, &SIMILAR)
            .into_iter()
            .map(|i| photos[i].rel.as_str())
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn best_of_each_part_in_time_order() {
        let specs = [
            "a 0 5.0 0000000000000000",
            "b 10 6.0 1111111111111111",
            "c 20 4.0 2222222222222222",
            "d 30 7.0 4444444444444444",
            "e 40 3.0 8888888888888888",
            "f 50 6.5 ffffffffffffffff",
        ];
        check(&specs, 3, &["b", "d", "f"]);
        check(&specs, 1, &["d"]);
        check(&specs, 6, &["a", "b", "c", "d", "e", "f"]);
        check(&specs, 99, &["a", "b", "c", "d", "e", "f"]);
        check(&specs, 0, &[]);
        check(&[], 5, &[]);
    }

    #[test]
    fn bursts_collapse_to_one_shot() {
        // b, c and d are one burst (hashes within 8 bits, minutes apart) and count as one photo,
        // the best of them (b).
        check(
            &[
                "a 0 2.0 000000000000ffff",
                "b 1 9.0 ff000000000000ff",
                "c 2 8.0 ff000000000000fe",
                "d 3 1.0 ff000000000000fc",
                "e 4 0.5 0f0f0f0f0f0f0f0f",
                "f 5 0.1 f0f0f0f0f0f0f0f0",
            ],
            3,
            &["a", "b", "e"],
        );
        // Three copies make one shot, however many are asked for.
        check(
            &[
                "a 0 9.0 ff000000000000ff",
                "b 1 8.0 ff000000000000fe",
                "c 2 8.0 ff000000000000fc",
            ],
            3,
            &["a"],
        );
        // The same picture an hour later is a new moment, not a burst.
        check(
            &["a 0 9.0 ff000000000000ff", "b 60 8.0 ff000000000000ff"],
            2,
            &["a", "b"],
        );
    }

    #[test]
    fn selection_is_deterministic_with_ties() {
        let specs = [
            "z 0 5.0 0000000000000000",
            "y 0 5.0 ffffffffffffffff",
            "x 0 5.0 0f0f0f0f0f0f0f0f",
        ];
        check(&specs, 1, &["x"]);
        check(&specs, 3, &["z", "y", "x"]);
        let photos = candidates(&specs);
        let first = select(&photos, 2, &SIMILAR);
        for _ in 0..5 {
            assert_eq!(select(&photos, 2, &SIMILAR), first);
        }
    }
}
