"""Writes the op-by-op ONNX fixtures of `tests/onnx_ops.rs`: one small ONNX file per op and
attribute combination (built with onnx.helper, no framework), and beside it the outputs ONNX
Runtime computes for a seeded input, as a safetensors file. CI then needs no Python.

    benches/.venv/bin/python models/onnx_ops/make_fixtures.py [OUT_DIR]   # default tests/onnx

`bash benches/setup-onnxruntime.sh` makes benches/.venv; add `pip install onnx` to it.

Sizes are odd on purpose: a 37-row, 23-column input (`inputs: 23 x 37` in `nnc!`), 5 or 13
channels. Every graph has one input, `image`, and its outputs are named `y` (and `z`). The input's
height and width are dynamic (`height`, `width`) except in the fixtures named `fixed_*`.

Each `NAME.safetensors` holds `input` (NCHW, float32) and every graph output by name, as ONNX
Runtime returns it on one thread.
"""

import os
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "train"))
from safetensors_io import save_safetensors  # noqa: E402

HEIGHT, WIDTH = 37, 23
FIXTURES = {}


def fixture(opset=13, channels=5, fixed=False):
    """Registers a graph builder under its function name."""

    def register(build):
        FIXTURES[build.__name__] = (build, opset, channels, fixed)
        return build

    return register


class Graph:
    """Nodes and initializers, with seeded random weights."""

    def __init__(self, rng, channels):
        self.rng = rng
        self.nodes = []
        self.initializers = []
        self.channels = channels
        self.count = 0
        # Output shapes that shape inference cannot find (a Reshape to a computed shape).
        self.output_shapes = {}

    def name(self, base):
        self.count += 1
        return f"{base}{self.count}"

    def constant(self, base, array, dtype=np.float32):
        name = self.name(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, outputs=None, **attrs):
        outputs = outputs or [self.name(op.lower())]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.name(op), **attrs))
        return outputs[0]

    def conv(self, x, cin, cout, k, group=1, bias=True, output=None, **attrs):
        kh, kw = (k, k) if isinstance(k, int) else k
        fan_in = cin // group * kh * kw
        w = self.rng.normal(0, 1 / np.sqrt(fan_in), (cout, cin // group, kh, kw))
        inputs = [x, self.constant("w", w)]
        if bias:
            inputs.append(self.constant("b", self.rng.normal(0, 0.5, cout)))
        outputs = [output] if output else None
        return self.node("Conv", inputs, outputs, kernel_shape=[kh, kw], group=group, **attrs)


# Convolution: kernels, strides, pads, groups, bias.


@fixture()
def conv_3x3_pad1(g):
    g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1], output="y")


@fixture()
def conv_1x1_no_bias(g):
    g.conv("image", 5, 13, 1, bias=False, output="y")


@fixture()
def conv_5x5_stride2_pad2(g):
    g.conv("image", 5, 13, 5, strides=[2, 2], pads=[2, 2, 2, 2], output="y")


@fixture()
def conv_3x3_stride2_no_pad(g):
    g.conv("image", 5, 13, 3, strides=[2, 2], output="y")


@fixture()
def conv_7x7_stride2_pad3(g):
    g.conv("image", 5, 13, 7, strides=[2, 2], pads=[3, 3, 3, 3], output="y")


@fixture(channels=13)
def conv_depthwise_3x3(g):
    g.conv("image", 13, 13, 3, group=13, pads=[1, 1, 1, 1], output="y")


@fixture(channels=13)
def conv_depthwise_3x3_stride2(g):
    g.conv("image", 13, 13, 3, group=13, strides=[2, 2], pads=[1, 1, 1, 1], output="y")


@fixture()
def conv_auto_pad_same_upper(g):
    g.conv("image", 5, 13, 3, auto_pad="SAME_UPPER", output="y")


@fixture()
def conv_auto_pad_valid(g):
    g.conv("image", 5, 13, 3, auto_pad="VALID", output="y")


