//! What `--json` prints: one typed row per line, each with its `"type"` first.
//!
//! `memories plan --json` prints [`plan_rows`]: each photo, each photo that could not be
//! analysed, home, then each memory candidate; then [`Row::Problem`] for files the scan could not
//! read and [`Row::Skipped`] for files it skipped. `memories detect --json` prints
//! [`DetectedPhoto`]s, `memories people --json` [`PersonRow`]s.
//!
//! Rows go through [`serde_json::Value`] on their way out ([`line`]), which prints `f32` fields
//! widened to `f64`, as these lines always have: scripts that compare runs see the same bytes.

use serde::Serialize;

use crate::analysis::{Exposure, Kind};
use crate::metadata::{GeoPoint, TimeSource};
use crate::places::Place;
use crate::plan::Plan;
use crate::scan::Format;
use memories_vision::faces::FaceBox;

/// One line of `memories plan --json`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Row<'a> {
    Photo {
        path: &'a str,
        format: Format,
        /// Local time, `YYYY-MM-DDTHH:MM:SS`.
        taken: String,
        offset_minutes: Option<i32>,
        time_source: TimeSource,
        gps: Option<Point>,
        place: Option<PlaceRow>,
        camera: Option<String>,
        orientation: u8,
        width: u32,
        height: u32,
        sharpness: f32,
        exposure: &'a Exposure,
        /// 16 hex digits.
        dhash: String,
        kind: Kind,
        faces: &'a [FaceBox],
        excluded: Option<ExclusionRow>,
        /// For a clip: its codec, length and the part a memory shows.
        #[serde(skip_serializing_if = "Option::is_none")]
        clip: Option<ClipRow<'a>>,
        /// For a Live Photo's still: the path of its clip.
        #[serde(skip_serializing_if = "Option::is_none")]
        motion: Option<&'a str>,
        /// For a motion photo: the video inside it.
        #[serde(skip_serializing_if = "Option::is_none")]
        embedded_motion: Option<ClipRow<'a>>,
    },
    Problem {
        path: &'a str,
        problem: &'a str,
    },
    Skipped {
        path: &'a str,
        reason: &'a str,
    },
    Home {
        centre: Point,
        place: Option<PlaceRow>,
        name: String,
        photos: usize,
        days: usize,
    },
    Event {
        id: usize,
        title: &'a str,
        start: String,
        end: String,
        centre: Option<Point>,
        place: Option<PlaceRow>,
        place_line: Option<String>,
        km_from_home: Option<f64>,
        cover: &'a str,
        photos: Vec<&'a str>,
    },
    Trip {
        id: usize,
        title: &'a str,
        destination: Option<&'a str>,
        start: String,
        end: String,
        /// Indices of the plan's events.
        events: &'a [usize],
        farthest_km: f64,
        photos: Vec<&'a str>,
    },
    Person {
        id: u32,
        title: &'a str,
        name: Option<&'a str>,
        photos: Vec<&'a str>,
    },
    OnThisDay {
        title: &'a str,
        /// The day it was computed for, `YYYY-MM-DD`.
        date: String,
        year: i32,
        photos: Vec<&'a str>,
    },
}

/// A clip's facts in a photo row.
#[derive(Debug, Serialize)]
pub struct ClipRow<'a> {
    pub codec: &'a str,
    pub seconds: f64,
    /// The part a memory shows, in seconds from the start.
    pub part: [f64; 2],
    /// The frame the measures and faces come from, in seconds.
    pub poster_seconds: f64,
}

impl<'a> ClipRow<'a> {
    fn of(c: &'a crate::clips::ClipInfo) -> ClipRow<'a> {
        let (start, end) = c.part();
        ClipRow {
            codec: &c.codec,
            seconds: c.seconds,
            part: [start, end],
            poster_seconds: c.poster_seconds,
        }
    }
}

/// A position in decimal degrees.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl From<GeoPoint> for Point {
    fn from(g: GeoPoint) -> Point {
        Point {
            lat: g.lat,
            lon: g.lon,
        }
    }
}

/// A named place: its parts, its distance from the point, and how the plan names it.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceRow {
    pub town: &'static str,
    pub region: Option<&'static str>,
    pub country: &'static str,
    pub country_code: &'static str,
    /// To 0.1 km.
    pub km: f64,
    pub name: String,
}

impl PlaceRow {
    fn new(place: &Place, home_country: Option<&str>) -> PlaceRow {
        PlaceRow {
            town: place.town,
            region: place.region,
            country: place.country,
            country_code: place.country_code,
            km: (place.km * 10.0).round() / 10.0,
            name: place.label(home_country),
        }
    }
}

/// Why a photo is out: a stable key ("near-duplicate") and the sentence the plan shows.
#[derive(Debug, Clone, Serialize)]
pub struct ExclusionRow {
    pub reason: &'static str,
    pub detail: String,
}

/// One line of `memories detect --json`: a photo's full-resolution, upright size and its faces.
#[derive(Debug, Serialize)]
pub struct DetectedPhoto {
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub faces: Vec<DetectedFace>,
}

