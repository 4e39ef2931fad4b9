//! Damaged descriptions never panic: every error points inside the text, and whatever parses
//! survives shape inference at any size. A stable-toolchain companion to the `fuzz/` targets, run
//! on every `cargo test`.

use nnc_ir::testing::{Rng, random_network};
use nnc_ir::{Model, parse_graph};

/// Pieces that make interesting damage: the format's own punctuation and words.
const SPLICES: &[&str] = &[
    "(",
    ")",
    "=",
    ",",
    "\n",
    "#",
    "\"",
    "output ",
    "conv",
    "k=",
    "-1",
    "99999999999999999999",
    "0",
    "x",
    "é",
    "\t",
    "input(channels=3)",
    "add(",
    "concat(a, a)",
    "pad=300",
    "stride=0",
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut text: Vec<char> = src.chars().collect();
    for _ in 0..rng.range(1, 4) {
        let at = rng.range(0, text.len());
        match rng.range(0, 2) {
            0 if at < text.len() => {
                let end = (at + rng.range(1, 12)).min(text.len());
                text.drain(at..end);
            }
            1 => {
                let piece = rng.pick(SPLICES);
                text.splice(at..at, piece.chars());
            }
            _ if at < text.len() => text[at] = char::from(rng.range(0x20, 0x7e) as u8),
            _ => {}
        }
    }
    text.into_iter().collect()
}

#[test]
fn mutated_descriptions_give_located_errors_or_valid_graphs() {
    let mut rng = Rng::new(11);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..3000 {
        let base = random_network(&mut rng);
        let src = mutate(&mut rng, &base);
        match parse_graph(&src, "m.nnc".as_ref()) {
            Ok(graph) => {
                ok += 1;
                for n in [1, 2, 7, 33] {
                    let _ = graph.infer_shapes(n, n + 3);
                }
            }
            Err(errors) => {
                failed += 1;
                let lines = src.lines().count().max(1) as u32 + 1;
                for e in &errors {
                    if let Some(span) = e.span {
                        assert!(span.line >= 1 && span.line <= lines, "{e}\n---\n{src}");
                        assert!(span.end <= src.len(), "{e}");
                    }
                    let _ = e.to_string();
                }
            }
        }
    }
    assert!(
        ok >= 20 && failed >= 1000,
        "mutations too weak or too strong: {ok} ok, {failed} failed"
    );
}

#[test]
fn random_bytes_never_panic_the_parser_or_the_weights_loader() {
    let mut rng = Rng::new(5);
    for _ in 0..2000 {
        let len = rng.range(0, 200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_graph(&text, "r.nnc".as_ref());
        let _ = Model::from_sources(
            "x = input(channels=1)\noutput x\n",
            "r.nnc".as_ref(),
            &bytes,
            "r.st".as_ref(),
        );
    }
}
