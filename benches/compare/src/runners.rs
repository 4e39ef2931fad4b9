//! Each runtime behind one small interface: prepared once for every scale of the pyramid (inputs in
//! the layout it wants, made before any timing), then run by scale index.

use crate::Files;
use crate::face;
use crate::support::{Row, interleaved};
use nnc::__private::Pyramid;
use nnc::ir::{Model, Shape};
use nnc::{Interpreter, Tensor};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The runtimes compared, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Nnc,
    /// nnc without its AVX-512 kernels (the same as `Nnc` on a CPU without AVX-512).
    NncAvx2,
    NncPortable,
    Interpreter,
    /// ONNX Runtime, through the `ort` crate.
    Ort,
    Tract,
}

impl Runtime {
    pub const ALL: [Runtime; 6] = [
        Runtime::Nnc,
        Runtime::NncAvx2,
        Runtime::NncPortable,
        Runtime::Interpreter,
        Runtime::Ort,
        Runtime::Tract,
    ];

    /// The name used in the table, the JSON rows and `--first-result`.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Nnc => "nnc",
            Runtime::NncAvx2 => "nnc-avx2",
            Runtime::NncPortable => "nnc-portable",
            Runtime::Interpreter => "interpreter",
            Runtime::Ort => "onnxruntime",
            Runtime::Tract => "tract",
        }
    }
}

/// The image at every scale, in both layouts, made once before any runtime is timed.
pub struct Inputs {
    /// `(height, width)` of each scale.
    sizes: Vec<(usize, usize)>,
    nhwc: Vec<Vec<f32>>,
    nchw: Vec<Vec<f32>>,
}

impl Inputs {
    pub fn new(sizes: Vec<(usize, usize)>, nhwc: Vec<Vec<f32>>) -> Inputs {
        let nchw = sizes
            .iter()
            .zip(&nhwc)
            .map(|(&(h, w), data)| to_nchw(data, h, w, 3))
            .collect();
        Inputs { sizes, nhwc, nchw }
    }

    pub fn scales(&self) -> usize {
        self.sizes.len()
    }
}

fn to_nchw(nhwc: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; nhwc.len()];
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                out[(k * h + y) * w + x] = nhwc[(y * w + x) * c + k];
            }
        }
    }
    out
}

/// An ONNX output as NHWC: `[1, C, H, W]` transposed, or `[1, H * W, C]` (a head the graph already
/// transposed and flattened, as YuNet's) as it is.
fn to_nhwc(data: &[f32], shape: &[usize]) -> Vec<f32> {
    if shape.len() == 3 {
        data.to_vec()
    } else {
        nchw_to_nhwc(data, shape[1])
    }
}

fn nchw_to_nhwc(nchw: &[f32], c: usize) -> Vec<f32> {
    let hw = nchw.len() / c;
    let mut out = vec![0.0; nchw.len()];
    for k in 0..c {
        for i in 0..hw {
            out[i * c + k] = nchw[k * hw + i];
        }
    }
    out
}

/// One head's output: its name and NHWC data.
pub type Head = (String, Vec<f32>);

/// A runtime prepared for every scale of the pyramid.
pub trait Runner {
    /// Runs one scale on its prepared input, keeping the result from being optimised away.
    fn run(&mut self, scale: usize);
    /// Runs one scale and returns every head, NHWC, in the model's head order.
    fn outputs(&mut self, scale: usize) -> Vec<Head>;
}

/// Runtimes by name, ready to run, `nnc` first: what [`time_case`] compares.
pub type Named<'a> = Vec<(&'static str, Box<dyn Runner + 'a>)>;

/// Times every runtime in `all` on one case (one run: each scale in `scales`, in turn),
/// interleaved round by round so that each ratio to nnc (the first) is the median of the rounds'
/// ratios: one row each.
pub fn time_case(
    all: &mut Named<'_>,
    case: &str,
    scales: std::ops::Range<usize>,
    flops: u64,
    budget: Duration,
    peak: Option<f64>,
) -> Vec<Row> {
    let mut runs: Vec<Box<dyn FnMut() + '_>> = all
        .iter_mut()
        .map(|(_, runner)| {
            let scales = scales.clone();
            Box::new(move || {
                for scale in scales.clone() {
                    runner.run(scale);
                }
            }) as Box<dyn FnMut()>
        })
        .collect();
    let mut refs: Vec<&mut dyn FnMut()> = runs.iter_mut().map(|r| &mut **r as _).collect();
    let timings = interleaved(budget, &mut refs);
    drop(runs);
    all.iter()
        .zip(timings)
        .map(|((name, _), t)| Row::timed(name, case.to_string(), t, flops, peak))
        .collect()
}

