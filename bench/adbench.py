"""ADBench's unsupervised protocol on the shared classical sets: aekit through its command line against PyOD.

The protocol (Han et al., "ADBench: Anomaly Detection Benchmark", NeurIPS 2022; the shared folder's README):
for each set and seed, a stratified 70/30 split (``train_test_split(test_size=0.3, stratify=y,
random_state=seed)``); a part over 10,000 rows is cut to 10,000 by a further stratified seeded draw;
``MinMaxScaler`` fitted on the training part and applied to both; every detector is fitted on the training
part *without its labels* (it holds that part's anomalies) and scores the test part; AUROC and average
precision on the test labels; the wall time of fit + score.

Detectors, all with their defaults, in the same run and one at a time:

* PyOD 3.6.7's IForest, ECOD, COPOD, HBOS, KNN, LOF, PCA and AutoEncoder (``random_state=seed`` where taken),
  timed in this process (their imports are not counted);
* aekit, as a user runs it: ``aekit train dense --data train.csv --out RUN --seed SEED`` then
  ``aekit detect RUN test.csv -o scores.csv``, nothing else set; timed as the wall time of the two
  processes, start-up included. ``aekit_api`` is the same through the library in this process
  (``build('dense', ...).fit`` + ``detect``), for the start-up's share.

    python bench/adbench.py --seeds 0 1 2            # -> bench/results/adbench.json

``--sets`` picks sets by a part of their names; ``--detectors`` a subset of the detectors.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import SHARED, write  # noqa: E402

PYOD = ("IForest", "ECOD", "COPOD", "HBOS", "KNN", "LOF", "PCA", "AutoEncoder")
CAP = 10_000


def set_paths(folder: Path = SHARED / "adbench", only: list[str] | None = None) -> list[Path]:
    """The .npz sets of ``folder`` in ADBench's numbering, those whose name holds one of ``only``."""
    paths = sorted(folder.glob("*.npz"), key=lambda p: int(p.name.split("_")[0]))
    return [p for p in paths if not only or any(o.lower() in p.name.lower() for o in only)]


