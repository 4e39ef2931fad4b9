//! What naming places adds to a run, on a made-up library of 20,000 geotagged photos (eight years
//! of outings of a few photos: most near home, the rest on trips to 40 places around the world):
//!
//! - loading GeoNames' towns (parsing the embedded table and building its k-d tree), which a run
//!   pays once, and only when some photo has a position;
//! - naming the 20,000 photos' positions;
//! - the whole plan of the library (`plan::make`, which names every photo, event and home), first
//!   without positions (no name is looked up and the table is never loaded) and then with them.
//!
//! ```text
//! cargo bench -p memories --bench places
//! ```

use std::hint::black_box;
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use memories_library::analysis::{Analysis, Exposure, Kind, Look};
use memories_library::config::{Config, PathRules};
use memories_library::index::{Outcome, PhotoInfo, Record};
use memories_library::metadata::{CaptureTime, GeoPoint, PhotoMeta, TimeSource};
use memories_library::places;
use memories_library::plan::{self, PhotoPeople};
use memories_library::scan::Format;

#[allow(dead_code)]
#[path = "../../benches/support/mod.rs"]
mod support;

const PHOTOS: usize = 20_000;
/// Photos per trip, and the chance that a photo at home is followed by a trip: 30% of the photos
/// are taken away (150 p / (1 + 150 p) = 0.3).
const TRIP_PHOTOS: usize = 150;
const TRIP_START: f64 = 0.3 / 0.7 / TRIP_PHOTOS as f64;

