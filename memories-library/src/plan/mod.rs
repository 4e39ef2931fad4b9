//! Turns the index into memory candidates: decides which photos are kept out and why, groups the
//! rest into events, trips and "on this day" sets, and renders the result for people (summary,
//! full plan); the `rows` module gives the same for scripts, as JSON lines.

mod text;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::analysis::{Kind, bursts, hamming};
use crate::config::{Config, PathRules};
use crate::events::{self, Home, Moment, distance_km};
use crate::index::{Outcome, PhotoInfo, Record};
use crate::metadata::GeoPoint;
use crate::places::{self, Place};
use crate::titles;

/// Why a photo is kept out of memories.
#[derive(Debug, Clone, PartialEq)]
pub enum Exclusion {
    Path {
        pattern: String,
    },
    Date {
        range: String,
    },
    Screenshot {
        why: String,
    },
    Document {
        why: String,
    },
    NearDuplicate {
        of: String,
        bits: u32,
    },
    Person {
        who: String,
        hidden: bool,
    },
    /// A Live Photo's clip: shown as the motion of its still, never as an item of its own.
    Motion {
        of: String,
    },
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::Path { pattern } => write!(f, "path matches excluded pattern {pattern:?}"),
            Exclusion::Date { range } => write!(f, "taken in excluded dates {range}"),
            Exclusion::Screenshot { why } | Exclusion::Document { why } => f.write_str(why),
            Exclusion::Person { who, hidden: true } => write!(f, "shows {who}, who is hidden"),
            Exclusion::Person { who, hidden: false } => {
                write!(f, "shows {who}, whom the settings exclude")
            }
            Exclusion::NearDuplicate { of, bits } => {
                write!(
                    f,
                    "near-duplicate of {of} ({bits} of 64 hash bits differ), which is sharper"
                )
            }
            Exclusion::Motion { of } => write!(f, "the motion of the Live Photo {of}"),
        }
    }
}

