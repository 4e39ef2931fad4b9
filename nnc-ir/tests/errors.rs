//! What a person sees when a description is wrong: every problem, with file, line, column, the
//! line underlined and a hint. Each case is a snapshot of the rendered errors.

use nnc_ir::{ErrorKind, parse_graph};

/// Parses `src` as `bad.nnc`, expects it to fail, and snapshots every error it reports.
fn check(name: &str, src: &str, kinds: &[ErrorKind]) {
    let errors =
        parse_graph(src, "models/bad.nnc".as_ref()).expect_err("the description is invalid");
    let found: Vec<ErrorKind> = errors.iter().map(|e| e.kind).collect();
    assert_eq!(found, kinds, "error kinds for {name}:\n{errors}");
    insta::assert_snapshot!(name, errors.to_string());
}

const STEM: &str = "image = input(channels=3)\n";

#[test]
fn unknown_op_lists_the_known_ones() {
    check(
        "unknown_op",
        &format!("{STEM}c1 = convolution(image, out=8, k=3)\noutput c1\n"),
        &[ErrorKind::UnknownOp],
    );
}

#[test]
fn duplicate_layer_name_points_at_the_second_definition() {
    check(
        "duplicate_name",
        &format!("{STEM}c1 = conv(image, out=8, k=3)\nc1 = relu(c1)\noutput c1\n"),
        &[ErrorKind::DuplicateName],
    );
}

#[test]
fn a_name_used_before_its_definition_says_where_it_is_defined() {
    check(
        "defined_later",
        &format!("{STEM}r1 = relu(c1)\nc1 = conv(image, out=8, k=3)\noutput r1\n"),
        &[ErrorKind::UndefinedName],
    );
}

#[test]
fn undefined_names_in_layers_and_outputs() {
    check(
        "undefined",
        &format!("{STEM}r1 = relu(imag)\noutput score = r2\n"),
        &[ErrorKind::UndefinedName, ErrorKind::UndefinedName],
    );
}

#[test]
fn add_of_different_channel_counts() {
    check(
        "channel_mismatch",
        &format!(
            "{STEM}a = conv(image, out=8, k=3, pad=1)\nb = conv(image, out=16, k=3, pad=1)\n\
             s = add(a, b)\noutput s\n"
        ),
        &[ErrorKind::ChannelMismatch],
    );
}

#[test]
fn grouped_convolutions_must_be_depthwise() {
    check(
        "groups",
        &format!(
            "{STEM}a = conv(image, out=8, k=3, pad=1)\nb = conv(a, out=16, k=3, pad=1, groups=8)\n\
             c = conv(a, out=4, k=3, pad=1, groups=4)\nd = conv(a, out=8, k=3, groups=0)\n\
             output b\noutput c\noutput d\n"
        ),
        &[
            ErrorKind::ChannelMismatch,
            ErrorKind::ChannelMismatch,
            ErrorKind::BadArgument,
        ],
    );
}

#[test]
fn arguments_missing_unknown_repeated_or_out_of_range() {
    check(
        "bad_arguments",
        &format!(
            "{STEM}c1 = conv(image, k=3)\nc2 = conv(image, out=8, k=3, dilation=0)\n\
             c3 = conv(image, out=8, k=3, k=5)\nc4 = conv(image, out=0, k=3)\n\
             c5 = conv(image, out=8, k=3, bias=yes)\nc6 = conv(image, out=8, k=3x0)\n\
             p = maxpool(image, k=2, pad=2)\nq = maxpool(image, k=1x3, pad=1)\n\
             r = relu(image, inplace=true)\noutput c2\n"
        ),
        &[ErrorKind::BadArgument; 9],
    );
}

#[test]
fn real_arguments_are_finite_numbers_in_order() {
    check(
        "bad_reals",
        &format!(
            "{STEM}k1 = clip(image, min=6, max=0)\nk2 = clip(image, max=6)\n\
             k3 = hardsigmoid(image, alpha=fast)\nk4 = clip(image, min=-1e400, max=1)\n\
             k5 = pad(image, top=-1)\nk6 = clip(image, min=-5e-1, max=6)\noutput k6\n"
        ),
        &[
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
        ],
    );
}

#[test]
fn upsample_needs_a_whole_factor_of_two_or_more() {
    check(
        "bad_upsample",
        &format!(
            "{STEM}u1 = upsample(image)
u2 = upsample(image, factor=1)
\
             u3 = upsample(image, factor=2.5)
u4 = upsample(image, factor=2)
output u4
"
        ),
        &[
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
        ],
    );
}

#[test]
fn wrong_number_of_inputs() {
    check(
        "arity",
        &format!("{STEM}a = add(image)\nc = concat(image)\nr = relu(image, image)\noutput a\n"),
        &[
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
            ErrorKind::BadArgument,
        ],
    );
}

#[test]
fn syntax_errors_are_all_reported_one_per_statement() {
    check(
        "syntax",
        "image = input(channels=3)\nc1 = conv(image, out=8 k=3)\nc2 conv(image)\n\
         c3 = relu(image) extra\nc4 = relu(image) $\nc5 = conv(image, out=8, k=3, name=\"x)\noutput c1\n",
        &[
            ErrorKind::Syntax,
            ErrorKind::Syntax,
            ErrorKind::Syntax,
            ErrorKind::Syntax,
            ErrorKind::Syntax,
        ],
    );
}

#[test]
fn a_network_needs_one_input_and_an_output() {
    check(
        "no_input_no_output",
        "c1 = relu(x)\n",
        &[
            ErrorKind::UndefinedName,
            ErrorKind::BadGraph,
            ErrorKind::BadGraph,
        ],
    );
    check(
        "two_inputs",
        &format!("{STEM}depth = input(channels=1)\noutput image\n"),
        &[ErrorKind::BadGraph],
    );
}

#[test]
fn a_layer_no_output_uses_is_reported() {
    check(
        "unused_layer",
        &format!("{STEM}c1 = conv(image, out=8, k=3)\nc2 = conv(image, out=8, k=3)\noutput c1\n"),
        &[ErrorKind::BadGraph],
    );
}

#[test]
fn duplicate_output_heads() {
    check(
        "duplicate_output",
        &format!("{STEM}c1 = conv(image, out=8, k=3)\noutput c1\noutput c1\n"),
        &[ErrorKind::DuplicateName],
    );
}

#[test]
fn statements_may_span_lines_inside_parentheses() {
    let src =
        format!("{STEM}c1 = conv(\n    image,\n    out=8,  # channels\n    k=3,\n)\noutput c1\n");
    let graph = parse_graph(&src, "ok.nnc".as_ref()).unwrap();
    assert_eq!(
        graph.nodes[1].op.to_string(),
        "conv out=8 k=3 stride=1 pad=0"
    );
}

#[test]
fn an_unclosed_parenthesis_is_caught_at_the_next_layer() {
    check(
        "unclosed_paren",
        &format!("{STEM}c1 = conv(image, out=8, k=3\nr1 = relu(c1)\noutput r1\n"),
        &[ErrorKind::Syntax],
    );
}

#[test]
fn a_broken_layer_is_reported_once_not_at_every_use_downstream() {
    check(
        "no_cascade",
        &format!(
            "{STEM}c1 = cnov(image, out=8, k=3)\nr1 = relu(c1)\np1 = maxpool(r1, k=2)\nq = relu(missing)\noutput p1\noutput q\n"
        ),
        &[ErrorKind::UnknownOp, ErrorKind::UndefinedName],
    );
}
