"""Zero-config aekit against PCA on tables where PCA is already the right model: Gaussian rows.

Why: issue 9 asks zero-config aekit to beat PCA's held-out reconstruction error at the same code size on
every set. On a Gaussian table the top principal directions are the best linear code, and there is no
curvature for a network to add: all a trained model can do is match PCA's sample estimate or add variance.
This bench measures how often zero-config ``aekit train`` beats PCA there, so the aim's per-set form can be
judged against what is attainable (the owndata sets whose ratio sits at 1.00 ± 0.03, wine and ec2_cpu,
behave like these).

Per seed: a covariance with a decaying spectrum (eigenvalues 0.7^j, random rotation); ``--rows`` training
rows written as a CSV; ``aekit train dense --data TRAIN.csv --out RUN`` with no other option; ``aekit
reconstruct`` on 2,000 held-out rows. Errors are MSEs in the training part's standard units, as in
``bench/owndata.py``. Baselines: PCA fitted on the same training rows at the model's code size, and the
true top directions (the population optimum, which no estimate reaches on average).

    python bench/pca_floor.py --seeds 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import write  # noqa: E402
from owndata import aekit, pca_recon_error, write_csv  # noqa: E402

SHAPES = {"wine-like": (13, 104), "breast_cancer-like": (30, 285)}  # (columns, training rows) as in owndata


def gaussian_table(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train (n, d), held-out (2000, d), the population covariance (d, d)); mean 50, user-like units."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = 0.7 ** np.arange(d)
    draw = lambda m: (rng.normal(size=(m, d)) * np.sqrt(lam)) @ q.T * 10 + 50  # noqa: E731
    return draw(n), draw(2000), (q * lam) @ q.T * 100


def one(d: int, n: int, seed: int, tmp: Path) -> dict:
    xtr, xte, cov = gaussian_table(d, n, seed)
    write_csv(tmp / "train.csv", xtr)
    write_csv(tmp / "test.csv", xte)
    run = tmp / f"run_{d}_{seed}"
    secs, out = aekit("train", "dense", "--data", str(tmp / "train.csv"), "--out", str(run))
    k = json.loads(out)["decided"]["code_size"]
    aekit("reconstruct", str(run / "model.aekit"), str(tmp / "test.csv"), "-o", str(tmp / "rec.npy"))
    mu, sd = xtr.mean(0), xtr.std(0)
    z = lambda a: (a - mu) / sd  # noqa: E731
    rec = np.load(tmp / "rec.npy").astype(np.float64)
    # the population optimum in these units: the true mean and the top-k eigenvectors of the true
    # covariance of the standardised rows
    _, vec = np.linalg.eigh(cov / np.outer(sd, sd))
    p = vec[:, ::-1][:, :k]  # (d, k)
    c = z(xte) - z(np.full(d, 50.0))
    oracle = float(np.mean((c @ p @ p.T - c) ** 2))
    return {
        "seed": seed,
        "code_size": k,
        "train_s": round(secs, 1),
        "recon_mse_aekit": round(float(np.mean((z(rec) - z(xte)) ** 2)), 5),
        "recon_mse_pca": round(pca_recon_error(z(xtr), z(xte), k), 5),
        "recon_mse_true_directions": round(oracle, 5),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    started, load = time.time(), os.getloadavg()[0]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="aekit-pcafloor-") as tmp:
        for name, (d, n) in SHAPES.items():
            rows = [one(d, n, s, Path(tmp)) for s in range(args.seeds)]
            ratio = [r["recon_mse_aekit"] / r["recon_mse_pca"] for r in rows]
            results[name] = {
                "columns": d,
                "training_rows": n,
                "runs": rows,
                "summary": {
                    "beats_pca": sum(x < 1 for x in ratio),
                    "runs": len(rows),
                    "median_ratio_aekit_to_pca": round(float(np.median(ratio)), 4),
                    "min_ratio": round(min(ratio), 4),
                    "max_ratio": round(max(ratio), 4),
                    "median_ratio_pca_to_true_directions": round(
                        float(np.median([r["recon_mse_pca"] / r["recon_mse_true_directions"] for r in rows])), 4
                    ),
                },
            }
            print(name, json.dumps(results[name]["summary"]), flush=True)
    out = {"protocol": __doc__.split("\n\n")[2], "results": results, "load_average_at_start": load}
    print("->", write("pca_floor", out, started))


if __name__ == "__main__":
    main()
