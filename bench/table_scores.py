"""Which anomaly score for a table: the terms of ``mse_knn`` compared on the same zero-config models.

Tasks (scikit-learn's bundled sets, nothing downloaded), each with a model built and fitted with every
option left to the data-aware defaults (``aekit.build('dense', input_shape=(d,)).fit(x)``, what
``aekit train`` does for a table), for seeds 0 to ``--seeds`` - 1:

* the ``owndata`` protocol (as ``bench/owndata.py``): breast_cancer / wine / digits with class 0 / 2 / 9
  held out as the anomalies, 80 % of the other rows (a seeded permutation) for training, raw values (the
  model scales them);
* the ``anomaly_tables`` protocol (as ``bench/anomaly_tables.py``): breast_cancer, wine, iris and digits
  with every class held out in turn (10 % of the normal count), 60 % of the normal rows for training,
  standard-scaled there.

Scores compared on each model (AUROC x 100; the mean over a set's tasks, then over the sets):

* ``mse``: the reconstruction error alone;
* ``code``: the error plus the code's mean distance to its 5 nearest training codes (``mse_knn`` until
  session 9), each term's log excess over its training median, standardised (``log_excess_sum``);
* ``code_row``: the same plus the row's own distance to its 5 nearest training rows (``mse_knn`` now);
* ``row``: the row's distance alone (a kNN detector on the scaled rows); ``code_only_row``: the two
  distances without the error;
* IsolationForest (200 trees) on the scaled rows.

``flag_*``: the share (%) of held-out normal rows above the training scores' 99th percentile (the threshold
``aekit train`` stores), each training row measured against the other training rows.

    python bench/table_scores.py --seeds 4
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import write  # noqa: E402
from anomaly_tables import sets, split  # noqa: E402
from owndata import TABLES, baseline_scores, table_split  # noqa: E402


def owndata_split(x, y, held: int, seed: int):
    """Training rows, scored rows and their labels of bench/owndata.py's split (with its seed 0)."""
    tr, te_n, te_a = table_split(y, held, seed)
    return (
        x[tr].astype(np.float32),
        np.r_[x[te_n], x[te_a]].astype(np.float32),
        np.r_[np.zeros(len(te_n)), np.ones(len(te_a))],
    )


def task_scores(xtr, xte, lab, seed: int) -> dict:
    from sklearn.metrics import roc_auc_score

    import aekit
    from aekit.apps.anomaly.terms import _log, _log_excess, _robust, errors_and_codes, knn_distance

    m = aekit.build("dense", input_shape=(xtr.shape[1],), seed=seed)
    m.fit(xtr, verbose=0, seed=seed)
    (e_tr, c_tr), (e_te, c_te) = errors_and_codes(m, xtr, 1024), errors_and_codes(m, xte, 1024)
    r_tr, r_te = m.prepare(xtr).reshape(len(xtr), -1), m.prepare(xte).reshape(len(xte), -1)  # scaled rows
    terms = {
        "err": (e_tr, e_te),
        "code": (knn_distance(c_tr, c_tr, 5, exclude_self=True), knn_distance(c_te, c_tr, 5)),
        "row": (knn_distance(r_tr, r_tr, 5, exclude_self=True), knn_distance(r_te, r_tr, 5)),
    }

    def excess(name: str, part: int) -> np.ndarray:  # log excess over the training median, in IQRs
        return _log_excess(_robust(_log(terms[name][0])), terms[name][part])

    combos = {
        "mse": ("err",),
        "code": ("err", "code"),
        "code_row": ("err", "code", "row"),
        "row": ("row",),
        "code_only_row": ("code", "row"),
    }
    res, flags = {}, {}
    for name, parts in combos.items():
        train, test = (sum(excess(t, p) for t in parts) for p in (0, 1))
        if name in ("mse", "row"):  # a single term: its raw values rank the same
            train, test = terms[parts[0]]
        res[name] = 100 * roc_auc_score(lab, test)
        flags[f"flag_{name}"] = 100 * float(np.mean(test[lab == 0] > np.quantile(train, 0.99)))
    res["isolation_forest"] = 100 * roc_auc_score(lab, baseline_scores(r_tr, r_te)["isolation_forest"])
    return {**{k: round(v, 2) for k, v in res.items()}, **{k: round(v, 2) for k, v in flags.items()}}


def summarise(per_task: dict) -> dict:
    out = {}
    for protocol in ("owndata", "anomaly_tables"):
        rows = {k: v for k, v in per_task.items() if k.startswith(protocol + "/")}
        names = sorted({k.split("/")[1] for k in rows})
        keys = [k for k in next(iter(rows.values()))]
        by_set = {
            s: {k: round(float(np.mean([v[k] for t, v in rows.items() if t.split("/")[1] == s])), 2) for k in keys}
            for s in names
        }
        mean = {k: round(float(np.mean([by_set[s][k] for s in names])), 2) for k in keys}
        out[protocol] = {"tasks": len(rows), "mean_over_sets": mean, "by_set": by_set}
    diffs = np.array([v["code_row"] - v["code"] for v in per_task.values()])
    out["code_row_vs_code"] = {
        "tasks": len(diffs),
        "better": int((diffs > 0.05).sum()),
        "worse": int((diffs < -0.05).sum()),
        "mean": round(float(diffs.mean()), 2),
        "worst": round(float(diffs.min()), 2),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=4, help="seeds per task (split and model)")
    args = ap.parse_args()
    from sklearn import datasets

    started, load = time.time(), os.getloadavg()[0]
    per_task: dict = {}
    for seed in range(args.seeds):
        for name, held in TABLES.items():
            d = getattr(datasets, f"load_{name}")()
            xtr, xte, lab = owndata_split(d.data.astype(np.float64), d.target, held, seed)
            per_task[f"owndata/{name}/{held}/{seed}"] = task_scores(xtr, xte, lab, seed)
        for name, (x, y) in sets().items():
            for held in np.unique(y):
                xtr, xte, lab = split(x, y, int(held), seed)
                per_task[f"anomaly_tables/{name}/{held}/{seed}"] = task_scores(xtr, xte, lab, seed * 100)
        print(f"seed {seed}: {len(per_task)} tasks, {time.time() - started:.0f} s", flush=True)
    summary = summarise(per_task)
    print({p: summary[p]["mean_over_sets"] for p in ("owndata", "anomaly_tables")}, summary["code_row_vs_code"])
    print(
        write(
            "table_scores",
            {
                "bench": "table_scores",
                "load_average_at_start": round(load, 2),
                "summary": summary,
                "per_task": per_task,
            },
            started,
        )
    )


if __name__ == "__main__":
    main()
