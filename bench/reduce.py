"""Benchmark: reduce dimensions (MNIST) -- aekit autoencoders vs PCA at equal code size.

Metrics on the 10,000 MNIST test digits (pixels scaled to [0, 1]):
- reconstruction error as Hinton & Salakhutdinov (2006) report it: the SUM of squared errors over the 784
  pixels, averaged over images (H&S: 3.00 for the 784-1000-500-250-30 autoencoder, 13.87 for 30-D PCA);
- k-NN (k=5) accuracy of test codes against train codes, for 30-D and 2-D codes, and for raw pixels.

The H&S configuration is aekit's ``stacked`` family (greedy layer-wise pretraining, then end-to-end
fine-tuning with Adam and a decaying learning rate). Training stops at a wall-time budget so the bench
fits the shared CPU; the JSON records exactly how many epochs ran.

    python bench/reduce.py                       # writes bench/results/reduce.json and reduce_map.png
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

import aekit
from aekit.apps.embed import embed
from aekit.report.plots import plot_map
from aekit.training import LearningRateScheduler, TimeLimit

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "mnist"


def idx(name: str, offset: int) -> np.ndarray:
    return np.frombuffer(gzip.open(DATA / name).read(), np.uint8, offset=offset)


def sse(x: np.ndarray, x_hat: np.ndarray) -> float:
    """H&S's unit: sum of squared errors over the pixels of an image, mean over images."""
    return float(((x - x_hat) ** 2).sum(axis=1).mean())


def knn(z_train, y_train, z_test, y_test) -> float:
    clf = KNeighborsClassifier(5, n_jobs=1).fit(z_train, y_train)
    return float((clf.predict(z_test) == y_test).mean())


def train(family: str, hidden, latent: int, x, args, budget_s: float, pretrain: int) -> tuple:
    opts = dict(hidden=hidden, latent_dim=latent)
    if family == "stacked":
        opts["pretrain_epochs"] = pretrain
    ae = aekit.build(family, input_shape=(784,), seed=args.seed, **opts)
    t0 = time.perf_counter()
    h = ae.fit(
        x,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        verbose=0,
        callbacks=[
            LearningRateScheduler(lambda epoch, lr: args.lr * args.gamma**epoch),
            TimeLimit(budget_s, from_creation=True),
        ],
    )
    wall = time.perf_counter() - t0
    return ae, {
        "family": family,
        "hidden": hidden,
        "latent_dim": latent,
        "pretrain_epochs_per_layer": pretrain if family == "stacked" else 0,
        "fine_tune_epochs_run": len(h.epoch),
        "epochs_max": args.epochs,
        "train_loss_last": h.history["loss"][-1],
        "train_wall_s": round(wall, 1),
        "params": ae.n_params(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs at most (the budget may stop earlier)")
    p.add_argument("--pretrain-epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.85, help="lr decay per epoch")
    p.add_argument("--budget-30", type=float, default=420.0, help="wall seconds for the 30-D model's fine-tuning")
    p.add_argument("--budget-2", type=float, default=120.0, help="wall seconds for the 2-D model's training")
    p.add_argument("--hidden-2", default="512,128", help="hidden sizes of the 2-D (dense) model")
    p.add_argument(
        "--extra-hidden",
        default="512",
        help="hidden sizes of a second 30-D row (family dense, no pretraining); '' to skip",
    )
    p.add_argument("--budget-extra", type=float, default=150.0, help="wall seconds for the second 30-D row")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "reduce.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()

    x_train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[: args.train_size].astype(np.float32) / 255
    y_train = idx("train-labels-idx1-ubyte.gz", 8)[: args.train_size]
    x_test = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
    y_test = idx("t10k-labels-idx1-ubyte.gz", 8)
    res: dict = {
        "bench": "reduce",
        "data": {"train": len(x_train), "test": len(x_test), "source": "MNIST IDX"},
        "unit_reconstruction": "sum of squared errors over 784 pixels in [0,1], mean over the test "
        "images (Hinton & Salakhutdinov 2006's unit)",
        "published": {"hinton_salakhutdinov_2006": {"autoencoder_784_1000_500_250_30": 3.00, "pca_30": 13.87}},
        "hardware": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "threads": args.threads,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        },
        "settings": vars(args),
    }

    t0 = time.perf_counter()
    base = {}
    for k in (30, 2):
        pca = PCA(k, random_state=args.seed).fit(x_train)
        zt, zs = pca.transform(x_train), pca.transform(x_test)
        base[f"pca_{k}"] = {
            "sse_per_image": sse(x_test, pca.inverse_transform(zs)),
            "knn5_accuracy": knn(zt, y_train, zs, y_test),
        }
    base["raw_pixels_784"] = {"knn5_accuracy": knn(x_train, y_train, x_test, y_test), "sse_per_image": 0.0}
    res["baselines"] = base
    res["baseline_wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(base), flush=True)

    rows = {}
    ae30, info = train("stacked", [1000, 500, 250], 30, x_train, args, args.budget_30, args.pretrain_epochs)
    z_tr, z_te = embed(ae30, x_train), embed(ae30, x_test)
    info.update(sse_per_image=sse(x_test, ae30.reconstruct(x_test)), knn5_accuracy=knn(z_tr, y_train, z_te, y_test))
    rows["stacked_30"] = info
    print(json.dumps(info), flush=True)

    if args.extra_hidden:
        hx = [int(h) for h in args.extra_hidden.split(",") if h]
        aex, info = train("dense", hx, 30, x_train, args, args.budget_extra, 0)
        info.update(
            sse_per_image=sse(x_test, aex.reconstruct(x_test)),
            knn5_accuracy=knn(embed(aex, x_train), y_train, embed(aex, x_test), y_test),
        )
        rows["dense_30"] = info
        print(json.dumps(info), flush=True)

    hidden2 = [int(h) for h in args.hidden_2.split(",") if h]
    ae2, info = train("dense", hidden2, 2, x_train, args, args.budget_2, 0)
    z_tr, z_te = embed(ae2, x_train), embed(ae2, x_test)
    info.update(sse_per_image=sse(x_test, ae2.reconstruct(x_test)), knn5_accuracy=knn(z_tr, y_train, z_te, y_test))
    rows["dense_2"] = info
    print(json.dumps(info), flush=True)
    plot_map(
        z_te,
        y_test,
        Path(args.out).with_name("reduce_map.png"),
        title=f"MNIST test: aekit dense 784-{'-'.join(map(str, hidden2))}-2 codes",
    )
    res["aekit"] = rows
    res["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    aekit.core.container.atomic_write(args.out, (json.dumps(res, indent=2) + "\n").encode())
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
