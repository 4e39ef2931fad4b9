//! Every `const fn` helper of the kernels is `#[inline]` (see `src/kernels/mod.rs`): an
//! incremental build (dev and test profiles) inlines across crates only what is marked, and a
//! kernel instance that calls its loop-bound helpers out of line is not specialized, about 10x
//! the code and the compile time. This reads the kernel sources, as a lint would.

use std::path::Path;

/// `const fn` items outside `#[cfg(test)]` modules whose attributes lack `#[inline`, as
/// `file:line`.
fn unmarked(name: &str, source: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let lines: Vec<&str> = source.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let item = line.trim_start();
        if item.starts_with("#[cfg(test)]") {
            // The unit tests sit at the end of a kernel file.
            break;
        }
        if !(item.starts_with("pub const fn ") || item.starts_with("const fn ")) {
            continue;
        }
        // The attributes and doc comments directly above the item.
        let marked = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim_start())
            .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
            .any(|l| l.starts_with("#[inline"));
        if !marked {
            missing.push(format!("{name}:{}: {item}", i + 1));
        }
    }
    missing
}

#[test]
fn every_const_helper_of_the_kernels_is_inline() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kernels");
    let mut missing = Vec::new();
    let mut helpers = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            helpers += source.matches("const fn ").count();
            missing.extend(unmarked(&name, &source));
        }
    }
    assert!(
        helpers >= 19,
        "found only {helpers} const fns in {}",
        dir.display()
    );
    assert!(missing.is_empty(), "not #[inline]:\n{}", missing.join("\n"));
}

#[test]
fn an_unmarked_helper_is_found() {
    let source = "/// Doc.\n#[inline]\npub const fn a() -> usize { 1 }\n\n/// Doc.\npub const fn b() -> usize { 2 }\n";
    assert_eq!(
        unmarked("x.rs", source),
        ["x.rs:6: pub const fn b() -> usize { 2 }"]
    );
}
