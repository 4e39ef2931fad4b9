"""The student network in PyTorch, layer for layer as models/face_student.nnc.

Training uses batch norm after each body conv; `fold()` merges it into the conv weights and biases,
giving `Plain`, the exact network the .nnc describes (conv -> relu -> maxpool, 1x1 heads).

STUDENT_ARCH picks the body (the heads are the same for both):
  plain   six full 3x3 convs, max-pools after the 1st, 2nd and 4th (the shipped default).
  mobile  a 3x3 stride-2 stem, a max-pool, then depthwise-separable blocks (3x3 depthwise conv,
          1x1 conv) with one more max-pool: the same output stride 8, about a seventh of the FLOPs.
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = os.environ.get("STUDENT_ARCH", "plain")


def layer(name, cin, cout, k=3, stride=1, groups=1, pool=False):
    return dict(name=name, cin=cin, cout=cout, k=k, stride=stride, groups=groups, pool=pool)


if ARCH == "plain":
    # STUDENT_WIDTHS changes the channel counts for experiments; the shipped
    # models/face_student.nnc has the defaults.
    WIDTHS = [int(c) for c in os.environ.get("STUDENT_WIDTHS", "16,16,32,32,48,48").split(",")]
    BODY = [layer(f"conv{i + 1}", ([3] + WIDTHS)[i], WIDTHS[i], pool=i in (0, 1, 3)) for i in range(6)]
elif ARCH == "mobile":
    # STUDENT_WIDTHS: the stem's channels, then the 1x1 convs' outputs of the blocks; STUDENT_POOLS:
    # the blocks (counted from 1) after which a max-pool halves the size (one more follows the stem).
    WIDTHS = [int(c) for c in os.environ.get("STUDENT_WIDTHS", "8,32,32,64,64,64").split(",")]
    POOLS = [int(c) for c in os.environ.get("STUDENT_POOLS", "2").split(",")]
    BODY = [layer("conv1", 3, WIDTHS[0], stride=2, pool=len(POOLS) < 2)]
    for i in range(1, len(WIDTHS)):
        c = WIDTHS[i - 1]
        BODY += [layer(f"dw{i + 1}", c, c, groups=c), layer(f"pw{i + 1}", c, WIDTHS[i], k=1, pool=i in POOLS)]
else:
    raise SystemExit(f"STUDENT_ARCH={ARCH}: expected plain or mobile")
HEADS = [("score_logit", 1), ("box", 4), ("landmarks", 10)]
FEAT = BODY[-1]["cout"]


def conv(spec, bias):
    return nn.Conv2d(spec["cin"], spec["cout"], spec["k"], stride=spec["stride"], padding=spec["k"] // 2,
                     groups=spec["groups"], bias=bias)


class Student(nn.Module):
    """Training form: conv (no bias) + BN + ReLU."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({b["name"]: conv(b, False) for b in BODY})
        self.bns = nn.ModuleDict({b["name"]: nn.BatchNorm2d(b["cout"]) for b in BODY})
        self.heads = nn.ModuleDict({n: nn.Conv2d(FEAT, c, 1) for n, c in HEADS})
        nn.init.constant_(self.heads["score_logit"].bias, -4.0)

    def forward(self, x):
        for b in BODY:
            x = F.relu(self.bns[b["name"]](self.convs[b["name"]](x)))
            if b["pool"]:
                x = F.max_pool2d(x, 2)
        return self.heads["score_logit"](x), self.heads["box"](x), self.heads["landmarks"](x)

    raw = forward  # (score logit, box, landmarks), as Plain.raw


class Plain(nn.Module):
    """Inference form, exactly the .nnc: returns (score = sigmoid(logit), box, landmarks)."""

    def __init__(self):
        super().__init__()
        for b in BODY:
            setattr(self, b["name"], conv(b, True))
        for n, c in HEADS:
            setattr(self, n, nn.Conv2d(FEAT, c, 1))

    def raw(self, x):
        """(score logit, box, landmarks): what training's losses need."""
        for b in BODY:
            x = F.relu(getattr(self, b["name"])(x))
            if b["pool"]:
                x = F.max_pool2d(x, 2)
        return self.score_logit(x), self.box(x), self.landmarks(x)

    def forward(self, x):
        logit, box, landmarks = self.raw(x)
        return torch.sigmoid(logit), box, landmarks


@torch.no_grad()
def fold(student):
    plain = Plain()
    for n in (b["name"] for b in BODY):
        conv, bn = student.convs[n], student.bns[n]
        s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        getattr(plain, n).weight.copy_(conv.weight * s[:, None, None, None])
        getattr(plain, n).bias.copy_(bn.bias - bn.running_mean * s)
    for n, _ in HEADS:
        getattr(plain, n).weight.copy_(student.heads[n].weight)
        getattr(plain, n).bias.copy_(student.heads[n].bias)
    return plain.eval()


def weights(plain):
    """The tensors the .nnc needs, named `layer.weight` / `layer.bias`."""
    return {k: v.detach().contiguous().float() for k, v in plain.state_dict().items()}


def describe():
    """The body and heads of the .nnc description of this network (as `python student.py` prints)."""
    lines = ["image = input(channels=3)", ""]
    x = "image"
    for b in BODY:
        k, s, g = b["k"], b["stride"], b["groups"]
        args = f"out={b['cout']}, k={k}" + (f", stride={s}" if s != 1 else "") + (f", pad={k // 2}" if k > 1 else "")
        args += f", groups={g}" if g != 1 else ""
        lines.append(f"{b['name']} = conv({x}, {args})")
        x = f"relu_{b['name']}" if ARCH == "mobile" else f"relu{b['name'][4:]}"
        lines.append(f"{x} = relu({b['name']})")
        if b["pool"]:
            p = x.replace("relu", "pool")
            lines.append(f"{p} = maxpool({x}, k=2)")
            x = p
        lines.append("")
    lines += [
        "# Heads: 1x1 convs.",
        f"score_logit = conv({x}, out=1, k=1)",
        "score = sigmoid(score_logit)",
        f"box = conv({x}, out=4, k=1)",
        f"landmarks = conv({x}, out=10, k=1)",
        "",
        "output score",
        "output box",
        "output landmarks",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(describe(), end="")
