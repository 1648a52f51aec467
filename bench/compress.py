"""Compress bench: bytes per image vs PSNR of aekit's .aekz codecs against JPEG, WebP, AVIF and PCA, same data.

MNIST: the 10,000 test digits (models trained on the 60,000 training digits). Cats: ../shared/data/cats/train
at 48x48 RGB, the first 10,000 pictures (natural file order) for training, the last 2,500 for testing.
Every method ends in uint8 pictures; PSNR = 10 log10(1 / MSE) with the MSE over the whole test set in [0, 1].
Bytes per image = the whole file (header, tables, payload) / N for aekit and PCA (PCA goes through the same
quantiser and rANS coder, its basis is "the model" like the autoencoder's weights); for JPEG and WebP each
picture is its own file (Pillow), headers included, at qualities 0, 5, ..., 100. Each method's curve is
reduced to its Pareto frontier and baselines are compared with aekit at equal bytes by linear
interpolation of their frontier (no extrapolation: a baseline that cannot reach that size gets null).
On the cats, aekit has two entries: the plain conv autoencoder through the per-file quantiser ("aekit",
as before) and the learned ``codec`` family ("codec": rate-distortion trained, coded with its own tables),
one model per quality level: the first level trained from scratch, the others fine-tuned from it (the
usual way to get an RD ladder on a small budget). Gains are read at 128 and 256 bytes per picture and as
the Bjontegaard rate difference (BD-rate) against WebP. Also the kitten tutorial's protocol: a dense
autoencoder with a code of 25% of the input (1,728 values), test MSE, next to PCA with 1,728 components
and a dense model started from that PCA (``init="pca"``).

    python bench/compress.py --only cats
    python bench/compress.py --only cats --codec-only --no-kitten --cats-latents --threads 2 \
        --codec-qualities 3 1 2 4 5 --out B.json   # a codec ladder alone, then:
    python bench/compress.py --merge-codec bench/results/compress_cats.json B.json \
        --out bench/results/compress_cats.json
    python bench/compress.py --kitten-only --threads 2 --out bench/results/compress_cats.json
    python bench/compress.py --only cats --codec-only ... --save-models DIR --out C.json   # keep the models, then
    python bench/compress.py --only cats --codec-only --no-kitten --cats-latents --codec-models DIR/*.aekit \
        --codec-refine 100 --out R.json   # their points again, and with the encoder-side search (refine)
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
from aekit.apps.denoise import db
from aekit.apps.learned_codec import psnr_report
from aekit.core.container import atomic_write
from aekit.datasets.idx import read_idx
from aekit.datasets.images import load_images
from aekit.training import Callback, LearningRateScheduler, TimeLimit

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
QUALITIES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
N_PILLOW = 1000  # JPEG/WebP are timed on a fixed random subset of the test pictures (one file per picture)
BITS = [2, 3, 4, 5, 6, 7, 8]


def public_arg(arg: str) -> str:
    """A command-line argument as the results file records it: a path outside the repository (a scratch
    folder of saved models) by its last two parts, so no path of the machine that ran it is committed."""
    p = Path(arg)
    if not p.is_absolute():
        return arg
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(Path("SCRATCH", *p.parts[-2:]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return db(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def pillow_formats() -> list[str]:
    from PIL import features

    return ["JPEG", "WEBP"] + (["AVIF"] if features.check("avif") else [])


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
            pts.append(
                {"components": k, "bits": bits, "bytes_per_image": len(blob) / len(x_test), "psnr": psnr(x_test, rec)}
            )
    return pts


def aekit_curve(ae, x_test: np.ndarray, layout_x: np.ndarray, bits_list, name: str) -> list[dict]:
    """layout_x: x_test as the model takes it (uint8); the reconstruction comes back uint8."""
    pts = []
    for bits in bits_list:
        t0 = time.perf_counter()
        blob = compress(ae, layout_x, bits)
        t1 = time.perf_counter()
        rec = decompress(blob, ae).reshape(x_test.shape)
        pts.append(
            {
                "model": name,
                "code_size": ae.code_size,
                "bits": bits,
                "bytes_per_image": len(blob) / len(x_test),
                "psnr": psnr(x_test, rec),
                "compress_s": round(t1 - t0, 2),
                "decompress_s": round(time.perf_counter() - t1, 2),
            }
        )
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


def compare(curves: dict, key: str = "aekit") -> list[dict]:
    """``key``'s frontier points with each other curve's PSNR at the same bytes per image."""
    fronts = {k: frontier(v) for k, v in curves.items()}
    rows = []
    for p in fronts[key]:
        b = p["bytes_per_image"]
        # the baselines: every other curve (not key's own variants, e.g. codec_no_refine for codec)
        base = {k: at_bytes(f, b) for k, f in fronts.items() if k != key and not k.startswith(key + "_")}
        known = [v for v in base.values() if v is not None]
        rows.append(
            {
                "bytes_per_image": round(b, 2),
                f"{key}_psnr": round(p["psnr"], 2),
                **{k: p[k] for k in ("code_size", "bits", "quality") if k in p},
                **{f"{k}_psnr": (round(v, 2) if v is not None else None) for k, v in base.items()},
                "gain_db_vs_best_baseline": round(p["psnr"] - max(known), 2) if known else None,
            }
        )
    return rows


def train(ae, x, seconds: float, qbits: int, **kw):
    t0 = time.perf_counter()
    h = ae.fit(x, epochs=10_000, verbose=0, seed=0, callbacks=[TimeLimit(seconds), QuantizationNoise(qbits)], **kw)
    return {
        "epochs": len(h.history["loss"]),
        "train_s": round(time.perf_counter() - t0, 1),
        "final_loss": round(h.history["loss"][-1], 5),
        "quantization_noise_bits": qbits,
    }


def run_mnist(a) -> dict:
    t0 = time.perf_counter()
    x_train = read_idx(SHARED / "mnist" / "train-images-idx3-ubyte.gz")  # (60000, 28, 28) uint8
    x_test = read_idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz")[: a.n_test]
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
    return {
        "n_test": len(x_test),
        "n_train": len(x_train),
        "models": models,
        "curves": curves,
        "at_equal_bytes": compare(curves),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def bd_rate(test: list[dict], ref: list[dict]):
    """Bjontegaard rate difference (%) of ``test`` against ``ref``: cubic fits of log(bytes) over PSNR,
    their mean difference over the overlapping PSNR range; negative = fewer bytes for the same quality."""

    def fit(pts):
        f = frontier(pts)
        return np.array([p["psnr"] for p in f]), np.log(np.array([p["bytes_per_image"] for p in f]))

    (pa, ra), (pb, rb) = fit(test), fit(ref)
    if len(pa) < 4 or len(pb) < 4:
        return None
    lo, hi = max(pa.min(), pb.min()), min(pa.max(), pb.max())
    if hi <= lo:
        return None
    ia, ib = np.polyint(np.polyfit(pa, ra, 3)), np.polyint(np.polyfit(pb, rb, 3))
    diff = ((np.polyval(ia, hi) - np.polyval(ia, lo)) - (np.polyval(ib, hi) - np.polyval(ib, lo))) / (hi - lo)
    return round(float((np.exp(diff) - 1) * 100), 1)


def codec_point(ae, x_test: np.ndarray, name: str, refine: int = 0) -> dict:
    t0 = time.perf_counter()
    blob = compress(ae, x_test, refine=refine)
    t1 = time.perf_counter()
    rec = decompress(blob, ae)
    t2 = time.perf_counter()
    with torch.inference_mode():  # the model's own rate estimate, for the coded-vs-estimated check
        out = ae.module.eval()(torch.from_numpy(np.moveaxis(x_test, -1, 1).astype(np.float32) / 255))
        est = float(-torch.log2(out.likelihoods).sum()) / 8 / len(x_test)
    rep = psnr_report(x_test, rec)
    return {
        "model": name,
        "quality": ae.config.quality,
        "lambda": ae.config.rate_lambda,
        "refine_steps": refine,
        "bytes_per_image": len(blob) / len(x_test),
        "estimated_bytes_per_image": round(est, 2),
        "bpp": round(8 * len(blob) / (len(x_test) * 48 * 48), 4),
        "psnr": rep["psnr"],
        "psnr_channels": rep["psnr_channels"],
        "chroma_ratio": round(chroma(rec) / chroma(x_test), 3),
        "compress_s": round(t1 - t0, 2),
        "decompress_s": round(t2 - t1, 2),
    }


def chroma(x: np.ndarray) -> float:
    """Mean spread across R, G, B per pixel: how colourful pictures (N, H, W, 3) are."""
    x = x.astype(np.float64)
    return float(np.mean(x.max(-1) - x.min(-1)))


def refine_points(a, ae, x_test: np.ndarray, name: str, about: dict) -> list[dict]:
    """A codec's point, and one per ``--codec-refine`` setting (the encoder-side search), each printed."""
    pts = []
    for r in sorted({0, *a.codec_refine}):
        pts.append(codec_point(ae, x_test, name, refine=r))
        print(f"codec {name} refine {r}: {about} {pts[-1]}", flush=True)
    return pts


