//! Exported ONNX files run in ONNX Runtime, against the reference interpreter on the same inputs:
//! the check that an export means what nnc means, where `nnc-ir`'s own tests check only that it
//! encodes the graph the exporter intended.
//!
//! ONNX Runtime is the Python wheel that `bash benches/setup-onnxruntime.sh` installs into
//! `benches/.venv` (`NNC_ONNX_PYTHON` names another Python that has it), driven by one Python
//! process for every case, so the test costs no Rust build time. Without it the test says so on
//! stderr and passes; under `NNC_REQUIRE_ONNXRUNTIME=1`, which `.ci/run` sets, it fails instead.

use nnc::ir::testing::{Rng, random_input, random_weights};
use nnc::ir::{Dtype, Model, Shape, onnx, parse_graph};
use nnc::{Interpreter, Tensor};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs each case's model on its NCHW input and writes every output as raw little-endian f32,
/// with the names and shapes in a JSON list per case.
const RUNNER: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort

cases = json.load(open(sys.argv[1]))
options = ort.SessionOptions()
options.intra_op_num_threads = 1
results = []
for case in cases:
    session = ort.InferenceSession(case["model"], options, providers=["CPUExecutionProvider"])
    x = np.fromfile(case["input"], dtype="<f4").reshape(case["shape"])
    names = [o.name for o in session.get_outputs()]
    heads = []
    for name, y in zip(names, session.run(None, {session.get_inputs()[0].name: x})):
        path = case["input"] + "." + name.replace("/", "_")
        np.ascontiguousarray(y, dtype="<f4").tofile(path)
        heads.append({"name": name, "shape": list(y.shape), "path": path})
    results.append(heads)
json.dump(results, open(sys.argv[2], "w"))
"#;

/// One exported model at one input size, with what the interpreter computes for it.
struct Case {
    what: String,
    onnx: PathBuf,
    input: Tensor,
    expected: nnc::Outputs,
    /// The ONNX outputs are `[1, H * W, C]`, transposed to NHWC and flattened by the graph (as
    /// nnc-onnx imports them), rather than NCHW.
    nhwc: bool,
}

