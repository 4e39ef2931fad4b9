//! The `memories` binary as a user runs it: output, exit codes, error messages, the index file.

use memories_networks::NETWORKS;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The day every test that reads the output plans for. Without `--today` the binary plans for
/// the system clock's date, and the demo outing (2008-10-22) is an on-this-day memory from 19
/// to 25 October: an output test that did not pin the date would fail that week every year.
const TODAY: &str = "2026-11-28";

#[path = "support/shared_data.rs"]
mod shared_data;

fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(sub)
}

fn memories(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and checks success; returns (stdout, stderr).
fn ok(args: &[&str]) -> (String, String) {
    let out = memories(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "memories {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// Runs and checks failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = memories(args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "memories {args:?} should fail");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    stderr
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn summary_names_the_event_with_date_place_and_count() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let outing = demo("outing");
    let (stdout, stderr) = ok(&[
        path_str(&outing),
        "--cache",
        path_str(&index),
        "--today",
        TODAY,
    ]);
    assert!(
        stdout.contains(
            "Arezzo, October 2008: 2008-10-22 Wed 16:28–17:00   9 photos  Arezzo, Tuscany  cover"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Run `memories plan"), "{stdout}");
    assert!(
        stderr.contains("9 photos: 9 analysed, 0 unchanged"),
        "{stderr}"
    );

    let (_, stderr) = ok(&[
        path_str(&outing),
        "--cache",
        path_str(&index),
        "--today",
        TODAY,
    ]);
    assert!(
        stderr.contains("9 photos: 0 analysed, 9 unchanged"),
        "{stderr}"
    );
    let (_, stderr) = ok(&[
        path_str(&outing),
        "--cache",
        path_str(&index),
        "--quiet",
        "--today",
        TODAY,
    ]);
    assert_eq!(stderr, "");
}

#[test]
fn json_lists_photos_then_candidates() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let (stdout, _) = ok(&[
        path_str(&demo("outing")),
        "--cache",
        path_str(&index),
        "--json",
        "-q",
        "--today",
        TODAY,
    ]);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    // The outing is the folder's only place, so it is home.
    assert_eq!(types, [vec!["photo"; 9], vec!["home", "event"]].concat());
    assert_eq!(lines[9]["name"], "Arezzo, Tuscany");
    assert_eq!(lines[10]["photos"].as_array().unwrap().len(), 9);
    assert_eq!(lines[0]["time_source"], "exif-original");
    assert_eq!(lines[0]["camera"], "NIKON COOLPIX P6000");
}

#[test]
fn plan_explains_every_exclusion_and_flags_and_config_change_it() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let people = demo("people");
    let base = [
        path_str(&people),
        "--cache",
        path_str(&index),
        "-q",
        "--today",
        TODAY,
    ];
    let (stdout, _) = ok(&[&["plan"], &base[..]].concat());
    assert!(stdout.contains("Kept out of memories: 3"), "{stdout}");
    assert!(
        stdout.contains("hash bits differ), which is sharper"),
        "{stdout}"
    );

    let (stdout, _) = ok(&[
        &base[..],
        &["--keep-duplicates", "--exclude-path", "group-*"],
    ]
    .concat());
    assert!(stdout.contains("Kept out of memories: 7"), "{stdout}");
    assert!(
        stdout.contains("group-1.jpg: path matches excluded pattern \"group-*\""),
        "{stdout}"
    );

    let config = cache.path().join("memories.toml");
    std::fs::write(&config, "[exclude]\ndates = [\"2017-01-01..2017-12-31\"]\n").unwrap();
    let (stdout, _) = ok(&[
        &base[..],
        &["--config", path_str(&config), "--keep-duplicates"],
    ]
    .concat());
    assert!(
        stdout.contains("person-linda.jpg: taken in excluded dates 2017-01-01..2017-12-31"),
        "{stdout}"
    );

    // With a smaller minimum the 2017-01-25 evening (two photos once its duplicate is out) counts.
    let (stdout, _) = ok(&[&base[..], &["--min-event-photos", "2"]].concat());
    assert!(
        stdout.contains("2017-01-25 Wed 21:30–22:20   2 photos"),
        "{stdout}"
    );
    assert!(
        stdout.contains("* 2017 (9 years ago): person-linda.jpg (30 Nov)"),
        "{stdout}"
    );
}

/// `plan --html`: the page shows every photo of each candidate with its faces, and every excluded
/// photo with its reason, from the photos' own places (no copies, nothing from the network).
#[test]
fn plan_page_shows_candidates_faces_and_exclusions() {
    let dir = tempfile::tempdir().unwrap();
    // The whole demo folder: the outing is an event, and people/ has near-duplicates.
    let (page, index, folder) = (
        dir.path().join("plan.html"),
        dir.path().join("i.sqlite"),
        demo(""),
    );
    let base = [
        path_str(&folder),
        "--cache",
        path_str(&index),
        "-q",
        "--today",
        TODAY,
    ];
    ok(&[&["plan"], &base[..], &["--html", path_str(&page)]].concat());
    let html = std::fs::read_to_string(&page).unwrap();
    // The page names places and titles memories as the plan and the movies do.
    assert!(html.contains("Home: Burbank, California."), "{html}");
    assert!(
        html.contains(
            "<h3>Arezzo, October 2008</h3>\n<p class=\"meta\">2008-10-22 Wed 16:28–17:00, \
             9 photos, Arezzo, Italy · 9,897 km from home</p>"
        ),
        "{html}"
    );
    let (json, _) = ok(&[&base[..], &["--json"]].concat());
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let events: Vec<_> = lines.iter().filter(|l| l["type"] == "event").collect();
    assert!(!events.is_empty());
    let shown: Vec<&str> = lines
        .iter()
        .filter(|l| ["event", "person", "on_this_day"].contains(&l["type"].as_str().unwrap()))
        .flat_map(|l| l["photos"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(html.matches("<figure").count(), shown.len());
    let faces: usize = lines
        .iter()
        .filter(|l| l["type"] == "photo" && shown.contains(&l["path"].as_str().unwrap()))
        .map(|l| l["faces"].as_array().unwrap().len())
        .sum();
    assert!(faces > 0);
    assert_eq!(html.matches("class=\"face\"").count(), faces);

    let excluded: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "photo" && !l["excluded"].is_null())
        .collect();
    assert!(html.contains(&format!("Kept out of memories: {}", excluded.len())));
    for l in excluded {
        let row = html
            .lines()
            .find(|row| row.contains(&format!(">{}<br>", l["path"].as_str().unwrap())))
            .unwrap_or_else(|| panic!("no row for {}", l["path"]));
        let detail = l["excluded"]["detail"].as_str().unwrap();
        assert!(row.contains(&detail.replace('"', "&quot;")), "{row}");
    }

    assert!(!html.contains("http://") && !html.contains("https://"));
    for src in html.split("src=\"").skip(1) {
        let url = &src[..src.find('"').unwrap()];
        let path = url.strip_prefix("file://").expect(url);
        assert!(!path.contains('%'), "demo names need no escapes: {path}");
        assert!(Path::new(path).is_file(), "{path}");
    }
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.jsonl");
    ok(&[
        path_str(&demo("outing")),
        "--cache",
        path_str(&dir.path().join("i.sqlite")),
        "--json",
        "-q",
        "--today",
        TODAY,
        "--output",
        path_str(&out),
    ]);
    // Nine photos, home and the event.
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 11);
}

#[test]
fn photo_folder_is_never_modified() {
    fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            all.push((entry.path(), meta.len(), meta.modified().unwrap()));
        }
        all.sort();
        all
    }
    let folder = tempfile::tempdir().unwrap();
    for name in ["DSCN0010.jpg", "DSCN0012.jpg"] {
        std::fs::copy(demo("outing").join(name), folder.path().join(name)).unwrap();
    }
    let before = listing(folder.path());
    let cache = tempfile::tempdir().unwrap();
    ok(&[
        path_str(folder.path()),
        "--cache",
        path_str(&cache.path().join("i.sqlite")),
        "-q",
    ]);
    assert_eq!(listing(folder.path()), before);
}

#[test]
fn corrupt_index_is_moved_aside_and_rebuilt() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    std::fs::write(&index, vec![0xAB; 4096]).unwrap();
    let (_, stderr) = ok(&[path_str(&demo("outing")), "--cache", path_str(&index), "-q"]);
    assert!(stderr.contains("memories: warning: the index"), "{stderr}");
    assert!(
        stderr.contains("moved it to") && stderr.contains("i.sqlite.broken-1"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(cache.path().join("i.sqlite.broken-1")).unwrap(),
        vec![0xAB; 4096]
    );
    let (_, stderr) = ok(&[path_str(&demo("outing")), "--cache", path_str(&index)]);
    assert!(stderr.contains("0 analysed, 9 unchanged"), "{stderr}");
}

#[test]
fn bad_input_gives_one_clear_error() {
    let stderr = fails(&["/no/such/folder"]);
    assert!(
        stderr.starts_with("memories: error: photo folder /no/such/folder: "),
        "{stderr}"
    );
    let stderr = fails(&[path_str(&demo("outing/DSCN0010.jpg"))]);
    assert!(stderr.contains("not a folder"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[events]\ngap_hour = 6\n").unwrap();
    let stderr = fails(&[path_str(&demo("outing")), "--config", path_str(&config)]);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("unknown field `gap_hour`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");

    let inside = demo("outing/DSCN0010.jpg");
    let stderr = fails(&[path_str(&demo("outing")), "--cache", path_str(&inside)]);
    assert!(stderr.contains("is inside the photo folder"), "{stderr}");
    assert!(inside.exists());

    for flag in ["--html", "--output"] {
        let inside = demo("outing/../outing/plan.out");
        let stderr = fails(&[path_str(&demo("outing")), flag, path_str(&inside)]);
        assert!(
            stderr.contains("plan.out is inside the photo folder"),
            "{stderr}"
        );
        assert!(!inside.exists());
    }

    let stderr = fails(&[path_str(&demo("outing")), "--exclude-dates", "2019-13-01"]);
    assert!(stderr.contains("bad date range"), "{stderr}");
    let stderr = fails(&[path_str(&demo("outing")), "--exclude-path", "a["]);
    assert!(stderr.contains("bad path pattern"), "{stderr}");
}

/// A cache, report or page path inside the photo folder is refused even when the folders it
/// names do not exist yet (creating them would already change the folder).
#[test]
fn outputs_in_new_folders_inside_the_photo_folder_are_refused() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        demo("outing/DSCN0010.jpg"),
        folder.path().join("DSCN0010.jpg"),
    )
    .unwrap();
    let new = folder.path().join("new/deeper");
    let index = new.join("i.sqlite");
    let stderr = fails(&[path_str(folder.path()), "--cache", path_str(&index)]);
    assert!(stderr.contains("is inside the photo folder"), "{stderr}");
    for flag in ["--output", "--html"] {
        let stderr = fails(&[path_str(folder.path()), flag, path_str(&new.join("x"))]);
        assert!(stderr.contains("is inside the photo folder"), "{stderr}");
    }
    assert!(!folder.path().join("new").exists());
}

/// Kills a run part-way and checks the next run only finishes the rest. Needs enough photos
/// that the run is still going when the first rows appear: the shared EXIF samples.
///
/// Rows are committed one per photo, so the kill goes in as soon as the first row is visible.
/// The run has a single analysis thread, so at that moment 87 photos still need decoding, face
/// detection and a commit each: the run cannot finish between two looks at the index unless
/// this thread stalls for seconds. Under CI a kill that interrupted nothing is a failure.
#[test]
fn killed_run_resumes_where_it_stopped() {
    const PHOTOS: i64 = 88;
    let Some(exif) = shared_data::shared_data("exif") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    // Read-only, so the probe never creates the file the run is about to create (an empty file
    // there would be moved aside as a broken index). No file, no table yet or a busy lock all
    // read as "no rows yet".
    let count = || -> rusqlite::Result<i64> {
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        rusqlite::Connection::open_with_flags(&index, flags)
            .and_then(|c| c.query_row("SELECT count(*) FROM photos", [], |r| r.get(0)))
    };
    assert!(count().is_err() && !index.exists(), "the probe made a file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_memories"))
        .args([path_str(&exif), "--cache", path_str(&index), "-q", "--json"])
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut killed = false;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the first run failed: {status}");
            break;
        }
        if count().unwrap_or(0) >= 1 {
            child.kill().unwrap();
            killed = true;
            break;
        }
        // Only a hung run gets here: the first photo takes well under a second.
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no row after 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait().unwrap();
    let stored = count().expect("the index is readable after the first run");
    // A probe that created the file first would have left an empty file for the run to move
    // aside as a broken index.
    let moved: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().contains(".broken-"))
        .collect();
    assert!(moved.is_empty(), "the run found a broken index: {moved:?}");
    if !(killed && 0 < stored && stored < PHOTOS) {
        let why = if killed {
            format!("the kill landed after all {stored} rows were stored")
        } else {
            "the first run finished before it could be killed".to_string()
        };
        assert!(
            !shared_data::shared_data_required(),
            "{why}: no run was interrupted, so resuming was not tested"
        );
        let _ = writeln!(std::io::stderr(), "NOTE: {why}; only the rerun was checked");
    }
    let (_, stderr) = ok(&[path_str(&exif), "--cache", path_str(&index)]);
    let expect = format!(
        "{PHOTOS} photos: {} analysed, {stored} unchanged",
        PHOTOS - stored
    );
    assert!(stderr.contains(&expect), "expected {expect:?} in {stderr}");
}

/// `memories people`: the JSON contract, corrections that stick across runs, and hidden or
/// excluded people kept out of memories.
#[test]
fn people_are_listed_corrected_and_kept_out_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("i.sqlite");
    let folder = demo("");
    let base = [path_str(&folder), "--cache", path_str(&index), "-q"];
    let plan = |extra: &[&str]| -> String {
        ok(&[&["plan"], &base[..], &["--today", TODAY], extra].concat()).0
    };
    let people = |extra: &[&str]| -> Vec<serde_json::Value> {
        let (stdout, _) = ok(&[&["people"], &base[..], &["--json"], extra].concat());
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let listed = people(&[]);
    assert!(!listed.is_empty());
    for p in &listed {
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "name", "faces"]);
        let faces = p["faces"].as_array().unwrap();
        assert!(faces.len() >= 3, "a person needs several faces: {p}");
        for f in faces {
            let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["path", "x", "y", "w", "h"]);
        }
    }
    // The man in four of the demo photos is one person.
    let vlado = listed
        .iter()
        .find(|p| {
            p["faces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"] == "people/person-vlado.jpg")
        })
        .expect("the person in person-vlado.jpg");
    let id = vlado["id"].as_u64().unwrap().to_string();
    let photos = vlado["faces"].as_array().unwrap().len();

    // A name and hiding stick; the plan keeps the hidden person's photos out.
    let named = people(&["--name", &id, "Vlado", "--hide", &id]);
    let again = people(&[]);
    assert_eq!(named, again);
    let me = again
        .iter()
        .find(|p| p["id"].as_u64().unwrap().to_string() == id)
        .unwrap();
    assert_eq!(me["name"], "Vlado");
    let stdout = plan(&[]);
    let hidden_lines = stdout
        .lines()
        .filter(|l| l.contains(&format!("shows person {id} (Vlado), who is hidden")))
        .count();
    assert_eq!(hidden_lines, photos, "{stdout}");

    // Shown again, but excluded by name on the command line.
    people(&["--unhide", &id]);
    let stdout = plan(&["--exclude-person", "vlado"]);
    assert!(stdout.contains("whom the settings exclude"), "{stdout}");
    let stdout = plan(&[]);
    assert!(!stdout.contains(&format!("shows person {id}")), "{stdout}");

    // Errors name the problem.
    let stderr = fails(&[&["people"], &base[..], &["--name", "999", "x"]].concat());
    assert!(stderr.contains("there is no person 999"), "{stderr}");
    let stderr = fails(&[&["people"], &base[..], &["--split", "nosuchface#0"]].concat());
    assert!(
        stderr.contains("no person has the face nosuchface#0"),
        "{stderr}"
    );
}

/// Parses `memories people`' text listing: each person's id and face keys, in listed order.
fn people_listing(stdout: &str) -> Vec<(String, Vec<String>)> {
    let mut people: Vec<(String, Vec<String>)> = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("person ") {
            let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
            people.push((id, Vec::new()));
        } else if let Some(face) = line.strip_prefix("    ") {
            let key = face.split_whitespace().next().unwrap().to_string();
            people
                .last_mut()
                .expect("faces follow their person")
                .1
                .push(key);
        }
    }
    people
}

/// `memories people --split`, `--merge` and `--sheets` end to end on the demo folder: a face
/// split off a person stays off when that person is merged into another, corrections stick
/// across runs, and every listed person gets a contact sheet.
#[test]
fn people_split_merge_and_sheets_stick_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("i.sqlite");
    let folder = demo("");
    let base = [
        "people",
        path_str(&folder),
        "--cache",
        path_str(&index),
        "-q",
    ];
    let list = |extra: &[&str]| people_listing(&ok(&[&base[..], extra].concat()).0);
    let before = list(&[]);
    assert!(
        before.len() >= 2,
        "the demo has two people or more: {before:?}"
    );
    let ((a, a_faces), (b, b_faces)) = (before[0].clone(), before[1].clone());
    let gone = a_faces.last().unwrap().clone();

    // The split face is nobody's; everyone else is as before.
    let split = list(&["--split", &gone]);
    let mut expect = before.clone();
    expect[0].1.retain(|f| *f != gone);
    assert_eq!(split, expect);

    // A merged into B: B has both people's faces but the split one.
    let merged = list(&["--merge", &a, &b]);
    assert!(merged.iter().all(|(id, _)| *id != a), "{merged:?}");
    let faces_of = |listing: &[(String, Vec<String>)], id: &str| -> BTreeSet<String> {
        let (_, faces) = listing.iter().find(|(p, _)| p == id).expect("listed");
        faces.iter().cloned().collect()
    };
    let both: BTreeSet<String> = a_faces
        .iter()
        .chain(&b_faces)
        .filter(|f| **f != gone)
        .cloned()
        .collect();
    assert_eq!(faces_of(&merged, &b), both);
    assert!(merged.iter().all(|(_, faces)| !faces.contains(&gone)));
    assert_eq!(merged.len(), before.len() - 1);
    // The book remembers: a plain run lists the same.
    assert_eq!(list(&[]), merged);
    // Merging the merged person again names who it became, and changes nothing.
    let stderr = fails(&[&base[..], &["--merge", a.as_str(), b.as_str()]].concat());
    assert!(
        stderr.contains(&format!("person {a} was merged into person {b}")),
        "{stderr}"
    );
    assert_eq!(list(&[]), merged);

    // The plan (on a pinned date) knows A only as B.
    let (json, _) = ok(&[
        path_str(&folder),
        "--cache",
        path_str(&index),
        "-q",
        "--json",
        "--today",
        TODAY,
    ]);
    for line in json.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            !(line["type"] == "person" && line["id"] == a.parse::<u64>().unwrap()),
            "{line}"
        );
    }

    // One sheet per listed person, six chips of 120 px a row, up to four rows.
    let sheets = dir.path().join("sheets");
    assert_eq!(list(&["--sheets", path_str(&sheets)]), merged);
    let mut written: Vec<String> = std::fs::read_dir(&sheets)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expect: Vec<String> = merged
        .iter()
        .map(|(id, _)| format!("person-{id}.jpg"))
        .collect();
    expect.sort();
    assert_eq!(written, expect);
    for (id, faces) in &merged {
        let sheet = image::open(sheets.join(format!("person-{id}.jpg")))
            .unwrap()
            .to_rgb8();
        let rows = faces.len().min(24).div_ceil(6) as u32;
        assert_eq!(sheet.dimensions(), (720, rows * 120), "person {id}");
        // The first chip is a face, not the sheet's dark background.
        let bright = (0..120)
            .flat_map(|y| (0..120).map(move |x| (x, y)))
            .filter(|&(x, y)| sheet.get_pixel(x, y).0.iter().any(|&c| c > 64))
            .count();
        assert!(
            bright > 120 * 120 / 4,
            "person {id}: {bright} bright pixels"
        );
    }
    // Sheets inside the photo folder are refused before anything is written, whether the
    // folder exists or not. (Sheets written there would be indexed as photos by every other
    // test of the demo folder, so a failure here cleans up before it fails.)
    for inside in [demo("people/sheets/new"), demo("outing/../people")] {
        let out = memories(&[&base[..], &["--sheets", path_str(&inside)]].concat());
        let created = demo("people/sheets");
        let wrote = created.exists() || inside.join(format!("person-{b}.jpg")).exists();
        if created.exists() {
            std::fs::remove_dir_all(&created).unwrap();
        }
        let stderr = text(&out.stderr);
        assert!(!wrote && !out.status.success(), "{inside:?}: {stderr}");
        assert!(stderr.contains("is inside the photo folder"), "{stderr}");
    }
}

/// The on-this-day line on purpose: the demo outing (2008-10-22) is a memory within three days
/// of 22 October, in the JSON and the text, and not a day further.
#[test]
fn on_this_day_shows_the_outing_within_three_days_of_its_date() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let outing = demo("outing");
    let run = |today: &str, extra: &[&str]| -> String {
        let base = [
            path_str(&outing),
            "--cache",
            path_str(&index),
            "-q",
            "--today",
            today,
        ];
        ok(&[&base[..], extra].concat()).0
    };
    let json = |today: &str| -> Vec<serde_json::Value> {
        run(today, &["--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    let lines = json("2026-10-22");
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [vec!["photo"; 9], vec!["home", "event", "on_this_day"]].concat()
    );
    let line = &lines[11];
    assert_eq!(line["date"], "2026-10-22");
    assert_eq!(line["year"], 2008);
    assert_eq!(
        line["photos"], lines[10]["photos"],
        "the outing's nine photos"
    );

    let text = run("2026-10-22", &[]);
    assert!(
        text.contains(
            "On this day (22 Oct ± 3 days) in earlier years:\n  \
             * 2008 (18 years ago): DSCN0010.jpg (22 Oct), DSCN0012.jpg (22 Oct), "
        ),
        "{text}"
    );

    for (today, shown) in [
        ("2026-10-18", false),
        ("2026-10-19", true),
        ("2026-10-25", true),
        ("2026-10-26", false),
        ("2027-04-22", false),
    ] {
        let lines = json(today);
        let found = lines.iter().filter(|l| l["type"] == "on_this_day").count();
        assert_eq!(found, usize::from(shown), "{today}");
        assert_eq!(lines.len(), 11 + found, "{today}: only on_this_day changes");
    }
    let text = run("2027-04-22", &[]);
    assert!(
        text.contains("On this day (22 Apr ± 3 days) in earlier years: nothing"),
        "{text}"
    );
}

/// The plan of the whole demo folder for every day of a common and a leap year: everything but
/// the on-this-day memories is the same every day, and those appear exactly on the days the
/// rule names. Planned through the library, as the binary does, so 731 days take no 731 runs.
#[test]
fn only_on_this_day_follows_the_date_across_a_year() {
    use chrono::{Datelike, NaiveDate};
    use memories_library::config::{Config, PathRules};
    use memories_library::indexing::index_folder;
    use memories_library::{people, plan, rows};

    let dir = tempfile::tempdir().unwrap();
    let report = index_folder(
        &demo(""),
        Some(&dir.path().join("i.sqlite")),
        false,
        &NETWORKS,
    )
    .unwrap();
    let faces = people::library_faces(&report.records);
    let params = people::Params::default();
    let (graph, _) = people::library_graph(&report.index_path, &faces, params);
    let found = people::Book::default().assign_library(&faces, &graph, params);
    let in_photos = people::photo_people(&report.records, &faces, &found);
    let config = Config::default();
    let window = i64::from(config.events.on_this_day_window_days);
    let rules = PathRules::new(&config.exclude.paths).unwrap();
    let make = |today: NaiveDate| plan::make(&report.records, &config, &rules, today, &in_photos);
    // The plan text with its on-this-day section cut out.
    let without_on_this_day = |text: String| -> String {
        let start = text
            .find("\nOn this day (")
            .expect("the section is always there");
        let end = text.find("\nKept out of memories").expect("after it");
        format!("{}{}", &text[..start], &text[end..])
    };
    let split = |plan: &plan::Plan| -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        rows::plan_rows(plan)
            .iter()
            .map(|row| serde_json::to_value(row).unwrap())
            .partition(|l| l["type"] != "on_this_day")
    };

    let first = make(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    let (lines, _) = split(&first);
    let text = without_on_this_day(first.explain());
    // Kept photos and their capture days, in the plan's order. None is dated by its file's time,
    // which would tie the plan to when the demo was checked out.
    let mut kept: Vec<(usize, String, NaiveDate)> = Vec::new();
    for (n, l) in lines.iter().filter(|l| l["type"] == "photo").enumerate() {
        assert!(
            l["time_source"].as_str().unwrap().starts_with("exif"),
            "{l}"
        );
        if l["excluded"].is_null() {
            let taken = l["taken"].as_str().unwrap();
            let day = NaiveDate::parse_from_str(&taken[..10], "%Y-%m-%d").unwrap();
            kept.push((n, taken.to_string(), day));
        }
    }
    kept.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    assert!(kept.len() >= 20, "{kept:?}");

    // The rule: a photo from an earlier year, at least half a year ago, whose date in its own
    // year is within the window of today's month and day (29 February is 28 February in other
    // years), the window running over New Year.
    let near = |photo: NaiveDate, today: NaiveDate| -> bool {
        photo.year() < today.year()
            && (today - photo).num_days() >= 180
            && (photo.year() - 1..=photo.year() + 1).any(|year| {
                let same = NaiveDate::from_ymd_opt(year, today.month(), today.day())
                    .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
                    .unwrap();
                (photo - same).num_days().abs() <= window
            })
    };
    let mut outing_days = Vec::new();
    for year in [2026, 2028] {
        let days = NaiveDate::from_ymd_opt(year, 1, 1)
            .unwrap()
            .iter_days()
            .take_while(|d| d.year() == year);
        for today in days {
            let plan = make(today);
            let (others, on_this_day) = split(&plan);
            assert!(others == lines, "{today}: more than on_this_day changed");
            assert!(
                without_on_this_day(plan.explain()) == text,
                "{today}: the plan text changed beyond on this day"
            );
            let mut expect: BTreeMap<std::cmp::Reverse<i32>, Vec<&str>> = BTreeMap::new();
            for (n, _, day) in &kept {
                if near(*day, today) {
                    let path = lines[*n]["path"].as_str().unwrap();
                    expect
                        .entry(std::cmp::Reverse(day.year()))
                        .or_default()
                        .push(path);
                }
            }
            let expect: Vec<serde_json::Value> = expect
                .into_iter()
                .map(|(year, photos)| {
                    let title = match today.year() - year.0 {
                        1 => "This day, a year ago".to_string(),
                        ago => format!("This day, {ago} years ago"),
                    };
                    serde_json::json!({"type": "on_this_day", "title": title,
                                       "date": today.to_string(), "year": year.0,
                                       "photos": photos})
                })
                .collect();
            assert_eq!(on_this_day, expect, "{today}");
            if on_this_day.iter().any(|l| l["year"] == 2008) {
                outing_days.push(today.to_string());
            }
        }
    }
    // Anchors for the rule above: the outing is a memory for exactly a week around 22 October.
    let week = |year| (19..=25).map(move |d| format!("{year}-10-{d}"));
    assert_eq!(
        outing_days,
        week(2026).chain(week(2028)).collect::<Vec<_>>()
    );
}

/// Runs `memories` with no network at all: in a new network namespace (`unshare --net`, which
/// needs root), where not even loopback is up. Returns `None`, saying so, where namespaces
/// cannot be made, unless `MEMORIES_REQUIRE_NETNS=1` (set by `.ci/run`) makes that a failure.
fn offline(args: &[&str]) -> Option<(String, String)> {
    let usable = Command::new("unshare")
        .args(["--net", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        let required = std::env::var("MEMORIES_REQUIRE_NETNS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "`unshare --net` cannot run here but MEMORIES_REQUIRE_NETNS=1: run the tests as root"
        );
        eprintln!(
            "\n*** SKIPPED: `unshare --net` cannot make a network namespace here (it needs root; \
             MEMORIES_REQUIRE_NETNS=1 makes this a failure) ***\n"
        );
        return None;
    }
    let out = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_memories"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "memories {args:?} failed offline\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Some((stdout, stderr))
}

/// Places by name with no network: the demo's outing is in Arezzo and the people photos' home is
/// the town their GPS gives (GeoNames' nearest town to 37.3198 N 121.9472 W is Burbank, a part
/// of San Jose in Santa Clara County). The coordinates stay beside the names in the JSON.
#[test]
fn places_are_named_offline_in_the_plan_and_its_json() {
    let cache = tempfile::tempdir().unwrap();
    let (index, folder) = (cache.path().join("i.sqlite"), demo(""));
    let base = [
        path_str(&folder),
        "--cache",
        path_str(&index),
        "-q",
        "--today",
        TODAY,
    ];
    let Some((json, _)) = offline(&[&base[..], &["--json"]].concat()) else {
        return;
    };
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_type =
        |t: &str| -> Vec<&serde_json::Value> { lines.iter().filter(|l| l["type"] == t).collect() };

    let home = of_type("home");
    assert_eq!(home.len(), 1);
    let home = home[0];
    assert_eq!(home["name"], "Burbank, California");
    assert_eq!(home["place"]["town"], "Burbank");
    assert_eq!(home["place"]["region"], "California");
    assert_eq!(home["place"]["country"], "United States");
    assert_eq!(home["place"]["country_code"], "US");
    assert!((home["centre"]["lat"].as_f64().unwrap() - 37.3198).abs() < 1e-3);
    assert!((home["centre"]["lon"].as_f64().unwrap() + 121.9472).abs() < 1e-3);
    assert!(home["place"]["km"].as_f64().unwrap() < 5.0, "{home}");

    let events = of_type("event");
    assert_eq!(events.len(), 1, "the outing");
    let outing = events[0];
    assert_eq!(outing["title"], "Arezzo, October 2008");
    assert_eq!(outing["place"]["town"], "Arezzo");
    assert_eq!(outing["place"]["region"], "Tuscany");
    assert_eq!(outing["place"]["country"], "Italy");
    assert_eq!(outing["place"]["name"], "Arezzo, Italy");
    assert_eq!(outing["place_line"], "Arezzo, Italy · 9,897 km from home");
    assert!((outing["centre"]["lat"].as_f64().unwrap() - 43.47).abs() < 0.01);
    assert!((outing["centre"]["lon"].as_f64().unwrap() - 11.88).abs() < 0.01);

    // Every geotagged photo is named, and only those.
    for photo in of_type("photo") {
        assert_eq!(
            photo["gps"].is_null(),
            photo["place"].is_null(),
            "{}",
            photo["path"]
        );
        if photo["path"].as_str().unwrap().starts_with("outing/") {
            assert_eq!(photo["place"]["name"], "Arezzo, Italy", "{photo}");
        }
    }

    let (text, _) = offline(&base).unwrap();
    assert!(
        text.contains("Home: Burbank, California (37.3198°N 121.9472°W; "),
        "{text}"
    );
    assert!(
        text.contains(
            "  * Arezzo, October 2008: 2008-10-22 Wed 16:28–17:00   9 photos  \
             Arezzo, Italy · 9,897 km from home  cover "
        ),
        "{text}"
    );
    // An event at home says where without a distance.
    assert!(
        text.contains("Burbank, January 2017: 2017-01-25 Wed 21:30–22:20   2 photos  Burbank, California  cover"),
        "{text}"
    );
}

/// Two runs on one index: the second says that it waits, touches nothing while the first holds
/// the index, and goes on when the first is done. The test holds the lock as a run would.
#[test]
fn a_second_run_on_the_same_index_waits_for_the_first() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let lock =
        memories_library::index::RunLock::take(&index, |_| panic!("nobody holds it")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(["people", path_str(&demo("outing")), "--cache"])
        .arg(&index)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // Blocks until the run has reached the lock and said so.
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("another memories run is using the index") && line.contains("i.sqlite"),
        "{line}"
    );
    assert!(child.try_wait().unwrap().is_none(), "it waits");
    assert!(!index.exists(), "nothing written while the index is held");
    drop(lock);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(index.exists() && !rest.contains("panicked"), "{rest}");
}

/// `--detector` picks the face detector the index is made with; switching rebuilds the index,
/// and says so, so that no photo keeps the other detector's faces.
#[test]
fn switching_the_detector_rebuilds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("i.sqlite");
    let folder = demo("people");
    let people = |detector: &str| -> (usize, String) {
        let (stdout, stderr) = ok(&[
            "people",
            path_str(&folder),
            "--cache",
            path_str(&index),
            "--detector",
            detector,
            "--json",
        ]);
        (stdout.lines().count(), stderr)
    };
    let (_, first) = people("student");
    assert!(!first.contains("rebuilt"), "{first}");
    let (found, second) = people("yunet");
    assert!(
        second.contains("its faces were found by the student detector, and this run uses yunet"),
        "{second}"
    );
    assert!(found >= 2, "YuNet finds the demo's people: {found}");
    let (_, third) = people("yunet");
    assert!(third.contains("0 analysed"), "{third}");
    let bad = fails(&["people", path_str(&folder), "--detector", "retina"]);
    assert!(
        bad.contains("`retina` is not a detector; the detectors are yunet, student"),
        "{bad}"
    );
}
