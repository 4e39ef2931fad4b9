//! Writes a made-up photo library of any size, built from the real photos and faces in
//! `../shared/data`: ten years of outings, bursts, trips with GPS tracks, screenshots, and a
//! household of people who recur (see `support/library.rs` for what each photo is).
//! Deterministic: the same `--photos` and `--seed` give the same files. A stopped run resumes.
//!
//! ```text
//! cargo run --release -p memories --example make_library -- DIR --photos 20000 --seed 1
//! ```

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[allow(dead_code)]
#[path = "support/library.rs"]
mod library;

#[derive(Parser)]
#[command(about = "Write a deterministic made-up photo library for Memories' scale tests")]
struct Args {
    /// The folder to write (made if missing; must be empty or a library of the same settings).
    dir: PathBuf,
    /// How many files: photos, near-duplicates and screenshots.
    #[arg(long, default_value_t = 1000)]
    photos: usize,
    /// Seed of the timeline and of every photo.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The real data the photos are made from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))]
    data: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let start = Instant::now();
    let sources = match library::Sources::load(&args.data, args.seed) {
        Ok(sources) => sources,
        Err(e) => {
            eprintln!("make_library: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = start.elapsed();
    match library::write(&sources, &args.dir, args.photos, args.seed) {
        Ok(w) => {
            eprintln!(
                "make_library: {}: {} files made, {} already there, {:.1} MB in all; \
                 sources loaded in {:.1} s, files made in {:.1} s",
                args.dir.display(),
                w.made,
                w.kept,
                w.bytes as f64 / 1e6,
                loaded.as_secs_f64(),
                (start.elapsed() - loaded).as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_library: {e}");
            ExitCode::FAILURE
        }
    }
}
