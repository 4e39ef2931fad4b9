//! Hostile names: file and folder names with quotes, `<script>`, `&`, newlines, invalid UTF-8
//! and leading dashes, and a person named with the same. The plan text, the JSON lines and the
//! plan page stay well-formed and inert, and the page loads nothing from the network.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const TODAY: &str = "2026-11-28";

fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(sub)
}

fn run(args: &[&OsStr]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

const HOSTILE: [&str; 6] = [
    "quote\"s and 'single'",
    // A file name cannot hold `/`, so no closing tag.
    "<script>alert(1)",
    "a & b &amp; c",
    "<img src=x onerror=alert(1)>",
    "-leading-dash",
    "--json",
];

/// The demo's people photos, under hostile names in a hostile folder, plus one file whose name
/// is not UTF-8 and one with a newline.
fn hostile_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("<b onmouseover=alert(2)>\"folder\" & co");
    std::fs::create_dir(&inner).unwrap();
    let mut photos: Vec<PathBuf> = std::fs::read_dir(demo("people"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    photos.sort();
    assert!(photos.len() >= HOSTILE.len() + 2);
    for (n, photo) in photos.iter().enumerate() {
        let name = format!("{}-{n}.jpg", HOSTILE[n % HOSTILE.len()]);
        let to = if n % 2 == 0 { dir.path() } else { &inner };
        std::fs::copy(photo, to.join(name)).unwrap();
    }
    std::fs::copy(
        &photos[0],
        dir.path().join(OsStr::from_bytes(b"not-utf8-\xff\xfe.jpg")),
    )
    .unwrap();
    std::fs::copy(&photos[1], dir.path().join("new\nline.jpg")).unwrap();
    // A link out of the folder, and one inside it.
    std::os::unix::fs::symlink(&photos[2], dir.path().join("link-out.jpg")).unwrap();
    std::os::unix::fs::symlink(
        inner.join(format!("{}-1.jpg", HOSTILE[1])),
        dir.path().join("link-in.jpg"),
    )
    .unwrap();
    dir
}

/// Every start tag of the page: no script, no event handler, nothing from the network.
fn check_page(page: &str) {
    use html5gum::{Token, Tokenizer};
    let mut tags = 0;
    let mut text = String::new();
    for token in Tokenizer::new(page) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                tags += 1;
                let name = String::from_utf8_lossy(&tag.name).to_lowercase();
                assert!(
                    !["script", "iframe", "object", "embed", "base", "meta"]
                        .contains(&name.as_str())
                        || (name == "meta" && tag.attributes.len() <= 2),
                    "a <{name}> tag"
                );
                for (attr, value) in &tag.attributes {
                    let attr = String::from_utf8_lossy(attr).to_lowercase();
                    let value = String::from_utf8_lossy(value).to_lowercase();
                    assert!(!attr.starts_with("on"), "<{name} {attr}={value:?}>");
                    if ["src", "href", "poster", "srcset", "action"].contains(&attr.as_str()) {
                        assert!(
                            value.starts_with("file://") || value.starts_with('#'),
                            "<{name} {attr}={value:?}>"
                        );
                    }
                }
            }
            Token::String(s) => text.push_str(&String::from_utf8_lossy(&s)),
            _ => {}
        }
    }
    assert!(tags > 20, "{tags} tags");
    // The names are there, as text.
    assert!(text.contains("<script>alert(1)"), "{text}");
    assert!(
        text.contains("alert(3)</script> & \"Bob\" onload="),
        "{text}"
    );
    assert!(
        text.contains("<b onmouseover=alert(2)>\"folder\" & co"),
        "{text}"
    );
}

#[test]
fn hostile_names_stay_text_in_the_plan_json_and_page() {
    let folder = hostile_folder();
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("i.sqlite");
    let page = cache.path().join("plan.html");
    let base = [folder.path().as_os_str(), os("--cache"), index.as_os_str()];

    // A person named with everything at once.
    let (people, _) = run(&[&[os("people")], &base[..], &[os("--json"), os("-q")]].concat());
    let first: serde_json::Value =
        serde_json::from_str(people.lines().next().expect("a person")).unwrap();
    let id = first["id"].to_string();
    let evil = "<script>alert(3)</script> & \"Bob\" onload=alert(4) 'x'";
    run(&[
        &[os("people")],
        &base[..],
        &[os("-q"), os("--name"), os(&id), os(evil)],
    ]
    .concat());
    // Control characters have no place in a name: refused, with the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_memories"))
        .args(
            [
                &[os("people")],
                &base[..],
                &[os("-q"), os("--name"), os(&id), os("two\nlines")],
            ]
            .concat(),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("control character"),
        "{stderr}"
    );

    let plan_args = [os("plan"), os("--today"), os(TODAY), os("-q")];
    let (json, _) = run(&[&plan_args[..], &base[..], &[os("--json")]].concat());
    let mut skipped = Vec::new();
    for line in json.lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if row["type"] == "skipped" {
            skipped.push(row);
        }
    }
    assert!(json.contains(r#"\"s and 'single'"#), "{json}");
    assert!(
        json.contains("alert(3)"),
        "the named person is in the plan: {json}"
    );
    let skipped_text = format!("{skipped:?}");
    assert!(skipped_text.contains("not valid UTF-8"), "{skipped_text}");
    assert!(skipped_text.contains("control character"), "{skipped_text}");
    assert!(
        skipped_text.contains("link-out.jpg") && skipped_text.contains("not followed"),
        "{skipped_text}"
    );
    assert!(!skipped_text.contains("link-in.jpg"), "{skipped_text}");
    assert!(
        json.contains("link-in.jpg"),
        "a link inside the folder is indexed: {json}"
    );

    let (text, _) = run(&[&plan_args[..], &base[..], &[os("--html"), page.as_os_str()]].concat());
    // One line per line: no name broke a line of the text plan.
    assert!(!text.lines().any(|l| l.starts_with("line.jpg")), "{text}");
    assert!(
        text.contains("  - new\\nline.jpg: its file or folder name holds a control character"),
        "{text}"
    );
    assert!(text.contains("<script>alert(1)"), "{text}");
    check_page(&std::fs::read_to_string(&page).unwrap());
}
