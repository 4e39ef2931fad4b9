//! Groups photos into events, finds "home" and the trips away from it, and picks the photos of
//! earlier years taken around today's date.
//!
//! Everything here works on [`Moment`]s (an id, a time and maybe a place) so the rules can be
//! tested without images. The default thresholds and the reasoning behind them are in the crate
//! docs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::metadata::GeoPoint;

/// The thresholds of event, home and trip detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventParams {
    /// A gap longer than this starts a new event.
    pub gap_hours: f64,
    /// A move farther than this between consecutive geotagged photos starts a new event.
    pub jump_km: f64,
    /// Events whose centre is farther than this from home belong to a trip.
    pub trip_km: f64,
    /// Photos within this distance of a cluster's first photo belong to that place cluster.
    pub home_radius_km: f64,
    /// Two far-away events more than this many days apart are separate trips.
    pub trip_break_days: f64,
    /// "On this day" looks this many days either side of the date.
    pub on_this_day_window_days: u32,
    /// Events with fewer (kept) photos are listed but not offered as memories.
    pub min_event_photos: usize,
}

impl Default for EventParams {
    fn default() -> Self {
        EventParams {
            gap_hours: 3.0,
            jump_km: 50.0,
            trip_km: 100.0,
            home_radius_km: 25.0,
            trip_break_days: 2.0,
            on_this_day_window_days: 3,
            min_event_photos: 3,
        }
    }
}

/// One photo as the grouping sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    pub id: usize,
    /// Seconds on one timeline ([`crate::metadata::CaptureTime::timeline_secs`]).
    pub time: i64,
    /// Wall-clock time where it was taken, for dates people recognise.
    pub local: NaiveDateTime,
    pub gps: Option<GeoPoint>,
}

/// Consecutive photos taken close together in time and place.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Ids of its moments in time order.
    pub ids: Vec<usize>,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Mean position of its geotagged photos.
    pub centre: Option<GeoPoint>,
}

/// Great-circle distance in kilometres (haversine on a sphere of the Earth's mean radius; the
/// ellipsoid's error of under 0.5% is irrelevant at these thresholds).
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

/// Splits moments into events. A photo without GPS cannot show a jump, so it is compared in time
/// only and the place check uses the latest geotagged photo of the current event.
pub fn group_events(moments: &[Moment], params: &EventParams) -> Vec<Event> {
    let mut sorted: Vec<&Moment> = moments.iter().collect();
    sorted.sort_by_key(|m| (m.time, m.id));
    let gap_secs = (params.gap_hours * 3600.0) as i64;
    let mut groups: Vec<Vec<&Moment>> = Vec::new();
    let mut last_place: Option<GeoPoint> = None;
    for m in sorted {
        let new_event = match groups.last().and_then(|g| g.last()) {
            None => true,
            Some(prev) => {
                let jumped = match (last_place, m.gps) {
                    (Some(a), Some(b)) => distance_km(a, b) > params.jump_km,
                    _ => false,
                };
                m.time - prev.time > gap_secs || jumped
            }
        };
        if new_event {
            groups.push(Vec::new());
            last_place = None;
        }
        groups.last_mut().expect("pushed above").push(m);
        last_place = m.gps.or(last_place);
    }
    groups.into_iter().map(|g| event(&g)).collect()
}

fn event(moments: &[&Moment]) -> Event {
    let places: Vec<GeoPoint> = moments.iter().filter_map(|m| m.gps).collect();
    Event {
        ids: moments.iter().map(|m| m.id).collect(),
        start: moments
            .iter()
            .map(|m| m.local)
            .min()
            .expect("events are never empty"),
        end: moments
            .iter()
            .map(|m| m.local)
            .max()
            .expect("events are never empty"),
        centre: mean_point(&places),
    }
}

