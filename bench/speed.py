"""Training speed of the six tutorial models: aekit ``fit`` against lean hand-written PyTorch loops and the
tutorials' own Keras code, under load, and in bfloat16.

Models (the Keras blog "Building autoencoders in Keras" and its VAE / sequence examples; MNIST from
../shared/data/mnist through ``aekit.datasets.load_mnist``, 60,000 training digits):

    dense     784-32-784, relu code, sigmoid output, BCE, batch 256
    deep      784-128-64-32-64-128-784, relu, BCE, batch 256
    conv      16-8-8 conv + max-pool / conv + upsample, BCE, batch 128
    denoise   32-32 conv, Gaussian noise 0.5 clipped to [0, 1] on the inputs, BCE, batch 128
    vae       784-64-2 dense VAE (BCE sum + KL), batch 128
    lstm      sequence autoencoder, 50 steps x 50 features -> 64 -> 50 x 50, MSE, batch 128, on 20,000
              synthetic sequences (sums of sinusoids with random phases, seed 0; MNIST has no 50x50 form)

What is timed. To fit a wall budget, a timed "epoch" is ``--steps`` optimizer steps (Adam, lr 1e-3) over a
fixed random subset of ``steps x batch`` samples of the full data; the full-epoch figure is per-step time x
steps per full epoch. aekit: one ``fit(epochs=1)`` call per timed epoch, timed from ``on_epoch_begin`` to
``on_epoch_end`` (whole-call wall time recorded too). Lean loops: one ``randperm`` per epoch gathered with
``index_select(out=)`` into a preallocated buffer, contiguous slices, fused Adam, the same architecture
(parameter counts asserted equal), in NCHW and channels_last for the conv models. Variants run interleaved
(lean, lean_cl, aekit, ... per epoch) after one warm-up epoch each; figures are medians. Keras runs in its
own process per model (``tensorflow-cpu`` in ``bench/.tf-venv``, made by ``--setup-keras``; never a
dependency of aekit), same threads, same steps, first epoch (tracing) dropped.

Load: aekit with its default (automatic) thread policy, idle and with one and with two pure-Python busy
processes (each in its own session, like another program); beside it, under the same load, the lean loop at
each thread count from 1 to ``--threads``: the best of those against the lean loop idle is the floor that no
thread policy can beat (``lean_floor_ratio``). Keras is also set against the best lean loop
(``keras_vs_best_lean``): the most any loop on PyTorch's kernels could reach in ``keras_vs_aekit``.
bf16: aekit ``amp=True`` vs float32 on dense and conv, speed and final loss after the timed epochs from the same seed.

    python bench/speed.py --setup-keras                  # once: venv + pip install tensorflow-cpu
    python bench/speed.py [--steps 40] [--epochs 3] [--threads 2] [--budget-s 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import aekit  # first: aekit sets its OpenMP wait policy before torch loads (the lean loops get it too)
from aekit.datasets import load_mnist
from aekit.training import Callback

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "mnist"
TF_VENV = ROOT / "bench" / ".tf-venv"
KERAS = ROOT / "bench" / "_speed_keras.py"

MODELS = {  # name: (aekit family, build options, fit options, batch)
    "dense": ("dense", dict(input_shape=(784,), hidden=[], latent_dim=32, latent_activation="relu"), {}, 256),
    "deep": ("dense", dict(input_shape=(784,), hidden=[128, 64], latent_dim=32, latent_activation="relu"), {}, 256),
    "conv": ("conv", dict(input_shape=(1, 28, 28), filters=[16, 8, 8]), {}, 128),
    "denoise": (
        "conv",
        dict(input_shape=(1, 28, 28), filters=[32, 32], corruption={"kind": "gaussian", "amount": 0.5}),
        {},
        128,
    ),
    "vae": ("vae", dict(input_shape=(784,), hidden=[64], latent_dim=2), {}, 128),
    "lstm": (
        "lstm",
        dict(input_shape=(50, 50), hidden=64, latent_dim=64, output_activation="linear", loss="mse"),
        {},
        128,
    ),
}
CONV = ("conv", "denoise")


# --- lean models: the same architectures written bare --------------------------------------------------------
def lean_module(name: str) -> nn.Module:
    if name in ("dense", "deep"):
        sizes = [784, 32] if name == "dense" else [784, 128, 64, 32]
        enc = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        rs = sizes[::-1]
        dec = [m for a, b in zip(rs[:-2], rs[1:-1]) for m in (nn.Linear(a, b), nn.ReLU())] + [nn.Linear(rs[-2], 784)]
        return nn.Sequential(*enc, *dec)
    if name in CONV:
        f = [16, 8, 8] if name == "conv" else [32, 32]
        sizes = [(28, 28), (14, 14), (7, 7), (4, 4)][: len(f) + 1]
        layers, c = [], 1
        for b in f:
            layers += [nn.Conv2d(c, b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            c = b
        rev = f[::-1]
        for a, b, size in zip([rev[0], *rev[:-1]], rev, reversed(sizes[:-1])):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.Upsample(size=size, mode="nearest")]
        return nn.Sequential(*layers, nn.Conv2d(f[0], 1, 3, padding=1))
    if name == "vae":
        return LeanVAE()
    return LeanLSTM()


class LeanVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.mu, self.logvar = nn.Linear(784, 64), nn.Linear(64, 2), nn.Linear(64, 2)
        self.dec1, self.dec2 = nn.Linear(2, 64), nn.Linear(64, 784)

    def forward(self, x):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec2(F.relu(self.dec1(z))), mu, logvar


class LeanLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.LSTM(50, 64, batch_first=True)
        self.head = nn.Linear(64, 64)
        self.dec = nn.LSTM(64, 64, batch_first=True)
        self.out = nn.Linear(64, 50)

    def forward(self, x):
        _, (h, _) = self.enc(x)
        z = self.head(h[-1])
        seq, _ = self.dec(z.unsqueeze(1).expand(-1, 50, -1))
        return self.out(seq)


def lean_loss(name: str, model: nn.Module, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if name == "vae":
        logits, mu, logvar = model(xb)
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
        return rec + (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
    if name == "lstm":
        return F.mse_loss(model(xb), xb)
    inp = xb
    if name == "denoise":
        inp = (xb + 0.5 * torch.randn(xb.shape, generator=gen)).clamp_(0, 1)
    return F.binary_cross_entropy_with_logits(model(inp), xb)


class Lean:
    """The lean loop: one randperm per epoch, index_select(out=) into a reused buffer, contiguous slices."""

    def __init__(self, name: str, x: torch.Tensor, batch: int, channels_last: bool):
        torch.manual_seed(0)
        self.name, self.batch = name, batch
        self.model = lean_module(name)
        # NCHW strides made explicit: a 1-channel (N, 1, H, W) array from numpy's x[:, None] has a channel stride
        # of 1, which torch reads as channels_last (with one channel both layouts are the same bytes), and the
        # convolutions then run in channels_last; torch.empty lays the copy out in plain NCHW strides
        self.x = (
            x.contiguous(memory_format=torch.channels_last)
            if channels_last
            else torch.empty(x.shape, dtype=x.dtype).copy_(x)
        )
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.buf = torch.empty_like(self.x)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, fused=True)
        self.gen = torch.Generator().manual_seed(0)

    def epoch(self) -> tuple[float, float]:
        t0 = time.perf_counter()
        torch.index_select(self.x, 0, torch.randperm(len(self.x), generator=self.gen), out=self.buf)
        total = torch.zeros(())
        for i in range(0, len(self.buf), self.batch):
            xb = self.buf[i : i + self.batch]
            loss = lean_loss(self.name, self.model, xb, self.gen)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            total += loss.detach()
        return time.perf_counter() - t0, float(total) / max(1, len(self.buf) // self.batch)


class EpochTimer(Callback):
    def __init__(self):
        self.times, self.threads = [], []

    def on_epoch_begin(self, state):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, state, logs):
        self.times.append(time.perf_counter() - self.t0)
        self.threads.append(torch.get_num_threads())  # what the thread policy chose by the epoch's end


class Aekit:
    def __init__(self, name: str, x: np.ndarray, batch: int, **fit_options):
        family, opts, _, _ = MODELS[name]
        self.ae = aekit.build(family, seed=0, **opts)
        self.x, self.batch, self.opts = x, batch, fit_options
        self.loss = float("nan")

    def epoch(self) -> tuple[float, float]:
        timer = EpochTimer()
        t0 = time.perf_counter()
        h = self.ae.fit(self.x, epochs=1, batch_size=self.batch, verbose=0, seed=0, callbacks=[timer], **self.opts)
        self.call_s = time.perf_counter() - t0
        self.loss = h.history["loss"][-1]
        self.threads_used = timer.threads[0]
        return timer.times[0], self.loss


# --- data ----------------------------------------------------------------------------------------------------
def sequences(n: int = 20_000, seed: int = 0) -> np.ndarray:
    """(n, 50, 50) float32: per feature a sinusoid of random frequency and phase plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(50, dtype=np.float32)[None, :, None]
    freq = rng.uniform(0.05, 0.5, (n, 1, 50)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 50)).astype(np.float32)
    return (np.sin(freq * t + phase) + 0.1 * rng.standard_normal((n, 50, 50), dtype=np.float32)).astype(np.float32)


