"""FLOPs of a .nnc network at given input sizes, counted as nnc's IR listing counts them
(conv 2*OH*OW*CO*(CI/groups)*K*K; relu, add: 1 per output value, prelu 2, sigmoid 4; pools: OH*OW*C*K*K),
and, for comparison, the convolution FLOPs of the teacher YuNet-s at 640x480 (2*OH*OW*CO*CI/G*K*K
summed over its ONNX graph's Conv nodes, from the 640x640 export scaled by the area; the rest of
its graph is a few percent on top)."""

import re
import sys


def parse(path):
    src = re.sub(r"#[^\n]*", "", open(path).read())
    layers = []
    for m in re.finditer(r"(\w+)\s*=\s*(\w+)\(([^)]*)\)", src):
        name, op, args = m.group(1), m.group(2), [a.strip() for a in m.group(3).split(",")]
        pos = [a for a in args if "=" not in a]
        kw = dict(a.split("=") for a in args if "=" in a)
        layers.append((name, op, pos, {k.strip(): v.strip() for k, v in kw.items()}))
    return layers


def flops(layers, h, w):
    shape, total = {}, 0
    for name, op, pos, kw in layers:
        if op == "input":
            shape[name] = (h, w, int(kw["channels"]))
            continue
        ih, iw, ic = shape[pos[0]]
        if op in ("conv", "maxpool", "avgpool"):
            k, s, p = int(kw["k"]), int(kw.get("stride", kw["k"] if op != "conv" else 1)), int(kw.get("pad", 0))
            oh, ow = (ih + 2 * p - k) // s + 1, (iw + 2 * p - k) // s + 1
            oc = int(kw["out"]) if op == "conv" else ic
            groups = int(kw.get("groups", 1))
            total += 2 * oh * ow * oc * (ic // groups) * k * k if op == "conv" else oh * ow * oc * k * k
            shape[name] = (oh, ow, oc)
        elif op == "concat":
            shape[name] = (ih, iw, sum(shape[x][2] for x in pos))
        else:
            shape[name] = (ih, iw, ic)
            total += ih * iw * ic * {"sigmoid": 4, "prelu": 2}.get(op, 1)
    return total


def teacher_conv_flops(path="/work/shared/data/teachers/yunet_s_640_640.onnx"):
    import numpy as np
    import onnx
    from onnx import shape_inference

    m = shape_inference.infer_shapes(onnx.load(path))
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(m.graph.value_info) + list(m.graph.output)}
    weights = {i.name: list(i.dims) for i in m.graph.initializer}
    total = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            out = dims[n.output[0]]
            assert out and all(out), f"{path}: no static shape for {n.output[0]}"
            total += 2 * int(np.prod(out)) * int(np.prod(weights[n.input[1]][1:]))
    return total


if __name__ == "__main__":
    layers = parse(sys.argv[1])
    sizes = [(480, 640), (240, 320), (120, 160), (60, 80), (30, 40)]
    per = [flops(layers, h, w) for h, w in sizes]
    for (h, w), f in zip(sizes, per):
        print(f"{w}x{h}: {f:,}")
    print(f"pyramid total: {sum(per):,}")
    teacher = teacher_conv_flops() * 0.75
    print(f"teacher YuNet-s at 640x480, convolutions: {teacher:,.0f} "
          f"(student pyramid / teacher: {sum(per) / teacher:.2f}; student at 640x480 alone: {per[0] / teacher:.2f})")