/// A small deterministic generator (splitmix64), so every run plans the same library.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The library: outings of 1 to 15 photos, 10 to 60 hours apart (about eight years in all); 70%
/// of the photos within 15 km of home, the rest in runs of a trip's worth of photos around one of
/// 40 places.
fn library() -> Vec<(NaiveDateTime, GeoPoint)> {
    let mut rng = Rng(2026);
    let home = GeoPoint {
        lat: 37.3198,
        lon: -121.9472,
    };
    let places: Vec<GeoPoint> = (0..40)
        .map(|_| GeoPoint {
            lat: rng.range(-45.0, 65.0),
            lon: rng.range(-180.0, 180.0),
        })
        .collect();
    let start = NaiveDate::from_ymd_opt(2018, 1, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let mut out = Vec::with_capacity(PHOTOS);
    let mut trip: Option<(GeoPoint, usize)> = None;
    let mut taken = start;
    let mut left_in_outing = 0;
    for _ in 0..PHOTOS {
        // Outings of 1 to 15 photos a few minutes apart, 10 to 60 hours between outings.
        if left_in_outing == 0 {
            left_in_outing = 1 + rng.next() as usize % 15;
            taken += chrono::Duration::minutes(rng.range(600.0, 3600.0) as i64);
        } else {
            taken += chrono::Duration::minutes(rng.range(1.0, 20.0) as i64);
        }
        left_in_outing -= 1;
        if trip.is_none() && rng.range(0.0, 1.0) < TRIP_START {
            trip = Some((places[rng.next() as usize % places.len()], TRIP_PHOTOS));
        }
        let (centre, spread) = match &mut trip {
            Some((place, left)) => {
                *left -= 1;
                (*place, 0.3)
            }
            None => (home, 0.15),
        };
        if trip.is_some_and(|(_, left)| left == 0) {
            trip = None;
        }
        out.push((
            taken,
            GeoPoint {
                lat: (centre.lat + rng.range(-spread, spread)).clamp(-89.0, 89.0),
                lon: centre.lon + rng.range(-spread, spread),
            },
        ));
    }
    out
}

fn record(n: usize, taken: NaiveDateTime, gps: Option<GeoPoint>) -> Record {
    let info = PhotoInfo {
        format: Format::Jpeg,
        meta: PhotoMeta {
            taken: CaptureTime {
                local: taken,
                offset_minutes: None,
                source: TimeSource::ExifOriginal,
            },
            gps,
            orientation: 1,
            make: None,
            model: None,
            content_identifier: None,
        },
        analysis: Analysis {
            width: 4000,
            height: 3000,
            sharpness: 100.0,
            exposure: Exposure {
                mean: 0.45,
                highlights: 0.0,
                shadows: 0.0,
            },
            // Distinct hashes: no photo is a near-duplicate of another.
            dhash: (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            look: Look {
                kind: Kind::Photo,
                camera: true,
                screen_size: false,
                flat: 0.0,
                hard_edges: 0.0,
                paper: 0.0,
                colourfulness: 0.3,
            },
        },
        faces: Vec::new(),
        descriptors: Vec::new(),
        clip: None,
        embedded_motion: None,
    };
    Record {
        rel: format!("{:04}/IMG_{n:05}.jpg", 2018 + n / 2500),
        size: 1,
        modified_ns: 1,
        content_hash: String::new(),
        outcome: Outcome::Analysed(Box::new(info)),
    }
}

/// Median and minimum seconds of `runs` runs of `f`.
fn seconds(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples[0])
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    match support::fma_peak() {
        Some(p) => println!("single-core FP32 peak (FMA-chain probe): {p:.1} GFLOP/s"),
        None => println!("single-core FP32 peak: not measured (no AVX2/FMA)"),
    }
    let photos = library();
    let config = Config::default();
    let rules = PathRules::new(&[]).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let people = PhotoPeople::new();
    let without: Vec<Record> = photos
        .iter()
        .enumerate()
        .map(|(n, (taken, _))| record(n, *taken, None))
        .collect();
    let with: Vec<Record> = photos
        .iter()
        .enumerate()
        .map(|(n, (taken, gps))| record(n, *taken, Some(*gps)))
        .collect();

    // The plan without positions first: nothing may load the table.
    let (bare, bare_min) = seconds(5, || {
        black_box(plan::make(&without, &config, &rules, today, &people));
    });
    assert!(
        !places::loaded(),
        "a plan without positions loaded the place table"
    );
    println!(
        "plan of {PHOTOS} photos without positions: {:.0} ms (min {:.0}); place table loaded: no",
        bare * 1e3,
        bare_min * 1e3
    );

    let t = Instant::now();
    let first = plan::make(&with, &config, &rules, today, &people);
    let first_s = t.elapsed().as_secs_f64();
    let named = first.photos.iter().filter(|p| p.place.is_some()).count();
    let (warm, warm_min) = seconds(5, || {
        black_box(plan::make(&with, &config, &rules, today, &people));
    });
    println!(
        "plan of {PHOTOS} geotagged photos: first {:.0} ms (loads the table), then {:.0} ms (min {:.0}); \
         {named} photos, {} events and home named",
        first_s * 1e3,
        warm * 1e3,
        warm_min * 1e3,
        first.events.iter().filter(|e| e.place.is_some()).count()
    );

    let (load_s, load_min) = seconds(5, || {
        black_box(reverse_geocoder::ReverseGeocoder::new());
    });
    println!(
        "loading the place table: {:.0} ms (min {:.0})",
        load_s * 1e3,
        load_min * 1e3
    );
    let points: Vec<GeoPoint> = photos.iter().map(|(_, g)| *g).collect();
    let (lookup, lookup_min) = seconds(11, || {
        for &p in &points {
            black_box(places::name(p));
        }
    });
    println!(
        "naming {PHOTOS} positions: {:.1} ms (min {:.1}), {:.2} µs each",
        lookup * 1e3,
        lookup_min * 1e3,
        lookup * 1e6 / PHOTOS as f64
    );
    let added = load_s + lookup;
    println!(
        "what places add to a run of {PHOTOS} geotagged photos: {:.0} ms (table + names; goal < 1000 ms); \
         plan with places minus plan without, first run: {:.0} ms",
        added * 1e3,
        (first_s - bare) * 1e3
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
