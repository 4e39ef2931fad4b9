//! The `memories` command line: index a photo folder and show its memory candidates.
//!
//! `memories <DIR>` indexes the folder and prints a summary; `memories plan <DIR>` lists every
//! photo of each memory and why each excluded photo is out; `--json` prints one JSON object per
//! photo, then one for home, then one per memory candidate (`memories_library::rows`). The index
//! is stored in the user's cache directory (`~/.cache/memories/<folder>-<hash>.sqlite` on Linux)
//! unless `--cache FILE` says otherwise; the photo folder itself is never written to.
//! `memories <DIR> --out <OUT>` also writes each memory's movie and poster and an `index.html`
//! into `OUT`, which may not be inside `DIR`; see `memories_movie` for themes, lengths and what a
//! movie is made of. `memories --help` lists every flag.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{Local, NaiveDate};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

mod error;

use error::{AppError, check_output};
use memories_fs::write_atomically;
use memories_library::analysis::decode_file;
use memories_library::config::{Config, DateRange, PathRules};
use memories_library::index::Opened;
use memories_library::indexing::{self, IndexReport};
use memories_library::plan;
use memories_library::rows::{self, DetectedFace, DetectedPhoto, PersonFace, PersonRow, Row};
use memories_movie::{self as movie, Length, Resolution, Theme};
use memories_vision::Networks;
use memories_vision::faces::{DECODE_SIDE, FaceDetector, Model};

/// Finds events, trips and "on this day" memories in a photo folder. The folder is only read;
/// the index lives in your cache directory.
#[derive(Debug, Parser)]
#[command(
    name = "memories",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what would be made: every photo of each memory, and why each excluded photo is out.
    Plan(Box<RunArgs>),
    /// Find faces in photos with the on-device detector.
    Detect(DetectArgs),
    /// Group the faces of a photo folder into people; name, merge, split and hide them.
    People(PeopleArgs),
}

