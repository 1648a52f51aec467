"""Denoise bench: MNIST test digits + Gaussian noise (factor 0.5, clipped to [0, 1]), the tutorials' protocol.

Rows: the noisy input; scikit-image's non-local means, total variation (Chambolle) and wavelet (BayesShrink)
denoisers and a Gaussian blur, each with its strength tuned on a validation split of noisy training digits;
aekit's dense and convolutional denoising autoencoders (trained with ``corruption='gaussian:0.5'``, i.e.
fresh noise each batch). PSNR (dB) and SSIM are means over the 10,000 test digits.

    python bench/denoise.py            # ~15 min on a heavily shared 2-core CPU (load ~14)
    python bench/denoise.py --quick    # smaller, for a smoke run
    python bench/denoise.py --conv-only --conv-train 59700 --conv-epochs 4   # longer conv run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import Timer, mnist, write  # noqa: E402

import aekit  # noqa: E402
from aekit.apps.denoise import add_noise, denoise, psnr  # noqa: E402

FACTOR = 0.5


def metrics(clean: np.ndarray, out: np.ndarray) -> dict:
    from skimage.metrics import structural_similarity

    ss = [structural_similarity(a, b.astype(np.float32), data_range=1.0) for a, b in zip(clean, out)]
    return {"psnr_db": round(float(np.mean(psnr(clean, out))), 3), "ssim": round(float(np.mean(ss)), 4)}


def classical():
    from scipy.ndimage import gaussian_filter
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

    return {
        "nl_means": (
            lambda im, s: denoise_nl_means(im, h=s, patch_size=5, patch_distance=6, fast_mode=True),
            [0.15, 0.25, 0.35, 0.45, 0.6, 0.8],
        ),
        "tv_chambolle": (lambda im, s: denoise_tv_chambolle(im, weight=s), [0.05, 0.1, 0.2, 0.3, 0.5, 0.8]),
        "wavelet": (
            lambda im, s: denoise_wavelet(im, sigma=s, method="BayesShrink", mode="soft", rescale_sigma=True),
            [0.1, 0.2, 0.3, 0.45, 0.6, 0.9],
        ),
        "gaussian_blur": (lambda im, s: gaussian_filter(im, s), [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dense-epochs", type=int, default=6)
    ap.add_argument("--conv-train", type=int, default=10000, help="training images for the conv denoiser")
    ap.add_argument("--conv-epochs", type=int, default=3)
    ap.add_argument(
        "--conv-only",
        action="store_true",
        help="only the noisy input, the Gaussian blur and the "
        "conv denoiser (a longer conv run), written to denoise_conv.json",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    (xtr, _), (xte, _) = mnist()
    n_val = 300
    x_val, xtr = xtr[-n_val:], xtr[:-n_val]
    if args.quick:
        xtr, xte = xtr[:3000], xte[:500]
    noisy_val = add_noise(x_val, FACTOR, seed=2)
    noisy_te = add_noise(xte, FACTOR, seed=1)
    rows, settings = {}, {}
    with Timer() as t:
        rows["noisy_input"] = {**metrics(xte, noisy_te)}
    rows["noisy_input"]["wall_s"] = t.s
    for name, (fn, grid) in classical().items():
        if args.conv_only and name != "gaussian_blur":
            continue
        with Timer() as t:
            val = {s: float(np.mean(psnr(x_val, np.stack([fn(im, s) for im in noisy_val])))) for s in grid}
            best = max(val, key=val.get)
            out = np.stack([fn(im, best) for im in noisy_te]).astype(np.float32)
            m = metrics(xte, out)
        rows[name] = {
            **m,
            "strength": best,
            "val_psnr_by_strength": {str(k): round(v, 3) for k, v in val.items()},
            "wall_s": t.s,
        }
        print(name, rows[name], flush=True)
    n_conv = 3000 if args.quick else args.conv_train
    models = {
        "aekit_dense": dict(
            family="dense",
            input_shape=(784,),
            hidden=[512, 256],
            latent_dim=64,
            loss="bce",
            corruption="gaussian:0.5",
            n_train=len(xtr),
            epochs=2 if args.quick else args.dense_epochs,
            batch_size=128,
        ),
        "aekit_conv": dict(
            family="conv",
            input_shape=(1, 28, 28),
            filters=[32, 64],
            mode="strided",
            latent_dim=None,
            loss="bce",
            corruption="gaussian:0.5",
            n_train=n_conv,
            epochs=1 if args.quick else args.conv_epochs,
            batch_size=128,
        ),
    }
    for name, spec in models.items():
        if args.conv_only and name != "aekit_conv":
            continue
        spec = dict(spec)
        fam, n, ep, bs = spec.pop("family"), spec.pop("n_train"), spec.pop("epochs"), spec.pop("batch_size")
        settings[name] = {
            "family": fam,
            **spec,
            "n_train": n,
            "epochs": ep,
            "batch_size": bs,
            "optimizer": "adam",
            "lr": 1e-3,
            "seed": 0,
        }
        with Timer() as t:
            ae = aekit.build(fam, seed=0, **spec)
            ae.fit(xtr[:n], epochs=ep, batch_size=bs, verbose=0, seed=0)
        train_s = t.s
        with Timer() as t:
            out = denoise(ae, noisy_te)
        m = metrics(xte, out)
        rows[name] = {
            **m,
            "train_s": train_s,
            "denoise_s": t.s,
            "params": ae.n_params(),
            "final_loss": round(ae.history.history["loss"][-1], 5),
        }
        print(name, rows[name], flush=True)
    result = {
        "bench": "denoise",
        "protocol": "MNIST test (10,000 digits) + factor 0.5 * N(0,1), clipped to "
        "[0, 1], noise seed 1; PSNR/SSIM = mean over test images of per-image values (data range 1); "
        "classical strengths tuned on 300 noisy training digits (held out from AE training)",
        "quick": args.quick,
        "n_test": len(xte),
        "published_anchor": {"tuned_classical_psnr_db": 13.0, "noisy_psnr_db": 9.4, "aim_psnr_db": 19.0},
        "rows": rows,
        "settings": settings,
    }
    name = "denoise_conv" if args.conv_only else "denoise"
    print(write(name if not args.quick else name + "_quick", result, started))


if __name__ == "__main__":
    main()