fn mean_point(points: &[GeoPoint]) -> Option<GeoPoint> {
    // Averaging degrees is fine at event scale; an event straddling the antimeridian is rare
    // enough not to warrant vector averaging.
    let n = points.len() as f64;
    (!points.is_empty()).then(|| GeoPoint {
        lat: points.iter().map(|p| p.lat).sum::<f64>() / n,
        lon: points.iter().map(|p| p.lon).sum::<f64>() / n,
    })
}

/// The place photos were taken on the most distinct days.
#[derive(Debug, Clone, PartialEq)]
pub struct Home {
    pub centre: GeoPoint,
    pub days: usize,
    pub photos: usize,
}

/// Finds home: geotagged photos are clustered greedily (each joins the first cluster within
/// `home_radius_km` of its seed) and the cluster seen on the most distinct days wins. Days rather
/// than photos, because one holiday can produce more photos than months at home.
pub fn find_home(moments: &[Moment], params: &EventParams) -> Option<Home> {
    struct Cluster {
        seed: GeoPoint,
        points: Vec<GeoPoint>,
        days: BTreeSet<NaiveDate>,
    }
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut sorted: Vec<&Moment> = moments.iter().filter(|m| m.gps.is_some()).collect();
    sorted.sort_by_key(|m| (m.time, m.id));
    for m in sorted {
        let p = m.gps.expect("filtered above");
        match clusters
            .iter_mut()
            .find(|c| distance_km(c.seed, p) <= params.home_radius_km)
        {
            Some(c) => {
                c.points.push(p);
                c.days.insert(m.local.date());
            }
            None => clusters.push(Cluster {
                seed: p,
                points: vec![p],
                days: [m.local.date()].into(),
            }),
        }
    }
    // `max_by_key` keeps the last maximum; reversing first makes ties go to the earliest cluster.
    let best = clusters
        .iter()
        .rev()
        .max_by_key(|c| (c.days.len(), c.points.len()))?;
    Some(Home {
        centre: mean_point(&best.points)?,
        days: best.days.len(),
        photos: best.points.len(),
    })
}

/// A run of consecutive events away from home.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    /// Indices into the event list.
    pub events: Vec<usize>,
    /// Farthest event centre from home, in km.
    pub farthest_km: f64,
}

/// Finds trips: maximal runs of events whose centre is more than `trip_km` from home. An event
/// without GPS neither starts nor ends a run (it is probably part of the trip it sits in), but is
/// dropped from the run's ends. Far events more than `trip_break_days` apart are separate trips.
pub fn find_trips(events: &[Event], home: &Home, params: &EventParams) -> Vec<Trip> {
    let mut trips = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut farthest = 0.0f64;
    let mut last_far_end: Option<NaiveDateTime> = None;
    let break_secs = (params.trip_break_days * 86400.0) as i64;
    let mut close = |current: &mut Vec<usize>, farthest: &mut f64| {
        while current.last().is_some_and(|&e| events[e].centre.is_none()) {
            current.pop();
        }
        if !current.is_empty() {
            trips.push(Trip {
                events: std::mem::take(current),
                farthest_km: *farthest,
            });
        }
        current.clear();
        *farthest = 0.0;
    };
    for (i, e) in events.iter().enumerate() {
        match e.centre.map(|c| distance_km(home.centre, c)) {
            Some(d) if d > params.trip_km => {
                let broke =
                    last_far_end.is_some_and(|end| (e.start - end).num_seconds() > break_secs);
                if broke {
                    close(&mut current, &mut farthest);
                }
                current.push(i);
                farthest = farthest.max(d);
                last_far_end = Some(e.end);
            }
            Some(_) => close(&mut current, &mut farthest),
            None if !current.is_empty() => current.push(i),
            None => {}
        }
    }
    close(&mut current, &mut farthest);
    trips
}

/// Photos from one earlier year taken within the window around a date.
#[derive(Debug, Clone, PartialEq)]
pub struct OnThisDay {
    pub year: i32,
    pub ids: Vec<usize>,
}