/// A runtime ready to run, or why it is not available.
pub type Prepared<'a> = Result<Box<dyn Runner + 'a>, String>;

/// Prepares `runtime` for every scale: loads what it needs and builds its sessions or plans.
pub fn prepare<'a>(runtime: Runtime, files: &Files, inputs: &'a Inputs) -> Prepared<'a> {
    Ok(match runtime {
        Runtime::Nnc => Box::new(Compiled {
            net: face::Network::new(),
            inputs,
        }),
        Runtime::NncAvx2 => Box::new(Compiled {
            net: face::Network::without_avx512(),
            inputs,
        }),
        Runtime::NncPortable => Box::new(Compiled {
            net: face::Network::portable(),
            inputs,
        }),
        Runtime::Interpreter => {
            let model = Model::load(&files.model(), &files.weights()).map_err(|e| e.to_string())?;
            Box::new(Interpreted::new(model, inputs))
        }
        Runtime::Ort => Box::new(OnnxRuntime::new(&files.onnx(), inputs)?),
        Runtime::Tract => Box::new(Tract::new(&files.onnx(), inputs)?),
    })
}

/// A network compiled by `nnc!`, run on the prepared input of each scale.
pub struct Compiled<'a, N: Pyramid> {
    pub net: N,
    pub inputs: &'a Inputs,
}

impl<N: Pyramid> Runner for Compiled<'_, N> {
    fn run(&mut self, scale: usize) {
        self.net
            .run_scale(0, scale, &self.inputs.nhwc[scale], &mut |head| {
                black_box(head.data[0]);
            });
    }

    fn outputs(&mut self, scale: usize) -> Vec<Head> {
        let mut heads = Vec::new();
        self.net
            .run_scale(0, scale, &self.inputs.nhwc[scale], &mut |head| {
                heads.push((head.name.to_string(), head.data.to_vec()));
            });
        heads
    }
}

/// The reference interpreter, with the input of each scale made into a tensor once.
pub struct Interpreted {
    interpreter: Interpreter,
    tensors: Vec<Tensor>,
}

impl Interpreted {
    pub fn new(model: Model, inputs: &Inputs) -> Interpreted {
        let tensors = inputs
            .sizes
            .iter()
            .zip(&inputs.nhwc)
            .map(|(&(h, w), d)| Tensor::from_vec(Shape { h, w, c: 3 }, d.clone()))
            .collect();
        Interpreted {
            interpreter: Interpreter::new(model),
            tensors,
        }
    }
}

impl Runner for Interpreted {
    fn run(&mut self, scale: usize) {
        black_box(
            self.interpreter
                .run(&self.tensors[scale])
                .expect("interpreter run"),
        );
    }

    fn outputs(&mut self, scale: usize) -> Vec<Head> {
        let outputs = self
            .interpreter
            .run(&self.tensors[scale])
            .expect("interpreter run");
        outputs
            .heads
            .into_iter()
            .map(|(name, t)| (name, t.data))
            .collect()
    }
}

/// Where ONNX Runtime's shared library is: `ORT_DYLIB_PATH`, else the one the `onnxruntime` wheel
/// installed into `benches/.venv` by `benches/setup-onnxruntime.sh`.
pub fn onnxruntime_library() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("ORT_DYLIB_PATH={} is not a file", path.display()))
        };
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    let found = std::fs::read_dir(&venv).ok().and_then(|pythons| {
        pythons.flatten().find_map(|python| {
            let capi = python.path().join("site-packages/onnxruntime/capi");
            std::fs::read_dir(capi).ok()?.flatten().find_map(|f| {
                let name = f.file_name().to_string_lossy().into_owned();
                name.starts_with("libonnxruntime.so.").then(|| f.path())
            })
        })
    });
    found.ok_or_else(|| {
        format!(
            "ONNX Runtime's library not found: no ORT_DYLIB_PATH and no libonnxruntime.so.* under {}; \
             run `bash benches/setup-onnxruntime.sh` (or set ORT_DYLIB_PATH)",
            venv.display()
        )
    })
}