/// A face box in full-resolution pixels (to 0.1 px) and its score (to 0.001).
#[derive(Debug, Serialize)]
pub struct DetectedFace {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub score: f64,
}

impl DetectedFace {
    pub fn new(x: f32, y: f32, w: f32, h: f32, score: f32) -> DetectedFace {
        DetectedFace {
            x: tenth(x),
            y: tenth(y),
            w: tenth(w),
            h: tenth(h),
            score: (f64::from(score) * 1000.0).round() / 1000.0,
        }
    }
}

/// One line of `memories people --json`: a person and the faces assigned to them.
#[derive(Debug, Serialize)]
pub struct PersonRow<'a> {
    pub id: u32,
    pub name: Option<&'a str>,
    pub faces: Vec<PersonFace<'a>>,
}

/// A face of a person: the photo (below the folder) and the box, to 0.1 px.
#[derive(Debug, Serialize)]
pub struct PersonFace<'a> {
    pub path: &'a str,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl<'a> PersonFace<'a> {
    pub fn new(path: &'a str, face: &FaceBox) -> PersonFace<'a> {
        PersonFace {
            path,
            x: tenth(face.x),
            y: tenth(face.y),
            w: tenth(face.w),
            h: tenth(face.h),
        }
    }
}

fn tenth(v: f32) -> f64 {
    (f64::from(v) * 10.0).round() / 10.0
}

/// A row as one line of JSON, without the newline.
pub fn line(row: &impl Serialize) -> String {
    serde_json::to_value(row)
        .expect("rows hold only strings, numbers and maps")
        .to_string()
}

/// The plan's rows: one per photo (and per photo that could not be analysed), one for home when
/// there is one, then one per memory candidate.
pub fn plan_rows(plan: &Plan) -> Vec<Row<'_>> {
    const TIME: &str = "%Y-%m-%dT%H:%M:%S";
    let mut rows = Vec::new();
    let home_country = plan.home_place.map(|h| h.country_code);
    let place = |p: &Option<Place>| p.as_ref().map(|p| PlaceRow::new(p, home_country));
    for p in &plan.photos {
        let m = &p.info.meta;
        let a = &p.info.analysis;
        rows.push(Row::Photo {
            path: &p.rel,
            format: p.info.format,
            taken: m.taken.local.format(TIME).to_string(),
            offset_minutes: m.taken.offset_minutes,
            time_source: m.taken.source,
            gps: m.gps.map(Point::from),
            place: place(&p.place),
            camera: m.camera(),
            orientation: m.orientation,
            width: a.width,
            height: a.height,
            sharpness: a.sharpness,
            exposure: &a.exposure,
            dhash: format!("{:016x}", a.dhash),
            kind: a.look.kind,
            faces: &p.info.faces,
            excluded: p.excluded.as_ref().map(|e| ExclusionRow {
                reason: e.key(),
                detail: e.to_string(),
            }),
            clip: p.info.clip.as_ref().map(ClipRow::of),
            motion: p.motion.as_deref(),
            embedded_motion: p.info.embedded_motion.as_ref().map(ClipRow::of),
        });
    }
    for (path, problem) in &plan.failed {
        rows.push(Row::Problem { path, problem });
    }
    let paths =
        |ids: &[usize]| -> Vec<&str> { ids.iter().map(|&i| plan.photos[i].rel.as_str()).collect() };
    if let Some(h) = &plan.home {
        rows.push(Row::Home {
            centre: h.centre.into(),
            place: place(&plan.home_place),
            name: plan.home_line(),
            photos: h.photos,
            days: h.days,
        });
    }
    for (id, e) in plan.candidate_events() {
        rows.push(Row::Event {
            id,
            title: &e.title,
            start: e.start.format(TIME).to_string(),
            end: e.end.format(TIME).to_string(),
            centre: e.centre.map(Point::from),
            place: place(&e.place),
            place_line: plan.place_line(e),
            km_from_home: e.km_from_home,
            cover: &plan.photos[e.cover].rel,
            photos: paths(&e.photos),
        });
    }
    for (id, t) in plan.candidate_trips() {
        let first = &plan.events[t.events[0]];
        let last = &plan.events[*t.events.last().expect("trips are never empty")];
        let ids: Vec<usize> = t
            .events
            .iter()
            .flat_map(|&e| plan.events[e].photos.iter().copied())
            .collect();
        rows.push(Row::Trip {
            id,
            title: &t.title,
            destination: t.destination.as_deref(),
            start: first.start.format(TIME).to_string(),
            end: last.end.format(TIME).to_string(),
            events: &t.events,
            farthest_km: t.farthest_km,
            photos: paths(&ids),
        });
    }
    for m in &plan.people {
        rows.push(Row::Person {
            id: m.person.id,
            title: &m.title,
            name: m.person.name.as_deref(),
            photos: paths(&m.photos),
        });
    }
    for y in &plan.on_this_day {
        rows.push(Row::OnThisDay {
            title: &y.title,
            date: plan.today.to_string(),
            year: y.year,
            photos: paths(&y.photos),
        });
    }
    rows
}