# Windows that differ by axis, and dilation (UltraFace's dilated branches).


@fixture()
def conv_1x3_pad_0_1(g):
    g.conv("image", 5, 13, (1, 3), pads=[0, 1, 0, 1], output="y")


@fixture()
def conv_3x1_strides_2_1(g):
    g.conv("image", 5, 13, (3, 1), strides=[2, 1], pads=[1, 0, 1, 0], output="y")


@fixture()
def conv_5x3_strides_1_2_uneven_pads(g):
    g.conv("image", 5, 13, (5, 3), strides=[1, 2], pads=[2, 1, 1, 0], output="y")


@fixture()
def conv_3x3_dilation2_pad2(g):
    g.conv("image", 5, 13, 3, dilations=[2, 2], pads=[2, 2, 2, 2], output="y")


@fixture()
def conv_3x3_dilations_3_1_pad_3_1(g):
    g.conv("image", 5, 13, 3, dilations=[3, 1], pads=[3, 1, 3, 1], output="y")


@fixture()
def conv_3x2_auto_pad_same_upper(g):
    g.conv("image", 5, 13, (3, 2), auto_pad="SAME_UPPER", output="y")


@fixture(channels=13)
def conv_depthwise_3x3_dilation2(g):
    g.conv("image", 13, 13, 3, group=13, dilations=[2, 2], pads=[2, 2, 2, 2], output="y")


@fixture()
def conv_batch_norm(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    scale = g.constant("scale", g.rng.uniform(0.5, 1.5, 13))
    bias = g.constant("shift", g.rng.normal(0, 0.5, 13))
    mean = g.constant("mean", g.rng.normal(0, 0.5, 13))
    var = g.constant("var", g.rng.uniform(0.5, 2.0, 13))
    g.node("BatchNormalization", [x, scale, bias, mean, var], ["y"], epsilon=1e-3)


# Activations.


@fixture()
def relu(g):
    g.node("Relu", ["image"], ["y"])


@fixture()
def sigmoid(g):
    g.node("Sigmoid", ["image"], ["y"])


@fixture()
def leaky_relu(g):
    g.node("LeakyRelu", ["image"], ["y"], alpha=0.2)


@fixture()
def prelu_per_channel(g):
    slope = g.constant("slope", g.rng.uniform(-0.5, 0.5, (5, 1, 1)))
    g.node("PRelu", ["image", slope], ["y"])


@fixture()
def prelu_one_slope(g):
    slope = g.constant("slope", [0.25])
    g.node("PRelu", ["image", slope], ["y"])


# Pooling.


@fixture()
def max_pool_2x2(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2])


@fixture()
def max_pool_3x3_stride2_pad1(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])


@fixture()
def max_pool_3x3_stride1_pad1(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])


@fixture()
def average_pool_2x2(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2])


@fixture()
def average_pool_3x3_pad1_excluding_pad(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)


@fixture()
def max_pool_1x3_strides_1_2_pad(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[1, 3], strides=[1, 2], pads=[0, 1, 0, 1])


@fixture()
def max_pool_3x2_ceil(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[3, 2], strides=[3, 2], ceil_mode=1)


@fixture()
def average_pool_3x2_strides_2_1_excluding_pad(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 0], count_include_pad=0)


@fixture()
def max_pool_2x2_ceil(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)


@fixture()
def max_pool_3x3_stride3_ceil(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[3, 3], strides=[3, 3], ceil_mode=1)


@fixture()
def max_pool_2x2_pad1_ceil_drops_a_window_in_the_padding(g):
    g.node("MaxPool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
           ceil_mode=1)


@fixture()
def average_pool_3x3_stride3_ceil(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[3, 3], strides=[3, 3], ceil_mode=1)


@fixture()
def average_pool_2x2_pad1_ceil_excluding_pad(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
           ceil_mode=1, count_include_pad=0)


# Joining.


@fixture()
def add(g):
    a = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    b = g.conv("image", 5, 13, 1)
    g.node("Add", [a, b], ["y"])