#[derive(Debug, Args)]
struct PeopleArgs {
    /// The photo folder (searched recursively, never modified).
    dir: PathBuf,
    /// Index file to use instead of one in the cache directory; the people file sits beside it.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// The network that finds faces while indexing: `yunet` (the default) or `student`.
    #[arg(long, default_value = "yunet", value_parser = parse_model, value_name = "MODEL")]
    detector: Model,
    /// Print one JSON object per line per person:
    /// {"id", "name", "faces": [{"path", "x", "y", "w", "h"}]}; unassigned faces are not listed.
    #[arg(long)]
    json: bool,
    /// No progress bar or status lines on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Name person ID.
    #[arg(long, num_args = 2, value_names = ["ID", "NAME"])]
    name: Vec<String>,
    /// Person FROM is the same person as INTO.
    #[arg(long, num_args = 2, value_names = ["FROM", "INTO"])]
    merge: Vec<u32>,
    /// Take a face (its key, as listed) away from its person for good.
    #[arg(long, value_name = "FACE")]
    split: Vec<String>,
    /// Hide person ID: their photos never appear in a memory.
    #[arg(long, value_name = "ID")]
    hide: Vec<u32>,
    /// Show a hidden person again.
    #[arg(long, value_name = "ID")]
    unhide: Vec<u32>,
    /// Write a contact sheet per person (person-ID.jpg) into this folder.
    #[arg(long, value_name = "DIR")]
    sheets: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DetectArgs {
    /// Photos, or folders to search recursively (never modified).
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    paths: Vec<PathBuf>,
    /// Print one JSON object per line per photo:
    /// {"path", "width", "height", "faces": [{"x", "y", "w", "h", "score"}]}, in the photo's
    /// full-resolution pixels after EXIF orientation.
    #[arg(long)]
    json: bool,
    /// The network that finds faces: `yunet` (YuNet-s, compiled by nnc from its ONNX file) or
    /// `student` (the face student over a five-level image pyramid).
    #[arg(long, default_value = "yunet", value_parser = parse_model, value_name = "MODEL")]
    detector: Model,
    /// Report faces scoring at least this (0 to 1; by default 0.7 with yunet, 0.9 with student).
    #[arg(long, value_name = "SCORE")]
    min_score: Option<f32>,
    /// No summary on stderr; skipped files are still reported.
    #[arg(short, long)]
    quiet: bool,
    /// Run the network in nnc's reference interpreter instead of the compiled code (about 7x
    /// slower): a check that both find the same faces.
    #[arg(long)]
    interpreter: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The photo folder (searched recursively, never modified).
    // Optional only to clap: a required positional in flattened args would also be demanded
    // after `plan`, so `main` checks for it instead.
    dir: Option<PathBuf>,
    /// The network that finds faces while indexing: `yunet` (the default) or `student`. An
    /// index made with the other one is rebuilt.
    #[arg(long, default_value = "yunet", value_parser = parse_model, value_name = "MODEL")]
    detector: Model,
    /// Index file to use instead of one in the cache directory.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// TOML file with [events] and [exclude] settings (see the crate docs).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// No progress bar or status lines on stderr; warnings and errors still appear.
    #[arg(short, long)]
    quiet: bool,
    /// Print one JSON object per line: each photo, home (its place and name), then each memory
    /// candidate with its title and place.
    #[arg(long)]
    json: bool,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the plan as an HTML page to FILE (atomically): every memory candidate with its
    /// photos and faces, and every excluded photo with the reason.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// The date "on this day" is computed for [default: today].
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    /// Start a new event after a gap of this many hours [default: 3].
    #[arg(long, value_name = "HOURS")]
    gap_hours: Option<f64>,
    /// Start a new event after moving this far between photos [default: 50].
    #[arg(long, value_name = "KM")]
    jump_km: Option<f64>,
    /// Events farther than this from home are part of a trip [default: 100].
    #[arg(long, value_name = "KM")]
    trip_km: Option<f64>,
    /// Radius of a place cluster when finding home [default: 25].
    #[arg(long, value_name = "KM")]
    home_radius_km: Option<f64>,
    /// Smallest number of kept photos that makes an event a memory [default: 3].
    #[arg(long, value_name = "N")]
    min_event_photos: Option<usize>,
    /// Days either side of the date that count as "on this day" [default: 3].
    #[arg(long, value_name = "DAYS")]
    on_this_day_days: Option<u32>,
    /// Exclude photos whose path below DIR matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude_path: Vec<String>,
    /// Exclude photos showing this person: a name or an id from `memories people` (repeatable).
    #[arg(long, value_name = "NAME_OR_ID")]
    exclude_person: Vec<String>,
    /// Exclude photos taken in YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (repeatable).
    #[arg(long, value_name = "RANGE")]
    exclude_dates: Vec<DateRange>,
    /// Keep screenshots in memories.
    #[arg(long)]
    keep_screenshots: bool,
    /// Keep documents in memories.
    #[arg(long)]
    keep_documents: bool,
    /// Keep every near-duplicate of a burst.
    #[arg(long)]
    keep_duplicates: bool,
    /// Write each memory's poster (and movie) and an index.html listing them into DIR, which
    /// must not be inside the photo folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The movies' pace, transitions, colour and music.
    #[arg(long, value_enum, default_value_t = Theme::Gentle, requires = "out")]
    theme: Theme,
    /// Movie length: short (15-20 s), medium (30-45 s) or long (60-90 s).
    #[arg(long, value_enum, default_value_t = Length::Medium, requires = "out")]
    length: Length,
    /// Frame size of the movies.
    #[arg(long, value_enum, default_value_t = Resolution::Hd720, requires = "out")]
    resolution: Resolution,
    /// Make only this memory (an id such as event-0, as listed by --json); repeatable.
    #[arg(long = "memory", value_name = "ID", requires = "out")]
    memories: Vec<String>,
    /// Also keep sample frames of each movie (the middle of every shot and transition) as PNG
    /// files in DIR.
    #[arg(long, value_name = "DIR", requires = "out")]
    frames_dir: Option<PathBuf>,
    /// Allow --out (and --frames-dir) inside the photo folder.
    #[arg(long, requires = "out")]
    force_out_inside: bool,
}

impl RunArgs {
    /// The config file's settings with the flags applied on top.
    fn config(&self) -> Result<Config, AppError> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let e = &mut config.events;
        let set = |slot: &mut f64, flag: Option<f64>| *slot = flag.unwrap_or(*slot);
        set(&mut e.gap_hours, self.gap_hours);
        set(&mut e.jump_km, self.jump_km);
        set(&mut e.trip_km, self.trip_km);
        set(&mut e.home_radius_km, self.home_radius_km);
        e.min_event_photos = self.min_event_photos.unwrap_or(e.min_event_photos);
        e.on_this_day_window_days = self.on_this_day_days.unwrap_or(e.on_this_day_window_days);
        let x = &mut config.exclude;
        x.paths.extend(self.exclude_path.iter().cloned());
        x.dates.extend(self.exclude_dates.iter().copied());
        x.people.extend(self.exclude_person.iter().cloned());
        x.screenshots &= !self.keep_screenshots;
        x.documents &= !self.keep_documents;
        x.duplicates &= !self.keep_duplicates;
        Ok(config)
    }
}