pub struct OnnxRuntime<'a> {
    session: ort::session::Session,
    input_name: String,
    output_names: Vec<String>,
    inputs: &'a Inputs,
}

/// The process-wide ONNX Runtime environment: `ort` allows one per process, ever, so it is made
/// once and kept.
static ORT_ENVIRONMENT: std::sync::OnceLock<Result<ort::environment::Environment, String>> =
    std::sync::OnceLock::new();

impl<'a> OnnxRuntime<'a> {
    pub fn new(onnx: &Path, inputs: &'a Inputs) -> Result<OnnxRuntime<'a>, String> {
        let library = onnxruntime_library()?;
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("onnxruntime: {what}: {e}");
        let environment = ORT_ENVIRONMENT
            .get_or_init(|| {
                ort::init_from(&library)
                    .map_err(|e| fail(&format!("loading {}", library.display()), &e))?
                    .build()
                    .map_err(|e| fail("environment", &e))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let session = ort::session::Session::builder(environment)
            .map_err(|e| fail("session builder", &e))?
            .with_intra_threads(1)
            .map_err(|e| fail("intra threads", &e))?
            .with_inter_threads(1)
            .map_err(|e| fail("inter threads", &e))?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
            .map_err(|e| fail("optimization level", &e))?
            .commit_from_file(onnx)
            .map_err(|e| fail(&format!("loading {}", onnx.display()), &e))?;
        let input_name = session.inputs()[0].name().to_string();
        let output_names = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(OnnxRuntime {
            session,
            input_name,
            output_names,
            inputs,
        })
    }

    fn run_raw(&mut self, scale: usize) -> Vec<Head> {
        let (h, w) = self.inputs.sizes[scale];
        let tensor = ort::value::TensorRef::from_array_view((
            [1usize, 3, h, w],
            self.inputs.nchw[scale].as_slice(),
        ))
        .expect("an input tensor");
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .expect("onnxruntime run");
        self.output_names
            .iter()
            .map(|name| {
                let (shape, data) = outputs[name.as_str()]
                    .try_extract_tensor::<f32>()
                    .expect("an f32 output");
                let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                (name.clone(), to_nhwc(data, &shape))
            })
            .collect()
    }
}

impl Runner for OnnxRuntime<'_> {
    fn run(&mut self, scale: usize) {
        let (h, w) = self.inputs.sizes[scale];
        let tensor = ort::value::TensorRef::from_array_view((
            [1usize, 3, h, w],
            self.inputs.nchw[scale].as_slice(),
        ))
        .expect("an input tensor");
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .expect("onnxruntime run");
        black_box(outputs.len());
    }

    fn outputs(&mut self, scale: usize) -> Vec<Head> {
        self.run_raw(scale)
    }
}

/// tract with one optimized plan per scale: tract optimizes best for concrete shapes.
pub struct Tract {
    states: Vec<tract_onnx::prelude::TypedSimpleState>,
    inputs: Vec<tract_onnx::prelude::TValue>,
    output_names: Vec<String>,
}

impl Tract {
    pub fn new(path: &Path, inputs: &Inputs) -> Result<Tract, String> {
        use tract_onnx::prelude::*;
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("tract: {what}: {e:#}");
        // The shapes the file declares for intermediate values may name a symbolic batch,
        // which the concrete input below cannot unify with (YuNet's): tract infers them instead.
        let onnx = tract_onnx::onnx().with_ignore_output_shapes(true);
        let mut proto = onnx
            .proto_model_for_path(path)
            .map_err(|e| fail(&format!("reading {}", path.display()), &e))?;
        if let Some(graph) = proto.graph.as_mut() {
            graph.value_info.clear();
        }
        let model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| fail(&format!("loading {}", path.display()), &e))?;
        let output_names = model
            .output_outlets()
            .map_err(|e| fail("outputs", &e))?
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map_or_else(|| model.node(o.node).name.clone(), str::to_string)
            })
            .collect();
        let mut states = Vec::new();
        let mut values = Vec::new();
        for (&(h, w), data) in inputs.sizes.iter().zip(&inputs.nchw) {
            let plan = model
                .clone()
                .with_input_fact(0, f32::fact([1, 3, h, w]).into())
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .map_err(|e| fail(&format!("planning {h}x{w}"), &e))?;
            states.push(plan.spawn().map_err(|e| fail("state", &e))?);
            let tensor = Tensor::from_shape(&[1, 3, h, w], data).map_err(|e| fail("input", &e))?;
            values.push(tensor.into_tvalue());
        }
        Ok(Tract {
            states,
            inputs: values,
            output_names,
        })
    }
}

