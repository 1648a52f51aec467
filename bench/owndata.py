"""Zero-config aekit on real data it was never tuned on: `aekit train FAMILY --data X --out RUN` and
`aekit detect RUN/model.aekit Y -o scores.csv` with no other option, on tables, a photo folder and series.

Sets (nothing downloaded): scikit-learn's bundled breast_cancer, wine and digits (as a 64-column table);
300 cat photos from ../shared/data/cats/train (linked into a temporary folder); NAB series from
../shared/data/nab with their labelled anomaly windows. Each set is written as the files a user would
have (CSV tables, a picture folder, timestamp,value CSVs) and aekit is driven through its command line.

Per set:
* held-out reconstruction error: tables and photos are split 80/20 (seeded); the model trains on the
  80 % file, ``aekit reconstruct`` reconstructs the 20 % file; series train on the first 80 % of their
  points and are reconstructed window by window on the last 20 %. The error is the MSE in standard units
  of the training part (tables, series: each column / the series standardised with the training mean
  and deviation) or in [0, 1] pixel units (photos); PCA with as many components as the model's code
  (at most the number of training samples), fitted on the same training part in the same units, is the
  baseline.
* anomaly AUROC where labels exist: tables hold out a class (breast_cancer: malignant; wine: class 2;
  digits: the digit 9) from training: the model trains on the other classes' 80 % part and
  ``aekit detect`` scores their 20 % plus every held-out sample; series: ``aekit detect`` scores each
  point of the whole series against NAB's windows. Baselines: IsolationForest (200 trees) and PCA
  reconstruction error (90 % of the variance), fitted on the same training part (series: on the
  training windows, scores spread back over the points the same way).
* training time (wall, the `aekit train` process) and whether any run diverged.

    python bench/owndata.py --budget 1200 --repeats 3
"""

from __future__ import annotations

import argparse
import csv
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

NAB_SERIES = (
    "realTraffic/speed_6005.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
)
TABLES = {"breast_cancer": 0, "wine": 2, "digits": 9}  # the held-out (anomalous) class


def aekit(*args, timeout=900) -> tuple[float, str]:
    t0 = time.time()
    p = subprocess.run(
        [sys.executable, "-m", "aekit", "--json", *args], capture_output=True, text=True, timeout=timeout
    )
    if p.returncode != 0:
        raise RuntimeError(f"aekit {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    return time.time() - t0, p.stdout


def auroc(labels, scores) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, scores)), 4)


def write_csv(path: Path, x: np.ndarray, names=None) -> None:
    names = names or [f"f{j}" for j in range(x.shape[1])]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        w.writerows([[f"{v:.6g}" for v in r] for r in x])


def write_series_csv(path: Path, ts, stop: int | None = None) -> None:
    """The first ``stop`` points of a TimeSeries (all when None) as the timestamp,value CSV a user would have."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value"])
        w.writerows([[str(t).replace("T", " "), f"{v:.10g}"] for t, v in zip(ts.timestamps[:stop], ts.values[:stop])])


def table_split(y: np.ndarray, held: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, held-out normal, anomalies): class ``held`` is the anomalies, a seeded 80 % of the
    other rows the training part."""
    normal = np.random.default_rng(seed).permutation(np.flatnonzero(y != held))
    cut = int(0.8 * len(normal))
    return normal[:cut], normal[cut:], np.flatnonzero(y == held)


def pca_recon_error(xtr, xte, k) -> float:
    from sklearn.decomposition import PCA

    k = int(min(k, len(xtr), xtr.shape[1]))
    p = PCA(k, random_state=0).fit(xtr)
    return float(np.mean((p.inverse_transform(p.transform(xte)) - xte) ** 2))


def baseline_scores(xtr, xte) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest

    iso = IsolationForest(n_estimators=200, random_state=0).fit(xtr)
    p = PCA(0.9, random_state=0).fit(xtr)
    return {
        "isolation_forest": -iso.score_samples(xte),
        "pca": np.mean((p.inverse_transform(p.transform(xte)) - xte) ** 2, axis=1),
    }


def train(family: str, data: Path, run: Path) -> dict:
    secs, out = aekit("train", family, "--data", str(data), "--out", str(run))
    s = json.loads(out)
    return {"train_s": round(secs, 1), "epochs": s["epochs"], "decided": s["decided"]}


def scores_of(path: Path, key: str = "score") -> np.ndarray:
    return np.array([float(r[key]) for r in csv.DictReader(open(path))])


