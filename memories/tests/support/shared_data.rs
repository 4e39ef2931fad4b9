//! The real photos and annotations in `../shared/data` (beside the repository; see its README).
//!
//! Tests that need them call [`shared_data`]. Without the folder it returns `None` after a message
//! written straight to stderr (the harness hides a passing test's `eprintln!`), so the test can
//! skip; with `MEMORIES_REQUIRE_SHARED_DATA=1` (set by `.ci/run`) it panics instead: a CI run must
//! not pass by skipping.
//!
//! Included by path (`#[path = "support/shared_data.rs"] mod shared_data;`) by the memories tests
//! and the workspace root's tests alike, so the folder is found from whichever crate includes it.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether missing shared data fails the test (CI) rather than skips it.
pub fn shared_data_required() -> bool {
    std::env::var("MEMORIES_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1")
}

/// `MEMORIES_SHARED_DATA` when set, else `../shared/data` beside the repository (found from this
/// crate's manifest directory upwards).
fn root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MEMORIES_SHARED_DATA") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/data"))
        .find(|candidate| candidate.is_dir())
}

/// `sub` below the shared data folder when it exists; otherwise `None` after a visible message,
/// or a panic when [`shared_data_required`].
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let found = root().map(|root| root.join(sub)).filter(|p| p.exists());
    if found.is_none() {
        let what = match root() {
            Some(root) => format!("{} is absent", root.join(sub).display()),
            None => format!("../shared/data/{sub} is absent"),
        };
        assert!(
            !shared_data_required(),
            "{what} but MEMORIES_REQUIRE_SHARED_DATA=1: CI needs the shared data beside the clone"
        );
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {what} (MEMORIES_REQUIRE_SHARED_DATA=1 makes this a failure) ***\n"
        );
    }
    found
}
