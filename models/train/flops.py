"""FLOPs of a .nnc network at given input sizes, counted as nnc's IR listing counts them
(conv 2*OH*OW*CO*CI*K*K; relu, add: 1 per output value, prelu 2, sigmoid 4; pools: OH*OW*C*K*K)."""

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
            total += 2 * oh * ow * oc * ic * k * k if op == "conv" else oh * ow * oc * k * k
            shape[name] = (oh, ow, oc)
        elif op == "concat":
            shape[name] = (ih, iw, sum(shape[x][2] for x in pos))
        else:
            shape[name] = (ih, iw, ic)
            total += ih * iw * ic * {"sigmoid": 4, "prelu": 2}.get(op, 1)
    return total


if __name__ == "__main__":
    layers = parse(sys.argv[1])
    sizes = [(480, 640), (240, 320), (120, 160), (60, 80), (30, 40)]
    per = [flops(layers, h, w) for h, w in sizes]
    for (h, w), f in zip(sizes, per):
        print(f"{w}x{h}: {f:,}")
    print(f"pyramid total: {sum(per):,}")
