"""Training speed: aekit's loop against a bare PyTorch loop on the same model and the same data.

Models: the dense 784-32-784 autoencoder and the convolutional 16-8-8 one of the Keras blog, on the
60,000 MNIST training images (../shared/data/mnist), batch 256 and 128, Adam, BCE from logits. Both loops
shuffle with one permutation per epoch and slice tensors per batch. Epochs are interleaved (bare, aekit,
bare, aekit, ...) so that machine noise hits both alike; the figure is the median seconds per epoch.

    python bench/speed.py [--epochs 3] [--threads 2]   -> bench/results/speed.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import aekit
from aekit.training import Callback

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "mnist"


def load_mnist_train() -> np.ndarray:
    with gzip.open(DATA / "train-images-idx3-ubyte.gz", "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)


def bare_dense() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 784), nn.Unflatten(1, (28, 28)))


def bare_conv() -> nn.Module:
    def down(a, b):
        return [nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]

    def up(a, b, size):
        return [nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.Upsample(size=size, mode="nearest")]

    return nn.Sequential(*down(1, 16), *down(16, 8), *down(8, 8), *up(8, 8, (7, 7)), *up(8, 8, (14, 14)),
                         *up(8, 16, (28, 28)), nn.Conv2d(16, 1, 3, padding=1))


def bare_epoch(model: nn.Module, opt, x: torch.Tensor, bs: int, gen: torch.Generator) -> float:
    t0 = time.perf_counter()
    perm = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), bs):
        xb = x[perm[i:i + bs]]
        loss = F.binary_cross_entropy_with_logits(model(xb), xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


class EpochTimer(Callback):
    def __init__(self):
        self.times = []

    def on_epoch_begin(self, state):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, state, logs):
        self.times.append(time.perf_counter() - self.t0)


def run_case(name: str, x_u8: np.ndarray, bs: int, epochs: int) -> dict:
    if name == "dense":
        ae = aekit.build("dense", input_shape=(28, 28), hidden=[], latent_dim=32, latent_activation="relu", seed=0)
        bare = bare_dense()
        x = torch.from_numpy(x_u8.astype(np.float32) / 255)
    else:
        ae = aekit.build("conv", input_shape=(1, 28, 28), filters=[16, 8, 8], seed=0)
        bare = bare_conv()
        x = torch.from_numpy(x_u8.astype(np.float32)[:, None] / 255)
    n_ae, n_bare = ae.n_params(), sum(p.numel() for p in bare.parameters())
    assert n_ae == n_bare, (n_ae, n_bare)  # the same model on both sides
    opt = torch.optim.Adam(bare.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    bare_times, ae_times = [], []
    bare_epoch(bare, opt, x, bs, gen)  # warm-up (allocator, kernels) for both
    ae.fit(x_u8, epochs=1, batch_size=bs, verbose=0, seed=0)
    for _ in range(epochs):
        bare_times.append(bare_epoch(bare, opt, x, bs, gen))
        timer = EpochTimer()
        ae.fit(x_u8, epochs=1, batch_size=bs, verbose=0, seed=0, callbacks=[timer])
        ae_times.append(timer.times[0])
    b, a = statistics.median(bare_times), statistics.median(ae_times)
    row = {"model": name, "batch_size": bs, "params": n_ae, "bare_s_per_epoch": round(b, 4),
           "aekit_s_per_epoch": round(a, 4), "ratio": round(a / b, 4), "within_10pct": a <= 1.10 * b,
           "bare_runs": [round(t, 4) for t in bare_times], "aekit_runs": [round(t, 4) for t in ae_times]}
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per loop and case")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.json"))
    args = ap.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    x = load_mnist_train()
    t0 = time.time()
    rows = [run_case(m, x, bs, args.epochs) for m in ("dense", "conv") for bs in (256, 128)]
    result = {"bench": "speed", "command": f"python bench/speed.py --epochs {args.epochs} --threads {args.threads}",
              "hardware": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                          f"{args.threads} threads", "images": int(len(x)), "rows": rows,
              "wall_s": round(time.time() - t0, 1), "all_within_10pct": all(r["within_10pct"] for r in rows)}
    aekit.io.atomic_write(args.out, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