def codec_ladder(a, x_train: np.ndarray, x_test: np.ndarray):
    """One codec per quality: the first from scratch (a.codec_seconds), the others fine-tuned from it; or
    (``--codec-models``) saved models evaluated again. Each model's point, and with ``--codec-refine`` its
    point with the encoder-side search as well."""
    if a.codec_models:
        models, pts = {}, []
        for path in a.codec_models:
            ae, name = aekit.load(path), Path(path).stem
            models[name] = {
                "quality": ae.config.quality,
                "lambda": ae.config.rate_lambda,
                "loaded_from": public_arg(str(Path(path).resolve())),
            }
            pts += refine_points(a, ae, x_test, name, models[name])
        return models, pts
    arch = dict(filters=a.codec_filters, latent_channels=a.codec_latent, stages=a.codec_stages)
    models, pts, base = {}, [], None
    for i, q in enumerate(a.codec_qualities):
        ae = aekit.build("codec", input_shape=(48, 48, 3), quality=q, seed=0, **arch)
        if base is not None:
            ae.module.load_state_dict(base.module.state_dict())
        secs = a.codec_seconds if base is None else a.codec_finetune_seconds
        t0 = time.perf_counter()
        # lr drops 10x for the budget's last part (the usual end of a learned codec's training)
        decay = LearningRateScheduler(
            lambda e, lr: (
                a.codec_lr
                * (0.1 if a.codec_decay_at < 1 and time.perf_counter() - t0 > a.codec_decay_at * secs else 1.0)
            )
        )
        h = ae.fit(
            x_train,
            epochs=10_000,
            batch_size=a.codec_batch,
            lr=a.codec_lr,
            clip_grad_norm=1.0,
            verbose=0,
            seed=i,
            callbacks=[TimeLimit(secs), decay],
        )
        name = f"codec-q{q}" if base is None else f"codec-q{q}-from-q{a.codec_qualities[0]}"
        models[name] = {
            "quality": q,
            "lambda": ae.config.rate_lambda,
            **arch,
            "batch_size": a.codec_batch,
            "lr": a.codec_lr,
            "lr_drop_10x_at_budget_fraction": a.codec_decay_at,
            "clip_grad_norm": 1.0,
            "epochs": len(h.history["loss"]),
            "train_s": round(time.perf_counter() - t0, 1),
            "start": "scratch" if base is None else f"fine-tuned from q{a.codec_qualities[0]}",
            "final_train_bpp": round(h.history["bpp"][-1], 4),
            "final_train_mse": round(h.history["reconstruction"][-1], 6),
        }
        if a.save_models:
            Path(a.save_models).mkdir(parents=True, exist_ok=True)
            ae.save(Path(a.save_models) / f"{name}.aekit")
        pts += refine_points(a, ae, x_test, name, models[name])
        base = base or ae
    return models, pts


