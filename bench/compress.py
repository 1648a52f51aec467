"""Compress bench: bytes per image vs PSNR of aekit's .aekz codec against JPEG, WebP and PCA, same data, same run.

MNIST: the 10,000 test digits (models trained on the 60,000 training digits). Cats: /work/shared/data/cats/train
at 48x48 RGB, the first 10,000 pictures (natural file order) for training, the last 2,500 for testing.
Every method ends in uint8 pictures; PSNR = 10 log10(1 / MSE) with the MSE over the whole test set in [0, 1].
Bytes per image = the whole file (header, tables, payload) / N for aekit and PCA (PCA goes through the same
quantiser and rANS coder, its basis is "the model" like the autoencoder's weights); for JPEG and WebP each
picture is its own file (Pillow), headers included, at qualities 0, 5, ..., 100. Each method's curve is
reduced to its Pareto frontier and baselines are compared with aekit at equal bytes by linear
interpolation of their frontier (no extrapolation: a baseline that cannot reach that size gets null).
Also the kitten tutorial's protocol: a dense autoencoder with a code of 25% of the input (1,728 values),
test MSE, next to PCA with 1,728 components.

    python bench/compress.py
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import aekit
from aekit.apps.codec import QuantizationNoise, compress, decode_codes, decompress, encode_codes
from aekit.datasets.idx import read_idx
from aekit.datasets.images import load_images
from aekit.training import TimeLimit

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
QUALITIES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
N_PILLOW = 1000  # JPEG/WebP are timed on a fixed random subset of the test pictures (one file per picture)
BITS = [2, 3, 4, 5, 6, 7, 8]




def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2)
    return float(10 * np.log10(1 / mse))


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def pillow_curve(x: np.ndarray, fmt: str, n_max: int = N_PILLOW) -> list[dict]:
    """x uint8 (N, H, W, C); one point per quality, on a fixed random subset of n_max pictures."""
    if len(x) > n_max:
        x = x[np.sort(np.random.default_rng(0).choice(len(x), n_max, replace=False))]
    pts = []
    for q in QUALITIES:
        total, out = 0, np.empty_like(x)
        for i, im in enumerate(x):
            buf = io.BytesIO()
            Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(buf, format=fmt, quality=q)
            total += buf.tell()
            buf.seek(0)
            out[i] = np.asarray(Image.open(buf).convert("L" if im.shape[-1] == 1 else "RGB")).reshape(im.shape)
        pts.append({"quality": q, "bytes_per_image": total / len(x), "psnr": psnr(x, out)})
    return pts


def pca_basis(x_train: np.ndarray, k_max: int, method: str = "cov"):
    """(mean (D,), components (k_max, D)): 'cov' = exact eigendecomposition of the covariance (float64,
    small D); 'lowrank' = randomised SVD (torch.svd_lowrank, 4 power iterations); 'gram' = exact
    eigendecomposition of the Gram matrix (N x N, for N < D)."""
    dt = torch.float64 if method == "cov" else torch.float32
    xt = torch.from_numpy(x_train.reshape(len(x_train), -1)).to(dt) / 255
    mean = xt.mean(0)
    xc = xt - mean
    if method == "cov":
        evals, evecs = torch.linalg.eigh(xc.T @ xc)
        comps = evecs[:, torch.argsort(evals, descending=True)[:k_max]].T
    elif method == "lowrank":
        comps = torch.svd_lowrank(xc, q=k_max + 16, niter=4, M=None)[2][:, :k_max].T
    else:
        evals, u = torch.linalg.eigh(xc @ xc.T)  # (N, N)
        top = torch.argsort(evals, descending=True)[:k_max]
        comps = (xc.T @ (u[:, top] / evals[top].clamp_min(1e-12).sqrt())).T  # (k, D), orthonormal rows
    return mean.double().numpy(), comps.contiguous().double().numpy()


def pca_curve(x_test: np.ndarray, mean, comps, ks, bits_list) -> list[dict]:
    flat = x_test.reshape(len(x_test), -1).astype(np.float64) / 255 - mean
    pts = []
    for k in ks:
        coef = (flat @ comps[:k].T).astype(np.float32)  # (N, k)
        for bits in bits_list:
            blob = encode_codes(coef, bits)
            z, _ = decode_codes(blob)
            rec = to_u8(z.astype(np.float64) @ comps[:k] + mean).reshape(x_test.shape)
            pts.append({"components": k, "bits": bits, "bytes_per_image": len(blob) / len(x_test),
                        "psnr": psnr(x_test, rec)})
    return pts


def aekit_curve(ae, x_test: np.ndarray, layout_x: np.ndarray, bits_list, name: str) -> list[dict]:
    """layout_x: x_test as the model takes it (uint8); the reconstruction comes back uint8."""
    pts = []
    for bits in bits_list:
        t0 = time.perf_counter()
        blob = compress(ae, layout_x, bits)
        t1 = time.perf_counter()
        rec = decompress(blob, ae).reshape(x_test.shape)
        pts.append({"model": name, "code_size": ae.code_size, "bits": bits,
                    "bytes_per_image": len(blob) / len(x_test), "psnr": psnr(x_test, rec),
                    "compress_s": round(t1 - t0, 2), "decompress_s": round(time.perf_counter() - t1, 2)})
    return pts


def frontier(pts: list[dict]) -> list[dict]:
    best, out = -np.inf, []
    for p in sorted(pts, key=lambda p: p["bytes_per_image"]):
        if p["psnr"] > best:
            best = p["psnr"]
            out.append(p)
    return out


def at_bytes(front: list[dict], b: float):
    xs = [p["bytes_per_image"] for p in front]
    if not xs or b < xs[0] or b > xs[-1]:
        return None
    return float(np.interp(b, xs, [p["psnr"] for p in front]))


def compare(curves: dict) -> list[dict]:
    """aekit's frontier points with each baseline's PSNR at the same bytes per image."""
    fronts = {k: frontier(v) for k, v in curves.items()}
    rows = []
    for p in fronts["aekit"]:
        b = p["bytes_per_image"]
        base = {k: at_bytes(f, b) for k, f in fronts.items() if k != "aekit"}
        known = [v for v in base.values() if v is not None]
        rows.append({"bytes_per_image": round(b, 2), "aekit_psnr": round(p["psnr"], 2),
                     "code_size": p["code_size"], "bits": p["bits"],
                     **{f"{k}_psnr": (round(v, 2) if v is not None else None) for k, v in base.items()},
                     "gain_db_vs_best_baseline": round(p["psnr"] - max(known), 2) if known else None})
    return rows


def train(ae, x, seconds: float, qbits: int, **kw):
    t0 = time.perf_counter()
    h = ae.fit(x, epochs=10_000, verbose=0, seed=0, callbacks=[TimeLimit(seconds), QuantizationNoise(qbits)], **kw)
    return {"epochs": len(h.history["loss"]), "train_s": round(time.perf_counter() - t0, 1),
            "final_loss": round(h.history["loss"][-1], 5), "quantization_noise_bits": qbits}


def run_mnist(a) -> dict:
    t0 = time.perf_counter()
    x_train = read_idx(SHARED / "mnist" / "train-images-idx3-ubyte.gz")  # (60000, 28, 28) uint8
    x_test = read_idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz")[:a.n_test]
    x4 = x_test[..., None]  # (N, 28, 28, 1) for the image codecs and the PSNR
    curves = {} if a.no_pillow else {"jpeg": pillow_curve(x4, "JPEG"), "webp": pillow_curve(x4, "WEBP")}
    mean, comps = pca_basis(x_train, 96)
    curves["pca"] = pca_curve(x_test, mean, comps, [8, 12, 16, 24, 32, 48, 64, 96], BITS)
    print(f"mnist baselines {time.perf_counter() - t0:.0f}s", flush=True)
    curves["aekit"], models = [], {}
    for latent in a.mnist_latents:
        ae = aekit.build("dense", input_shape=(28, 28), hidden=[512, 256], latent_dim=latent, seed=0)
        models[f"dense-512-256-{latent}"] = train(ae, x_train, a.mnist_seconds, 5, batch_size=128, lr=2e-3)
        curves["aekit"] += aekit_curve(ae, x4, x_test, BITS, f"dense-512-256-{latent}")
        print(f"mnist latent {latent}: {models[f'dense-512-256-{latent}']}", flush=True)
    return {"n_test": len(x_test), "n_train": len(x_train), "models": models, "curves": curves,
            "at_equal_bytes": compare(curves), "wall_s": round(time.perf_counter() - t0, 1)}


def run_cats(a) -> dict:
    t0 = time.perf_counter()
    x = load_images(SHARED / "cats" / "train", size=(48, 48), workers=1).x  # (12500, 48, 48, 3) uint8
    x_train, x_test = x[:10_000], x[10_000:12_500][:a.n_test]
    curves = {"jpeg": pillow_curve(x_test, "JPEG", a.cats_pillow), "webp": pillow_curve(x_test, "WEBP", a.cats_pillow)}
    print(f"cats pillow {time.perf_counter() - t0:.0f}s", flush=True)
    mean, comps = pca_basis(x_train, 384, "lowrank")
    curves["pca"] = pca_curve(x_test, mean, comps, [32, 64, 96, 128, 192, 256, 384], BITS)
    print(f"cats baselines {time.perf_counter() - t0:.0f}s", flush=True)
    curves["aekit"], models = [], {}
    for latent in a.cats_latents:
        ae = aekit.build("conv", input_shape=(48, 48, 3), filters=[32, 64, 128], mode="strided",
                         latent_dim=latent, loss="mse", seed=0)
        models[f"conv-strided-32-64-128-{latent}"] = train(ae, x_train, a.cats_seconds, 5, batch_size=64)
        curves["aekit"] += aekit_curve(ae, x_test, x_test, BITS, f"conv-strided-32-64-128-{latent}")
        print(f"cats latent {latent}: {models[f'conv-strided-32-64-128-{latent}']}", flush=True)
    # the kitten tutorial's protocol: a dense code of 25% of the input, test MSE in [0, 1]
    t1 = time.perf_counter()
    kit = aekit.build("dense", input_shape=(48, 48, 3), hidden=[], latent_dim=1728, loss="mse", seed=0)
    h = kit.fit(x_train, epochs=10_000, batch_size=64, verbose=0, seed=0, callbacks=[TimeLimit(a.kitten_seconds)])
    xt = x_test.astype(np.float64) / 255
    kit_mse = float(np.mean((kit.reconstruct(x_test).astype(np.float64) - xt) ** 2))
    xf = xt.reshape(len(xt), -1)
    mean, comps = pca_basis(x_train[:a.kitten_pca_n], 1728, "gram")  # exact PCA of a training subset (CPU budget)
    pca_mse = float(np.mean(((xf - mean) @ comps.T @ comps + mean - xf) ** 2))
    kitten = {"code_size": 1728, "aekit_dense_test_mse": round(kit_mse, 5), "pca_1728_test_mse": round(pca_mse, 6),
              "pca_fit_on": f"first {a.kitten_pca_n} training pictures (exact, Gram eigendecomposition)",
              "tutorial_reported_mse": 0.011, "aekit_epochs": len(h.history["loss"]),
              "aekit_train_s": round(time.perf_counter() - t1, 1),
              "aekit_model": "dense 6912-1728-6912 (no hidden layer), sigmoid output, mse, adam 1e-3, batch 64"}
    print(f"kitten {kitten}", flush=True)
    return {"n_test": len(x_test), "n_train": len(x_train), "models": models, "curves": curves,
            "at_equal_bytes": compare(curves), "kitten_protocol": kitten, "wall_s": round(time.perf_counter() - t0, 1)}


def merge(paths: list[str], out: Path) -> None:
    """Union the MNIST aekit curves of several runs (e.g. one model per process, run side by side) over the
    baseline curves of the first run that has each, and recompare at equal bytes."""
    runs = [json.loads(Path(p).read_text())["mnist"] for p in paths]
    m = dict(runs[0])
    m["curves"] = {k: v for r in reversed(runs) for k, v in r["curves"].items() if k != "aekit"}
    m["curves"]["aekit"] = [p for r in runs for p in r["curves"]["aekit"]]
    m["models"] = {k: v for r in runs for k, v in r["models"].items()}
    m["at_equal_bytes"] = compare(m["curves"])
    m["runs"] = [{"command": r["command"], "wall_s": r["wall_s"], "models": list(r["models"])} for r in runs]
    m["wall_s"] = max(r["wall_s"] for r in runs)
    res = json.loads(out.read_text()) if out.exists() else {"bench": "compress"}
    res["mnist"] = m
    out.write_text(json.dumps(res, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--merge", nargs="+", default=None, help="merge the MNIST parts of these result files "
                    "into --out instead of running")
    ap.add_argument("--mnist-seconds", type=float, default=120)
    ap.add_argument("--mnist-latents", type=int, nargs="+", default=[32])
    ap.add_argument("--cats-seconds", type=float, default=180)
    ap.add_argument("--cats-latents", type=int, nargs="+", default=[256])
    ap.add_argument("--kitten-seconds", type=float, default=60)
    ap.add_argument("--kitten-pca-n", type=int, default=5000)
    ap.add_argument("--cats-pillow", type=int, default=500, help="cats pictures the JPEG/WebP curves use")
    ap.add_argument("--n-test", type=int, default=None, help="smoke runs: only the first N test pictures")
    ap.add_argument("--no-pillow", action="store_true", help="MNIST without the JPEG/WebP curves (a run "
                    "whose aekit points are merged with another run's curves)")
    ap.add_argument("--only", choices=["mnist", "cats"], default=None)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compress.json"))
    a = ap.parse_args()
    if a.merge:
        return merge(a.merge, Path(a.out))
    torch.set_num_threads(1)
    res = {"bench": "compress", "psnr": "10 log10(1/MSE), MSE over the whole test set, uint8 outputs in [0, 1]",
           "baselines": {"jpeg/webp": f"Pillow {Image.__version__}, qualities {QUALITIES}, one file per "
                                      f"picture, on a fixed random subset of {N_PILLOW} test pictures",
                         "pca": "same quantiser + rANS coder as aekit, components x bits grid; exact PCA for MNIST, "
                                "randomised SVD (svd_lowrank, 4 power iterations) of all training pictures for cats"},
           "aim": "3 dB over the best baseline at equal bytes"}
    if a.only in (None, "mnist"):
        res["mnist"] = run_mnist(a)
    if a.only in (None, "cats"):
        res["cats"] = run_cats(a)
    res["hardware"] = f"{platform.machine()} CPU, 1 torch thread, shared 2-core machine"
    for ds in ("mnist", "cats"):
        if ds in res:
            res[ds]["command"] = "python bench/compress.py " + " ".join(sys.argv[1:])
    out = Path(a.out)
    if a.only and out.exists():  # a run of one data set updates its part of the results
        res = {**json.loads(out.read_text()), **res}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    for ds in ("mnist", "cats"):
        if ds in res:
            print(ds, json.dumps(res[ds]["at_equal_bytes"], indent=None))


if __name__ == "__main__":
    main()
