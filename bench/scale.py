"""Scale-out benchmark: samples/s for 1 and 2 training processes (torchrun, DDP over gloo on this CPU), and a
1,000,000-sample memory-mapped array trained with bounded resident memory.

    python bench/scale.py --budget 420          # -> bench/results/scale.json

Each configuration is a separate launch (``python -m torch.distributed.run --standalone``) of this file in
``--worker`` mode; rank 0 writes its figures to a JSON file this driver collects. Throughput counts the
epochs after the first (warm-up); peak RSS is each process's ``VmHWM`` (/proc/self/status) against its
``VmRSS`` just before ``fit`` (torch and aekit imported, data opened). The memory-mapped array (float32,
written in chunks to a temporary folder) is larger than any batch by far: the figure to read is how much the
peak exceeds the baseline, against the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _status(key: str) -> float:
    """A /proc/self/status memory figure in MiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(a) -> None:
    import numpy as np
    import torch

    import aekit
    from aekit.core.container import atomic_write
    from aekit.training import Callback

    torch.set_num_threads(a.threads)
    if a.data:
        x = np.load(a.data, mmap_mode="r")  # never loaded: fit reads it batch by batch
    else:
        x = np.random.default_rng(0).random((a.samples, a.features), dtype=np.float32)
    ae = aekit.build("dense", input_shape=(a.features,), hidden=[128], latent_dim=16, seed=0)

    class Clock(Callback):
        def __init__(self):
            self.t = []

        def on_train_begin(self, state):
            self.t = [time.perf_counter()]  # after the process group, optimizer and data are set up

        def on_epoch_end(self, state, logs):
            self.t.append(time.perf_counter())

    clock = Clock()
    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())  # its first use imports torch._dynamo (~80 MiB)
    rss0 = _status("VmRSS")
    t0 = time.perf_counter()
    h = ae.fit(x, epochs=a.epochs, batch_size=a.batch, seed=0, verbose=0, callbacks=[clock], lr=1e-3)
    wall = time.perf_counter() - t0
    times = clock.t
    timed = times[1:] if len(times) > 2 else times  # skip the warm-up epoch when there is more than one
    sps = len(x) * (len(timed) - 1) / (timed[-1] - timed[0])
    peak = _status("VmHWM")
    mine = {
        "rss_before_fit_mib": round(rss0, 1),
        "peak_rss_mib": round(peak, 1),
        "peak_minus_before_mib": round(peak - rss0, 1),
    }
    world = ae.parallel.world_size
    per_rank = [mine]
    if world > 1:
        import torch.distributed as dist

        per_rank = [None] * world
        dist.all_gather_object(per_rank, mine)
    if int(os.environ.get("RANK", "0")) == 0:
        atomic_write(
            a.out,
            json.dumps(
                {
                    "processes": world,
                    "threads_per_process": a.threads,
                    "samples": len(x),
                    "features": a.features,
                    "global_batch": a.batch,
                    "epochs": len(h.epoch),
                    "timed_epochs": len(timed) - 1,
                    "samples_per_s": round(sps, 1),
                    "fit_wall_s": round(wall, 2),
                    "final_loss": h.history["loss"][-1],
                    "memory_mapped": bool(a.data),
                    "per_rank": per_rank,
                }
            ).encode(),
        )


def _launch(nproc: int, args: list[str], out: Path, timeout: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=args[args.index("--threads") + 1])
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        str(Path(__file__).resolve()),
        "--worker",
        "--out",
        str(out),
        *args,
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode:
        raise SystemExit(f"bench/scale.py: a launch failed:\n{p.stderr[-3000:]}")
    res = json.loads(out.read_text())
    res["launch_wall_s"] = round(time.perf_counter() - t0, 2)
    return res


def _write_memmap(path: Path, n: int, f: int) -> float:
    import numpy as np

    t0 = time.perf_counter()
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, f))
    rng = np.random.default_rng(1)
    for s in range(0, n, 100_000):  # in chunks: the driver never holds the array either
        mm[s : s + 100_000] = rng.random((min(100_000, n - s), f), dtype=np.float32)
    mm.flush()
    del mm
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--samples", type=int, default=200_000, help="in-memory samples for the 1 vs 2 processes runs")
    ap.add_argument("--mmap-samples", type=int, default=1_000_000, help="samples of the memory-mapped array")
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--batch", type=int, default=256, help="the global batch")
    ap.add_argument("--big-batch", type=int, default=2048, help="a second, large global batch")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=420, help="seconds for the whole benchmark (a cap per launch)")
    a = ap.parse_args()
    if a.worker:
        return worker(a)

    import torch

    t_start = time.perf_counter()
    cores = os.cpu_count() or 1
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    result = {
        "cpu": cpu,
        "cores": cores,
        "load_average_at_start": os.getloadavg(),
        "torch": torch.__version__,
        "backend": "gloo (CPU)",
        "budget_s": a.budget,
        "runs": {},
    }
    left = lambda: a.budget - (time.perf_counter() - t_start)  # noqa: E731
    common = ["--features", str(a.features), "--batch", str(a.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # one thread per process, so that 2 processes use the 2 cores the way 2 threads would; the same global
        # batch for 1 and 2 processes, at the default batch and at a large one (more compute per all-reduce)
        for batch in (a.batch, a.big_batch):
            for nproc in (1, 2):
                name = f"{nproc} process{'es' if nproc > 1 else ''}, batch {batch}"
                args = [
                    "--features",
                    str(a.features),
                    "--batch",
                    str(batch),
                    "--samples",
                    str(a.samples),
                    "--epochs",
                    str(a.epochs),
                    "--threads",
                    "1",
                ]
                result["runs"][name] = _launch(nproc, args, tmp / "r.json", max(left(), 10))
                print(name, result["runs"][name]["samples_per_s"], "samples/s", flush=True)
        data = tmp / "big.npy"
        result["mmap_write_s"] = round(_write_memmap(data, a.mmap_samples, a.features), 2)
        result["mmap_file_mib"] = round(data.stat().st_size / 2**20, 1)
        for name, nproc in (
            (f"memmap {a.mmap_samples:,}, 1 process", 1),
            (f"memmap {a.mmap_samples:,}, 2 processes", 2),
        ):
            args = [*common, "--data", str(data), "--epochs", "1", "--threads", "1"]
            result["runs"][name] = _launch(nproc, args, tmp / "r.json", max(left(), 10))
            r = result["runs"][name]
            print(
                name,
                r["samples_per_s"],
                "samples/s, peak RSS per process",
                [p["peak_rss_mib"] for p in r["per_rank"]],
                "MiB",
                flush=True,
            )
    runs = result["runs"]
    result["speedup_2_vs_1_process"] = {
        f"batch {b}": round(
            runs[f"2 processes, batch {b}"]["samples_per_s"] / runs[f"1 process, batch {b}"]["samples_per_s"], 2
        )
        for b in (a.batch, a.big_batch)
    }
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    from aekit.core.container import atomic_write

    atomic_write(a.out, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {a.out} in {result['wall_s']} s")


if __name__ == "__main__":
    main()
