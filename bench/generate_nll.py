"""Generate bench: importance-sampled NLL of a VAE on dynamically binarised MNIST (the IWAE paper's setting).

Model: aekit ``vae`` 784-200-200-50 (tanh, Bernoulli likelihood), trained on the 60,000 MNIST training
digits re-binarised every batch (``DynamicBinarization``) for a fixed wall-clock budget on 1 CPU thread.
Evaluation: one fixed binarisation (seed 0) of the test digits; -log p(x) estimated with K importance
samples (``importance_nll``) on the first ``--n-nll`` test digits, and the negative ELBO (1 sample) on all
10,000. Anchors: IWAE paper (Burda et al. 2016, table 1, VAE k=1, 1 stochastic layer) 86.76 nats;
pythae's benchmark VAE 89.78 nats.

    python bench/generate_nll.py --minutes 8 --n-nll 1000 --k 5000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.apps.generate import DynamicBinarization, importance_nll
from aekit.core.container import atomic_write
from aekit.datasets.idx import read_idx
from aekit.training import TimeLimit

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "mnist"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=8.0, help="training wall-clock budget")
    ap.add_argument("--n-nll", type=int, default=1000, help="test digits for the K-sample estimate")
    ap.add_argument("--k", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "generate_nll.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    x_train = read_idx(DATA / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    x_test = read_idx(DATA / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
    test_bin = (np.random.default_rng(0).random(x_test.shape) < x_test / 255.0).astype(np.float32)

    vae = aekit.build("vae", input_shape=(784,), hidden=[200, 200], latent_dim=50, activation="tanh", seed=0)
    t0 = time.perf_counter()
    hist = vae.fit(
        DynamicBinarization(x_train, seed=0),
        epochs=10_000,
        batch_size=100,
        lr=1e-3,
        seed=0,
        verbose=0,
        callbacks=[TimeLimit(a.minutes * 60)],
    )
    train_s = time.perf_counter() - t0
    epochs = len(hist.history["loss"])
    print(f"trained {epochs} epochs in {train_s:.0f}s; last train -ELBO {hist.history['loss'][-1]:.2f}", flush=True)

    t0 = time.perf_counter()
    _, nelbo_all = importance_nll(vae, test_bin, k=1, seed=1, return_elbo=True)
    elbo_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nll, nelbo = importance_nll(vae, test_bin[: a.n_nll], k=a.k, seed=2, return_elbo=True)
    nll_s = time.perf_counter() - t0
    res = {
        "bench": "generate_nll",
        "model": "aekit vae 784-200-200-50, tanh, Bernoulli likelihood (BCE), adam lr 1e-3, batch 100",
        "data": "MNIST 60,000 train digits, dynamically binarised each batch; test: fixed binarisation seed 0",
        "training": {
            "budget_minutes": a.minutes,
            "epochs": epochs,
            "wall_s": round(train_s, 1),
            "threads": a.threads,
            "final_train_neg_elbo": round(hist.history["loss"][-1], 3),
        },
        "test_neg_elbo_nats_10000": round(float(nelbo_all.mean()), 3),
        "nll": {
            "k": a.k,
            "n_test_digits": a.n_nll,
            "nll_nats": round(float(nll.mean()), 3),
            "nll_sem": round(float(nll.std(ddof=1) / np.sqrt(len(nll))), 3),
            "neg_elbo_same_digits": round(float(nelbo.mean()), 3),
            "wall_s": round(nll_s, 1),
        },
        "elbo_eval_wall_s": round(elbo_s, 1),
        "anchors": {"iwae_paper_vae_k1_1layer": 86.76, "pythae_vae": 89.78},
        "total_wall_s": round(time.perf_counter() - t_start, 1),
        "hardware": f"{platform.machine()} CPU, {a.threads} torch thread(s), shared 2-core machine",
        "command": "python bench/generate_nll.py " + " ".join(sys.argv[1:]),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(a.out, (json.dumps(res, indent=2) + "\n").encode())
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
