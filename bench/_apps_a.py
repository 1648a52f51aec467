"""Shared bits of the denoise / anomaly / features benches: data paths, hardware facts, writing results."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results"


def hardware() -> dict:
    cpu = "unknown"
    try:
        cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t")
    except (OSError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores_visible": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15_min_at_end": [round(v, 2) for v in os.getloadavg()],
    }


def mnist():
    """Full MNIST from the shared folder as float32 in [0, 1]: (x_train, y_train), (x_test, y_test)."""
    from aekit.datasets.mnist import load_mnist

    (xtr, ytr), (xte, yte) = load_mnist(SHARED / "mnist")
    return (xtr.astype(np.float32) / 255, ytr.astype(np.int64)), (xte.astype(np.float32) / 255, yte.astype(np.int64))


def commit() -> str:
    """The checkout's commit, with ``-dirty`` when tracked files differ from it ("unknown" outside git)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


STARTED_AT = commit()  # the code a run measures is the code it started from


def write(name: str, result: dict, started: float) -> Path:
    from aekit.core.container import atomic_write

    result = {
        **result,
        "commit": STARTED_AT,
        "wall_s_total": round(time.time() - started, 1),
        "hardware": hardware(),
        "command": "python " + " ".join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]]),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    atomic_write(path, (json.dumps(result, indent=2) + "\n").encode())
    return path


class Timer:
    def __enter__(self):
        self.t = time.time()
        return self

    def __exit__(self, *a):
        self.s = round(time.time() - self.t, 1)
