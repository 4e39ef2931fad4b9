"""Converts dlib's face recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`) to the
project's formats: `face_embedding.nnc` (the description) and `face_embedding.safetensors`.

    models/train/.venv/bin/python models/train/convert_dlib_embedding.py \
        ../shared/data/embedding/dlib_face_recognition_resnet_model_v1.dat models/face_embedding [f16|f32]

The network (dlib's `dnn_face_recognition_ex.cpp`, `anet_type`):

    input_rgb_image_sized<150> -> con<32,7,7,2,2> -> affine -> relu -> max_pool<3,3,2,2>
    -> 3 x ares<32> -> ares_down<64> + 3 x ares<64> -> ares_down<128> + 2 x ares<128>
    -> ares_down<256> + 2 x ares<256> -> ares_down<256> -> avg_pool_everything -> fc_no_bias<128>

    ares<N>(x)      = relu(x + affine(con<N,3,3,1,1>(relu(affine(con<N,3,3,1,1>(x))))))
    ares_down<N>(x) = relu(avg_pool<2,2,2,2>(x) + affine(con<N,3,3,1,1>(relu(affine(con<N,3,3,2,2>(x))))))

dlib pads a convolution or pooling by k/2 when its stride is 1 and not at all otherwise, and its
`add_prev` adds tensors of different sizes by reading each as zero outside its own rows, columns
and channels (the `padadd` op); both are read from the file rather than assumed. Each `affine`
(dlib's inference form of batch norm, `gamma * x + beta` per channel) is folded into the
convolution before it, and the input normalisation `(pixel - mean[c]) / 256` into the first
convolution, which is exact because that convolution has no padding: the converted network takes
RGB values in 0..255. Its output is dlib's descriptor as dlib computes it (not normalised).

dlib's serialization: integers are a control byte (byte count, 0x80 for negative) and that many
little-endian bytes; strings are a length and bytes; scalar floats are an integer mantissa and an
integer exponent; tensors are a version, four dimensions (n, k, rows, cols) and raw little-endian
f32. Layers are written innermost (input side) first, each as its name and its fields.
"""

import sys
from pathlib import Path

import numpy as np

from safetensors_io import save_safetensors


class Reader:
    """Reads dlib's serialization from a byte string, at a moving position."""

    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def int(self):
        control = self.data[self.pos]
        size, negative = control & 0x0F, control & 0x80
        if size > 8:
            raise ValueError(f"bad integer control byte {control:#x} at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def float(self):
        mantissa = self.int()
        exponent = self.int()
        return mantissa * 2.0**exponent

    def tensor(self):
        version = self.int()
        if version != 2:
            raise ValueError(f"tensor version {version} at byte {self.pos}, expected 2")
        dims = [self.int() for _ in range(4)]
        count = int(np.prod(dims))
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos += 4 * count
        return values.reshape(dims)

    def alias(self):
        """An alias_tensor's dimensions (n, k, rows, cols): a view into a layer's parameters,
        whose offset the layer's code fixes (the views follow one another from offset 0)."""
        version = self.int()
        if version != 1:
            raise ValueError(f"alias_tensor version {version} at byte {self.pos}, expected 1")
        return [self.int() for _ in range(4)]

    def find_layer(self, names):
        """Moves past the next serialized layer name among `names` and returns it."""
        best = None
        for name in names:
            raw = name.encode()
            needle = bytes([0x01, len(raw)]) + raw
            at = self.data.find(needle, self.pos)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, name, len(needle))
        if best is None:
            return None
        self.pos = best[0] + best[2]
        return best[1]


def view(params, dims, offset):
    count = int(np.prod(dims))
    return params.reshape(-1)[offset : offset + count].reshape(dims)


def read_layers(data):
    """Every layer of the file that matters to inference, in input-to-output order."""
    r = Reader(data)
    if r.find_layer(["input_rgb_image_sized"]) is None:
        raise ValueError("no input_rgb_image_sized layer: not a dlib face recognition network")
    means = [r.float() for _ in range(3)]
    size = (r.int(), r.int())
    layers = [("input", {"means": means, "size": size})]
    names = ["con_4", "con_5", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2"]
    while (name := r.find_layer(names)) is not None:
        if name.startswith("con_"):
            params = r.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(7))
            wdims, bdims = r.alias(), r.alias()
            woff, boff = 0, int(np.prod(wdims))
            assert (rows, cols) == (wdims[2], wdims[3]) and stride_x == stride_y and pad_x == pad_y
            layers.append(
                (
                    "conv",
                    {
                        "weight": view(params, wdims, woff),
                        "bias": view(params, bdims, boff).reshape(filters),
                        "k": rows,
                        "stride": stride_y,
                        "pad": pad_y,
                    },
                )
            )
        elif name == "affine_":
            params = r.tensor()
            gdims, bdims = r.alias(), r.alias()
            goff, boff = 0, int(np.prod(gdims))
            gamma = view(params, gdims, goff).reshape(-1)
            beta = view(params, bdims, boff).reshape(-1)
            layers.append(("affine", {"gamma": gamma, "beta": beta}))
        elif name in ("max_pool_2", "avg_pool_2"):
            rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
            kind = "maxpool" if name == "max_pool_2" else "avgpool"
            layers.append((kind, {"k": rows, "kc": cols, "stride": stride_y, "pad": pad_y}))
        elif name == "relu_":
            layers.append(("relu", {}))
        elif name == "add_prev_":
            layers.append(("add_prev", {}))
        elif name == "fc_2":
            outputs, inputs = r.int(), r.int()
            params = r.tensor()
            wdims = r.alias()
            layers.append(("fc", {"weight": view(params, wdims, 0).reshape(inputs, outputs)}))
    return layers


