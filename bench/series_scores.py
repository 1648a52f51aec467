"""Which anomaly score, and which code size, for the windows of a time series: every labelled NAB series.

For each series of ../shared/data/nab with labelled anomaly windows (the artificialNoAnomaly folder and
series whose points are all or none labelled are left out): the first 80 % of the points are written as a
timestamp,value CSV and `aekit train dense --data TRAIN.csv --out RUN` trains on it with every option left
to the data-aware defaults (64-step windows, stride 16), once per code size in ``--codes`` (``auto``: the
default code, else ``--set latent_dim=L``). Every point of the whole series is then scored by the highest
score of the windows that cover it (as ``aekit detect`` does) and the AUROC against NAB's windows is
recorded for:

* ``mse``: the reconstruction error alone;
* ``mse_maha``: the error and the code's Mahalanobis distance to the training codes, the larger of their
  standardised log excesses (what ``aekit train`` stores for series, fitted on the training windows);
* ``mse_knn_zone``: the error plus the code's mean distance to its 5 nearest training codes, leaving out the
  windows that share points with it (an exclusion zone, possible here because the windows' positions in the
  series are known), combined as ``mse_maha`` combines its terms;
* baselines on the same windows, standardised with the training part: PCA reconstruction error (90 % of the
  variance) and IsolationForest (200 trees).

Also the held-out reconstruction: the MSE of the last 20 % of the series' windows (standard units of the
training part) divided by PCA's at the same code size fitted on the training windows (below 1: aekit is
better).

    python bench/series_scores.py --codes auto 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import SHARED, write  # noqa: E402
from owndata import baseline_scores, pca_recon_error, write_series_csv  # noqa: E402


def labelled_series(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*.csv") if p.parent.name != "artificialNoAnomaly")


def train(csv_path: Path, run: Path, code: str) -> float:
    extra = [] if code == "auto" else ["--set", f"latent_dim={int(code)}"]
    t0 = time.time()
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "aekit",
            "--json",
            "train",
            "dense",
            "--data",
            str(csv_path),
            "--out",
            str(run),
            "--no-report",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if p.returncode != 0:
        raise RuntimeError(f"aekit train {csv_path.name}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return time.time() - t0


def score_series(rel: str, tmp: Path, codes: list[str]) -> dict | None:
    from sklearn.metrics import roc_auc_score

    import aekit
    from aekit.apps.anomaly import anomaly_scores
    from aekit.apps.anomaly.terms import _log, _robust, errors_and_codes, knn_distance, log_excess_sum
    from aekit.datasets import load_timeseries, nab_labels, sliding_windows, window_scores_to_points

    root = SHARED / "nab"
    ts = load_timeseries(root / rel)
    labels = nab_labels(root, rel, ts.timestamps)
    if labels.all() or not labels.any():
        return None
    cut = int(0.8 * len(ts))
    name = Path(rel).stem
    train_csv = tmp / f"{name}.csv"
    write_series_csv(train_csv, ts, cut)
    mu, sd = ts.values[:cut].mean(), ts.values[:cut].std() or 1.0
    out: dict = {"n_points": int(len(ts))}
    for code in codes:
        run = tmp / f"run_{name}_{code}"
        secs = train(train_csv, run, code)
        m = aekit.load(run / "model.aekit")
        win, stride = m.data.window, m.data.stride

        def auc(s: np.ndarray) -> float:  # each point scored by the highest score of its windows
            points = window_scores_to_points(s, len(ts), win, stride, reduce="max")
            return round(float(roc_auc_score(labels, points)), 4)

        wall = sliding_windows(ts.values.astype(np.float32), win, stride)  # (N, win, 1), data units
        n_tr = len(sliding_windows(ts.values[:cut], win, stride))
        err, z = errors_and_codes(m, wall, 1024)
        zone = -(-win // stride)  # windows closer than this share points
        d = knn_distance(z, z[:n_tr], 5, zone=zone)
        knn = log_excess_sum(_robust(_log(err[:n_tr])), _robust(_log(d[:n_tr])), err, d)
        zw = (wall[:, :, 0] - mu) / sd  # (N, win) in standard units of the training part
        base = baseline_scores(zw[:n_tr], zw)  # IsolationForest (200 trees) and PCA-90 %, as bench/owndata.py
        res = {
            "code_size": int(m.code_size),
            "train_s": round(secs, 1),
            "auroc_mse": auc(err),
            "auroc_mse_maha": auc(anomaly_scores(m, wall, "mse_maha")),
            "auroc_mse_knn_zone": auc(knn),
            "auroc_pca90": auc(base["pca"]),
            "auroc_isolation_forest": auc(base["isolation_forest"]),
        }
        te = sliding_windows(ts.values[cut:].astype(np.float32), win, stride)
        wtr, wte = zw[:n_tr], (te[:, :, 0] - mu) / sd
        rec = (m.reconstruct(te)[:, :, 0] - mu) / sd
        res["recon_vs_pca"] = round(float(np.mean((rec - wte) ** 2) / pca_recon_error(wtr, wte, m.code_size)), 4)
        out[code] = res
    return out


def summarise(results: dict, codes: list[str]) -> dict:
    summary = {}
    for code in codes:
        rows = [r[code] for r in results.values() if code in r]
        keys = [k for k in rows[0] if k.startswith("auroc_")]
        summary[code] = {f"mean_{k}": round(float(np.mean([r[k] for r in rows])), 4) for k in keys}
        summary[code].update(
            series=len(rows),
            code_sizes=sorted({r["code_size"] for r in rows}),
            median_recon_vs_pca=round(float(np.median([r["recon_vs_pca"] for r in rows])), 4),
            beats_pca_reconstruction=int(sum(r["recon_vs_pca"] < 1 for r in rows)),
            mse_maha_beats_mse=int(sum(r["auroc_mse_maha"] > r["auroc_mse"] for r in rows)),
        )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codes", nargs="+", default=["auto", "4"], help="code sizes: auto (the default) or integers")
    ap.add_argument("--limit", type=int, default=0, help="only the first N series (a smoke run)")
    args = ap.parse_args()
    root = SHARED / "nab"
    if not root.is_dir():
        raise SystemExit(f"no NAB data in {root} (see ../shared/data/README)")
    started, load = time.time(), os.getloadavg()[0]
    results: dict = {}
    rels = labelled_series(root)[: args.limit or None]
    with tempfile.TemporaryDirectory(prefix="aekit-series-") as tmp:
        for rel in rels:
            r = score_series(rel, Path(tmp), args.codes)
            if r is None:
                continue
            results[rel] = r
            print(rel, json.dumps(r), flush=True)
    out = {
        "protocol": __doc__.split("\n\n")[1],
        "summary": summarise(results, args.codes),
        "results": results,
        "load_average_at_start": round(load, 2),
    }
    path = write("series_scores", out, started)
    print(json.dumps(out["summary"], indent=1), "->", path)


if __name__ == "__main__":
    main()
