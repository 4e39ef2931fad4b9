//! `memories plan --html FILE`: the plan as one self-contained page a person can look through
//! before anything is rendered: every memory candidate with its photos (the cover marked, the
//! faces the detector found outlined), and every photo kept out with the reason.
//!
//! The page shows the photos from where they are (absolute `file://` addresses; nothing is copied
//! or written in the photo folder) and needs no server, script or network. Browsers do not show
//! HEIC, and Chromium on Linux plays no HEVC: HEIC stills and clips also get a small JPEG
//! preview written into the page (a HEIC's own thumbnail when it has one; a clip's poster
//! frame), and a clip plays, where the browser can, the part a memory would show.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use image::RgbImage;
use rayon::prelude::*;

use crate::page::escape as esc;
use memories_library::indexing::IndexReport;
use memories_library::plan::{EventPlan, Plan, PlannedPhoto};
use memories_library::scan::Format;
use memories_library::titles;
use memories_library::titles::{plural, when};
use memories_library::{clips, heif};

const STYLE: &str = "
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-bottom: .3em; }
.meta { color: #666; }
.grid { display: flex; flex-wrap: wrap; gap: 6px; }
figure { margin: 0; width: 180px; }
figure .photo { position: relative; }
figure img, figure video { width: 180px; display: block; border-radius: 3px; }
figure.cover img, figure.cover video { outline: 3px solid #e08a00; }
figure .face { position: absolute; border: 2px solid #2bd; box-sizing: border-box; }
figcaption { font-size: 12px; color: #555; overflow-wrap: anywhere; }
table { border-collapse: collapse; } td { padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td img { width: 96px; }
.problem { color: #a00; }
";

/// The plan as an HTML page. `report` supplies the folder, and the files skipped or unreadable.
pub fn html(plan: &Plan, report: &IndexReport) -> String {
    let root = &report.root;
    let mut page = String::new();
    let w = &mut page;
    let _ = write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Memories plan: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&root.display().to_string())
    );
    let _ = writeln!(
        w,
        "<h1>What memories would make from {}</h1>",
        esc(&root.display().to_string())
    );
    let kept = plan.photos.iter().filter(|p| p.excluded.is_none()).count();
    let _ = writeln!(
        w,
        "<p class=\"meta\">{} found, {} kept, {} kept out, {} could not be analysed, {} skipped. \
         Home: {}. Nothing has been rendered yet.</p>",
        plural(report.found, "photo"),
        kept,
        plan.photos.len() - kept,
        plan.failed.len(),
        report.skipped.len(),
        esc(&plan.home_line())
    );

    let candidates: Vec<_> = plan.candidate_events().collect();
    let _ = writeln!(
        w,
        "<h2>Events: {}</h2>\n<p class=\"meta\">An event needs at least {} kept \
         photos to become a memory; the cover (outlined) is its best-looking photo, faces are boxed.</p>",
        plural(candidates.len(), "memory candidate"),
        plan.min_event_photos
    );
    let shown: std::collections::BTreeSet<usize> = candidates
        .iter()
        .flat_map(|(_, e)| e.photos.iter().copied())
        .chain(plan.people.iter().flat_map(|m| m.photos.iter().copied()))
        .chain(
            plan.on_this_day
                .iter()
                .flat_map(|y| y.photos.iter().copied()),
        )
        .collect();
    let previews = previews(plan, root, &shown);
    for (_, e) in &candidates {
        event_section(w, plan, root, e, &previews);
    }
    let small: Vec<_> = plan
        .events
        .iter()
        .filter(|e| !plan.is_candidate(e))
        .collect();
    if !small.is_empty() {
        let _ = writeln!(
            w,
            "<h3>Too small to be a memory on their own (photos dated by file time do not count)</h3>\n<ul>"
        );
        for e in small {
            let _ = writeln!(
                w,
                "<li>{}: {}, {}, {}</li>",
                esc(&e.title),
                esc(&when(e.start, e.end)),
                plural(e.photos.len(), "photo"),
                esc(&where_(plan, e))
            );
        }
        let _ = writeln!(w, "</ul>");
    }

    let _ = writeln!(
        w,
        "<h2>Trips: {}</h2>\n<p class=\"meta\">Two or more events farther than the trip distance from home.</p>",
        plan.candidate_trips().count()
    );
    for (n, t) in plan.candidate_trips() {
        let _ = writeln!(
            w,
            "<h3 id=\"trip-{n}\">{}</h3>\n<p class=\"meta\">{}, {}</p>\n<ul>",
            esc(&t.title),
            plural(t.events.len(), "event"),
            esc(&titles::trip_line(t.farthest_km))
        );
        for &e in &t.events {
            let e = &plan.events[e];
            let _ = writeln!(
                w,
                "<li>{}: {}, {}</li>",
                esc(&e.title),
                esc(&when(e.start, e.end)),
                plural(e.photos.len(), "photo")
            );
        }
        let _ = writeln!(w, "</ul>");
    }

    let _ = writeln!(
        w,
        "<h2>People: {}</h2>\n<p class=\"meta\">A person's kept photos from two or more days \
         (<code>memories people</code> names, merges and hides people).</p>",
        plural(plan.people.len(), "memory candidate")
    );
    for m in &plan.people {
        let _ = writeln!(
            w,
            "<h3>{}</h3>\n<p class=\"meta\">{}, {}</p>\n<div class=\"grid\">",
            esc(&m.title),
            esc(&m.person.label()),
            plural(m.photos.len(), "photo")
        );
        for &i in &m.photos {
            figure(
                w,
                root,
                &plan.photos[i],
                false,
                previews.get(&i).map(String::as_str),
            );
        }
        let _ = writeln!(w, "</div>");
    }

    let _ = writeln!(
        w,
        "<h2>On this day ({} ± {} days) in earlier years: {}</h2>",
        plan.today.format("%d %B"),
        plan.on_this_day_window,
        plan.on_this_day.len()
    );
    for y in &plan.on_this_day {
        let _ = writeln!(
            w,
            "<h3>{}</h3>\n<p class=\"meta\">{}</p>\n<div class=\"grid\">",
            esc(&y.title),
            y.year
        );
        for &i in &y.photos {
            figure(
                w,
                root,
                &plan.photos[i],
                false,
                previews.get(&i).map(String::as_str),
            );
        }
        let _ = writeln!(w, "</div>");
    }

    let excluded: Vec<_> = plan.excluded().collect();
    let _ = writeln!(
        w,
        "<h2>Kept out of memories: {}</h2>\n<p class=\"meta\">Change this with the config file's \
         [exclude] section or the --keep-* and --exclude-* flags.</p>",
        excluded.len()
    );
    if !excluded.is_empty() {
        let _ = writeln!(w, "<table>");
        for (p, why) in excluded {
            let _ = writeln!(
                w,
                "<tr><td><img src=\"{}\" alt=\"\" loading=\"lazy\"></td><td>{}<br><span class=\"meta\">{}</span></td><td>{}</td></tr>",
                esc(&file_url(&root.join(&p.rel))),
                esc(&p.rel),
                esc(&p.info.meta.taken.to_string()),
                esc(&why.to_string())
            );
        }
        let _ = writeln!(w, "</table>");
    }

    if !plan.failed.is_empty() || !report.skipped.is_empty() || !report.problems.is_empty() {
        let _ = writeln!(w, "<h2>Not used</h2>\n<ul>");
        for (rel, problem) in &plan.failed {
            let _ = writeln!(
                w,
                "<li class=\"problem\">{}: could not be analysed: {}</li>",
                esc(rel),
                esc(problem)
            );
        }
        for p in &report.problems {
            let _ = writeln!(
                w,
                "<li class=\"problem\">{}: {}</li>",
                esc(&p.rel),
                esc(&p.problem)
            );
        }
        for s in &report.skipped {
            let _ = writeln!(w, "<li>{}: skipped, {}</li>", esc(&s.rel), esc(s.reason));
        }
        let _ = writeln!(w, "</ul>");
    }
    let _ = writeln!(w, "</body>\n</html>");
    page
}

/// Where an event was, or "no GPS".
fn where_(plan: &Plan, e: &EventPlan) -> String {
    plan.place_line(e).unwrap_or_else(|| "no GPS".to_string())
}

/// Long side of the previews written into the page.
const PREVIEW_SIDE: u32 = 320;

/// JPEG previews, as `data:` addresses, of the HEIC stills and clips among `shown`, made in
/// parallel. One that cannot be made is left out (the figure then shows the file itself).
fn previews(
    plan: &Plan,
    root: &Path,
    shown: &std::collections::BTreeSet<usize>,
) -> HashMap<usize, String> {
    let shown: Vec<usize> = shown.iter().copied().collect();
    shown
        .par_iter()
        .filter_map(|&i| {
            let p = &plan.photos[i];
            let path = root.join(&p.rel);
            let image: RgbImage = match (&p.info.clip, p.info.format) {
                (Some(clip), _) => {
                    clips::frame(&path, clip.poster_frame, PREVIEW_SIDE)
                        .ok()?
                        .image
                }
                (None, Format::Heic) => {
                    heif::thumbnail(&std::fs::read(&path).ok()?, PREVIEW_SIDE).ok()?
                }
                _ => return None,
            };
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
                .encode_image(&image)
                .ok()?;
            let data = base64::engine::general_purpose::STANDARD.encode(jpeg);
            Some((i, format!("data:image/jpeg;base64,{data}")))
        })
        .collect()
}

fn event_section(
    w: &mut String,
    plan: &Plan,
    root: &Path,
    e: &EventPlan,
    previews: &HashMap<usize, String>,
) {
    let _ = writeln!(
        w,
        "<h3>{}</h3>\n<p class=\"meta\">{}, {}, {}</p>\n<div class=\"grid\">",
        esc(&e.title),
        esc(&when(e.start, e.end)),
        plural(e.photos.len(), "photo"),
        esc(&where_(plan, e))
    );
    for &i in &e.photos {
        figure(
            w,
            root,
            &plan.photos[i],
            i == e.cover,
            previews.get(&i).map(String::as_str),
        );
    }
    let _ = writeln!(w, "</div>");
}

/// One photo with its faces outlined. Face boxes are in upright pixels and browsers show photos
/// upright (EXIF orientation applied), so percentages of the upright size place them.
fn figure(w: &mut String, root: &Path, p: &PlannedPhoto, cover: bool, preview: Option<&str>) {
    let a = &p.info.analysis;
    let url = file_url(&root.join(&p.rel));
    let _ = write!(
        w,
        "<figure{}><div class=\"photo\">",
        if cover { " class=\"cover\"" } else { "" },
    );
    match (&p.info.clip, preview) {
        // The part a memory shows, muted; the poster stands in where the codec does not play.
        (Some(clip), _) => {
            let (start, end) = clip.part();
            let _ = write!(
                w,
                "<video src=\"{}#t={start:.2},{end:.2}\" poster=\"{}\" muted controls preload=\"none\" title=\"{}\"></video>",
                esc(&url),
                esc(preview.unwrap_or_default()),
                esc(&p.rel)
            );
        }
        (None, Some(preview)) => {
            let _ = write!(
                w,
                "<img src=\"{}\" alt=\"{}\" loading=\"lazy\">",
                esc(preview),
                esc(&p.rel)
            );
        }
        (None, None) => {
            let _ = write!(
                w,
                "<img src=\"{}\" alt=\"{}\" loading=\"lazy\">",
                esc(&url),
                esc(&p.rel)
            );
        }
    }
    let (fw, fh) = (a.width.max(1) as f32, a.height.max(1) as f32);
    for f in &p.info.faces {
        let _ = write!(
            w,
            "<div class=\"face\" title=\"face {:.2}\" style=\"left:{:.2}%;top:{:.2}%;width:{:.2}%;height:{:.2}%\"></div>",
            f.score,
            100.0 * f.x / fw,
            100.0 * f.y / fh,
            100.0 * f.w / fw,
            100.0 * f.h / fh
        );
    }
    let _ = writeln!(
        w,
        "</div><figcaption>{}{}<br>{}{} · sharpness {:.0}</figcaption></figure>",
        esc(&p.rel),
        esc(&what(p)),
        esc(&p.info.meta.taken.local.format("%Y-%m-%d %H:%M").to_string()),
        match p.info.faces.len() {
            0 => String::new(),
            n => format!(" · {}", plural(n, "face")),
        },
        a.sharpness
    );
}

/// " · video, HEVC, 3.1 s; shows 0.1–3.1 s", " · Live Photo (IMG_1.mov)", or nothing.
fn what(p: &PlannedPhoto) -> String {
    match (&p.info.clip, &p.motion, &p.info.embedded_motion) {
        (Some(clip), _, _) => format!(" · {}", clip.describe()),
        (None, Some(motion), _) => format!(" · Live Photo ({motion})"),
        (None, None, Some(inside)) => format!(" · motion photo ({} inside)", inside.describe()),
        (None, None, None) => String::new(),
    }
}

/// A `file://` address for an absolute path, every byte outside the unreserved set and `/`
/// percent-encoded (spaces, `#`, `?` and non-ASCII names included).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_encode_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/photos/a b/#1?é.jpg")),
            "file:///photos/a%20b/%231%3F%C3%A9.jpg"
        );
    }
}