/// Runs the command line on `networks` (`memories_networks::NETWORKS` in the binary) and returns
/// the process's exit code.
pub fn main(networks: &Networks) -> ExitCode {
    // Bad input must never show a panic with a backtrace; if our own code has a bug, say so in
    // one line.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("memories: internal error, please report it: {info}");
    }));
    let cli = Cli::parse();
    let (args, explain) = match &cli.command {
        Some(Command::Detect(args)) => {
            detect(args, networks);
            return ExitCode::SUCCESS;
        }
        Some(Command::People(args)) => {
            return match people(args, networks) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("memories: error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Plan(args)) => (&**args, true),
        None => (&cli.run, false),
    };
    let Some(dir) = &args.dir else {
        Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "the photo folder <DIR> is required",
            )
            .exit()
    };
    match run(dir, args, explain, networks) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memories: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path, args: &RunArgs, explain: bool, networks: &Networks) -> Result<(), AppError> {
    let config = args.config()?;
    for path in args.output.iter().chain(&args.html) {
        check_output(path, dir)?;
    }
    let rules = PathRules::new(&config.exclude.paths)?;
    let report = index_and_report(
        dir,
        args.cache.as_deref(),
        args.quiet,
        networks,
        args.detector,
    )?;
    let today = args.today.unwrap_or_else(|| Local::now().date_naive());
    // People, so that hidden and excluded people's photos are kept out.
    let faces = memories_library::people::library_faces(&report.records);
    let params = memories_library::people::Params::default();
    let graph = people_graph(&report.index_path, &faces, params)?;
    let book_path = memories_library::people::book_path(&report.index_path);
    let mut book = memories_library::people::Book::load(&book_path)?;
    let people = book.assign_library(&faces, &graph, params);
    book.save(&book_path)?;
    let in_photos = memories_library::people::photo_people(&report.records, &faces, &people);
    let plan = plan::make(&report.records, &config, &rules, today, &in_photos);
    if let Some(path) = &args.html {
        let page = movie::plan_page::html(&plan, &report);
        write_atomically(path, page.as_bytes())?;
        if !args.quiet {
            eprintln!("memories: wrote the plan page {}", path.display());
        }
    }
    let text = if args.json {
        let mut text = String::new();
        let mut lines = rows::plan_rows(&plan);
        lines.extend(report.problems.iter().map(|p| Row::Problem {
            path: &p.rel,
            problem: &p.problem,
        }));
        lines.extend(report.skipped.iter().map(|s| Row::Skipped {
            path: &s.rel,
            reason: s.reason,
        }));
        for row in &lines {
            text += &rows::line(row);
            text.push('\n');
        }
        text
    } else {
        let mut text = format!("{}\n", header(&report));
        text += &if explain {
            plan.explain()
        } else {
            plan.summary()
        };
        if !explain {
            text += &format!(
                "\nRun `memories plan {}` to list every photo of each memory.\n",
                dir.display()
            );
        }
        text
    };
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => {
            // A closed pipe (`memories DIR | head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    if let Some(out) = &args.out {
        let options = movie::output::Options {
            settings: movie::Settings {
                theme: args.theme,
                length: args.length,
                resolution: args.resolution,
            },
            only: args.memories.clone(),
            frames_dir: args.frames_dir.clone(),
            force_inside: args.force_out_inside,
        };
        let similar = movie::select::Similarity {
            duplicate_bits: config.exclude.duplicate_bits,
            burst_secs: (config.exclude.burst_minutes * 60.0) as i64,
        };
        let note = |note: movie::output::Note<'_>| match note {
            movie::output::Note::Progress(line) if !args.quiet => eprintln!("memories: {line}"),
            movie::output::Note::Progress(_) => {}
            movie::output::Note::Warning(line) => eprintln!("memories: warning: {line}"),
        };
        movie::output::write_folder(&plan, &report.root, out, &options, &similar, note)?;
    }
    Ok(())
}

