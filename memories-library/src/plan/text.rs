//! The plan as people read it: the summary `memories DIR` prints and the full listing of
//! `memories plan DIR`, with every photo of each memory and why each excluded photo is out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::Datelike;

use super::{EventPlan, Plan, TripPlan};
use crate::titles::{self, plural, when};

impl super::PlannedPhoto {
    /// What a clip or Live Photo is, for its line: " (video, HEVC, 12.3 s; shows 4.1–7.1 s)",
    /// " (Live Photo; motion IMG_1.mov, 0.0–1.8 s)", or nothing for a photo.
    fn what(&self) -> String {
        match (&self.info.clip, &self.motion, &self.info.embedded_motion) {
            (Some(clip), _, _) => format!(" ({})", clip.describe()),
            (None, Some(motion), _) => format!(" (Live Photo; motion {motion})"),
            (None, None, Some(inside)) => format!(" (motion photo; {} inside)", inside.describe()),
            (None, None, None) => String::new(),
        }
    }
}

impl Plan {
    fn event_line(&self, e: &EventPlan) -> String {
        format!(
            "{}: {}  {:>9}  {}  cover {}",
            e.title,
            when(e.start, e.end),
            plural(e.photos.len(), "photo"),
            self.place_line(e).unwrap_or_else(|| "no GPS".to_string()),
            self.photos[e.cover].rel
        )
    }

    fn trip_line(&self, t: &TripPlan) -> String {
        let first = &self.events[t.events[0]];
        let last = &self.events[*t.events.last().expect("trips are never empty")];
        let photos: usize = t.events.iter().map(|&e| self.events[e].photos.len()).sum();
        format!(
            "{}: {} – {}  {}, {}, {}",
            t.title,
            first.start.format("%Y-%m-%d"),
            last.end.format("%Y-%m-%d"),
            plural(t.events.len(), "event"),
            plural(photos, "photo"),
            titles::trip_line(t.farthest_km)
        )
    }

    /// The overview `memories <DIR>` prints.
    pub fn summary(&self) -> String {
        self.render(false)
    }

    /// What `memories plan <DIR>` prints: the summary plus every photo of every candidate.
    pub fn explain(&self) -> String {
        self.render(true)
    }

    fn render(&self, detailed: bool) -> String {
        let mut out = String::new();
        let w = &mut out;
        match &self.home {
            Some(h) => {
                let _ = writeln!(
                    w,
                    "Home: {} ({}; {} on {})",
                    self.home_line(),
                    h.centre,
                    plural(h.photos, "photo"),
                    plural(h.days, "day")
                );
            }
            None => {
                let _ = writeln!(w, "Home: unknown (no geotagged photos)");
            }
        }
        let candidates: Vec<_> = self.candidate_events().collect();
        let _ = writeln!(
            w,
            "\nEvents: {} found, {} with at least {} photos are memory candidates",
            self.events.len(),
            candidates.len(),
            self.min_event_photos
        );
        for (_, e) in &candidates {
            let _ = writeln!(w, "  * {}", self.event_line(e));
            if detailed {
                for &i in &e.photos {
                    let p = &self.photos[i];
                    let _ = writeln!(w, "      {}  {}{}", p.info.meta.taken, p.rel, p.what());
                }
            }
        }
        let small: Vec<_> = self
            .events
            .iter()
            .filter(|e| !self.is_candidate(e))
            .collect();
        if !small.is_empty() {
            let _ = writeln!(
                w,
                "  and {} too small to be a memory on their own (photos dated by file time do not count):",
                plural(small.len(), "event")
            );
            for e in small {
                let _ = writeln!(w, "    {}", self.event_line(e));
            }
        }
        let trips: Vec<_> = self.candidate_trips().collect();
        let _ = writeln!(
            w,
            "\nTrips (two or more events farther than the trip distance from home): {}",
            trips.len()
        );
        for (_, t) in trips {
            let _ = writeln!(w, "  * {}", self.trip_line(t));
            if detailed {
                for &e in &t.events {
                    let _ = writeln!(w, "      {}", self.event_line(&self.events[e]));
                }
            }
        }
        let _ = writeln!(
            w,
            "\nPeople (kept photos of someone from two or more days): {}",
            self.people.len()
        );
        for m in &self.people {
            let first = &self.photos[m.photos[0]].info.meta.taken.local;
            let last = &self.photos[*m.photos.last().expect("never empty")]
                .info
                .meta
                .taken
                .local;
            let _ = writeln!(
                w,
                "  * {}: {}, {} – {}",
                m.person.label(),
                plural(m.photos.len(), "photo"),
                first.format("%Y-%m-%d"),
                last.format("%Y-%m-%d")
            );
            if detailed {
                for &i in &m.photos {
                    let _ = writeln!(w, "      {}", self.photos[i].rel);
                }
            }
        }
        let _ = writeln!(
            w,
            "\nOn this day ({} ± {} days) in earlier years:{}",
            self.today.format("%d %b"),
            self.on_this_day_window,
            if self.on_this_day.is_empty() {
                " nothing"
            } else {
                ""
            }
        );
        for y in &self.on_this_day {
            let names: Vec<String> = y
                .photos
                .iter()
                .map(|&i| {
                    format!(
                        "{} ({})",
                        self.photos[i].rel,
                        self.photos[i].info.meta.taken.local.format("%d %b")
                    )
                })
                .collect();
            let _ = writeln!(
                w,
                "  * {} ({} ago): {}",
                y.year,
                plural((self.today.year() - y.year) as usize, "year"),
                names.join(", ")
            );
        }
        let excluded: Vec<_> = self.excluded().collect();
        let _ = writeln!(w, "\nKept out of memories: {}", excluded.len());
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for (p, why) in &excluded {
            *by_kind.entry(why.key()).or_default() += 1;
            let _ = writeln!(w, "  - {}: {why}", p.rel);
        }
        let file_times: Vec<_> = self
            .photos
            .iter()
            .filter(|p| p.info.meta.taken.is_file_time())
            .collect();
        if !file_times.is_empty() {
            let _ = writeln!(
                w,
                "\nNo capture time in EXIF, dated by file modification time: {}",
                file_times.len()
            );
            if detailed {
                for p in file_times {
                    let _ = writeln!(w, "  - {} ({})", p.rel, p.info.meta.taken);
                }
            }
        }
        if !self.failed.is_empty() {
            let _ = writeln!(w, "\nCould not be analysed: {}", self.failed.len());
            for (rel, problem) in &self.failed {
                let _ = writeln!(w, "  ! {rel}: {problem}");
            }
        }
        out
    }
}