/// Photos from years before `today` taken within `on_this_day_window_days` of today's month and
/// day, one entry per year, most recent year first. The window wraps around New Year, and 29
/// February is compared as day-of-year so it lands next to 28 February.
pub fn on_this_day(moments: &[Moment], today: NaiveDate, params: &EventParams) -> Vec<OnThisDay> {
    let window = i64::from(params.on_this_day_window_days);
    let mut years: BTreeMap<i32, Vec<(NaiveDateTime, usize)>> = BTreeMap::new();
    for m in moments {
        let date = m.local.date();
        // Last week is not a memory of "this day" even when New Year lies between.
        if date.year() >= today.year() || (today - date).num_days() < 180 {
            continue;
        }
        let Some(same_day) = shift_year(today, date.year()) else {
            continue;
        };
        // The nearest of the same calendar day this year, the year before and the year after.
        let near = [-1, 0, 1]
            .iter()
            .filter_map(|dy| shift_year(same_day, same_day.year() + dy))
            .map(|d| (date - d).num_days().abs())
            .min();
        if near.is_some_and(|days| days <= window) {
            years.entry(date.year()).or_default().push((m.local, m.id));
        }
    }
    years
        .into_iter()
        .rev()
        .map(|(year, mut photos)| {
            photos.sort();
            OnThisDay {
                year,
                ids: photos.into_iter().map(|(_, id)| id).collect(),
            }
        })
        .collect()
}

