//! What a movie is made of: the plan's candidate events, trips and people as [`Memory`] values.

use std::path::{Path, PathBuf};

use memories_library::clips::ClipInfo;
use memories_library::index::PhotoInfo;
use memories_library::plan::Plan;

use crate::title::Caption;

/// One photo of a memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPhoto {
    /// Path below the photo folder.
    pub rel: String,
    pub path: PathBuf,
    pub info: PhotoInfo,
    /// What plays when this item is shown: the clip itself, or a Live Photo's motion.
    pub motion: Option<Motion>,
}

/// A clip a shot plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    pub path: PathBuf,
    pub clip: ClipInfo,
}

/// A memory a movie can be made of: a candidate event or trip of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// Stable within a plan and safe as a file name: `event-3`, `trip-0`.
    pub id: String,
    pub title: String,
    pub dates: String,
    pub place: Option<String>,
    /// In time order.
    pub photos: Vec<MemoryPhoto>,
}

impl Memory {
    pub fn caption(&self) -> Caption {
        Caption {
            title: self.title.clone(),
            lines: std::iter::once(self.dates.clone())
                .chain(self.place.clone())
                .collect(),
        }
    }
}

/// The plan's memories: every candidate event (`event-N`, N as in `memories --json`), every
/// trip of two or more events with enough photos (`trip-N`) and every person's memory
/// (`person-ID`, the id of `memories people`). Photos are found below `root`.
pub fn memories(plan: &Plan, root: &Path) -> Vec<Memory> {
    let photos = |ids: &[usize]| -> Vec<MemoryPhoto> {
        ids.iter()
            .map(|&i| {
                let p = &plan.photos[i];
                let own = p.info.clip.clone().map(|clip| Motion {
                    path: root.join(&p.rel),
                    clip,
                });
                let paired = p.motion.as_ref().and_then(|rel| {
                    let clip = plan
                        .photos
                        .iter()
                        .find(|q| &q.rel == rel)?
                        .info
                        .clip
                        .clone()?;
                    Some(Motion {
                        path: root.join(rel),
                        clip,
                    })
                });
                let inside = p.info.embedded_motion.clone().map(|clip| Motion {
                    path: root.join(&p.rel),
                    clip,
                });
                MemoryPhoto {
                    rel: p.rel.clone(),
                    path: root.join(&p.rel),
                    info: p.info.clone(),
                    motion: own.or(paired).or(inside),
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for (n, e) in plan.candidate_events() {
        out.push(Memory {
            id: format!("event-{n}"),
            title: e.title.clone(),
            dates: memories_library::titles::dates(e.start, e.end),
            place: plan.place_line(e),
            photos: photos(&e.photos),
        });
    }
    for (n, t) in plan.candidate_trips() {
        let ids: Vec<usize> = t
            .events
            .iter()
            .flat_map(|&e| plan.events[e].photos.iter().copied())
            .collect();
        let first = &plan.events[t.events[0]];
        let last = &plan.events[*t.events.last().expect("trips are never empty")];
        out.push(Memory {
            id: format!("trip-{n}"),
            title: t.title.clone(),
            dates: memories_library::titles::dates(first.start, last.end),
            place: Some(memories_library::titles::trip_line(t.farthest_km)),
            photos: photos(&ids),
        });
    }
    for m in &plan.people {
        let taken = |i: usize| plan.photos[i].info.meta.taken.local;
        let (first, last) = (
            taken(m.photos[0]),
            taken(*m.photos.last().expect("never empty")),
        );
        out.push(Memory {
            id: format!("person-{}", m.person.id),
            title: m.title.clone(),
            dates: memories_library::titles::dates(first, last),
            place: None,
            photos: photos(&m.photos),
        });
    }
    out
}
