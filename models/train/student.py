"""The student network in PyTorch, layer for layer as models/face_student.nnc.

Training uses batch norm after each 3x3 conv; `fold()` merges it into the conv weights and biases,
giving `Plain`, the exact network the .nnc describes (conv -> relu -> maxpool, 1x1 heads).
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = [int(c) for c in os.environ.get("STUDENT_WIDTHS", "16,16,32,32,48,48").split(",")]
# (name, in, out, pool after). STUDENT_WIDTHS changes the channel counts for experiments; the
# shipped models/face_student.nnc has the defaults.
BODY = [(f"conv{i + 1}", ([3] + WIDTHS)[i], WIDTHS[i], i in (0, 1, 3)) for i in range(6)]
HEADS = [("score_logit", 1), ("box", 4), ("landmarks", 10)]
FEAT = BODY[-1][2]


class Student(nn.Module):
    """Training form: conv (no bias) + BN + ReLU."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({n: nn.Conv2d(i, o, 3, padding=1, bias=False) for n, i, o, _ in BODY})
        self.bns = nn.ModuleDict({n: nn.BatchNorm2d(o) for n, _, o, _ in BODY})
        self.heads = nn.ModuleDict({n: nn.Conv2d(FEAT, c, 1) for n, c in HEADS})
        nn.init.constant_(self.heads["score_logit"].bias, -4.0)

    def forward(self, x):
        for n, _, _, pool in BODY:
            x = F.relu(self.bns[n](self.convs[n](x)))
            if pool:
                x = F.max_pool2d(x, 2)
        return self.heads["score_logit"](x), self.heads["box"](x), self.heads["landmarks"](x)

    raw = forward  # (score logit, box, landmarks), as Plain.raw


class Plain(nn.Module):
    """Inference form, exactly the .nnc: returns (score = sigmoid(logit), box, landmarks)."""

    def __init__(self):
        super().__init__()
        for n, i, o, _ in BODY:
            setattr(self, n, nn.Conv2d(i, o, 3, padding=1))
        for n, c in HEADS:
            setattr(self, n, nn.Conv2d(FEAT, c, 1))

    def raw(self, x):
        """(score logit, box, landmarks): what training's losses need."""
        for n, _, _, pool in BODY:
            x = F.relu(getattr(self, n)(x))
            if pool:
                x = F.max_pool2d(x, 2)
        return self.score_logit(x), self.box(x), self.landmarks(x)

    def forward(self, x):
        logit, box, landmarks = self.raw(x)
        return torch.sigmoid(logit), box, landmarks


@torch.no_grad()
def fold(student):
    plain = Plain()
    for n, _, _, _ in BODY:
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
