//! The `memories` binary as a user runs it: output, exit codes, error messages, the index file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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
        "2026-11-28",
    ]);
    assert!(
        stdout.contains("2008-10-22 Wed 16:28–17:00   9 photos  at 43.4672°N 11.8820°E"),
        "{stdout}"
    );
    assert!(stdout.contains("Run `memories plan"), "{stdout}");
    assert!(
        stderr.contains("9 photos: 9 analysed, 0 unchanged"),
        "{stderr}"
    );

    let (_, stderr) = ok(&[path_str(&outing), "--cache", path_str(&index)]);
    assert!(
        stderr.contains("9 photos: 0 analysed, 9 unchanged"),
        "{stderr}"
    );
    let (_, stderr) = ok(&[path_str(&outing), "--cache", path_str(&index), "--quiet"]);
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
    ]);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, [vec!["photo"; 9], vec!["event"]].concat());
    assert_eq!(lines[9]["photos"].as_array().unwrap().len(), 9);
    assert_eq!(lines[0]["time_source"], "exif-original");
    assert_eq!(lines[0]["camera"], "NIKON COOLPIX P6000");
}

#[test]
fn plan_explains_every_exclusion_and_flags_and_config_change_it() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let people = demo("people");
    let base = [path_str(&people), "--cache", path_str(&index), "-q"];
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
    let (stdout, _) = ok(&[
        &base[..],
        &["--min-event-photos", "2", "--today", "2026-11-28"],
    ]
    .concat());
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
    let base = [path_str(&folder), "--cache", path_str(&index), "-q"];
    ok(&[&["plan"], &base[..], &["--html", path_str(&page)]].concat());
    let html = std::fs::read_to_string(&page).unwrap();
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
        "--output",
        path_str(&out),
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 10);
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

/// Kills a run part-way and checks the next run only finishes the rest. Needs enough photos
/// that the run is still going when the first rows appear: the shared EXIF samples.
#[test]
fn killed_run_resumes_where_it_stopped() {
    let exif = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/exif");
    if !exif.exists() {
        eprintln!("SKIPPED: {} is absent", exif.display());
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_memories"))
        .args([path_str(&exif), "--cache", path_str(&index), "-q", "--json"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rows = || -> i64 {
        rusqlite::Connection::open(&index)
            .and_then(|c| c.query_row("SELECT count(*) FROM photos", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    let started = Instant::now();
    let mut killed = false;
    while started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if rows() >= 5 {
            child.kill().unwrap();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait().unwrap();
    let stored = rows();
    let (_, stderr) = ok(&[path_str(&exif), "--cache", path_str(&index)]);
    let expect = format!("88 photos: {} analysed, {} unchanged", 88 - stored, stored);
    assert!(stderr.contains(&expect), "expected {expect:?} in {stderr}");
    if !killed {
        eprintln!(
            "NOTE: the first run finished before it could be killed; only the rerun was checked"
        );
    }
}

/// `memories people`: the JSON contract, corrections that stick across runs, and hidden or
/// excluded people kept out of memories.
#[test]
fn people_are_listed_corrected_and_kept_out_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("i.sqlite");
    let folder = demo("");
    let base = [path_str(&folder), "--cache", path_str(&index), "-q"];
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
    let (stdout, _) = ok(&[&["plan"], &base[..]].concat());
    let hidden_lines = stdout
        .lines()
        .filter(|l| l.contains(&format!("shows person {id} (Vlado), who is hidden")))
        .count();
    assert_eq!(hidden_lines, photos, "{stdout}");

    // Shown again, but excluded by name on the command line.
    people(&["--unhide", &id]);
    let (stdout, _) = ok(&[&["plan"], &base[..], &["--exclude-person", "vlado"]].concat());
    assert!(stdout.contains("whom the settings exclude"), "{stdout}");
    let (stdout, _) = ok(&[&["plan"], &base[..]].concat());
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