fn shift_year(date: NaiveDate, year: i32) -> Option<NaiveDate> {
    date.with_year(year)
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses "2016-12-17 20:00 @48.85,2.35" (place optional) into a moment with the given id.
    fn moment(id: usize, spec: &str) -> Moment {
        let (time, place) = match spec.split_once(" @") {
            Some((t, p)) => (t, Some(p)),
            None => (spec, None),
        };
        let local = NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M").unwrap();
        let gps = place.map(|p| {
            let (lat, lon) = p.split_once(',').unwrap();
            GeoPoint {
                lat: lat.parse().unwrap(),
                lon: lon.parse().unwrap(),
            }
        });
        Moment {
            id,
            time: local.and_utc().timestamp(),
            local,
            gps,
        }
    }

    fn moments(specs: &[&str]) -> Vec<Moment> {
        specs
            .iter()
            .enumerate()
            .map(|(i, s)| moment(i, s))
            .collect()
    }

    fn check_events(specs: &[&str], expect: &[&[usize]]) {
        let events = group_events(&moments(specs), &EventParams::default());
        let got: Vec<Vec<usize>> = events.into_iter().map(|e| e.ids).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn events_split_on_gaps() {
        check_events(
            &[
                "2020-05-01 10:00",
                "2020-05-01 12:59",
                "2020-05-01 16:00",
                "2020-05-01 18:30",
            ],
            &[&[0, 1], &[2, 3]],
        );
        // Input order does not matter; time order does.
        check_events(&["2020-05-01 12:00", "2020-05-01 10:00"], &[&[1, 0]]);
        check_events(&[], &[]);
    }

    #[test]
    fn events_split_on_jumps_in_place() {
        // Paris to Lyon (~390 km) within an hour: a flight, so two events.
        check_events(
            &[
                "2020-05-01 10:00 @48.85,2.35",
                "2020-05-01 11:00 @45.76,4.83",
            ],
            &[&[0], &[1]],
        );
        // A photo without GPS in between does not hide the jump.
        check_events(
            &[
                "2020-05-01 10:00 @48.85,2.35",
                "2020-05-01 10:30",
                "2020-05-01 11:00 @45.76,4.83",
            ],
            &[&[0, 1], &[2]],
        );
        // Walking across Paris stays one event.
        check_events(
            &[
                "2020-05-01 10:00 @48.85,2.35",
                "2020-05-01 11:00 @48.88,2.29",
            ],
            &[&[0, 1]],
        );
    }

    #[test]
    fn distances() {
        let paris = GeoPoint {
            lat: 48.8566,
            lon: 2.3522,
        };
        let london = GeoPoint {
            lat: 51.5074,
            lon: -0.1278,
        };
        let d = distance_km(paris, london);
        assert!((d - 343.5).abs() < 1.0, "{d}");
        assert_eq!(distance_km(paris, paris), 0.0);
    }

    /// Reports home as "lat,lon days" rounded, and trips as lists of event start dates.
    fn check_trips(specs: &[&str], expect_home: &str, expect_trips: &[&[&str]]) {
        let params = EventParams::default();
        let ms = moments(specs);
        let events = group_events(&ms, &params);
        let home = find_home(&ms, &params).unwrap();
        assert_eq!(
            format!(
                "{:.1},{:.1} {}",
                home.centre.lat, home.centre.lon, home.days
            ),
            expect_home
        );
        let got: Vec<Vec<String>> = find_trips(&events, &home, &params)
            .iter()
            .map(|t| {
                t.events
                    .iter()
                    .map(|&e| events[e].start.format("%m-%d").to_string())
                    .collect()
            })
            .collect();
        assert_eq!(got, expect_trips);
    }

    #[test]
    fn home_and_trips() {
        check_trips(
            &[
                "2020-05-01 10:00 @48.85,2.35",
                "2020-05-02 10:00 @48.86,2.34",
                // A busy week in Rome: more photos than home, but fewer days.
                "2020-05-10 10:00 @41.90,12.50",
                "2020-05-10 10:05 @41.90,12.50",
                "2020-05-10 10:10 @41.90,12.50",
                "2020-05-10 10:15 @41.90,12.50",
                "2020-05-11 10:00",
                "2020-05-12 10:00 @41.89,12.49",
                "2020-05-20 10:00 @48.85,2.35",
                // Later, a separate trip to London.
                "2020-06-01 10:00 @51.50,-0.12",
                "2020-06-20 10:00 @48.85,2.35",
            ],
            "48.9,2.3 4",
            &[&["05-10", "05-11", "05-12"], &["06-01"]],
        );
    }

    #[test]
    fn far_events_weeks_apart_are_separate_trips() {
        check_trips(
            &[
                "2020-01-01 10:00 @48.85,2.35",
                "2020-01-02 10:00 @48.85,2.35",
                "2020-01-03 10:00 @48.85,2.35",
                "2020-02-01 10:00 @41.90,12.50",
                "2020-03-01 10:00 @41.90,12.50",
            ],
            "48.9,2.4 3",
            &[&["02-01"], &["03-01"]],
        );
    }

    fn check_on_this_day(specs: &[&str], today: &str, expect: &[(i32, &[usize])]) {
        let today = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
        let got: Vec<(i32, Vec<usize>)> =
            on_this_day(&moments(specs), today, &EventParams::default())
                .into_iter()
                .map(|o| (o.year, o.ids))
                .collect();
        let expect: Vec<(i32, Vec<usize>)> =
            expect.iter().map(|(y, ids)| (*y, ids.to_vec())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn on_this_day_windows() {
        check_on_this_day(
            &[
                "2014-11-25 15:53",
                "2017-11-30 18:53",
                "2017-12-05 10:00",
                "2026-11-28 09:00",
                "2019-05-18 13:00",
            ],
            "2026-11-28",
            &[(2017, &[1]), (2014, &[0])],
        );
        // Across New Year, and 29 February next to 28 February.
        check_on_this_day(
            &["2019-12-30 10:00", "2020-02-29 10:00", "2022-12-30 10:00"],
            "2023-01-01",
            &[(2019, &[0])],
        );
        check_on_this_day(&["2020-02-29 10:00"], "2023-02-28", &[(2020, &[0])]);
        check_on_this_day(&["2021-03-01 10:00"], "2024-02-29", &[(2021, &[0])]);
    }
}
