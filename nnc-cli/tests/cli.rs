//! The `nnc` binary as a person runs it: what it prints (snapshots), its exit status, and the
//! files `import` and `export` write, read back through the same pipeline as `nnc!`.

use nnc_ir::Model;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `nnc` from the workspace root, so that paths in its output are the repository's.
fn nnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fresh directory under cargo's scratch space for this test binary.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_lists_every_layer_with_shapes_and_flops() {
    let o = nnc(&[
        "check",
        "tests/onnx/nhwc_head_from_computed_shape.onnx",
        "--input",
        "23x37",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn check_reads_nnc_descriptions_with_their_weights() {
    let o = nnc(&["check", "models/testnet.nnc", "--input", "160x120"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("total flops=46027200"),
        "{}",
        stdout(&o)
    );
    let o = nnc(&[
        "check",
        "models/testnet.nnc",
        "--weights",
        "models/face_student.safetensors",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("models/face_student.safetensors"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn errors_name_the_file_and_exit_with_1() {
    let o = nnc(&["check", "tests/ui/models/onnx_unsupported.onnx"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("unsupported", stderr(&o));
    let o = nnc(&[
        "plan",
        "tests/onnx/fixed_opset21_conv.onnx",
        "--inputs",
        "23x37",
        "--scales",
        "1,0.5",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("fixed_size", stderr(&o));
    let o = nnc(&["check", "tests/onnx/missing.onnx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("cannot read tests/onnx/missing.onnx: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_arguments_exit_with_2() {
    for args in [
        &["plan", "models/testnet.nnc"][..],
        &["check", "models/testnet.nnc", "--input", "640"],
        &["frobnicate"],
    ] {
        let o = nnc(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn plan_shows_the_schedule_and_a_verified_arena_at_its_lower_bound() {
    let o = nnc(&[
        "plan",
        "models/testnet.nnc",
        "--inputs",
        "160x120,96x128",
        "--scales",
        "1,0.5,0.25",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("fused testnet: 11 groups\n  conv1+act1\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("verified: no two live buffers overlap")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("input 96 x 128 (width x height), scales [1.0, 0.5, 0.25]"),
        "{text}"
    );
    for line in text.lines().filter(|l| l.contains("lower bound")) {
        // "arena N bytes, lower bound M bytes, ...": testnet's plans reach their bound.
        let numbers: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(numbers[1], numbers[5], "{line}");
    }
}

#[test]
fn import_writes_a_description_and_weights_that_load_as_the_onnx_file_does() {
    let dir = scratch("import");
    let out = dir.join("yunet.nnc");
    let o = nnc(&["import", "models/yunet_s.onnx", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = Model::load(&out, &out.with_extension("safetensors")).unwrap();
    let onnx = root().join("models/yunet_s.onnx");
    let imported = nnc_onnx::import(&std::fs::read(&onnx).unwrap(), &onnx).unwrap();
    let direct = imported.model(&onnx).unwrap();
    assert_eq!(written.graph.nodes.len(), direct.graph.nodes.len());
    for (a, b) in written.graph.nodes.iter().zip(&direct.graph.nodes) {
        assert_eq!((&a.name, a.op, &a.inputs), (&b.name, b.op, &b.inputs));
    }
    assert_eq!(written.weights, direct.weights);
    // No temporary file is left beside them.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["yunet.nnc", "yunet.safetensors"]);
}

#[test]
fn export_then_import_gives_the_same_model() {
    let dir = scratch("export");
    let onnx = dir.join("testnet.onnx");
    let o = nnc(&["export", "models/testnet.nnc", "-o", onnx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = dir.join("back.nnc");
    let o = nnc(&[
        "import",
        onnx.to_str().unwrap(),
        "-o",
        back.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let original = Model::load(
        &root().join("models/testnet.nnc"),
        &root().join("models/testnet.safetensors"),
    )
    .unwrap();
    let again = Model::load(&back, &back.with_extension("safetensors")).unwrap();
    let ops = |m: &Model| m.graph.nodes.iter().map(|n| n.op).collect::<Vec<_>>();
    assert_eq!(ops(&original), ops(&again));
    assert_eq!(
        original.weights.parameter_count(),
        again.weights.parameter_count()
    );
}