def convert(layers):
    """The .nnc lines and the tensors of the converted network."""
    kinds = [k for k, _ in layers]
    tensors, lines = {}, []
    means = np.array(layers[0][1]["means"], np.float64)
    assert layers[0][1]["size"] == (150, 150)
    lines.append("image = input(channels=3)")

    def conv(name, source, c, a, input_norm=False):
        w = c["weight"].astype(np.float64)
        b = c["bias"].astype(np.float64)
        if input_norm:
            # (x - mean) / 256 through a convolution without padding: scale the taps, and move
            # the means into the bias.
            assert c["pad"] == 0
            b = b - np.einsum("oikl,i->o", w, means) / 256.0
            w = w / 256.0
        gamma, beta = a["gamma"].astype(np.float64), a["beta"].astype(np.float64)
        tensors[f"{name}.weight"] = w * gamma[:, None, None, None]
        tensors[f"{name}.bias"] = b * gamma + beta
        pad = f", pad={c['pad']}" if c["pad"] else ""
        stride = f", stride={c['stride']}" if c["stride"] != 1 else ""
        lines.append(f"{name} = conv({source}, out={w.shape[0]}, k={c['k']}{stride}{pad})")

    # The stem: con, affine, relu, max_pool.
    assert kinds[1:5] == ["conv", "affine", "relu", "maxpool"], kinds[:6]
    conv("stem", "image", layers[1][1], layers[2][1], input_norm=True)
    lines.append("stem_relu = relu(stem)")
    pool = layers[4][1]
    assert pool["k"] == pool["kc"] == 3 and pool["stride"] == 2 and pool["pad"] == 0
    lines.append("stem_pool = maxpool(stem_relu, k=3, stride=2)")
    current, i, block = "stem_pool", 5, 0
    while kinds[i] == "conv":
        block += 1
        down = kinds[i + 5] == "avgpool"
        expected = ["conv", "affine", "relu", "conv", "affine"] + (["avgpool"] if down else [])
        expected += ["add_prev", "relu"]
        assert kinds[i : i + len(expected)] == expected, (i, kinds[i : i + len(expected)])
        name = f"block{block}"
        lines.append("")
        conv(f"{name}_conv1", current, layers[i][1], layers[i + 1][1])
        lines.append(f"{name}_relu1 = relu({name}_conv1)")
        conv(f"{name}_conv2", f"{name}_relu1", layers[i + 3][1], layers[i + 4][1])
        if down:
            skip = layers[i + 5][1]
            assert skip["k"] == skip["kc"] == 2 and skip["stride"] == 2 and skip["pad"] == 0
            lines.append(f"{name}_skip = avgpool({current}, k=2)")
            lines.append(f"{name}_sum = padadd({name}_conv2, {name}_skip)")
        else:
            lines.append(f"{name}_sum = add({name}_conv2, {current})")
        lines.append(f"{name} = relu({name}_sum)")
        current = name
        i += len(expected)
    # avg_pool_everything (a 0x0 window) then fc_no_bias.
    assert kinds[i:] == ["avgpool", "fc"], kinds[i:]
    assert layers[i][1]["k"] == 0
    lines.append("")
    lines.append(f"pooled = avgpool({current}, k=2)")
    fc = layers[i + 1][1]["weight"].astype(np.float64)
    tensors["descriptor.weight"] = fc.T[:, :, None, None]
    lines.append(f"descriptor = conv(pooled, out={fc.shape[1]}, k=1, bias=false)")
    lines.append("")
    lines.append("output descriptor")
    return lines, tensors


HEADER = """\
# face_embedding: dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1, CC0),
# converted by models/train/convert_dlib_embedding.py from dlib's own file; see that script for
# the architecture and how dlib's layers map to these.
#
# Input: a 150x150 RGB face chip aligned as dlib's get_face_chip does (size 150, padding 0.25),
# values 0..255 (dlib's mean subtraction and scaling are folded into `stem`).
# Output: `descriptor`, 1x1x128, dlib's face descriptor (not normalised; two chips of the same
# person are usually under 0.6 apart in Euclidean distance).
#
# Each dlib `affine` is folded into the convolution before it. `pooled` stands for dlib's
# avg_pool_everything: at 150x150 the last block is 2x2, so a 2x2 average is the global mean;
# the network is meant for 150x150 chips only, as dlib's is. `descriptor` is dlib's fc_no_bias
# as a 1x1 convolution on the pooled 1x1 map.
"""


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    source, stem = Path(sys.argv[1]), Path(sys.argv[2])
    dtype = np.float16 if (sys.argv[3] if len(sys.argv) == 4 else "f16") == "f16" else np.float32
    layers = read_layers(source.read_bytes())
    lines, tensors = convert(layers)
    stem.with_suffix(".nnc").write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    save_safetensors({k: v.astype(dtype) for k, v in tensors.items()}, stem.with_suffix(".safetensors"))
    params = sum(v.size for v in tensors.values())
    print(f"{len(layers)} dlib layers -> {len(lines)} lines, {len(tensors)} tensors, {params} parameters")


if __name__ == "__main__":
    main()
