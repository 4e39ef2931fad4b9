//! `nnc`: the compiler's front and middle from the command line, on the same pipeline as the
//! `nnc!` macro (`nnc-onnx` for ONNX files, then `nnc_ir`'s parse, lower, bind and plan).
//!
//! ```text
//! nnc check MODEL [--weights W] [--input 640x480]      errors, or every layer with shapes and FLOPs
//! nnc plan MODEL [--weights W] --inputs 640x480,480x640 [--scales 1,0.5,0.25]
//!          [--algorithms auto|direct|winograd|winograd4x4]
//!                                                       the fused schedule, each convolution's
//!                                                       algorithm, and the arena plan
//! nnc import X.onnx [-o Y.nnc]                          the .nnc text and its .safetensors
//! nnc export Y.nnc [--weights W] -o X.onnx              an ONNX file ONNX Runtime and tract run
//! ```
//!
//! `MODEL` is an ONNX file (`.onnx`, weights inside) or a description (`.nnc`, weights in
//! `--weights`, by default the `.safetensors` file beside it). Sizes are width x height, as in
//! `nnc!`. Errors name the file, and the exit status is 1; bad arguments exit with 2.

use clap::{Parser, Subcommand};
use nnc_ir::Model;
use nnc_ir::plan;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "nnc",
    version,
    about = "Check, plan, import and export nnc models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a model: every error at once, or every layer with its shape and FLOPs.
    Check {
        /// An ONNX file or an nnc description.
        model: PathBuf,
        /// The description's weights (default: MODEL with the extension `.safetensors`).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// The input size, width x height (default: the size an ONNX file fixes, else 640x480).
        #[arg(long, value_parser = parse_size)]
        input: Option<Size>,
    },
    /// Plans a model as `nnc!` would: the fused schedule, then the arena plan of every scale of
    /// every input size, its lower bound and its check.
    Plan {
        model: PathBuf,
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Input sizes, width x height, comma-separated.
        #[arg(long, value_parser = parse_size, value_delimiter = ',', required = true)]
        inputs: Vec<Size>,
        /// Pyramid scales, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1")]
        scales: Vec<f64>,
        /// The convolution algorithms to choose from, as `algorithms:` in `nnc!`: `auto` (the
        /// cost model's choice per layer), `direct`, or `winograd` (2x2 tiles) or `winograd4x4`
        /// (4x4 tiles) wherever it applies.
        #[arg(long, value_parser = parse_algorithms, default_value = "auto")]
        algorithms: plan::Algorithms,
    },
    /// Imports an ONNX file: writes the `.nnc` text and the `.safetensors` weights beside it.
    Import {
        onnx: PathBuf,
        /// The description to write (default: the ONNX file with the extension `.nnc`); the
        /// weights go beside it, with the extension `.safetensors`.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Exports a description and its weights as an ONNX file.
    Export {
        model: PathBuf,
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// An input size as written on the command line: width then height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Size {
    width: usize,
    height: usize,
}

fn parse_size(text: &str) -> Result<Size, String> {
    let bad = || format!("`{text}` is not a size like 640x480 (width x height)");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=16384).contains(&n))
    };
    match (side(w), side(h)) {
        (Some(width), Some(height)) => Ok(Size { width, height }),
        _ => Err(bad()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

/// Runs one command: what it prints, or the errors it prints instead.
fn run(command: Command) -> Result<String, String> {
    match command {
        Command::Check {
            model,
            weights,
            input,
        } => {
            let loaded = load(&model, weights.as_deref())?;
            let size = input.or(loaded.fixed).unwrap_or(Size {
                width: 640,
                height: 480,
            });
            check(&loaded, size)
        }
        Command::Plan {
            model,
            weights,
            inputs,
            scales,
            algorithms,
        } => {
            let loaded = load(&model, weights.as_deref())?;
            plan_text(&loaded, &inputs, &scales, algorithms)
        }
        Command::Import { onnx, output } => {
            let output = output.unwrap_or_else(|| onnx.with_extension("nnc"));
            import(&onnx, &output)
        }
        Command::Export {
            model,
            weights,
            output,
        } => {
            let loaded = load(&model, weights.as_deref())?;
            let bytes = nnc_ir::onnx::export(&loaded.model)
                .map_err(|e| format!("{}: cannot export: {e}", model.display()))?;
            write_atomically(&output, &bytes)?;
            Ok(format!(
                "wrote {} ({} bytes)\n",
                output.display(),
                bytes.len()
            ))
        }
    }
}

/// A model read from either kind of file.
struct Loaded {
    model: Model,
    /// The file, for messages.
    file: PathBuf,
    /// The input size an ONNX file fixes, where it fixes both sides.
    fixed: Option<Size>,
    imported: Option<nnc_onnx::Imported>,
}

fn load(file: &Path, weights: Option<&Path>) -> Result<Loaded, String> {
    let is_onnx = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if !is_onnx {
        let weights = weights.map_or_else(|| file.with_extension("safetensors"), Path::to_path_buf);
        let model = Model::load(file, &weights).map_err(|e| e.to_string())?;
        return Ok(Loaded {
            model,
            file: file.to_path_buf(),
            fixed: None,
            imported: None,
        });
    }
    if let Some(weights) = weights {
        return Err(format!(
            "{}: an ONNX file carries its weights; leave out --weights {}",
            file.display(),
            weights.display()
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let imported = nnc_onnx::import(&bytes, file).map_err(|e| e.to_string())?;
    let model = imported.model(file).map_err(|e| e.to_string())?;
    let fixed = match imported.fixed_size {
        (Some(height), Some(width)) => Some(Size { width, height }),
        _ => None,
    };
    Ok(Loaded {
        model,
        file: file.to_path_buf(),
        fixed,
        imported: Some(imported),
    })
}

/// Why `size` cannot be given to an ONNX file that fixes its input, if it cannot.
fn size_problem(loaded: &Loaded, (height, width): (usize, usize)) -> Result<(), String> {
    match loaded
        .imported
        .as_ref()
        .and_then(|i| i.size_problem(height, width))
    {
        Some(problem) => Err(format!("{}: {problem}", loaded.file.display())),
        None => Ok(()),
    }
}

fn check(loaded: &Loaded, size: Size) -> Result<String, String> {
    size_problem(loaded, (size.height, size.width))?;
    let graph = &loaded.model.graph;
    let shapes = graph
        .infer_shapes(size.height, size.width)
        .map_err(|e| e.to_string())?;
    let mut text = format!(
        "{}: ok, at {} x {} (width x height)\n{}\n",
        loaded.file.display(),
        size.width,
        size.height,
        graph.display_with_shapes(&shapes)
    );
    let _ = writeln!(
        text,
        "  parameters={}\n  smallest input={}",
        loaded.model.weights.parameter_count(),
        graph
            .min_input_size()
            .map_or("none up to 4096".to_string(), |n| format!("{n} x {n}"))
    );
    Ok(text)
}

fn parse_algorithms(name: &str) -> Result<plan::Algorithms, String> {
    plan::Algorithms::parse(name)
        .ok_or_else(|| format!("`{name}` is not one of auto, direct, winograd, winograd4x4"))
}

fn plan_text(
    loaded: &Loaded,
    inputs: &[Size],
    scales: &[f64],
    algorithms: plan::Algorithms,
) -> Result<String, String> {
    if let Some(bad) = scales.iter().find(|s| !(**s > 0.0 && **s <= 1.0)) {
        return Err(format!("scale {bad} is not in (0, 1]"));
    }
    let graph = &loaded.model.graph;
    let fused = plan::fuse(graph).map_err(|e| e.to_string())?;
    let mut text = format!("{fused}\n");
    for size in inputs {
        let sizes = plan::scaled_sizes((size.height, size.width), scales);
        for &s in &sizes {
            size_problem(loaded, s)?;
        }
        let planned = plan::plan_with(graph, &sizes, algorithms).map_err(|e| {
            format!(
                "for the input {} x {} (width x height) at scales {scales:?}:\n{e}",
                size.width, size.height
            )
        })?;
        let verified = match plan::verify(&planned) {
            Ok(()) => "verified: no two live buffers overlap".to_string(),
            Err(e) => format!("NOT VERIFIED (a bug in nnc): {e}"),
        };
        let _ = writeln!(
            text,
            "input {} x {} (width x height), scales {scales:?}\n{}  {verified}\n",
            size.width,
            size.height,
            planned.display(graph)
        );
    }
    Ok(text)
}

fn import(onnx: &Path, output: &Path) -> Result<String, String> {
    let bytes = std::fs::read(onnx).map_err(|e| format!("cannot read {}: {e}", onnx.display()))?;
    let imported = nnc_onnx::import(&bytes, onnx).map_err(|e| e.to_string())?;
    // Checked by the same pipeline as `nnc!` before anything is written.
    imported.model(onnx).map_err(|e| e.to_string())?;
    let weights = output.with_extension("safetensors");
    if weights == onnx || output == onnx {
        return Err(format!(
            "{}: the output would overwrite the ONNX file",
            output.display()
        ));
    }
    write_atomically(&weights, &imported.weights)?;
    write_atomically(output, imported.description.as_bytes())?;
    Ok(format!(
        "wrote {} and {}\n",
        output.display(),
        weights.display()
    ))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader never
/// sees half a file, and an interrupted run leaves the old file whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", path.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::File::open(&temp)?.sync_all())
        .and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_width_by_height() {
        assert_eq!(
            parse_size("640x480"),
            Ok(Size {
                width: 640,
                height: 480
            })
        );
        assert!(parse_size("640").is_err());
        assert!(parse_size("0x480").is_err());
        assert!(parse_size("640x480x3").is_err());
    }
}