def table_set(name: str, held: int, tmp: Path) -> dict:
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")()
    x, y = d.data.astype(np.float64), d.target
    tr, te_n, te_a = table_split(y, held)
    names = [str(n).replace(" ", "_") for n in getattr(d, "feature_names", [])] or None
    write_csv(tmp / f"{name}_train.csv", x[tr], names)
    write_csv(tmp / f"{name}_test.csv", x[te_n], names)
    write_csv(tmp / f"{name}_score.csv", np.r_[x[te_n], x[te_a]], names)
    run = tmp / f"run_{name}"
    res = {
        "kind": "table",
        "n_train": int(len(tr)),
        "n_features": int(x.shape[1]),
        **train("dense", tmp / f"{name}_train.csv", run),
    }
    aekit("reconstruct", str(run / "model.aekit"), str(tmp / f"{name}_test.csv"), "-o", str(tmp / f"{name}_rec.npy"))
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd = np.where(sd > 0, sd, 1.0)
    z = lambda a: (a - mu) / sd  # noqa: E731
    rec = np.load(tmp / f"{name}_rec.npy").astype(np.float64)
    k = res["decided"]["code_size"]
    res["recon_mse_aekit"] = round(float(np.mean((z(rec) - z(x[te_n])) ** 2)), 4)
    res["recon_mse_pca"] = round(pca_recon_error(z(x[tr]), z(x[te_n]), k), 4)
    aekit("detect", str(run / "model.aekit"), str(tmp / f"{name}_score.csv"), "-o", str(tmp / f"{name}_det.csv"))
    lab = np.r_[np.zeros(len(te_n)), np.ones(len(te_a))]
    res["auroc_aekit"] = auroc(lab, scores_of(tmp / f"{name}_det.csv"))
    for b, s in baseline_scores(z(x[tr]), z(np.r_[x[te_n], x[te_a]])).items():
        res[f"auroc_{b}"] = auroc(lab, s)
    res["held_out_class"] = int(held)
    return res


def photo_set(tmp: Path, n: int = 300) -> dict:
    from aekit.datasets import load_images

    src = SHARED / "cats" / "train"
    files = sorted(src.glob("cat.*.jpg"), key=lambda p: int(p.stem.split(".")[1]))[:n]
    cut = int(0.8 * len(files))
    for part, fs in (("cats_train", files[:cut]), ("cats_test", files[cut:])):
        (tmp / part).mkdir()
        for f in fs:
            os.symlink(f, tmp / part / f.name)
    run = tmp / "run_cats"
    res = {"kind": "photos", "n_train": cut, **train("conv", tmp / "cats_train", run)}
    aekit("reconstruct", str(run / "model.aekit"), str(tmp / "cats_test"), "-o", str(tmp / "cats_rec.npy"))
    import aekit as ak

    m = ak.load(run / "model.aekit")
    c, h, w = m.data.image_shape
    read = lambda p: load_images(p, size=(h, w), color=m.data.color, cache=False).x.astype(np.float64) / 255  # noqa: E731
    xtr, xte = read(tmp / "cats_train"), read(tmp / "cats_test")
    rec = np.load(tmp / "cats_rec.npy").astype(np.float64).reshape(xte.shape)
    res["image_shape"] = [c, h, w]
    res["recon_mse_aekit"] = round(float(np.mean((rec - xte) ** 2)), 5)
    res["recon_mse_pca"] = round(
        pca_recon_error(xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1), res["decided"]["code_size"]), 5
    )
    res["pca_components"] = int(min(res["decided"]["code_size"], len(xtr)))
    return res


