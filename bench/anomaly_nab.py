"""NAB time-series anomaly bench: every labelled series in /work/shared/data/nab.

Method (per series, all stated in the results file):

1. z-normalise the values with the mean/std of NAB's probationary period (the first 15 % of points);
2. cut sliding windows (length 64, stride 1) with ``aekit.datasets.sliding_windows``;
3. train an aekit ``dense`` autoencoder on the probationary windows only (unsupervised, no labels);
4. score every window by its reconstruction MSE (``aekit.apps.anomaly.anomaly_scores``) and spread window
   scores to points with ``aekit.datasets.window_scores_to_points`` (mean of the covering windows);
5. threshold: the maximum point score over the probationary period (percentile 100 of the training scores,
   the Keras example's rule), times a margin (default 1.0);
6. evaluate after the probationary period only (as NAB does), against the labelled anomaly windows of
   ``combined_windows.json``:
   - event-wise: a labelled window is a true positive if at least one of its points is flagged, else a
     false negative; every maximal run of flagged points outside all labelled windows is one false positive;
   - point-wise: each point is a true/false positive/negative against "inside a labelled window".
   Precision, recall and F1 are micro-averaged over the series (sums of TP, FP, FN).

Baseline in the same run: a rolling z-score detector, |x_t - mean(x[t-64:t])| / std(x[t-64:t]), with the same
threshold rule and evaluation. Plus the Keras example (train on artificialNoAnomaly/art_daily_small_noise,
test on artificialWithAnomaly/art_daily_jumpsup, 288-step windows).

    python bench/anomaly_nab.py        # a few minutes on a shared 2-core CPU
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import SHARED, Timer, write  # noqa: E402

import aekit  # noqa: E402
from aekit.apps.anomaly import anomaly_scores  # noqa: E402
from aekit.datasets import load_nab_windows, load_timeseries, nab_labels, sliding_windows, window_scores_to_points  # noqa: E402,E501

NAB = SHARED / "nab"


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [a, b) of True."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def evaluate(flags: np.ndarray, labels: np.ndarray, start: int) -> dict:
    f, lab = flags[start:].astype(bool), labels[start:].astype(bool)
    wins = runs(lab)
    tp = sum(1 for a, b in wins if f[a:b].any())
    fp = sum(1 for a, b in runs(f & ~lab))
    return {"event_tp": tp, "event_fn": len(wins) - tp, "event_fp": fp,
            "point_tp": int((f & lab).sum()), "point_fp": int((f & ~lab).sum()), "point_fn": int((~f & lab).sum())}


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def summarise(rows: list[dict]) -> dict:
    tot = {k: sum(r[k] for r in rows) for k in rows[0]}
    return {"event": {**prf(tot["event_tp"], tot["event_fp"], tot["event_fn"]),
                      "tp": tot["event_tp"], "fp": tot["event_fp"], "fn": tot["event_fn"]},
            "point": {**prf(tot["point_tp"], tot["point_fp"], tot["point_fn"])}}


def rolling_z(z: np.ndarray, w: int) -> np.ndarray:
    win = sliding_windows(z, w + 1)[:, :, 0]  # (n, w + 1): w past points and the current one
    past, cur = win[:, :-1], win[:, -1]
    s = np.abs(cur - past.mean(1)) / (past.std(1) + 1e-6)
    return np.r_[np.zeros(w), s]  # the first w points have no history: score 0


def ae_point_scores(train_w: np.ndarray, all_w: np.ndarray, n_points: int, length: int, args, seed: int):
    ae = aekit.build("dense", input_shape=(length, 1), hidden=[32], latent_dim=args.latent,
                     output_activation="linear", loss="mse", seed=seed)
    ae.fit(train_w, epochs=args.epochs, batch_size=32, verbose=0, seed=seed)
    return window_scores_to_points(anomaly_scores(ae, all_w, "mse"), n_points, length, 1, reduce="mean")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--latent", type=int, default=8)
    ap.add_argument("--margin", type=float, default=1.0)
    ap.add_argument("--limit", type=int, default=0, help="only the first N series (smoke runs)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    L = args.window
    windows = load_nab_windows(NAB)
    series = [k for k, v in sorted(windows.items()) if v and (NAB / k).exists()]
    if args.limit:
        series = series[:args.limit]
    per, rows_ae, rows_z = {}, [], []
    t_ae = t_z = 0.0
    for i, key in enumerate(series):
        ts = load_timeseries(NAB / key)
        v, n = ts.values, len(ts.values)
        lab = nab_labels(NAB, key, ts.timestamps)
        start = int(0.15 * n)
        mu, sd = v[:start].mean(), v[:start].std() + 1e-9
        z = (v - mu) / sd
        all_w = sliding_windows(z, L)
        train_w = all_w[: start - L + 1]
        with Timer() as t:
            s_ae = ae_point_scores(train_w, all_w, n, L, args, seed=i)
        t_ae += t.s
        with Timer() as t:
            s_z = rolling_z(z, L)
        t_z += t.s
        r_ae = evaluate(s_ae > args.margin * s_ae[:start].max(), lab, start)
        r_z = evaluate(s_z > args.margin * s_z[L:start].max(), lab, start)
        rows_ae.append(r_ae)
        rows_z.append(r_z)
        per[key] = {"n_points": n, "n_windows_labelled": len(windows[key]), "aekit": r_ae, "rolling_z": r_z}
        print(key, per[key], flush=True)
    summary = {"aekit_dense_ae": summarise(rows_ae), "rolling_zscore": summarise(rows_z)}
    print(summary)

    # the Keras example: train on a no-anomaly series, test on one with a jump
    with Timer() as t:
        tr = load_timeseries(NAB / "artificialNoAnomaly/art_daily_small_noise.csv").values
        key = "artificialWithAnomaly/art_daily_jumpsup.csv"
        te = load_timeseries(NAB / key)
        mu, sd = tr.mean(), tr.std()
        K = 288
        trw = sliding_windows((tr - mu) / sd, K)
        tew = sliding_windows((te.values - mu) / sd, K)
        ae = aekit.build("dense", input_shape=(K, 1), hidden=[64], latent_dim=16, output_activation="linear",
                         loss="mse", seed=0)
        ae.fit(trw, epochs=50, batch_size=128, verbose=0, seed=0)
        thr = anomaly_scores(ae, trw, "mse").max()
        w_flag = anomaly_scores(ae, tew, "mse") > thr
        # the Keras example's rule: a point is anomalous when every window covering it is anomalous
        p_flag = window_scores_to_points(w_flag.astype(float), len(te.values), K, 1, reduce="mean") >= 1.0
        lab = nab_labels(NAB, key, te.timestamps)
        keras = {"windows_flagged": int(w_flag.sum()), "points_flagged": int(p_flag.sum()),
                 **{k: v for k, v in evaluate(p_flag, lab, 0).items()}}
        keras["event"] = prf(keras["event_tp"], keras["event_fp"], keras["event_fn"])
        keras["point"] = prf(keras["point_tp"], keras["point_fp"], keras["point_fn"])
    keras["wall_s"] = t.s
    print("keras example", keras)
    result = {"bench": "anomaly_nab", "n_series": len(series),
              "n_labelled_windows": int(sum(len(windows[k]) for k in series)),
              "series_rule": "every series in combined_windows.json with at least one labelled window",
              "summary": summary, "wall_s": {"aekit_total": round(t_ae, 1), "rolling_z_total": round(t_z, 1)},
              "keras_example_jumpsup": keras,
              "settings": {"window": L, "stride": 1, "probationary": 0.15,
                           "model": {"family": "dense", "hidden": [32], "latent_dim": args.latent,
                                     "output_activation": "linear", "loss": "mse", "epochs": args.epochs,
                                     "batch_size": 32},
                           "score": "window reconstruction MSE, spread to points by the mean of covering windows",
                           "threshold": f"{args.margin} x the max point score in the probationary period",
                           "baseline": f"rolling z-score over the previous {L} points, same threshold rule",
                           "evaluation": "after the probationary period; event-wise and point-wise micro P/R/F1",
                           "keras_example": {"window": 288, "hidden": [64], "latent_dim": 16, "epochs": 50,
                                             "threshold": "max training window MSE",
                                             "point_rule": "flag points all of whose covering windows are flagged"}},
              "per_series": per, "limit": args.limit}
    if not args.limit:
        print(write("anomaly_nab", result, started))


if __name__ == "__main__":
    main()
