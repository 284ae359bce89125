"""Small seed inputs for the fuzz targets (fuzz/corpus/TARGET/seed-*).

Not run in CI. Run by hand through tests/fixtures/exporters.sh (after the
Keras fixtures, which it copies), or from the repository root with the
PyTorch environment that script makes. The Keras seeds are
tests/fixtures/keras/tiny_gru.keras and tiny_lstm.weights.h5, copied here
by this script; the rest it writes: tiny GRU and LSTM models (N = 3, 2
inputs, a Linear(3, 1) readout) through torch.onnx.export, legacy and
default (dynamo), as safetensors state_dicts, the external-data fixtures of
tests/fixtures/external packed as the target `onnx_external` reads them, small `.npy`
(f4 and f8, 1-, 2- and 3-D) and `.csv` arrays, IDX images and labels plain
and gzipped, and the shard lines of tests/fixtures/sweep.
"""

import gzip
import io
import os
import struct
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file

OUT = "fuzz/corpus"


def put(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/seed-{name}", "wb") as f:
        f.write(data)


class Net(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = getattr(torch.nn, cell)(2, 3, batch_first=True)
        self.fc = torch.nn.Linear(3, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.fc(h)


def main():
    torch.manual_seed(1)
    x = torch.zeros(1, 5, 2)
    for cell in ("GRU", "LSTM"):
        net = Net(cell).eval()
        name = cell.lower()
        with tempfile.TemporaryDirectory() as d:
            torch.onnx.export(net, (x,), f"{d}/m.onnx", dynamo=False)
            put("onnx", f"{name}-legacy.onnx", open(f"{d}/m.onnx", "rb").read())
            torch.onnx.export(net, (x,), f"{d}/{name}.onnx")
            put("onnx", f"{name}-dynamo.onnx", open(f"{d}/{name}.onnx", "rb").read())
            save_file(net.rnn.state_dict(), f"{d}/m.safetensors")
            put("safetensors", f"{name}-rnn", open(f"{d}/m.safetensors", "rb").read())
            save_file({"rnn." + k: v for k, v in net.rnn.state_dict().items()}
                      | {"fc." + k: v for k, v in net.fc.state_dict().items()},
                      f"{d}/m.safetensors")
            put("safetensors", f"{name}-model", open(f"{d}/m.safetensors", "rb").read())
    # the default exporter keeps tensors this small inline: the external
    # data seeds are the fixtures of tests/fixtures/external (N = 40)
    for name in ("gru", "lstm"):
        model = open(f"tests/fixtures/external/{name}.onnx", "rb").read()
        sidecar = open(f"tests/fixtures/external/{name}.onnx.data", "rb").read()
        put("onnx_external", name, struct.pack("<I", len(model)) + model + sidecar)
    put("keras", "tiny_gru.keras", open("tests/fixtures/keras/tiny_gru.keras", "rb").read())
    put("keras_weights", "tiny_lstm.weights.h5",
        open("tests/fixtures/keras/tiny_lstm.weights.h5", "rb").read())
    for shape, dt in (((4,), "<f8"), ((3, 2), "<f4"), ((2, 3, 2), "<f8")):
        b = io.BytesIO()
        np.save(b, np.arange(np.prod(shape), dtype=dt).reshape(shape) / 7)
        put("npy", f"{len(shape)}d-{dt[1:]}.npy", b.getvalue())
    put("csv", "2x3.csv", b"# inputs\n0.5,1,-2e-3\n1e2, 0 ,3\n")
    imgs = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(range(8))
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([3, 7])
    for target, comp in (("idx", lambda b: b), ("idx_gzip", gzip.compress)):
        put(target, "images", comp(imgs))
        put(target, "labels", comp(labels))
    put("shard", "lines.jsonl", open("tests/fixtures/sweep/shard.jsonl", "rb").read())


if __name__ == "__main__":
    main()
