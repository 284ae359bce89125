"""Training speed of `gatedyn train` against PyTorch on the CPU, side by side.

Not run in CI (PyTorch is large). Run by hand from the repository root,
with the PyTorch environment of tests/fixtures/exporters.sh:

    cargo build --release -p gatedyn-cli
    /tmp/gatedyn-fixtures-torch/bin/python benches/train_vs_torch.py

Both sides train the same shapes the same way: a GRU in the reset-after
form (PyTorch's `nn.GRU`; `--form reset-after` in gatedyn) with a linear
readout on the adding problem (2 inputs, the answer read at the last step,
squared error), batches of 32, Adam, global-norm clipping at 1, on 2
threads (`torch.set_num_threads(2)`; gatedyn's rayon pool on the machine's
2 cores). A row is timed alternately, gatedyn then PyTorch, `REPEATS`
times; each side's figure is its fastest epoch over all repeats (seconds
per epoch of training, the test evaluation excluded on both sides).
Both are timed in float32 and float64 (gatedyn's `--precision`).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import torch

ROWS = [  # (N, T, sequences)
    (64, 100, 2048),
    (128, 100, 1024),
    (256, 100, 512),
    (256, 784, 64),
]
EPOCHS = 2
REPEATS = 3
BATCH = 32
GATEDYN = os.environ.get("GATEDYN", "target/release/gatedyn")


def gatedyn_epoch(n, t, sequences, precision):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run.json")
        subprocess.run(
            [GATEDYN, "train", "--task", "adding", "--length", str(t), "--n", str(n),
             "--form", "reset-after", "--epochs", str(EPOCHS), "--batch", str(BATCH),
             "--train-size", str(sequences), "--test-size", "32", "--clip", "1",
             "--precision", precision, "--json", out, "--quiet"],
            check=True, stdout=subprocess.DEVNULL)
        history = json.load(open(out))["history"]
    return min(h["seconds"] for h in history if h.get("seconds"))


def torch_epoch(n, t, sequences, dtype):
    torch.manual_seed(0)
    x = torch.rand(sequences, t, 2, dtype=dtype)
    x[:, :, 1] = 0
    x[:, 0, 1] = 1
    x[:, t // 2, 1] = 1
    y = x[:, 0, 0] + x[:, t // 2, 0]
    rnn = torch.nn.GRU(2, n, batch_first=True).to(dtype)
    fc = torch.nn.Linear(n, 1).to(dtype)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    best = float("inf")
    for _ in range(EPOCHS):
        t0 = time.perf_counter()
        for b in range(0, sequences, BATCH):
            h, _ = rnn(x[b:b + BATCH])
            loss = torch.mean((fc(h[:, -1]).squeeze(-1) - y[b:b + BATCH]) ** 2)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; gatedyn {GATEDYN}")
    print("| N | T | sequences | gatedyn f32 | torch f32 | gatedyn / torch f32 "
          "| gatedyn f64 | torch f64 | gatedyn / torch f64 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, t, sequences in ROWS:
        g32, g64, f32, f64 = (float("inf"),) * 4
        for _ in range(REPEATS):
            g32 = min(g32, gatedyn_epoch(n, t, sequences, "f32"))
            f32 = min(f32, torch_epoch(n, t, sequences, torch.float32))
            g64 = min(g64, gatedyn_epoch(n, t, sequences, "f64"))
            f64 = min(f64, torch_epoch(n, t, sequences, torch.float64))
        print(f"| {n} | {t} | {sequences} | {g32:.2f} s | {f32:.2f} s | {g32 / f32:.2f}× "
              f"| {g64:.2f} s | {f64:.2f} s | {g64 / f64:.2f}× |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