impl Tract {
    fn run_raw(&mut self, scale: usize) -> tract_onnx::prelude::TVec<tract_onnx::prelude::TValue> {
        let mut input = tract_onnx::prelude::TVec::new();
        input.push(self.inputs[scale].clone());
        self.states[scale].run(input).expect("tract run")
    }
}

impl Runner for Tract {
    fn run(&mut self, scale: usize) {
        black_box(self.run_raw(scale));
    }

    fn outputs(&mut self, scale: usize) -> Vec<Head> {
        let outputs = self.run_raw(scale);
        self.output_names
            .iter()
            .zip(outputs)
            .map(|(name, value)| {
                let view = value.to_plain_array_view::<f32>().expect("an f32 output");
                let data: Vec<f32> = view.iter().copied().collect();
                (name.clone(), to_nhwc(&data, view.shape()))
            })
            .collect()
    }
}

/// Checks every model of `models/` that has an ONNX file against the interpreter, in ONNX Runtime
/// and tract, at two input sizes off the pyramid (one odd, so that padding and pooling floors are
/// exercised): the ONNX files are the same networks, not only the face pyramid's shapes.
/// Returns one line per model and runtime, and whether all agreed within `tolerance`.
pub fn check_onnx_files(root: &Path, tolerance: f32) -> (Vec<String>, bool) {
    let sizes = vec![(96, 128), (61, 83)];
    let mut rng = nnc::ir::testing::Rng::new(3);
    let nhwc: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&(h, w)| nnc::ir::testing::random_input(&mut rng, h, w, 3))
        .collect();
    let inputs = Inputs::new(sizes, nhwc);
    let mut lines = Vec::new();
    let mut all_agree = true;
    for stem in ["face_student", "testnet"] {
        let models = root.join("models");
        let onnx = models.join(format!("{stem}.onnx"));
        let model = match Model::load(
            &models.join(format!("{stem}.nnc")),
            &models.join(format!("{stem}.safetensors")),
        ) {
            Ok(model) => model,
            Err(e) => {
                lines.push(format!("{stem}: {e}"));
                all_agree = false;
                continue;
            }
        };
        let mut interpreter = Interpreted {
            interpreter: Interpreter::new(model),
            tensors: inputs
                .sizes
                .iter()
                .zip(&inputs.nhwc)
                .map(|(&(h, w), d)| Tensor::from_vec(Shape { h, w, c: 3 }, d.clone()))
                .collect(),
        };
        let reference: Vec<Vec<Head>> = (0..inputs.scales())
            .map(|s| interpreter.outputs(s))
            .collect();
        let runners: [(&str, Prepared<'_>); 2] = [
            (
                "onnxruntime",
                OnnxRuntime::new(&onnx, &inputs).map(|r| Box::new(r) as Box<dyn Runner>),
            ),
            (
                "tract",
                Tract::new(&onnx, &inputs).map(|r| Box::new(r) as Box<dyn Runner>),
            ),
        ];
        for (name, runner) in runners {
            match runner {
                Ok(mut runner) => {
                    let worst = (0..inputs.scales())
                        .map(|s| worst_difference(&reference[s], &runner.outputs(s)))
                        .fold(Difference::default(), Difference::max);
                    let agrees = worst.relative <= tolerance;
                    all_agree &= agrees;
                    lines.push(format!(
                        "{stem}.onnx in {name} vs interpreter at 128x96 and 83x61: max abs difference {:.2e} (relative {:.2e}){}",
                        worst.abs,
                        worst.relative,
                        if agrees { "" } else { "  MISMATCH" }
                    ));
                }
                Err(why) => lines.push(format!("{stem}.onnx in {name}: skipped: {why}")),
            }
        }
    }
    (lines, all_agree)
}

/// How far one runtime's outputs are from the reference's: the largest absolute difference, and
/// that over the largest reference magnitude of the same head (at least 1).
#[derive(Clone, Copy, Debug, Default)]
pub struct Difference {
    pub abs: f32,
    pub relative: f32,
}