/// A Python with `onnxruntime`, or `None` (said on stderr) where there is none and
/// `NNC_REQUIRE_ONNXRUNTIME` is not `1`.
fn python_with_onnxruntime() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("NNC_ONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("benches/.venv/bin/python"));
    let found = Command::new(&python)
        .args(["-c", "import numpy, onnxruntime"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    let why = format!(
        "no ONNX Runtime: {} cannot import onnxruntime (run `bash benches/setup-onnxruntime.sh`, \
         or set NNC_ONNX_PYTHON to a Python that has it)",
        python.display()
    );
    assert!(
        std::env::var_os("NNC_REQUIRE_ONNXRUNTIME").is_none_or(|v| v != "1"),
        "NNC_REQUIRE_ONNXRUNTIME=1, but {why}"
    );
    // Straight to stderr: the harness hides what `eprintln!` prints in a passing test.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    None
}

fn load(nnc: &Path, weights: &Path) -> Model {
    Model::load(nnc, weights).unwrap_or_else(|e| panic!("{e}"))
}

/// A model from a description with seeded random weights.
fn model_from(src: &str) -> Model {
    let file = Path::new("padadd.nnc");
    let graph = parse_graph(src, file).unwrap_or_else(|e| panic!("{e}"));
    let bytes = random_weights(&graph, &mut Rng::new(5), Dtype::F32);
    Model::from_sources(src, file, &bytes, Path::new("padadd.safetensors"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The cases of one model at each of `sizes` (height, width) where its branches line up.
fn cases(what: &str, model: Model, onnx: PathBuf, sizes: &[(usize, usize)]) -> Vec<Case> {
    let c = model.graph.input_channels();
    let sizes: Vec<(usize, usize)> = sizes
        .iter()
        .copied()
        .filter(|&(h, w)| model.graph.infer_shapes(h, w).is_ok())
        .collect();
    assert!(!sizes.is_empty(), "{what}: no size runs");
    let interpreter = Interpreter::new(model);
    let mut rng = Rng::new(31);
    sizes
        .into_iter()
        .map(|(h, w)| {
            let input = Tensor::from_vec(Shape { h, w, c }, random_input(&mut rng, h, w, c));
            let expected = interpreter.run(&input).unwrap();
            Case {
                what: format!("{what} at {w}x{h}"),
                onnx: onnx.clone(),
                input,
                expected,
                nhwc: false,
            }
        })
        .collect()
}

/// Writes the export of `model` to `dir` and returns its path.
fn exported(model: &Model, dir: &Path, stem: &str) -> PathBuf {
    let path = dir.join(format!("{stem}.onnx"));
    std::fs::write(&path, onnx::export(model).unwrap()).unwrap();
    path
}

/// NHWC to NCHW.
fn nchw(t: &Tensor) -> Vec<f32> {
    let mut out = vec![0.0; t.data.len()];
    for y in 0..t.h {
        for x in 0..t.w {
            for c in 0..t.c {
                out[(c * t.h + y) * t.w + x] = t.data[(y * t.w + x) * t.c + c];
            }
        }
    }
    out
}

fn f32s(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn exported_models_run_in_onnx_runtime_as_in_the_interpreter() {
    let Some(python) = python_with_onnxruntime() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx_runtime");
    std::fs::create_dir_all(&dir).unwrap();
    let odd = [(96, 128), (61, 83)];
    let mut all = Vec::new();

    // The committed files, as benches/compare reads them.
    for stem in ["testnet", "face_student"] {
        let models = root.join("models");
        let model = load(
            &models.join(format!("{stem}.nnc")),
            &models.join(format!("{stem}.safetensors")),
        );
        all.extend(cases(
            stem,
            model,
            models.join(format!("{stem}.onnx")),
            &odd,
        ));
    }
    // The seeded random networks: every op, fused or not, padadd in four of them.
    let random = root.join("tests/random");
    let mut stems: Vec<String> = std::fs::read_dir(&random)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".nnc").map(String::from)
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 12, "{stems:?}");
    for stem in &stems {
        let model = load(
            &random.join(format!("{stem}.nnc")),
            &random.join(format!("{stem}.safetensors")),
        );
        let onnx = exported(&model, &dir, stem);
        all.extend(cases(stem, model, onnx, &[(48, 64), (45, 61)]));
    }
    // padadd where each input is the larger one on some axis: `a` in height and width, `b` in
    // channels; the sizes are odd, so `b`'s height and width are not exactly half of `a`'s.
    let model = model_from(
        "image = input(channels=3)\n\
         a = conv(image, out=4, k=3, pad=1)\n\
         b = conv(image, out=6, k=3, stride=2, pad=1)\n\
         s = padadd(a, b)\n\
         output s\n",
    );
    let onnx = exported(&model, &dir, "padadd");
    all.extend(cases("padadd", model, onnx, &[(13, 17), (8, 8)]));
    // upsample, exported as Resize (nearest, asymmetric, floor), in a small feature pyramid.
    let model = load(
        &root.join("tests/models/fpn.nnc"),
        &root.join("tests/models/fpn.safetensors"),
    );
    let onnx = exported(&model, &dir, "fpn");
    all.extend(cases("fpn", model, onnx, &[(48, 64), (24, 40)]));
    // YuNet, from the teachers' ONNX files as they are, imported by nnc-onnx: the interpreter
    // on the imported network against ONNX Runtime on the file.
    let teachers = root.join("../shared/data/teachers");
    if teachers.is_dir() {
        for (file, size) in [
            ("yunet_n_dynamic.onnx", (480, 640)),
            ("yunet_s_dynamic.onnx", (480, 640)),
            ("yunet_s_640_640.onnx", (640, 640)),
        ] {
            let path = teachers.join(file);
            let imported = nnc_onnx::import(&std::fs::read(&path).unwrap(), &path)
                .unwrap_or_else(|e| panic!("{e}"));
            let model = imported.model(&path).unwrap_or_else(|e| panic!("{e}"));
            all.extend(
                cases(file, model, path, &[size])
                    .into_iter()
                    .map(|case| Case { nhwc: true, ..case }),
            );
        }
    } else if std::env::var("MEMORIES_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
        panic!("{} is missing", teachers.display());
    } else {
        eprintln!(
            "onnx_runtime: no {}; the YuNet cases are skipped",
            teachers.display()
        );
    }
    // Every op-by-op fixture (tests/onnx), imported and exported again: what nnc-onnx reads, the
    // exporter writes back in a form ONNX Runtime runs the same (`clip`, `hardswish`, `affine`,
    // `pad`, `softmax`, ... included).
    let fixtures = root.join("tests/onnx");
    let mut stems: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".onnx").map(String::from)
        })
        .collect();
    stems.sort();
    for stem in &stems {
        let path = fixtures.join(format!("{stem}.onnx"));
        let imported = nnc_onnx::import(&std::fs::read(&path).unwrap(), &path)
            .unwrap_or_else(|e| panic!("{e}"));
        let model = imported.model(&path).unwrap_or_else(|e| panic!("{e}"));
        if imported.fixed_size != (None, None) {
            continue;
        }
        let onnx = exported(&model, &dir, &format!("fixture_{stem}"));
        all.extend(cases(stem, model, onnx, &[(37, 23), (20, 31)]));
    }
    // The face embedding network, where padadd joins each downsampling block to its skip path.
    let models = root.join("models");
    let model = load(
        &models.join("face_embedding.nnc"),
        &models.join("face_embedding.safetensors"),
    );
    let onnx = exported(&model, &dir, "face_embedding");
    all.extend(cases("face_embedding", model, onnx, &[(150, 150)]));

    let manifest: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let input = dir.join(format!("input{i}.f32"));
            let bytes: Vec<u8> = nchw(&case.input)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            std::fs::write(&input, bytes).unwrap();
            let t = &case.input;
            json!({
                "model": case.onnx,
                "input": input,
                "shape": [1, t.c, t.h, t.w],
            })
        })
        .collect();
    let (script, cases_json, results_json) = (
        dir.join("run.py"),
        dir.join("cases.json"),
        dir.join("results.json"),
    );
    std::fs::write(&script, RUNNER).unwrap();
    std::fs::write(&cases_json, serde_json::to_string(&manifest).unwrap()).unwrap();
    let run = Command::new(&python)
        .arg(&script)
        .arg(&cases_json)
        .arg(&results_json)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "ONNX Runtime failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results: Vec<Vec<Value>> =
        serde_json::from_str(&std::fs::read_to_string(&results_json).unwrap()).unwrap();
    assert_eq!(results.len(), all.len());

    for (case, heads) in all.iter().zip(&results) {
        let what = &case.what;
        let names: Vec<&str> = heads.iter().map(|h| h["name"].as_str().unwrap()).collect();
        let want: Vec<&str> = case
            .expected
            .heads
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, want, "{what}: heads");
        for (head, (name, expect)) in heads.iter().zip(&case.expected.heads) {
            let shape: Vec<u64> = serde_json::from_value(head["shape"].clone()).unwrap();
            let (c, h, w) = (expect.c as u64, expect.h as u64, expect.w as u64);
            let got = f32s(Path::new(head["path"].as_str().unwrap()));
            let expect = if case.nhwc {
                assert_eq!(shape, [1, h * w, c], "{what}: head {name}");
                expect.data.clone()
            } else {
                assert_eq!(shape, [1, c, h, w], "{what}: head {name}");
                nchw(expect)
            };
            assert_eq!(got.len(), expect.len(), "{what}: head {name}");
            for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
                assert!(
                    (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                    "{what}: head {name}[{i}] ({}): ONNX Runtime {g}, interpreter {e}",
                    if case.nhwc { "NHWC" } else { "NCHW" }
                );
            }
        }
    }
}
