//! Compiles the bundled libopus (float build, portable C, no SIMD kernels, no DNN extensions)
//! with the `cc` crate. The source lists come from libopus' own `*_sources.mk` files, the lists
//! its `Makefile.unix` compiles, so the file set follows the bundled release.

use std::{fs, path::Path};

/// The files named by the variable `var` in the make fragment `mk` (a `VAR = \` list).
fn sources(mk: &str, var: &str) -> Vec<String> {
    let text = fs::read_to_string(Path::new("opus").join(mk)).unwrap_or_else(|e| panic!("opus/{mk}: {e}"));
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{var} = \\"));
    assert!(lines.next().is_some(), "opus/{mk} has no list {var}");
    lines
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn main() {
    let version = fs::read_to_string("opus/package_version").expect("opus/package_version");
    let version = version.trim().trim_start_matches("PACKAGE_VERSION=");
    let mut build = cc::Build::new();
    for (mk, var) in [
        ("celt_sources.mk", "CELT_SOURCES"),
        ("silk_sources.mk", "SILK_SOURCES"),
        ("silk_sources.mk", "SILK_SOURCES_FLOAT"),
        ("opus_sources.mk", "OPUS_SOURCES"),
        ("opus_sources.mk", "OPUS_SOURCES_FLOAT"),
    ] {
        for file in sources(mk, var) {
            build.file(Path::new("opus").join(file));
        }
    }
    build
        .include("opus/include")
        .include("opus/celt")
        .include("opus/silk")
        .include("opus/silk/float")
        .define("OPUS_BUILD", None)
        .define("USE_ALLOCA", None)
        .define("HAVE_LRINTF", None)
        .define("PACKAGE_VERSION", Some(version))
        .opt_level(2)
        .warnings(false)
        .compile("opus");
    println!("cargo:rerun-if-changed=opus");
    println!("cargo:rerun-if-changed=build.rs");
}