/// `memories detect`: faces in every photo named or found, one line each; unreadable files are
/// skipped with a reason on stderr and counted, and the run always finishes.
fn detect(args: &DetectArgs, networks: &Networks) {
    use rayon::prelude::*;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut skipped = 0usize;
    for path in &args.paths {
        if path.is_dir() {
            let found = memories_library::scan::scan(path);
            files.extend(found.photos.into_iter().map(|p| p.path));
            for s in &found.skipped {
                eprintln!(
                    "memories: skipped {}: {}",
                    memories_library::scan::shown(&path.join(&s.rel).display().to_string()),
                    s.reason
                );
            }
            for p in &found.problems {
                eprintln!(
                    "memories: skipped {}: {}",
                    memories_library::scan::shown(&path.join(&p.rel).display().to_string()),
                    p.problem
                );
            }
            skipped += found.skipped.len() + found.problems.len();
        } else {
            files.push(path.clone());
        }
    }
    let min_score = args
        .min_score
        .unwrap_or_else(|| args.detector.default_score());
    // One detector (arena and weights) per rayon job, reused for its photos; results come back
    // in input order.
    let detector = || {
        if args.interpreter {
            FaceDetector::interpreted(networks, args.detector, min_score)
        } else {
            FaceDetector::compiled(networks, args.detector, min_score)
        }
    };
    let results: Vec<_> = files
        .par_iter()
        .map_init(detector, |detector, path| {
            (
                path,
                decode_file(path, DECODE_SIDE).map(|d| detector.detect_decoded(&d)),
            )
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let (mut photos, mut faces) = (0usize, 0usize);
    for (path, result) in results {
        match result {
            Ok(found) => {
                photos += 1;
                faces += found.faces.len();
                let line = if args.json {
                    rows::line(&DetectedPhoto {
                        path: path.display().to_string(),
                        width: found.width,
                        height: found.height,
                        faces: found
                            .faces
                            .iter()
                            .map(|f| DetectedFace::new(f.x, f.y, f.w, f.h, f.score))
                            .collect(),
                    })
                } else {
                    let boxes: Vec<String> = found
                        .faces
                        .iter()
                        .map(|f| {
                            format!(
                                "{:.0},{:.0} {:.0}x{:.0} ({:.2})",
                                f.x, f.y, f.w, f.h, f.score
                            )
                        })
                        .collect();
                    format!(
                        "{}: {} faces {}",
                        path.display(),
                        found.faces.len(),
                        boxes.join("; ")
                    )
                };
                if writeln!(out, "{line}").is_err() {
                    return; // A closed pipe: the reader has what it wanted.
                }
            }
            Err(reason) => {
                skipped += 1;
                eprintln!("memories: skipped {}: {reason}", path.display());
            }
        }
    }
    if !args.quiet {
        eprintln!("memories: {photos} photos, {faces} faces, {skipped} files skipped");
    }
}

/// The face graph beside the index, brought up to date with `faces` and saved.
fn people_graph(
    index_path: &std::path::Path,
    faces: &[memories_library::people::LibraryFace<'_>],
    params: memories_library::people::Params,
) -> Result<memories_library::people::FaceGraph, memories_fs::WriteError> {
    let (graph, update) = memories_library::people::library_graph(index_path, faces, params);
    if update.searched > 0 || update.removed > 0 {
        graph.save(&memories_library::people::graph_path(index_path))?;
    }
    Ok(graph)
}

/// `memories people`: index, cluster, apply the corrections given, and list the people.
fn people(args: &PeopleArgs, networks: &Networks) -> Result<(), Box<dyn std::error::Error>> {
    use memories_library::people::{Book, Params, book_path, contact_sheet, library_faces};
    // The sheets folder is created when missing, so it is compared with the photo folder
    // resolved as far as it exists: a check of its files' parent, which may not exist yet,
    // would let `--sheets PHOTOS/sheets` write into the photo folder.
    if let (Some(dir), Ok(root)) = (&args.sheets, args.dir.canonicalize()) {
        let resolved = movie::output::check_out_dir(dir, &root, true)?;
        if resolved.starts_with(&root) {
            return Err(AppError::OutputInsideFolder { path: dir.clone() }.into());
        }
    }
    let report = index_and_report(
        &args.dir,
        args.cache.as_deref(),
        args.quiet,
        networks,
        args.detector,
    )?;
    let faces = library_faces(&report.records);
    let params = Params::default();
    let graph = people_graph(&report.index_path, &faces, params)?;
    let path = book_path(&report.index_path);
    let mut book = Book::load(&path)?;
    book.assign_library(&faces, &graph, params);
    for pair in args.name.chunks(2) {
        let id: u32 = pair[0]
            .parse()
            .map_err(|_| format!("--name: {:?} is not a person id", pair[0]))?;
        book.name(id, &pair[1])?;
    }
    for pair in args.merge.chunks(2) {
        book.merge(pair[0], pair[1])?;
    }
    for face in &args.split {
        book.split(face)?;
    }
    for &id in &args.hide {
        book.set_hidden(id, true)?;
    }
    for &id in &args.unhide {
        book.set_hidden(id, false)?;
    }
    // Corrections can move faces: cluster again with them in the book.
    let people = book.assign_library(&faces, &graph, params);
    book.save(&path)?;

    let mut out = String::new();
    for p in &people {
        if args.json {
            out += &rows::line(&PersonRow {
                id: p.id,
                name: p.name.as_deref(),
                faces: p
                    .faces
                    .iter()
                    .map(|&i| PersonFace::new(faces[i].rel, &faces[i].face))
                    .collect(),
            });
            out.push('\n');
        } else {
            let photos: std::collections::BTreeSet<&str> =
                p.faces.iter().map(|&i| faces[i].rel).collect();
            out += &format!(
                "person {}{}{}: {} faces in {} photos\n",
                p.id,
                p.name
                    .as_ref()
                    .map(|n| format!(" {n:?}"))
                    .unwrap_or_default(),
                if p.hidden { " (hidden)" } else { "" },
                p.faces.len(),
                photos.len()
            );
            for &i in &p.faces {
                let f = &faces[i];
                out += &format!(
                    "    {}  {}  {:.0},{:.0} {:.0}x{:.0}\n",
                    f.key, f.rel, f.face.x, f.face.y, f.face.w, f.face.h
                );
            }
        }
    }
    if !args.json {
        let assigned: usize = people.iter().map(|p| p.faces.len()).sum();
        out += &format!(
            "{} people; {} of {} faces assigned (a person needs {} faces within {} of each other)\n",
            people.len(),
            assigned,
            faces.len(),
            params.min_faces,
            params.eps
        );
    }
    let _ = std::io::stdout().write_all(out.as_bytes());

    if let Some(dir) = &args.sheets {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for p in &people {
            let mine: Vec<_> = p.faces.iter().map(|&i| &faces[i]).collect();
            let sheet = contact_sheet(&report.root, &mine, 6, 4, 120);
            let mut jpeg = Vec::new();
            sheet.write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )?;
            write_atomically(&dir.join(format!("person-{}.jpg", p.id)), &jpeg)?;
        }
    }
    Ok(())
}

fn status_line(r: &IndexReport) -> String {
    format!(
        "memories: {} photos: {} analysed, {} unchanged, {} copies of known files; {} gone from the index; index {}",
        r.found,
        r.analysed,
        r.unchanged,
        r.copies,
        r.removed,
        r.index_path.display()
    )
}

fn header(r: &IndexReport) -> String {
    use memories_library::scan::shown;
    let mut text = format!(
        "Photo folder {}: {} photos\n",
        shown(&r.root.display().to_string()),
        r.found
    );
    if !r.skipped.is_empty() {
        text += &format!("Skipped {} files:\n", r.skipped.len());
        for s in &r.skipped {
            text += &format!("  - {}: {}\n", shown(&s.rel), s.reason);
        }
    }
    if !r.problems.is_empty() {
        text += &format!("Could not read {} files or folders:\n", r.problems.len());
        for p in &r.problems {
            text += &format!("  ! {}: {}\n", shown(&p.rel), p.problem);
        }
    }
    text
}

/// A detector's name on the command line.
fn parse_model(name: &str) -> Result<Model, String> {
    Model::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|(_, n)| *n).collect();
        format!(
            "`{name}` is not a detector; the detectors are {}",
            names.join(", ")
        )
    })
}

/// Indexes `dir` (progress on stderr unless `quiet`), then warns on stderr if the index was
/// rebuilt (even when `quiet`) and prints what indexing found (unless `quiet`): how `run` and
/// `people` start.
fn index_and_report(
    dir: &Path,
    cache: Option<&Path>,
    quiet: bool,
    networks: &Networks,
    detector: Model,
) -> Result<indexing::IndexReport, AppError> {
    let report = indexing::index_folder_with(dir, cache, !quiet, networks, detector)?;
    warn_if_rebuilt(&report);
    if !quiet {
        eprintln!("{}", status_line(&report));
    }
    Ok(report)
}

/// Says on stderr, even with `--quiet`, that the index was moved aside and rebuilt, and why.
fn warn_if_rebuilt(report: &indexing::IndexReport) {
    if let Opened::Rebuilt { moved_to, reason } = &report.opened {
        eprintln!(
            "memories: warning: the index {} was not usable ({reason}); moved it to {} and rebuilt it",
            report.index_path.display(),
            moved_to.display()
        );
    }
}