@fixture()
def concat(g):
    a = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    b = g.conv("image", 5, 7, 1)
    g.node("Concat", [a, "image", b], ["y"], axis=1)


# Upsampling.


@fixture(opset=13)
def resize_nearest_asymmetric_2x(g):
    roi = g.constant("roi", [], np.float32)
    scales = g.constant("scales", [1, 1, 2, 2])
    g.node("Resize", ["image", roi, scales], ["y"], mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor")


@fixture(opset=11)
def resize_nearest_half_pixel_3x(g):
    roi = g.constant("roi", [], np.float32)
    scales = g.constant("scales", [1, 1, 3, 3])
    g.node("Resize", ["image", roi, scales], ["y"], mode="nearest",
           coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor")


@fixture(opset=19)
def resize_nearest_default_modes_2x(g):
    scales = g.constant("scales", [1, 1, 2, 2])
    g.node("Resize", ["image", "", scales], ["y"], mode="nearest")


@fixture(opset=9)
def upsample_opset9_2x(g):
    scales = g.constant("scales", [1, 1, 2, 2])
    g.node("Upsample", ["image", scales], ["y"], mode="nearest")


# Heads and plumbing.


@fixture()
def nhwc_head(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    t = g.node("Transpose", [x], perm=[0, 2, 3, 1])
    shape = g.constant("shape", [1, -1, 13], np.int64)
    g.node("Reshape", [t, shape], ["y"])


@fixture()
def nhwc_head_from_computed_shape(g):
    x = g.conv("image", 5, 13, 3, strides=[2, 2], pads=[1, 1, 1, 1])
    t = g.node("Transpose", [x], perm=[0, 2, 3, 1])
    s = g.node("Shape", [x])
    n = g.node("Gather", [s, g.constant("zero", 0, np.int64)], axis=0)
    n = g.node("Unsqueeze", [n, g.constant("axes", [0], np.int64)])
    rest = g.constant("rest", [-1, 13], np.int64)
    shape = g.node("Concat", [n, rest], axis=0)
    g.node("Reshape", [t, shape], ["y"])
    g.output_shapes["y"] = [1, "cells", 13]
    g.node("Sigmoid", [x], ["z"])


@fixture()
def identity_and_dropout(g):
    x = g.node("Identity", ["image"])
    x = g.conv(x, 5, 13, 3, pads=[1, 1, 1, 1])
    g.node("Dropout", [x], ["y"])


@fixture(opset=9)
def opset9_conv_relu_pool(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    x = g.node("Relu", [x])
    g.node("MaxPool", [x], ["y"], kernel_shape=[2, 2], strides=[2, 2])


@fixture(opset=21, fixed=True)
def fixed_opset21_conv(g):
    g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1], output="y")


# Activations that clamp.


@fixture()
def clip_both_bounds(g):
    lo, hi = g.constant("lo", np.float32(-0.5)), g.constant("hi", np.float32(0.5))
    g.node("Clip", ["image", lo, hi], ["y"])


@fixture()
def clip_relu6_after_conv(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    x = g.node("Mul", [x, g.constant("gain", np.float32(8.0))])
    lo, hi = g.constant("lo", np.float32(0.0)), g.constant("hi", np.float32(6.0))
    g.node("Clip", [x, lo, hi], ["y"])


@fixture()
def clip_min_only(g):
    lo = g.constant("lo", np.float32(-0.25))
    g.node("Clip", ["image", lo], ["y"])


@fixture(opset=9)
def clip_opset9_attributes(g):
    g.node("Clip", ["image"], ["y"], min=-0.3, max=0.7)


@fixture()
def hard_sigmoid(g):
    g.node("HardSigmoid", ["image"], ["y"], alpha=1.5, beta=0.4)


@fixture(opset=14)
def hard_swish(g):
    x = g.node("Mul", ["image", g.constant("gain", np.float32(5.0))])
    g.node("HardSwish", [x], ["y"])


# Arithmetic with constants, and products.


@fixture()
def mul_two_values(g):
    a = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    b = g.conv("image", 5, 13, 1)
    g.node("Mul", [a, b], ["y"])


@fixture()
def mul_per_channel_constant(g):
    x = g.node("Relu", ["image"])
    g.node("Mul", [x, g.constant("c", g.rng.normal(0, 1, (1, 5, 1, 1)))], ["y"])


@fixture()
def add_per_channel_constant_folded_into_conv(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    g.node("Add", [g.constant("c", g.rng.normal(0, 1, (13, 1, 1))), x], ["y"])


@fixture()
def conv_mul_add_folded(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1], bias=False)
    x = g.node("Mul", [x, g.constant("s", g.rng.normal(0, 1, (13, 1, 1)))])
    g.node("Add", [x, g.constant("t", g.rng.normal(0, 1, (13, 1, 1)))], ["y"])


@fixture()
def sub_and_div_by_constants(g):
    x = g.node("Sub", ["image", g.constant("mean", g.rng.normal(0, 1, (1, 5, 1, 1)))])
    g.node("Div", [x, g.constant("std", g.rng.uniform(0.5, 2, (1, 5, 1, 1)))], ["y"])


@fixture()
def sub_from_constant(g):
    g.node("Sub", [g.constant("c", np.float32(0.25)), "image"], ["y"])


@fixture()
def batch_norm_alone(g):
    scale = g.constant("scale", g.rng.uniform(0.5, 1.5, 5))
    bias = g.constant("shift", g.rng.normal(0, 0.5, 5))
    mean = g.constant("mean", g.rng.normal(0, 0.5, 5))
    var = g.constant("var", g.rng.uniform(0.5, 2.0, 5))
    g.node("BatchNormalization", ["image", scale, bias, mean, var], ["y"])


# Padding.


@fixture()
def pad_height_and_width(g):
    pads = g.constant("pads", [0, 0, 1, 2, 0, 0, 3, 0], np.int64)
    g.node("Pad", ["image", pads], ["y"])


@fixture(opset=9)
def pad_opset9_attributes(g):
    g.node("Pad", ["image"], ["y"], pads=[0, 0, 2, 0, 0, 0, 0, 1])


@fixture()
def conv_asymmetric_pads_stride2(g):
    g.conv("image", 5, 13, 3, strides=[2, 2], pads=[0, 0, 1, 1], output="y")


@fixture()
def conv_uneven_pads(g):
    g.conv("image", 5, 13, 3, pads=[1, 2, 2, 1], output="y")


@fixture()
def conv_auto_pad_same_lower_even_kernel(g):
    g.conv("image", 5, 13, 2, auto_pad="SAME_LOWER", output="y")


@fixture()
def conv_auto_pad_same_upper_even_kernel(g):
    g.conv("image", 5, 13, 4, auto_pad="SAME_UPPER", output="y")


@fixture()
def average_pool_3x3_stride2_counting_pad(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
           count_include_pad=1)


@fixture()
def average_pool_2x2_counting_uneven_pad(g):
    g.node("AveragePool", ["image"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1],
           count_include_pad=1)


# Global pooling and classifier heads.


@fixture()
def global_average_pool(g):
    g.node("GlobalAveragePool", ["image"], ["y"])


@fixture(opset=11)
def classifier_gemm_softmax_opset11(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    x = g.node("Relu", [x])
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    w = g.constant("fc", g.rng.normal(0, 0.5, (7, 13)))
    b = g.constant("fc_bias", g.rng.normal(0, 0.5, 7))
    x = g.node("Gemm", [x, w, b], transB=1, alpha=0.75, beta=1.25)
    g.node("Softmax", [x], ["y"], axis=1)


@fixture()
def embedding_matmul_add(g):
    x = g.conv("image", 5, 13, 3, strides=[2, 2], pads=[1, 1, 1, 1])
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Reshape", [x, g.constant("flat", [1, -1], np.int64)])
    x = g.node("MatMul", [x, g.constant("proj", g.rng.normal(0, 0.5, (13, 9)))])
    g.node("Add", [x, g.constant("proj_bias", g.rng.normal(0, 0.5, 9))], ["y"])


@fixture()
def softmax_over_channels(g):
    x = g.conv("image", 5, 13, 1)
    g.node("Softmax", [x], ["y"], axis=1)


@fixture()
def softmax_nhwc_head(g):
    x = g.conv("image", 5, 13, 3, pads=[1, 1, 1, 1])
    t = g.node("Transpose", [x], perm=[0, 2, 3, 1])
    r = g.node("Reshape", [t, g.constant("shape", [1, -1, 13], np.int64)])
    g.node("Softmax", [r], ["y"], axis=-1)


def build(name, rng):
    build_graph, opset, channels, fixed = FIXTURES[name]
    g = Graph(rng, channels)
    build_graph(g)
    dims = [1, channels, HEIGHT, WIDTH] if fixed else [1, channels, "height", "width"]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)
    produced = {o for n in g.nodes for o in n.output}
    outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, g.output_shapes.get(o))
               for o in ["y", "z"] if o in produced]
    graph = helper.make_graph(g.nodes, name, [image], outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nnc make_fixtures.py")
    model.ir_version = 7 if opset <= 15 else 10
    # Shape inference gives the outputs their shapes (symbolic where the input's are), which the
    # checker wants.
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    return model, channels


def error_fixtures(out):
    """The ONNX files of the compile-error tests (`tests/ui/onnx_*.rs`), one per class of mistake."""
    rng = np.random.default_rng(7)

    def save(name, nodes, initializers, dims, opset=13):
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        graph = helper.make_graph(nodes, name, [image], [y], initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 7
        onnx.save(model, os.path.join(out, name + ".onnx"))

    w = numpy_helper.from_array(rng.normal(0, 0.3, (10, 1, 3, 3)).astype(np.float32), "w")
    # Three nodes nnc does not run, after one it does: all three are reported at once.
    save("onnx_unsupported", [
        helper.make_node("Conv", ["image", "w"], ["c"], name="grouped", kernel_shape=[3, 3], group=5),
        helper.make_node("Relu", ["image"], ["r"], name="fine"),
        helper.make_node("Softplus", ["r"], ["s"], name="softplus"),
        helper.make_node("LRN", ["s"], ["n"], name="lrn", size=3),
        helper.make_node("Add", ["c", "n"], ["y"], name="join"),
    ], [w], [1, 5, "height", "width"])
    save("onnx_dynamic_channels", [helper.make_node("Relu", ["image"], ["y"])], [], [1, "channels", "height", "width"])
    # The first 100 bytes of a valid file.
    with open(os.path.join(out, "..", "..", "onnx", "conv_3x3_pad1.onnx"), "rb") as f:
        whole = f.read()
    with open(os.path.join(out, "onnx_truncated.onnx"), "wb") as f:
        f.write(whole[:100])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "onnx")
    os.makedirs(out, exist_ok=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    for name in sorted(FIXTURES):
        # Seeded by the name, so that adding a fixture changes no other.
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        model, channels = build(name, rng)
        path = os.path.join(out, name + ".onnx")
        onnx.save(model, path)
        x = rng.uniform(-1, 1, (1, channels, HEIGHT, WIDTH)).astype(np.float32)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        results = session.run(None, {"image": x})
        tensors = {"input": x}
        tensors.update({n: np.asarray(r, dtype=np.float32) for n, r in zip(names, results)})
        save_safetensors(tensors, os.path.join(out, name + ".safetensors"))
        shapes = ", ".join(f"{n} {list(r.shape)}" for n, r in zip(names, results))
        print(f"{name}: opset {model.opset_import[0].version}, {shapes}")
    error_fixtures(os.path.join(out, "..", "ui", "models"))


if __name__ == "__main__":
    main()