impl Difference {
    pub fn max(self, other: Difference) -> Difference {
        Difference {
            abs: self.abs.max(other.abs),
            relative: self.relative.max(other.relative),
        }
    }
}

/// The worst difference over every head; a missing or mis-sized head is an infinite difference.
pub fn worst_difference(reference: &[Head], got: &[Head]) -> Difference {
    let mut worst = Difference::default();
    for (name, want) in reference {
        let Some((_, have)) = got.iter().find(|(n, _)| n == name) else {
            return Difference {
                abs: f32::INFINITY,
                relative: f32::INFINITY,
            };
        };
        if have.len() != want.len() {
            return Difference {
                abs: f32::INFINITY,
                relative: f32::INFINITY,
            };
        }
        let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        let abs = want
            .iter()
            .zip(have)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(Difference {
            abs,
            relative: abs / scale,
        });
    }
    worst
}

/// Peak resident memory of this process so far, in KiB: `VmHWM` of `/proc/self/status`.
///
/// Not `getrusage`'s `ru_maxrss`: Linux carries that across `exec` from the forked parent, so a
/// child started by a big parent would report the parent's size. `VmHWM` belongs to the new
/// address space. `None` where there is no `/proc`.
pub fn max_rss_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Prints the code and weights each runtime needs. Code sizes of what is linked into this binary
/// are the summed sizes of its text symbols by crate (`nm -S`); ONNX Runtime's is its library file.
pub fn print_sizes(files: &Files) {
    let symbols = text_symbols();
    let code = |prefixes: &[&str]| -> String {
        match &symbols {
            Some(symbols) => {
                let bytes: u64 = symbols
                    .iter()
                    .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
                    .map(|(_, size)| size)
                    .sum();
                format!("{:.1}", bytes as f64 / 1024.0)
            }
            None => "-".to_string(),
        }
    };
    let file_kib = |path: &Path| {
        std::fs::metadata(path).map_or("-".to_string(), |m| {
            format!("{:.1}", m.len() as f64 / 1024.0)
        })
    };
    let ort_library = onnxruntime_library()
        .ok()
        .map_or("-".to_string(), |p| file_kib(&p));
    println!(
        "code and weights each runtime needs (KiB; code: text symbols in this binary by crate, `nm -S`)"
    );
    println!(
        "{:<13} {:>12} {:>12}  what",
        "runtime", "code KiB", "weights KiB"
    );
    println!(
        "{:<13} {:>12} {:>12.1}  generated face module + nnc_runtime kernels; weights as statics (f32)",
        "nnc",
        code(&[
            "nnc_compare::face::",
            "nnc_runtime::kernels",
            "nnc_runtime::compiled"
        ]),
        face::WEIGHT_BYTES as f64 / 1024.0
    );
    println!(
        "{:<13} {:>12} {:>12}  nnc_runtime's interpreter + nnc_ir + safetensors; .nnc + .safetensors files",
        "interpreter",
        code(&[
            "nnc_runtime::interpreter",
            "nnc_runtime::tensor",
            "nnc_ir::",
            "safetensors::"
        ]),
        format!(
            "{:.1}",
            (std::fs::metadata(files.model()).map_or(0, |m| m.len())
                + std::fs::metadata(files.weights()).map_or(0, |m| m.len())) as f64
                / 1024.0
        )
    );
    println!(
        "{:<13} {:>12} {:>12}  libonnxruntime.so (+ {} KiB of ort bindings); .onnx file",
        "onnxruntime",
        ort_library,
        file_kib(&files.onnx()),
        code(&["ort::", "ort_sys::"])
    );
    println!(
        "{:<13} {:>12} {:>12}  tract_* crates; .onnx file",
        "tract",
        code(&["tract_"]),
        file_kib(&files.onnx())
    );
}

/// `(demangled name, size)` of every text symbol of this binary, or `None` without `nm`.
fn text_symbols() -> Option<Vec<(String, u64)>> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new("nm")
        .args(["-S", "-C", "--defined-only"])
        .arg(&exe)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(4, ' ');
                let (_addr, size, kind, name) =
                    (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                if !matches!(kind, "t" | "T") {
                    return None;
                }
                // Trait impls demangle as `<crate::Type as Trait>::f`; count them by their type.
                let name = name.trim_start_matches('<').to_string();
                Some((name, u64::from_str_radix(size, 16).ok()?))
            })
            .collect(),
    )
}