def test_mse(ae, x_test: np.ndarray) -> float:
    """MSE of the model's reconstructions of uint8 pictures, on [0, 1] pixels."""
    return float(np.mean((ae.reconstruct(x_test).astype(np.float64) - x_test.astype(np.float64) / 255) ** 2))


class TestMSE(Callback):
    """Test MSE when training begins (after init='pca': exactly PCA's) or, with ``each_epoch``, after each
    epoch instead (is the model still improving when the budget ends?)."""

    def __init__(self, ae, x_test, each_epoch: bool = False):
        self.ae, self.x, self.each_epoch = ae, x_test, each_epoch
        self.start, self.by_epoch = None, []

    def on_train_begin(self, state):
        if not self.each_epoch:
            self.start = test_mse(self.ae, self.x)

    def on_epoch_end(self, state, logs):
        if self.each_epoch:
            self.by_epoch.append(test_mse(self.ae, self.x))


def kitten_protocol(a, x_train: np.ndarray, x_test: np.ndarray) -> dict:
    """Dense code of 25% of the input (1,728 values), test MSE on [0, 1] pixels."""
    t0 = time.perf_counter()
    tut = aekit.build(
        "dense", input_shape=(48, 48, 3), hidden=[2048], latent_dim=1728, batch_norm=True, loss="mse", seed=0
    )
    curve = TestMSE(tut, x_test, each_epoch=True)
    h = tut.fit(
        x_train,
        epochs=10_000,
        batch_size=64,
        lr=a.kitten_lr,
        verbose=0,
        seed=0,
        callbacks=[curve, TimeLimit(a.kitten_seconds)],
    )
    tut_mse = curve.by_epoch[-1]  # the weights training ended with
    tut_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lin = aekit.build(
        "dense", input_shape=(48, 48, 3), hidden=[], latent_dim=1728, output_activation="linear", loss="mse", seed=0
    )
    probe = TestMSE(lin, x_test)
    h2 = lin.fit(
        x_train[: a.kitten_pca_n],
        epochs=10_000,
        batch_size=64,
        lr=a.kitten_pca_lr,
        verbose=0,
        seed=0,
        init="pca",
        callbacks=[probe, TimeLimit(a.kitten_pca_seconds)],
    )
    pca_init_mse = test_mse(lin, x_test)
    return {
        "code_size": 1728,
        "tutorial_reported_mse": 0.011,
        "tutorial_architecture": {
            "model": "dense 6912-2048-1728-2048-6912, BatchNorm, relu, sigmoid output, "
            f"mse, adam lr {a.kitten_lr}, batch 64",
            "test_mse": round(tut_mse, 5),
            "test_mse_by_epoch": [round(v, 5) for v in curve.by_epoch],
            "epochs": len(h.history["loss"]),
            "train_s": round(tut_s, 1),
        },
        "pca_1728_test_mse": round(probe.start, 6),
        "pca_fit_on": f"first {a.kitten_pca_n} training pictures (exact eigendecomposition); "
        "read as the PCA-initialised model's test MSE before its first step",
        "pca_init": {
            "model": "dense 6912-1728-6912 (hidden=[]), linear output, mse, init='pca', "
            f"adam lr {a.kitten_pca_lr}, batch 64, same training pictures as the PCA",
            "test_mse": round(pca_init_mse, 6),
            "epochs": len(h2.history["loss"]),
            "train_s": round(time.perf_counter() - t0, 1),
        },
    }