def series_set(rel: str, tmp: Path) -> dict:
    from aekit.datasets import load_timeseries, nab_labels, sliding_windows, window_scores_to_points

    ts = load_timeseries(SHARED / "nab" / rel)
    name = Path(rel).stem
    cut = int(0.8 * len(ts))
    full, train_csv = tmp / f"{name}.csv", tmp / f"{name}_train.csv"
    write_series_csv(full, ts)
    write_series_csv(train_csv, ts, cut)
    run = tmp / f"run_{name}"
    res = {"kind": "series", "series": rel, "n_points": int(len(ts)), **train("dense", train_csv, run)}
    import aekit as ak

    m = ak.load(run / "model.aekit")
    win, stride = m.data.window, m.data.stride
    mu, sd = ts.values[:cut].mean(), ts.values[:cut].std() or 1.0
    z = (ts.values - mu) / sd
    wtr, wte = sliding_windows(z[:cut], win, stride)[:, :, 0], sliding_windows(z[cut:], win, stride)[:, :, 0]
    rec = m.reconstruct(sliding_windows(ts.values[cut:], win, stride))  # (N, win, 1) in data units
    res["window"], res["stride"] = int(win), int(stride)
    res["recon_mse_aekit"] = round(float(np.mean(((rec[:, :, 0] - mu) / sd - wte) ** 2)), 4)
    res["recon_mse_pca"] = round(pca_recon_error(wtr, wte, res["decided"]["code_size"]), 4)
    aekit("detect", str(run / "model.aekit"), str(full), "-o", str(tmp / f"{name}_det.csv"))
    lab = nab_labels(SHARED / "nab", rel, ts.timestamps)
    res["auroc_aekit"] = auroc(lab, scores_of(tmp / f"{name}_det.csv"))
    wall = sliding_windows(z, win, stride)[:, :, 0]
    for b, s in baseline_scores(wtr, wall).items():
        res[f"auroc_{b}"] = auroc(lab, window_scores_to_points(s, len(ts), win, stride, reduce="max"))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=720, help="wall-clock seconds; sets left are skipped")
    ap.add_argument("--photos", type=int, default=300)
    ap.add_argument("--series", nargs="*", default=list(NAB_SERIES))
    ap.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every set this many times (the CLI runs are unseeded, as a user's are): "
        "the summary counts each repeat, the per-set figures are the last repeat's",
    )
    ap.add_argument("--quick", action="store_true", help="two tables and one series (a smoke run)")
    args = ap.parse_args()
    started = time.time()
    load = os.getloadavg()[0]
    # kinds interleaved, so that a short budget still covers tables, photos and series
    tables, series = [("table", n) for n in TABLES], [("series", s) for s in args.series]
    jobs = tables[:2] + series[:1] + [("photos", None)] + tables[2:] + series[1:]
    if args.quick:
        jobs = [("table", "wine"), ("series", args.series[0])]
    runs: list[dict] = []
    skipped: list = []
    for _ in range(max(1, args.repeats)):
        results: dict = {}
        runs.append(results)
        with tempfile.TemporaryDirectory(prefix="aekit-owndata-") as tmp:
            for kind, what in jobs:
                if time.time() - started > args.budget:
                    skipped.append(what or kind)
                    continue
                key = what if kind == "table" else ("cats" if kind == "photos" else Path(what).stem)
                try:
                    if kind == "table":
                        results[key] = table_set(what, TABLES[what], Path(tmp))
                    elif kind == "photos":
                        if not (SHARED / "cats" / "train").is_dir():
                            skipped.append("cats (no ../shared/data)")
                            continue
                        results[key] = photo_set(Path(tmp), args.photos)
                    else:
                        results[key] = series_set(what, Path(tmp))
                except RuntimeError as e:  # a failed or diverged run is a result, not a crash of the bench
                    results[key] = {"kind": kind, "error": str(e), "diverged": "diverged" in str(e)}
                print(key, json.dumps({k: v for k, v in results[key].items() if k != "decided"}), flush=True)
                save(runs, skipped, load, args.budget, started)  # after every set: a killed run keeps what it did


def summarise(results: dict) -> dict:
    ok = [r for r in results.values() if "error" not in r]
    return {
        "sets": len(results),
        "failed": len(results) - len(ok),
        "diverged": sum(bool(r.get("diverged")) for r in results.values()),
        "beats_pca_reconstruction": sum(r["recon_mse_aekit"] < r["recon_mse_pca"] for r in ok),
        "auroc_within_0.02_of_best_baseline": sum(
            r["auroc_aekit"] >= max(r["auroc_isolation_forest"], r["auroc_pca"]) - 0.02
            for r in ok
            if "auroc_aekit" in r
        ),
        "with_auroc": sum("auroc_aekit" in r for r in ok),
    }


def save(runs: list, skipped: list, load: float, budget: float, started: float) -> None:
    keep = ("recon_mse_aekit", "recon_mse_pca", "auroc_aekit", "train_s", "error")
    out = {
        "protocol": __doc__.split("\n\n")[1],
        "results": runs[-1],
        "summary": summarise(runs[-1]),
        "skipped_for_budget": skipped,
        "load_average_at_start": load,
        "budget_s": budget,
    }
    if len(runs) > 1:
        out["repeats"] = [
            {"summary": summarise(r), "sets": {k: {f: v[f] for f in keep if f in v} for k, v in r.items()}}
            for r in runs
        ]
    path = write("owndata", out, started)
    print(json.dumps(out["summary"]), "->", path, flush=True)


if __name__ == "__main__":
    main()