def model_data(name: str, mnist: np.ndarray, seqs: np.ndarray) -> np.ndarray:
    """The full training data in the model's layout, float32 (N, 784), (N, 1, 28, 28) or (N, 50, 50)."""
    if name == "lstm":
        return seqs
    x = mnist.astype(np.float32) / 255.0
    return x[:, None] if name in CONV else x.reshape(len(x), 784)


def subset(x: np.ndarray, steps: int, batch: int) -> np.ndarray:
    idx = np.random.default_rng(1).permutation(len(x))[: steps * batch]
    return np.ascontiguousarray(x[np.sort(idx)])


# --- phases --------------------------------------------------------------------------------------------------
def compare(name: str, x_full: np.ndarray, args) -> dict:
    _, _, _, batch = MODELS[name]
    xs = subset(x_full, args.steps, batch)
    xt = torch.from_numpy(xs)
    variants = {"lean": Lean(name, xt, batch, False)}
    if name in CONV:
        variants["lean_cl"] = Lean(name, xt, batch, True)
    variants["aekit"] = Aekit(name, xs, batch, threads=args.threads)
    if name in ("dense", "conv"):
        variants["aekit_bf16"] = Aekit(name, xs, batch, threads=args.threads, amp=True)
    n_ae = variants["aekit"].ae.n_params()
    n_lean = sum(p.numel() for p in variants["lean"].model.parameters())
    assert n_ae == n_lean, (name, n_ae, n_lean)
    times = {k: [] for k in variants}
    for v in variants.values():
        v.epoch()  # warm-up
    for _ in range(args.epochs):
        for k, v in variants.items():
            times[k].append(v.epoch()[0])
    med = {k: statistics.median(t) for k, t in times.items()}
    steps_full = -(-len(x_full) // batch)
    best_lean = min(med[k] for k in med if k.startswith("lean"))
    row = {
        "model": name,
        "batch": batch,
        "params": n_ae,
        "samples_full": len(x_full),
        "timed_steps": args.steps,
        "s_per_step": {k: round(m / args.steps, 5) for k, m in med.items()},
        "full_epoch_s": {k: round(m / args.steps * steps_full, 2) for k, m in med.items()},
        "runs_s": {k: [round(t, 4) for t in ts] for k, ts in times.items()},
        "aekit_fit_call_s": round(variants["aekit"].call_s, 4),
        "aekit_vs_best_lean": round(med["aekit"] / best_lean, 3),
        "aekit_vs_lean_nchw": round(med["aekit"] / med["lean"], 3),
    }
    if "aekit_bf16" in variants:
        row["bf16"] = {
            "speedup_vs_fp32": round(med["aekit"] / med["aekit_bf16"], 3),
            "final_loss_fp32": round(variants["aekit"].loss, 5),
            "final_loss_bf16": round(variants["aekit_bf16"].loss, 5),
            "rel_loss_diff": round(
                abs(variants["aekit_bf16"].loss - variants["aekit"].loss) / variants["aekit"].loss, 5
            ),
        }
    return row


def keras(name: str, x_full: np.ndarray, args, tmp: Path) -> dict:
    py = TF_VENV / "bin" / "python"
    if not py.exists():
        return {"skipped": f"no {TF_VENV} (run bench/speed.py --setup-keras)"}
    _, _, _, batch = MODELS[name]
    path = tmp / f"{name}.npy"
    np.save(path, subset(x_full, args.steps, batch))
    cmd = [str(py), str(KERAS), name, str(path), str(batch), str(args.epochs + 1), str(args.threads)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.keras_timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {args.keras_timeout} s"}
    if p.returncode != 0:
        return {"skipped": f"keras failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}"}
    res = json.loads(p.stdout.strip().splitlines()[-1])
    t = res["epoch_s"][1:]  # the first epoch traces the graph
    res["median_s"] = statistics.median(t)
    res["s_per_step"] = round(res["median_s"] / args.steps, 5)
    return res


def busy(n: int) -> list:
    """``n`` pure-Python busy loops, each in its own session (as another program would be)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(n)]


def lean_epochs(lean: Lean, threads: int, n: int) -> float:
    """Median of ``n`` timed lean epochs at ``threads`` threads (after one warm-up epoch)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        lean.epoch()
        return statistics.median(lean.epoch()[0] for _ in range(n))
    finally:
        torch.set_num_threads(old)


def under_load(name: str, x_full: np.ndarray, args) -> dict:
    """aekit's automatic thread policy idle and beside 1 and 2 busy processes, and the floor no thread policy
    can beat: the lean loop (its faster layout) at every thread count from 1 to ``args.threads`` under the
    same load, against the lean loop idle at ``args.threads``."""
    _, _, _, batch = MODELS[name]
    xs = subset(x_full, args.steps, batch)
    lean = Lean(name, torch.from_numpy(xs), batch, channels_last=name in CONV)
    out = {}
    for n_busy in (0, 1, 2):
        ae = Aekit(name, xs, batch)  # default: automatic threads
        procs = busy(n_busy)
        try:
            time.sleep(0.5)
            ae.epoch()  # warm-up; the thread policy measures the load
            ts, used = [], []
            for _ in range(args.load_epochs):
                ts.append(ae.epoch()[0])
                used.append(ae.threads_used)
            lean_s = {t: round(lean_epochs(lean, t, args.load_epochs), 4) for t in range(1, args.threads + 1)}
        finally:
            for p in procs:
                p.kill()
                p.wait()
        out[f"busy_{n_busy}"] = {
            "median_s": round(statistics.median(ts), 4),
            "runs_s": [round(t, 4) for t in ts],
            "threads_used": used,
            "lean_s_by_threads": lean_s,
        }
    idle = out["busy_0"]["median_s"]
    lean_idle = out["busy_0"]["lean_s_by_threads"][args.threads]
    for k in ("busy_1", "busy_2"):
        out[k]["ratio_to_idle"] = round(out[k]["median_s"] / idle, 3)
        # the best any thread count of the lean loop did under this load, against the lean loop idle
        out[k]["lean_floor_ratio"] = round(min(out[k]["lean_s_by_threads"].values()) / lean_idle, 3)
    return out


def setup_keras() -> int:
    subprocess.run([sys.executable, "-m", "venv", str(TF_VENV)], check=True)
    return subprocess.run([str(TF_VENV / "bin" / "pip"), "install", "tensorflow-cpu"]).returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40, help="optimizer steps per timed epoch")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per variant (after one warm-up)")
    ap.add_argument("--load-epochs", type=int, default=2, help="timed epochs per load condition")
    ap.add_argument("--threads", type=int, default=2, help="threads of the side-by-side comparison")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--budget-s", type=float, default=1500, help="phases not started within this are skipped")
    ap.add_argument("--until", help="HH:MM (local clock): phases not started by then are skipped too")
    ap.add_argument("--keras-timeout", type=int, default=300)
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--setup-keras", action="store_true", help="make bench/.tf-venv with tensorflow-cpu and exit")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.json"))
    args = ap.parse_args()
    if args.setup_keras:
        return setup_keras()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    t_start = time.time()
    stop_at = t_start + args.budget_s
    if args.until:
        hh, mm = (int(v) for v in args.until.split(":"))
        lt = time.localtime(t_start)
        stop_at = min(stop_at, time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, hh, mm, 0, 0, 0, -1)))
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
        platform.processor(),
    )
    from aekit.training.device import cpu_supports_bf16

    result = {
        "bench": "speed",
        "command": " ".join(["python", *sys.argv]),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cpu_bf16": cpu_supports_bf16(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
        "threads": args.threads,
        "loadavg_start": os.getloadavg(),
        "steps": args.steps,
        "epochs": args.epochs,
        "models": {},
    }
    (x_train, _), _ = load_mnist(DATA)
    seqs = sequences()
    tmp = ROOT / "bench" / "results" / ".speed-tmp"
    tmp.mkdir(exist_ok=True)
    names = [m for m in args.models.split(",") if m]
    skipped = result["skipped"] = []
    try:
        for phase in ("compare", "keras", "load"):
            for name in names:
                if time.time() > stop_at:
                    skipped.append(f"{phase}:{name}")
                    continue
                if phase == "keras" and args.no_keras:
                    continue
                x_full = model_data(name, x_train, seqs)
                row = result["models"].setdefault(name, {})
                t0 = time.time()
                load = os.getloadavg()[0]
                if phase == "compare":
                    row.update(compare(name, x_full, args))
                elif phase == "keras":
                    torch_s = row["s_per_step"]["aekit"] if "s_per_step" in row else None
                    k = keras(name, x_full, args, tmp)
                    if torch_s and "s_per_step" in k:
                        k["keras_vs_aekit"] = round(k["s_per_step"] / torch_s, 2)
                        # the ceiling of keras_vs_aekit for any loop on these kernels: Keras against the best lean loop
                        lean_s = min(v for kk, v in row["s_per_step"].items() if kk.startswith("lean"))
                        k["keras_vs_best_lean"] = round(k["s_per_step"] / lean_s, 2)
                    row["keras"] = k
                else:
                    row["load"] = under_load(name, x_full, args)
                row.setdefault("phase_loadavg", {})[phase] = round(load, 2)
                row.setdefault("phase_wall_s", {})[phase] = round(time.time() - t0, 1)
                print(
                    json.dumps(
                        {name: {phase: row.get(phase if phase != "compare" else "full_epoch_s", row.get("load"))}},
                        default=str,
                    ),
                    flush=True,
                )
                result["wall_s"] = round(time.time() - t_start, 1)  # written as it goes: a cut run keeps its rows
                aekit.core.container.atomic_write(args.out, (json.dumps(result, indent=2) + "\n").encode())
    finally:
        for f in tmp.glob("*.npy"):
            f.unlink()
        tmp.rmdir()
    result["skipped"] = skipped
    result["wall_s"] = round(time.time() - t_start, 1)
    result["loadavg_end"] = os.getloadavg()
    aekit.core.container.atomic_write(args.out, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {args.out} in {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
