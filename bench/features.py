"""Features-for-a-classifier bench: MNIST test accuracy with 100, 1,000 and all 60,000 labels.

The autoencoder is pretrained without labels on all 60,000 training images. Then, for each label budget
(a class-balanced random subset of the training labels, seed 0):

* aekit codes -> logistic regression (``extract_features``);
* aekit encoder + softmax fine-tuned end to end (``finetune_classifier``);
* baselines in the same run: logistic regression on raw pixels, and on PCA(64) components fitted on the
  same 60,000 unlabelled images; and the same encoder + softmax trained from random weights (no pretraining).

    python bench/features.py          # ~10 min on a shared 2-core CPU
    python bench/features.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import Timer, mnist, write  # noqa: E402

import aekit  # noqa: E402
from aekit.apps.features import extract_features, finetune_classifier  # noqa: E402


def balanced_subset(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    per = n // 10
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per, replace=False) for c in range(10)]))


def logreg(ftr, ytr, fte, yte) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(ftr)
    clf = LogisticRegression(max_iter=200, C=1.0).fit(sc.transform(ftr), ytr)
    return round(100 * clf.score(sc.transform(fte), yte), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pretrain-epochs", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    from sklearn.decomposition import PCA

    (xtr, ytr), (xte, yte) = mnist()
    xtr, xte = xtr.reshape(-1, 784), xte.reshape(-1, 784)
    budgets = [100, 1000, 60000]
    if args.quick:
        xtr, ytr, xte, yte, budgets = xtr[:5000], ytr[:5000], xte[:1000], yte[:1000], [100, 1000]
        args.pretrain_epochs = 1
    ae_opts = dict(hidden=[512, 256], latent_dim=64, loss="bce")
    with Timer() as t:
        ae = aekit.build("dense", input_shape=(784,), seed=0, **ae_opts)
        ae.fit(xtr, epochs=args.pretrain_epochs, batch_size=128, verbose=0, seed=0)
    pretrain_s = t.s
    print("pretrained", pretrain_s, ae.history.history["loss"][-1], flush=True)
    with Timer() as t:
        pca = PCA(64, random_state=0).fit(xtr)
    pca_s = t.s
    codes_tr, codes_te = extract_features(ae, xtr), extract_features(ae, xte)
    p_tr, p_te = pca.transform(xtr), pca.transform(xte)
    ft = {
        100: dict(epochs=40, batch_size=32),
        1000: dict(epochs=20, batch_size=64),
        60000: dict(epochs=2, batch_size=128),
    }
    rows = {}
    for n in budgets:
        idx = balanced_subset(ytr, n)
        row: dict = {"n_labels": int(len(idx))}
        for name, (a, b) in {
            "raw_pixels_logreg": (xtr, xte),
            "pca64_logreg": (p_tr, p_te),
            "aekit_codes_logreg": (codes_tr, codes_te),
        }.items():
            with Timer() as t:
                row[name] = logreg(a[idx], ytr[idx], b, yte)
            row[name + "_s"] = t.s
        opts = ft[n] if n in ft else ft[1000]
        with Timer() as t:
            clf = finetune_classifier(ae, xtr[idx], ytr[idx], lr=1e-3, dropout=0.2, seed=0, **opts)
            row["aekit_finetuned"] = round(100 * clf.score(xte, yte), 2)
        row["aekit_finetuned_s"] = t.s
        with Timer() as t:
            scratch = aekit.build("dense", input_shape=(784,), seed=1, **ae_opts)  # same net, random weights
            clf = finetune_classifier(scratch, xtr[idx], ytr[idx], lr=1e-3, dropout=0.2, seed=0, **opts)
            row["same_net_from_scratch"] = round(100 * clf.score(xte, yte), 2)
        row["same_net_from_scratch_s"] = t.s
        row["finetune_settings"] = {**opts, "lr": 1e-3, "dropout": 0.2, "optimizer": "adam"}
        rows[str(n)] = row
        print(n, row, flush=True)
    result = {
        "bench": "features",
        "quick": args.quick,
        "protocol": "MNIST test accuracy (%) on 10,000 digits; "
        "labels: class-balanced random subsets of the 60,000 training labels (seed 0); the AE and PCA "
        "are fitted on all 60,000 training images without labels; logistic regression (lbfgs, C=1, "
        "max_iter=200) on standardised features",
        "rows": rows,
        "pretrain": {
            "family": "dense",
            **ae_opts,
            "epochs": args.pretrain_epochs,
            "batch_size": 128,
            "seed": 0,
            "wall_s": pretrain_s,
            "final_loss": round(ae.history.history["loss"][-1], 5),
        },
        "pca_fit_s": pca_s,
    }
    print(write("features" if not args.quick else "features_quick", result, started))


if __name__ == "__main__":
    main()
