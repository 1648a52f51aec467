"""The per-call cost of ``fit``: one ``fit(epochs=1)`` call against a bare PyTorch loop doing the same epoch.

The case (the architecture issue's): the dense 784-32-784 (relu code, sigmoid output, BCE, batch 256) on the
60,000 MNIST training digits from ../shared/data/mnist. aekit: ``ae.fit(x, epochs=1, batch_size=256,
verbose=0)``, everything else at its default, timed as the whole call (the data checks, the defaults decided
from the data, the validation split and pass, the callbacks). The bare loop: bench/speed.py's lean loop (one
randperm, index_select into a reused buffer, contiguous slices, fused Adam) over the same 60,000 digits, the
same architecture. Both in one process, interleaved (bare, aekit, bare, aekit, ...) after one warm-up each,
the bare loop at ``--threads`` (2), aekit at its default thread policy; the figure is the median of
the per-pair ratios aekit / bare.

``--src A --src B`` runs the measurement for each source tree in turn, in fresh processes, alternating
A B A B ... (``--rounds`` times), so two versions of aekit are compared in one run on one machine:

    python bench/fit_overhead.py                                   # this checkout
    git worktree add /tmp/before 3302a52
    python bench/fit_overhead.py --src before=/tmp/before/src --src after=src   # alternating
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "mnist"


def worker(pairs: int, threads: int) -> dict:
    import torch

    import aekit  # first: aekit sets its OpenMP wait policy before torch loads (the bare loop gets it too)

    sys.path.insert(0, str(ROOT / "bench"))
    from speed import Lean  # the bare loop of bench/speed.py

    from aekit.datasets import load_mnist

    torch.set_num_threads(threads)
    (x, _), _ = load_mnist(str(DATA))
    x = x.reshape(len(x), -1).astype("float32") / 255.0
    lean = Lean("dense", torch.from_numpy(x), 256, False)
    ae = aekit.build("dense", input_shape=(784,), hidden=[], latent_dim=32, latent_activation="relu", seed=0)

    def fit_call() -> float:
        t0 = time.perf_counter()
        ae.fit(x, epochs=1, batch_size=256, verbose=0, seed=0)  # threads: the default policy, as a user gets
        return time.perf_counter() - t0

    lean.epoch(), fit_call()  # warm-up
    bare, fit = [], []
    for _ in range(pairs):
        bare.append(lean.epoch()[0])
        fit.append(fit_call())
    ratios = [f / b for f, b in zip(fit, bare)]
    return {
        "bare_s": bare,
        "fit_s": fit,
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "aekit": str(Path(aekit.__file__).parent),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--src",
        action="append",
        help="LABEL=PATH or PATH: a source tree (the folder holding aekit/); default: this one",
    )
    ap.add_argument("--pairs", type=int, default=5, help="timed (bare, fit) pairs per process")
    ap.add_argument("--rounds", type=int, default=2, help="processes per source tree, alternating")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "fit_overhead.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.pairs, args.threads)))
        return 0
    # the results are keyed by label, never by a path of this machine
    srcs = dict(s.split("=", 1) if "=" in s else (s, s) for s in (args.src or ["this checkout=" + str(ROOT / "src")]))
    runs: dict[str, list] = {label: [] for label in srcs}
    for _ in range(args.rounds):
        for s, path in srcs.items():
            env = {**os.environ, "PYTHONPATH": str(Path(path).resolve())}
            out = subprocess.run(
                [sys.executable, __file__, "--worker", "--pairs", str(args.pairs), "--threads", str(args.threads)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[s].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(s, round(runs[s][-1]["ratio_median"], 3), flush=True)
    sys.path.insert(0, str(ROOT / "bench"))
    from _apps_a import hardware  # the benches' one description of the machine

    result = {
        "what": "fit(epochs=1) call / bare PyTorch epoch, dense 784-32-784, 60k MNIST, batch 256",
        "command": "python bench/fit_overhead.py " + " ".join(sys.argv[1:]),
        "hardware": hardware(),
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "results": {
            s: {
                "ratio_median": round(statistics.median(r for run in rs for r in run["ratios"]), 4),
                "fit_s_median": round(statistics.median(f for run in rs for f in run["fit_s"]), 4),
                "bare_s_median": round(statistics.median(b for run in rs for b in run["bare_s"]), 4),
                "runs": rs,
            }
            for s, rs in runs.items()
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for s, r in result["results"].items():
        fit_s, bare_s = r["fit_s_median"], r["bare_s_median"]
        print(f"{s}: fit / bare = {r['ratio_median']:.3f} (fit {fit_s:.3f} s, bare {bare_s:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