impl Exclusion {
    /// A stable name for scripts: "near-duplicate".
    pub fn key(&self) -> &'static str {
        match self {
            Exclusion::Path { .. } => "path",
            Exclusion::Date { .. } => "date",
            Exclusion::Screenshot { .. } => "screenshot",
            Exclusion::Document { .. } => "document",
            Exclusion::NearDuplicate { .. } => "near-duplicate",
            Exclusion::Person { .. } => "person",
            Exclusion::Motion { .. } => "motion",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlannedPhoto {
    pub rel: String,
    pub info: PhotoInfo,
    pub excluded: Option<Exclusion>,
    /// The town nearest its GPS position, if any is near enough.
    pub place: Option<Place>,
    /// For a Live Photo's still: the path of its clip, which the plan keeps out as
    /// [`Exclusion::Motion`] ([`pair_live_photos`]).
    pub motion: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EventPlan {
    /// Indices into [`Plan::photos`], in time order.
    pub photos: Vec<usize>,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub centre: Option<GeoPoint>,
    /// The town nearest its centre.
    pub place: Option<Place>,
    pub km_from_home: Option<f64>,
    /// The best-looking photo, to show first.
    pub cover: usize,
    /// "Arezzo, October 2008" ([`titles::event`]).
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct TripPlan {
    /// Indices into [`Plan::events`].
    pub events: Vec<usize>,
    pub farthest_km: f64,
    /// The narrowest name its events' places share ([`titles::destination`]).
    pub destination: Option<String>,
    /// "Trip to Tuscany" ([`titles::trip`]).
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct YearPlan {
    pub year: i32,
    pub photos: Vec<usize>,
    /// "This day, 9 years ago".
    pub title: String,
}

/// Everything `memories` would make from a folder, with its reasons.
#[derive(Debug, Clone)]
pub struct Plan {
    pub photos: Vec<PlannedPhoto>,
    /// Records that could not be analysed: (path, problem).
    pub failed: Vec<(String, String)>,
    pub home: Option<Home>,
    /// The town nearest home.
    pub home_place: Option<Place>,
    /// Events closer than this to home are at home: their place line gives no distance.
    pub home_radius_km: f64,
    pub events: Vec<EventPlan>,
    pub trips: Vec<TripPlan>,
    pub today: NaiveDate,
    pub on_this_day: Vec<YearPlan>,
    pub on_this_day_window: u32,
    /// Events with fewer kept photos than this are listed but are not memory candidates.
    pub min_event_photos: usize,
    /// People memories: a person's kept photos from at least two days.
    pub people: Vec<PersonPlan>,
}

/// A memory about someone: the kept photos they are in, in time order.
#[derive(Debug, Clone)]
pub struct PersonPlan {
    pub person: PersonTag,
    /// "With Ada".
    pub title: String,
    /// Indices into [`Plan::photos`].
    pub photos: Vec<usize>,
}

/// A person seen in a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTag {
    pub id: u32,
    pub name: Option<String>,
    pub hidden: bool,
}

impl PersonTag {
    /// "person 3", or "person 3 (Ada)".
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("person {} ({name})", self.id),
            None => format!("person {}", self.id),
        }
    }
}

/// The people in each photo (by path below the folder), from `memories people`'s clustering.
pub type PhotoPeople = std::collections::HashMap<String, Vec<PersonTag>>;

/// Builds the plan from index records and the people in each photo.
pub fn make(
    records: &[Record],
    config: &Config,
    rules: &PathRules,
    today: NaiveDate,
    people: &PhotoPeople,
) -> Plan {
    let mut failed = Vec::new();
    let mut photos = Vec::new();
    for r in records {
        match &r.outcome {
            Outcome::Analysed(info) => photos.push(PlannedPhoto {
                rel: r.rel.clone(),
                info: (**info).clone(),
                excluded: None,
                place: info.meta.gps.and_then(places::name),
                motion: None,
            }),
            Outcome::Failed(problem) => failed.push((r.rel.clone(), problem.clone())),
        }
    }
    photos.sort_by(|a, b| {
        let key = |p: &PlannedPhoto| (p.info.meta.taken.timeline_secs(), p.rel.clone());
        key(a).cmp(&key(b))
    });
    pair_live_photos(&mut photos);
    for p in photos.iter_mut().filter(|p| p.excluded.is_none()) {
        p.excluded = rule_exclusion(p, config, rules)
            .or_else(|| person_exclusion(people.get(&p.rel), config));
    }
    if config.exclude.duplicates {
        mark_duplicates(&mut photos, config);
    }

    let moments: Vec<Moment> = photos
        .iter()
        .enumerate()
        .filter(|(_, p)| p.excluded.is_none())
        .map(|(id, p)| Moment {
            id,
            time: p.info.meta.taken.timeline_secs(),
            local: p.info.meta.taken.local,
            gps: p.info.meta.gps,
        })
        .collect();
    let params = &config.events;
    let home = events::find_home(&moments, params);
    let events: Vec<EventPlan> = events::group_events(&moments, params)
        .into_iter()
        .map(|e| {
            let cover = *e
                .ids
                .iter()
                .max_by(|&&a, &&b| {
                    let q = |i: usize| photos[i].info.analysis.quality();
                    q(a).total_cmp(&q(b))
                })
                .expect("events are never empty");
            let place = e.centre.and_then(places::name);
            EventPlan {
                title: titles::event(e.start, e.end, place.as_ref()),
                place,
                km_from_home: home
                    .as_ref()
                    .zip(e.centre)
                    .map(|(h, c)| distance_km(h.centre, c)),
                photos: e.ids,
                start: e.start,
                end: e.end,
                centre: e.centre,
                cover,
            }
        })
        .collect();
    let trips = match &home {
        Some(home) => {
            let plain: Vec<events::Event> = events
                .iter()
                .map(|e| events::Event {
                    ids: e.photos.clone(),
                    start: e.start,
                    end: e.end,
                    centre: e.centre,
                })
                .collect();
            events::find_trips(&plain, home, params)
                .into_iter()
                .map(|t| {
                    let named: Vec<Place> =
                        t.events.iter().filter_map(|&e| events[e].place).collect();
                    let first = &events[t.events[0]];
                    let last = &events[*t.events.last().expect("trips are never empty")];
                    let days = (last.end.date() - first.start.date()).num_days() + 1;
                    TripPlan {
                        destination: titles::destination(&named),
                        title: titles::trip(&named, days),
                        events: t.events,
                        farthest_km: t.farthest_km,
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let on_this_day = events::on_this_day(&moments, today, params)
        .into_iter()
        .map(|y| YearPlan {
            title: titles::on_this_day(today.year() - y.year),
            year: y.year,
            photos: y.ids,
        })
        .collect();
    let people = person_memories(&photos, people, params.min_event_photos);
    Plan {
        photos,
        failed,
        home_place: home.as_ref().and_then(|h| places::name(h.centre)),
        home,
        home_radius_km: params.home_radius_km,
        events,
        trips,
        today,
        on_this_day,
        on_this_day_window: params.on_this_day_window_days,
        min_event_photos: params.min_event_photos,
        people,
    }
}

/// Each person's kept photos (photos are in time order), when there are at least `min_photos`
/// of them taken on two or more days: one afternoon with someone is already an event.
fn person_memories(
    photos: &[PlannedPhoto],
    people: &PhotoPeople,
    min_photos: usize,
) -> Vec<PersonPlan> {
    let mut by_person: BTreeMap<u32, PersonPlan> = BTreeMap::new();
    for (i, p) in photos.iter().enumerate() {
        if p.excluded.is_some() {
            continue;
        }
        for tag in people.get(&p.rel).into_iter().flatten() {
            by_person
                .entry(tag.id)
                .or_insert_with(|| PersonPlan {
                    title: titles::person(tag.id, tag.name.as_deref()),
                    person: tag.clone(),
                    photos: Vec::new(),
                })
                .photos
                .push(i);
        }
    }
    by_person
        .into_values()
        .filter(|m| {
            let days: std::collections::BTreeSet<NaiveDate> = m
                .photos
                .iter()
                .map(|&i| photos[i].info.meta.taken.local.date())
                .collect();
            m.photos.len() >= min_photos && days.len() >= 2
        })
        .collect()
}

fn rule_exclusion(p: &PlannedPhoto, config: &Config, rules: &PathRules) -> Option<Exclusion> {
    if let Some(pattern) = rules.matching(&p.rel) {
        return Some(Exclusion::Path {
            pattern: pattern.to_string(),
        });
    }
    let day = p.info.meta.taken.local.date();
    if let Some(range) = config.exclude.dates.iter().find(|r| r.contains(day)) {
        return Some(Exclusion::Date {
            range: range.to_string(),
        });
    }
    let look = &p.info.analysis.look;
    match look.kind {
        Kind::Screenshot if config.exclude.screenshots => {
            Some(Exclusion::Screenshot { why: look.reason() })
        }
        Kind::Document if config.exclude.documents => {
            Some(Exclusion::Document { why: look.reason() })
        }
        _ => None,
    }
}

/// A hidden person in the photo, or one the settings exclude by name or id.
fn person_exclusion(tags: Option<&Vec<PersonTag>>, config: &Config) -> Option<Exclusion> {
    tags?.iter().find_map(|t| {
        let named = config.exclude.people.iter().any(|who| {
            *who == t.id.to_string() || t.name.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(who))
        });
        (t.hidden || named).then(|| Exclusion::Person {
            who: t.label(),
            hidden: t.hidden,
        })
    })
}

/// Groups still-included photos taken within `burst_minutes` whose hashes are within
/// `duplicate_bits`, and keeps only the best of each group. Photos must be in time order.
/// Longest clip taken for a Live Photo's motion by its name alone (iPhones record about 3 s;
/// a longer clip that happens to share a still's name is a clip of its own).
pub const LIVE_PHOTO_MAX_SECONDS: f64 = 4.0;

/// Pairs each Live Photo's clip with its still, so that the two count once in events,
/// near-duplicates and selection: the clip is excluded as the still's [`Exclusion::Motion`],
/// and the still's `motion` names it. A clip belongs to the still with the same Apple content
/// identifier, or else to a still in the same folder with the same name before the extension
/// (`IMG_4394.HEIC` and `IMG_4394.mov`, any case) when the clip is at most
/// [`LIVE_PHOTO_MAX_SECONDS`] long.
pub fn pair_live_photos(photos: &mut [PlannedPhoto]) {
    let stem = |rel: &str| {
        let cut = rel
            .rfind('.')
            .filter(|&dot| dot > rel.rfind('/').map_or(0, |s| s + 1));
        rel[..cut.unwrap_or(rel.len())].to_lowercase()
    };
    let stills: Vec<usize> = (0..photos.len())
        .filter(|&i| photos[i].info.clip.is_none())
        .collect();
    let by_id: HashMap<&str, usize> = stills
        .iter()
        .filter_map(|&i| Some((photos[i].info.meta.content_identifier.as_deref()?, i)))
        .collect();
    let by_name: HashMap<String, usize> =
        stills.iter().map(|&i| (stem(&photos[i].rel), i)).collect();
    let mut pairs = Vec::new();
    for (clip, p) in photos.iter().enumerate() {
        let Some(info) = &p.info.clip else { continue };
        let still = p
            .info
            .meta
            .content_identifier
            .as_deref()
            .and_then(|id| by_id.get(id))
            .or_else(|| {
                (info.seconds <= LIVE_PHOTO_MAX_SECONDS)
                    .then(|| by_name.get(&stem(&p.rel)))
                    .flatten()
            });
        if let Some(&still) = still {
            pairs.push((still, clip));
        }
    }
    for (still, clip) in pairs {
        // A still has one motion: the first clip found (by time, then path) keeps it.
        if photos[still].motion.is_some() {
            continue;
        }
        photos[still].motion = Some(photos[clip].rel.clone());
        photos[clip].excluded = Some(Exclusion::Motion {
            of: photos[still].rel.clone(),
        });
    }
}

fn mark_duplicates(photos: &mut [PlannedPhoto], config: &Config) {
    let window = (config.exclude.burst_minutes * 60.0) as i64;
    let groups = bursts(
        (0..photos.len())
            .filter(|&i| photos[i].excluded.is_none())
            .map(|i| {
                let p = &photos[i];
                (i, p.info.meta.taken.timeline_secs(), p.info.analysis.dhash)
            }),
        window,
        config.exclude.duplicate_bits,
    );
    for group in groups.iter().filter(|g| g.len() > 1) {
        let best = *group
            .iter()
            .max_by(|&&a, &&b| {
                let q = |i: usize| photos[i].info.analysis.quality();
                // On equal quality the earlier path wins, so the choice is stable across runs.
                q(a).total_cmp(&q(b))
                    .then(photos[b].rel.cmp(&photos[a].rel))
            })
            .expect("group has members");
        for &i in group.iter().filter(|&&i| i != best) {
            let bits = hamming(
                photos[i].info.analysis.dhash,
                photos[best].info.analysis.dhash,
            );
            photos[i].excluded = Some(Exclusion::NearDuplicate {
                of: photos[best].rel.clone(),
                bits,
            });
        }
    }
}

impl Plan {
    /// Where an event was, as its title card says it ([`titles::place_line`]); `None` without
    /// GPS.
    pub fn place_line(&self, e: &EventPlan) -> Option<String> {
        titles::place_line(
            e.place.as_ref(),
            e.centre,
            e.km_from_home,
            self.home_place.as_ref(),
            self.home_radius_km,
        )
    }

    /// "Burbank, California", or "unknown (no geotagged photos)".
    pub fn home_line(&self) -> String {
        match &self.home {
            Some(h) => titles::home(self.home_place.as_ref(), h.centre),
            None => "unknown (no geotagged photos)".to_string(),
        }
    }

    pub fn excluded(&self) -> impl Iterator<Item = (&PlannedPhoto, &Exclusion)> {
        self.photos
            .iter()
            .filter_map(|p| p.excluded.as_ref().map(|e| (p, e)))
    }

    /// Events with enough kept photos to make a memory. Only photos with a capture time count:
    /// files dated by their modification time are often a copy's time, shared by a whole
    /// folder, and would otherwise make up an "event" of their own.
    pub fn candidate_events(&self) -> impl Iterator<Item = (usize, &EventPlan)> {
        self.events
            .iter()
            .enumerate()
            .filter(|(_, e)| self.is_candidate(e))
    }

    /// Whether the event has enough kept photos with a capture time to make a memory.
    pub fn is_candidate(&self, e: &EventPlan) -> bool {
        let dated = e
            .photos
            .iter()
            .filter(|&&i| !self.photos[i].info.meta.taken.is_file_time())
            .count();
        dated >= self.min_event_photos
    }

    /// Trips that make a memory: at least two events (one far-away event is already an event
    /// memory) and enough kept photos.
    pub fn candidate_trips(&self) -> impl Iterator<Item = (usize, &TripPlan)> {
        self.trips.iter().enumerate().filter(|(_, t)| {
            let photos: usize = t.events.iter().map(|&e| self.events[e].photos.len()).sum();
            t.events.len() >= 2 && photos >= self.min_event_photos
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analysis, Exposure, Look};
    use crate::metadata::{CaptureTime, PhotoMeta, TimeSource};
    use crate::scan::Format;

    /// "a.jpg 2020-05-01 10:00 hash=0 sharp=100 kind=photo gps=lat,lon time=file clip=SECONDS
    /// id=CONTENT_ID" with optional fields; `clip` makes it a video clip that long.
    fn record(spec: &str) -> Record {
        let mut parts = spec.split_whitespace();
        let rel = parts.next().unwrap().to_string();
        let time = format!("{} {}", parts.next().unwrap(), parts.next().unwrap());
        let (mut dhash, mut sharpness, mut kind, mut gps) = (0u64, 100.0f32, Kind::Photo, None);
        let mut source = TimeSource::ExifOriginal;
        let (mut clip, mut content_identifier) = (None, None);
        for part in parts {
            match part.split_once('=').unwrap() {
                ("time", "file") => source = TimeSource::FileModified,
                ("clip", seconds) => {
                    clip = Some(crate::clips::ClipInfo {
                        codec: "HEVC".to_string(),
                        seconds: seconds.parse().unwrap(),
                        frames: 60,
                        poster_frame: 30,
                        poster_seconds: 1.0,
                        rotation: 0,
                        has_audio: true,
                        range: None,
                    })
                }
                ("id", id) => content_identifier = Some(id.to_string()),
                ("gps", v) => {
                    let (lat, lon) = v.split_once(',').unwrap();
                    gps = Some(GeoPoint {
                        lat: lat.parse().unwrap(),
                        lon: lon.parse().unwrap(),
                    });
                }
                ("hash", v) => dhash = u64::from_str_radix(v, 16).unwrap(),
                ("sharp", v) => sharpness = v.parse().unwrap(),
                ("kind", "screenshot") => kind = Kind::Screenshot,
                ("kind", "document") => kind = Kind::Document,
                other => panic!("unknown field {other:?}"),
            }
        }
        let info = PhotoInfo {
            format: if clip.is_some() {
                Format::Video
            } else {
                Format::Jpeg
            },
            meta: PhotoMeta {
                taken: CaptureTime {
                    local: NaiveDateTime::parse_from_str(&time, "%Y-%m-%d %H:%M").unwrap(),
                    offset_minutes: None,
                    source,
                },
                gps,
                orientation: 1,
                make: None,
                model: None,
                content_identifier,
            },
            analysis: Analysis {
                width: 4000,
                height: 3000,
                sharpness,
                exposure: Exposure {
                    mean: 0.45,
                    highlights: 0.0,
                    shadows: 0.0,
                },
                dhash,
                look: Look {
                    kind,
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
            clip,
            embedded_motion: None,
        };
        Record {
            rel,
            size: 1,
            modified_ns: 1,
            content_hash: String::new(),
            outcome: Outcome::Analysed(Box::new(info)),
        }
    }

    /// A dHash (hex) far from every other `n`'s, so that no two test photos are near-duplicates.
    fn hash(n: u64) -> String {
        format!("{:x}", (n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The plan of these photos with default settings, on 2026-11-28.
    fn plan_with(specs: &[String], people: &PhotoPeople) -> Plan {
        let records: Vec<Record> = specs.iter().map(|s| record(s)).collect();
        let config = Config::default();
        let rules = PathRules::new(&config.exclude.paths).unwrap();
        make(
            &records,
            &config,
            &rules,
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            people,
        )
    }

    /// Plans the records with the config edited by `tweak`, and lists "path: exclusion key".
    fn check_exclusions(specs: &[&str], tweak: impl FnOnce(&mut Config), expect: &[&str]) {
        let records: Vec<Record> = specs.iter().map(|s| record(s)).collect();
        let mut config = Config::default();
        tweak(&mut config);
        let rules = PathRules::new(&config.exclude.paths).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let plan = make(&records, &config, &rules, today, &PhotoPeople::new());
        let got: Vec<String> = plan
            .excluded()
            .map(|(p, e)| format!("{}: {}", p.rel, e.key()))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn photos_dated_by_file_time_do_not_make_an_event_a_memory() {
        // A folder copied in one go: every file has the same modification time.
        let mut specs: Vec<String> = (0..6)
            .map(|n| format!("copy{n}.jpg 2026-11-28 21:53 hash={} time=file", hash(n)))
            .collect();
        // An afternoon with two camera-dated photos and one without a capture time.
        specs.extend([
            format!("a.jpg 2020-05-01 15:00 hash={}", hash(10)),
            format!("b.jpg 2020-05-01 15:30 hash={}", hash(11)),
            format!("c.jpg 2020-05-01 16:00 hash={} time=file", hash(12)),
            // Another afternoon, three camera-dated photos.
            format!("d.jpg 2020-06-01 15:00 hash={}", hash(13)),
            format!("e.jpg 2020-06-01 15:30 hash={}", hash(14)),
            format!("f.jpg 2020-06-01 16:00 hash={}", hash(15)),
        ]);
        let plan = plan_with(&specs, &PhotoPeople::new());
        assert_eq!(plan.events.len(), 3);
        let first_photos: Vec<&str> = plan
            .candidate_events()
            .map(|(_, e)| plan.photos[e.photos[0]].rel.as_str())
            .collect();
        assert_eq!(first_photos, ["d.jpg"]);
    }

    #[test]
    fn people_make_memories_across_days_unless_hidden() {
        let specs: Vec<String> = [
            ("a1.jpg", "2020-05-01 10:00"),
            ("a2.jpg", "2020-05-01 11:00"),
            ("a3.jpg", "2021-07-04 18:00"),
            ("b1.jpg", "2020-05-01 10:30"),
            ("b2.jpg", "2020-05-01 10:40"),
            ("b3.jpg", "2020-05-01 10:50"),
        ]
        .iter()
        .enumerate()
        .map(|(n, (rel, time))| format!("{rel} {time} hash={}", hash(n as u64)))
        .collect();
        let records: Vec<Record> = specs.iter().map(|s| record(s)).collect();
        let tag = |id, hidden| PersonTag {
            id,
            name: None,
            hidden,
        };
        let mut people = PhotoPeople::new();
        for rel in ["a1.jpg", "a2.jpg", "a3.jpg"] {
            people.insert(rel.to_string(), vec![tag(1, false)]);
        }
        // Person 2 on one day only: that afternoon is an event already.
        for rel in ["b1.jpg", "b2.jpg", "b3.jpg"] {
            people.insert(rel.to_string(), vec![tag(2, false)]);
        }
        let config = Config::default();
        let rules = PathRules::new(&config.exclude.paths).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let plan = make(&records, &config, &rules, today, &people);
        let memories: Vec<(u32, usize)> = plan
            .people
            .iter()
            .map(|m| (m.person.id, m.photos.len()))
            .collect();
        assert_eq!(memories, [(1, 3)]);

        people.get_mut("a3.jpg").unwrap()[0].hidden = true;
        let plan = make(&records, &config, &rules, today, &people);
        assert!(plan.people.is_empty());
        let excluded: Vec<String> = plan.excluded().map(|(_, e)| e.to_string()).collect();
        assert_eq!(excluded, ["shows person 1, who is hidden"]);
    }

    #[test]
    fn trips_need_two_events_and_enough_photos() {
        let mut specs: Vec<String> = (1..=9)
            .map(|d| format!("home{d}.jpg 2020-05-0{d} 10:00 hash={d:x}0 gps=48.85,2.35"))
            .collect();
        // One far-away afternoon: an event memory, not a trip as well.
        specs.extend((0..4).map(|m| {
            format!(
                "far{m}.jpg 2020-06-01 15:0{m} hash={} gps=41.9,12.5",
                hash(m)
            )
        }));
        // Two days away with three photos: a trip.
        specs.extend([
            format!("t0.jpg 2020-07-01 10:00 hash={} gps=40.4,-3.7", hash(10)),
            format!("t1.jpg 2020-07-01 10:05 hash={} gps=40.4,-3.7", hash(11)),
            format!("t2.jpg 2020-07-02 18:00 hash={} gps=41.4,2.2", hash(12)),
        ]);
        let plan = plan_with(&specs, &PhotoPeople::new());
        assert_eq!(plan.trips.len(), 2);
        let trips: Vec<Vec<&str>> = plan
            .candidate_trips()
            .map(|(_, t)| {
                t.events
                    .iter()
                    .flat_map(|&e| &plan.events[e].photos)
                    .map(|&p| plan.photos[p].rel.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(trips, [["t0.jpg", "t1.jpg", "t2.jpg"]]);

        // Named by place: home in Paris, an afternoon in Rome, a trip through Madrid and
        // Barcelona (two regions, one country).
        assert_eq!(plan.home_place.map(|p| p.town), Some("Paris"));
        let rome = &plan.events[plan.trips[0].events[0]];
        assert_eq!(rome.title, "Rome, June 2020");
        let line = plan.place_line(rome).unwrap();
        assert!(
            line.starts_with("Rome, Italy · 1,") && line.ends_with(" km from home"),
            "{line}"
        );
        let (_, trip) = plan.candidate_trips().next().unwrap();
        assert_eq!(trip.title, "Trip to Spain");
        let at_home = &plan.events[0];
        assert_eq!(at_home.title, "Paris, May 2020");
        assert_eq!(
            plan.place_line(at_home).as_deref(),
            Some("Paris, Ile-de-France") // GeoNames' ASCII names
        );
    }

    #[test]
    fn a_live_photo_counts_once() {
        let plan = plan_with(
            &[
                // By name: the same stem in the same folder, any case.
                format!("trip/IMG_1.HEIC 2020-05-01 10:00 hash={}", hash(1)),
                format!("trip/IMG_1.mov 2020-05-01 10:00 hash={} clip=2.5", hash(1)),
                // By Apple's content identifier, whatever the names.
                format!("trip/still.jpg 2020-05-01 10:30 hash={} id=A1", hash(2)),
                format!(
                    "trip/motion.mov 2020-05-01 10:30 hash={} clip=1.8 id=A1",
                    hash(3)
                ),
                // The same name, but a long clip: a video of its own.
                format!("trip/IMG_2.jpg 2020-05-01 11:00 hash={}", hash(4)),
                format!("trip/IMG_2.mp4 2020-05-01 11:01 hash={} clip=40", hash(5)),
                // The same name in another folder is another photo's.
                format!("other/IMG_1.mov 2020-05-01 12:00 hash={} clip=2", hash(6)),
            ],
            &PhotoPeople::new(),
        );
        let got: Vec<String> = plan
            .excluded()
            .map(|(p, e)| format!("{}: {e}", p.rel))
            .collect();
        assert_eq!(
            got,
            [
                "trip/IMG_1.mov: the motion of the Live Photo trip/IMG_1.HEIC",
                "trip/motion.mov: the motion of the Live Photo trip/still.jpg",
            ]
        );
        let motion = |rel: &str| {
            plan.photos
                .iter()
                .find(|p| p.rel == rel)
                .unwrap()
                .motion
                .clone()
        };
        assert_eq!(motion("trip/IMG_1.HEIC").as_deref(), Some("trip/IMG_1.mov"));
        assert_eq!(motion("trip/still.jpg").as_deref(), Some("trip/motion.mov"));
        assert_eq!(motion("trip/IMG_2.jpg"), None);
        let in_events: usize = plan.events.iter().map(|e| e.photos.len()).sum();
        assert_eq!(in_events, 5);
    }

    #[test]
    fn bursts_keep_the_sharpest() {
        check_exclusions(
            &[
                "a.jpg 2020-05-01 10:00 hash=ff00ff00ff00ff00 sharp=50",
                "b.jpg 2020-05-01 10:01 hash=ff00ff00ff00ff01 sharp=400",
                "c.jpg 2020-05-01 10:02 hash=ff00ff00ff00ff03 sharp=100",
                // Same picture much later is a new moment, not a burst.
                "d.jpg 2020-05-01 12:00 hash=ff00ff00ff00ff00 sharp=10",
                // Different picture in the burst window.
                "e.jpg 2020-05-01 10:03 hash=00ff00ff00ff00ff sharp=10",
            ],
            |_| {},
            &["a.jpg: near-duplicate", "c.jpg: near-duplicate"],
        );
        check_exclusions(
            &[
                "a.jpg 2020-05-01 10:00 hash=0 sharp=50",
                "b.jpg 2020-05-01 10:01 hash=0 sharp=400",
            ],
            |c| c.exclude.duplicates = false,
            &[],
        );
    }

    #[test]
    fn rules_exclude_by_kind_path_and_date() {
        let specs = [
            "shot.png 2020-05-01 10:00 hash=1 kind=screenshot",
            "scan.jpg 2020-05-02 10:00 hash=2 kind=document",
            "private/x.jpg 2020-05-03 10:00 hash=3",
            "xmas.jpg 2020-12-24 10:00 hash=4",
            "ok.jpg 2020-12-26 10:00 hash=5",
        ];
        check_exclusions(
            &specs,
            |_| {},
            &["shot.png: screenshot", "scan.jpg: document"],
        );
        check_exclusions(
            &specs,
            |c| {
                c.exclude.screenshots = false;
                c.exclude.documents = false;
                c.exclude.paths = vec!["private/**".into()];
                c.exclude.dates = vec!["2020-12-24..2020-12-25".parse().unwrap()];
            },
            &["private/x.jpg: path", "xmas.jpg: date"],
        );
    }
}