def run_cats(a) -> dict:
    t0 = time.perf_counter()
    x = load_images(SHARED / "cats" / "train", size=(48, 48), workers=1).x  # (12500, 48, 48, 3) uint8
    x_train, x_test = x[:10_000][: a.n_train], x[10_000:12_500][: a.n_test]
    curves = {}
    if not a.codec_only:  # a run whose codec points are merged over another run's baselines skips them
        curves = {f.lower(): pillow_curve(x_test, f, a.cats_pillow) for f in pillow_formats()}
        print(f"cats pillow {time.perf_counter() - t0:.0f}s", flush=True)
        mean, comps = pca_basis(x_train, 384, "lowrank")
        curves["pca"] = pca_curve(x_test, mean, comps, [16, 32, 48, 64, 96, 128, 192, 256, 384], [3, 4, 5, 6])
        print(f"cats baselines {time.perf_counter() - t0:.0f}s", flush=True)
    curves["aekit"], models = [], {}
    for latent in a.cats_latents:
        ae = aekit.build(
            "conv",
            input_shape=(48, 48, 3),
            filters=[32, 64, 128],
            mode="strided",
            latent_dim=latent,
            loss="mse",
            seed=0,
        )
        models[f"conv-strided-32-64-128-{latent}"] = train(ae, x_train, a.cats_seconds, 5, batch_size=64)
        curves["aekit"] += aekit_curve(ae, x_test, x_test, BITS, f"conv-strided-32-64-128-{latent}")
        print(f"cats latent {latent}: {models[f'conv-strided-32-64-128-{latent}']}", flush=True)
    codec_models, curves["codec"] = codec_ladder(a, x_train, x_test)
    models.update(codec_models)
    kitten = None if a.no_kitten else kitten_protocol(a, x_train, x_test)
    print(f"kitten {kitten}", flush=True)
    return {
        "n_test": len(x_test),
        "n_train": len(x_train),
        "models": models,
        "curves": curves,
        **summarise(curves),
        "input_chroma": round(chroma(x_test), 2),
        **({"kitten_protocol": kitten} if kitten else {}),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def kitten_only(a, out: Path) -> None:
    """The kitten protocol alone (same split as run_cats), written over the kitten entry of ``out``."""
    t0 = time.perf_counter()
    x = load_images(SHARED / "cats" / "train", size=(48, 48), workers=1).x  # (12500, 48, 48, 3) uint8
    kitten = kitten_protocol(a, x[:10_000][: a.n_train], x[10_000:12_500][: a.n_test])
    kitten.update(
        command=" ".join(["python", *sys.argv]),
        threads=a.threads,
        wall_s=round(time.perf_counter() - t0, 1),
        load_average_1_5_15_min_at_end=[round(v, 2) for v in os.getloadavg()],
    )
    print(f"kitten {kitten}", flush=True)
    res = json.loads(out.read_text()) if out.exists() else {"bench": "compress"}
    res.setdefault("cats", {})["kitten_protocol"] = kitten
    atomic_write(out, (json.dumps(res, indent=1) + "\n").encode(), what="bench result")


def summarise(curves: dict) -> dict:
    """Comparisons at equal bytes, at 128 and 256 bytes, and BD-rates against WebP; where some codec points
    used the encoder-side search (``refine_steps``), the codec without it as well (``codec_no_refine``)."""
    plain = [p for p in curves.get("codec", []) if not p.get("refine_steps")]
    if plain and len(plain) < len(curves["codec"]):
        curves = {**curves, "codec_no_refine": plain}
    fronts = {k: frontier(v) for k, v in curves.items()}
    at = {}
    for b in (128, 256):
        row = {k: (round(v, 2) if (v := at_bytes(f, b)) is not None else None) for k, f in fronts.items()}
        best = [row[k] for k in ("webp", "pca") if row.get(k) is not None]
        for k in ("codec", "codec_no_refine"):
            if k in row:
                row[f"{k}_minus_best_of_webp_pca"] = (
                    round(row[k] - max(best), 2) if row[k] is not None and best else None
                )
        at[str(b)] = row
    return {
        "at_equal_bytes": compare(curves),
        "codec_at_equal_bytes": compare(curves, "codec"),
        "at_128_and_256_bytes": at,
        "bd_rate_vs_webp_percent": {
            k: bd_rate(curves[k], curves["webp"])
            for k in ("codec", "codec_no_refine", "pca", "aekit", "jpeg", "avif")
            if k in curves and "webp" in curves
        },
    }


def merge_codec(paths: list[str], out: Path) -> None:
    """One cats result from several runs: the first run's baselines, plain autoencoder and kitten protocol,
    the codec points of all runs (each run's models listed), compared again."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    res = dict(runs[0])
    cats = dict(res["cats"])
    # each codec point and model keeps the run it came from (two runs may name a model alike: codec-q4)
    # a saved model evaluated again (--codec-models) repeats its training run's point: kept once
    pts, seen = [], set()
    for f, r in zip(paths, runs):
        for p in r["cats"]["curves"]["codec"]:
            key = (p["model"], p.get("refine_steps", 0), p["bytes_per_image"], p["psnr"])
            if key not in seen:
                seen.add(key)
                pts.append({**p, "run": p.get("run", Path(f).name)})
    cats["curves"] = {**cats["curves"], "codec": pts}
    cats["models"] = {}
    for f, r in zip(paths, runs):
        for k, v in r["cats"]["models"].items():
            cats["models"][k if k not in cats["models"] else f"{k} ({Path(f).name})"] = v
    cats.update(summarise(cats["curves"]))
    cats["runs"] = [
        {
            "file": Path(p).name,
            "command": r["cats"]["command"],
            "wall_s": r["cats"]["wall_s"],
            "load_average_at_start": r.get("load_average_at_start"),
        }
        for p, r in zip(paths, runs)
    ]
    res["cats"] = cats
    atomic_write(out, (json.dumps(res, indent=1) + "\n").encode())
    draw_rd(res, out)


def draw_rd(res: dict, out: Path) -> None:
    """The cats RD figure (each curve's frontier, up to 1,000 bytes) next to the JSON, as <name>_rd.png."""
    if "cats" not in res or "codec" not in res["cats"]["curves"]:
        return
    from aekit.report.plots import figure_png, rate_distortion

    fig = rate_distortion(
        {
            k: [(p["bytes_per_image"], p["psnr"]) for p in frontier(v) if p["bytes_per_image"] <= 1000]
            for k, v in res["cats"]["curves"].items()
        },
        "bytes per picture",
    )
    atomic_write(out.with_name(out.stem + "_rd.png"), figure_png(fig))


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
    atomic_write(out, (json.dumps(res, indent=1) + "\n").encode())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="merge the MNIST parts of these result files into --out instead of running",
    )
    ap.add_argument("--mnist-seconds", type=float, default=120)
    ap.add_argument("--mnist-latents", type=int, nargs="+", default=[32])
    ap.add_argument("--cats-seconds", type=float, default=120)
    ap.add_argument(
        "--cats-latents", type=int, nargs="*", default=[256], help="plain conv autoencoders (none: skip them)"
    )
    ap.add_argument("--codec-qualities", type=int, nargs="+", default=[5, 3, 4, 6, 7])
    ap.add_argument("--codec-seconds", type=float, default=600, help="the first quality, from scratch")
    ap.add_argument("--codec-finetune-seconds", type=float, default=90, help="each further quality")
    ap.add_argument("--codec-filters", type=int, default=64)
    ap.add_argument("--codec-latent", type=int, default=96)
    ap.add_argument("--codec-stages", type=int, default=4)
    ap.add_argument(
        "--codec-decay-at",
        type=float,
        default=0.8,
        help="lr drops 10x after this fraction of each codec's budget (1: never)",
    )
    ap.add_argument("--save-models", default=None, help="save each codec model here as NAME.aekit")
    ap.add_argument(
        "--codec-models",
        nargs="+",
        default=None,
        help="evaluate these saved codec models instead "
        "of training (with --codec-only: a points-only run for --merge-codec)",
    )
    ap.add_argument(
        "--codec-refine",
        type=int,
        nargs="*",
        default=[],
        help="also each codec's point with this many steps of encoder-side search (compress(refine=...))",
    )
    ap.add_argument("--codec-batch", type=int, default=16)
    ap.add_argument("--codec-lr", type=float, default=1e-3)
    ap.add_argument("--no-kitten", action="store_true", help="cats without the kitten protocol")
    ap.add_argument(
        "--codec-only",
        action="store_true",
        help="cats without the JPEG/WebP/AVIF/PCA curves (for --merge-codec over another run's)",
    )
    ap.add_argument(
        "--kitten-only",
        action="store_true",
        help="run only the kitten protocol and replace its entry in --out (the rest of the file is kept)",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: other benches may share the machine)")
    ap.add_argument("--kitten-seconds", type=float, default=120)
    ap.add_argument("--kitten-lr", type=float, default=1e-3)
    ap.add_argument("--kitten-pca-seconds", type=float, default=30)
    ap.add_argument("--kitten-pca-lr", type=float, default=1e-5)
    ap.add_argument("--kitten-pca-n", type=int, default=5000)
    ap.add_argument("--cats-pillow", type=int, default=500, help="cats pictures the JPEG/WebP curves use")
    ap.add_argument("--n-test", type=int, default=None, help="smoke runs: only the first N test pictures")
    ap.add_argument("--n-train", type=int, default=None, help="smoke runs (cats): only the first N training pictures")
    ap.add_argument(
        "--no-pillow",
        action="store_true",
        help="MNIST without the JPEG/WebP curves (a run whose aekit points are merged with another run's curves)",
    )
    ap.add_argument("--only", choices=["mnist", "cats"], default=None)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compress.json"))
    ap.add_argument(
        "--merge-codec",
        nargs="+",
        default=None,
        help="merge the cats codec points of these result files into --out instead of running",
    )
    a = ap.parse_args()
    if a.merge:
        return merge(a.merge, Path(a.out))
    if a.merge_codec:
        return merge_codec(a.merge_codec, Path(a.out))
    torch.set_num_threads(a.threads)
    if a.kitten_only:
        return kitten_only(a, Path(a.out))
    cpu = (
        next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    res = {
        "bench": "compress",
        "cpu_model": cpu,
        "load_average_at_start": list(os.getloadavg()),
        "torch_threads": torch.get_num_threads(),
        "psnr": "10 log10(1/MSE), MSE over the whole test set, uint8 outputs in [0, 1]",
        "baselines": {
            "jpeg/webp/avif": f"Pillow {Image.__version__}, qualities {QUALITIES}, one file per "
            f"picture, on a fixed random subset of {N_PILLOW} test pictures",
            "pca": "same quantiser + rANS coder as aekit (version-1 .aekz), components x bits grid; exact "
            "PCA for MNIST, randomised SVD (svd_lowrank, 4 power iterations) of all training "
            "pictures for cats",
        },
        "aim": "MNIST: 3 dB over the best baseline at equal bytes; cats (issue 11): the codec 2 dB above the "
        "best of WebP and PCA at 128 and 256 bytes per picture",
    }
    if a.only in (None, "mnist"):
        res["mnist"] = run_mnist(a)
    if a.only in (None, "cats"):
        res["cats"] = run_cats(a)
    res["hardware"] = f"{platform.machine()} CPU, 1 torch thread, shared 2-core machine"
    for ds in ("mnist", "cats"):
        if ds in res:
            res[ds]["command"] = "python bench/compress.py " + " ".join(map(public_arg, sys.argv[1:]))
    out = Path(a.out)
    if a.only and out.exists():  # a run of one data set updates its part of the results
        res = {**json.loads(out.read_text()), **res}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, (json.dumps(res, indent=1) + "\n").encode())
    draw_rd(res, out)
    for ds in ("mnist", "cats"):
        if ds in res:
            print(ds, json.dumps(res[ds].get("at_128_and_256_bytes") or res[ds]["at_equal_bytes"], indent=None))


if __name__ == "__main__":
    main()