def protocol_split(x: np.ndarray, y: np.ndarray, seed: int):
    """(x_train, x_test, y_test): the stratified 70/30 split, parts cut to 10,000 rows, min-max scaled."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
    if len(xtr) > CAP:
        xtr, _, ytr, _ = train_test_split(xtr, ytr, train_size=CAP, stratify=ytr, random_state=seed)
    if len(xte) > CAP:
        xte, _, yte, _ = train_test_split(xte, yte, train_size=CAP, stratify=yte, random_state=seed)
    sc = MinMaxScaler().fit(xtr)
    return sc.transform(xtr), sc.transform(xte), np.asarray(yte, dtype=int)


def pyod_detector(name: str, seed: int):
    import pyod.models.auto_encoder
    import pyod.models.copod
    import pyod.models.ecod
    import pyod.models.hbos
    import pyod.models.iforest
    import pyod.models.knn
    import pyod.models.lof
    import pyod.models.pca

    if name == "IForest":
        return pyod.models.iforest.IForest(random_state=seed)
    if name == "PCA":
        return pyod.models.pca.PCA(random_state=seed)
    if name == "AutoEncoder":
        return pyod.models.auto_encoder.AutoEncoder(random_state=seed, verbose=0)
    mod = {"ECOD": pyod.models.ecod, "COPOD": pyod.models.copod, "HBOS": pyod.models.hbos}
    mod |= {"KNN": pyod.models.knn, "LOF": pyod.models.lof}
    return getattr(mod[name], name)()


def run_pyod(name: str, xtr, xte, seed: int) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    det = pyod_detector(name, seed).fit(xtr)
    return det.decision_function(xte), time.perf_counter() - t


def _csv(path: Path, x: np.ndarray) -> None:
    header = ",".join(f"f{i}" for i in range(x.shape[1]))
    np.savetxt(path, x, delimiter=",", header=header, comments="", fmt="%.17g")


def run_aekit_cli(xtr, xte, seed: int, work: Path) -> tuple[np.ndarray, float]:
    """aekit as a user runs it: two commands, timed as processes (CSV writing not counted)."""
    import pandas as pd

    _csv(work / "train.csv", xtr)
    _csv(work / "test.csv", xte)
    aekit = [sys.executable, "-m", "aekit"]
    t = time.perf_counter()
    for cmd in (
        [*aekit, "train", "dense", "--data", "train.csv", "--out", "run", "--seed", str(seed), "--quiet", "--force"],
        [*aekit, "detect", "run", "test.csv", "-o", "scores.csv", "--quiet"],
    ):
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[2:])} failed: {done.stderr.strip()[-500:]}")
    took = time.perf_counter() - t
    return pd.read_csv(work / "scores.csv")["score"].to_numpy(float), took


def run_aekit_api(xtr, xte, seed: int) -> tuple[dict, float]:
    """The same model and score through the library, timed in this process; with the ablation of the
    score's terms on the same model: ``-no_error`` (the column tails and densities without the
    autoencoder's error) and ``-error_only`` (the error alone)."""
    import aekit
    from aekit.apps.anomaly import default_score, detect, fit_threshold
    from aekit.apps.anomaly.marginal import ablation_terms

    t = time.perf_counter()
    x = xtr.astype(np.float32)
    m = aekit.build("dense", input_shape=(x.shape[1],), seed=seed)
    m.fit(x, verbose=0, seed=seed)
    fit_threshold(m, x, contamination=0.01, metric=default_score(m, "table", len(x)))  # what `aekit train` stores
    s = detect(m, xte.astype(np.float32)).scores
    took = time.perf_counter() - t
    err, tail, dens = ablation_terms(m, xte.astype(np.float32))
    return {"": s, "-no_error": tail + dens, "-error_only": err}, took


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sets", nargs="*", default=None, help="parts of set names (default: all)")
    ap.add_argument("--detectors", nargs="*", default=["aekit", "aekit_api", *PYOD])
    ap.add_argument("--name", default="adbench", help="results file name under bench/results")
    args = ap.parse_args(argv)
    from sklearn.metrics import average_precision_score, roc_auc_score

    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in set_paths(only=args.sets):
            d = np.load(path, allow_pickle=True)
            x, y = np.asarray(d["X"], dtype=np.float64), np.asarray(d["y"]).astype(int)
            for seed in args.seeds:
                xtr, xte, yte = protocol_split(x, y, seed)
                for det in args.detectors:
                    if det == "aekit":
                        s, took = run_aekit_cli(xtr, xte, seed, Path(tmp))
                    elif det == "aekit_api":
                        s, took = run_aekit_api(xtr, xte, seed)
                    else:
                        s, took = run_pyod(det, xtr, xte, seed)
                    for suffix, si in s.items() if isinstance(s, dict) else [("", s)]:
                        si = np.nan_to_num(np.asarray(si, dtype=float), nan=0.0, posinf=1e300, neginf=-1e300)
                        name = det + suffix
                        row = {"set": path.stem, "seed": seed, "detector": name}
                        row |= {"time_s": round(took, 3) if not suffix else 0.0}
                        row |= {"auroc": round(float(roc_auc_score(yte, si)), 4)}
                        row |= {"ap": round(float(average_precision_score(yte, si)), 4)}
                        rows.append(row)
                        print(
                            f"{path.stem:22s} seed {seed} {name:22s} auroc {row['auroc']:.4f} {took:7.2f} s", flush=True
                        )
    write(args.name, {"bench": "adbench", "protocol": __doc__, "rows": rows, "summary": summary(rows)}, started)


def summary(rows: list[dict]) -> dict:
    """Per detector: mean AUROC and AP over sets (each set's mean over seeds), total time, and its rank."""
    dets = sorted({r["detector"] for r in rows})
    sets = sorted({r["set"] for r in rows}, key=lambda s: int(s.split("_")[0]))
    out: dict = {"by_set": {}, "detectors": {}}
    for s in sets:
        out["by_set"][s] = {
            d: round(float(np.mean([r["auroc"] for r in rows if r["set"] == s and r["detector"] == d])), 4)
            for d in dets
        }
    for d in dets:
        mine = [r for r in rows if r["detector"] == d]
        out["detectors"][d] = {
            "mean_auroc": round(float(np.mean([out["by_set"][s][d] for s in sets])), 4),
            "mean_ap": round(float(np.mean([np.mean([r["ap"] for r in mine if r["set"] == s]) for s in sets])), 4),
            "total_time_s": round(sum(r["time_s"] for r in mine), 1),
        }
    # the ranking is of the nine a user chooses between: aekit through its command line and PyOD's eight
    ranked = [d for d in dets if d == "aekit" or d in PYOD]
    for i, d in enumerate(sorted(ranked, key=lambda d: -out["detectors"][d]["mean_auroc"])):
        out["detectors"][d]["rank"] = i + 1
    out["sets"], out["seeds"] = len(sets), sorted({r["seed"] for r in rows})
    return out


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
