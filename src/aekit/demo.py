"""The out-of-the-box demo: three autoencoders on the embedded digits, one HTML report. No network, no files.

Trains, on the 8,000/2,000 split of :func:`aekit.datasets.load_digits_sample`:

1. the Keras blog's convolutional autoencoder (``conv``, filters 16-8-8, a 4x4x8 = 128-value code);
2. a denoising convolutional autoencoder (``conv``, filters 32-32, Gaussian noise 0.5 during training);
3. a 2-D variational autoencoder (``vae``, one hidden layer of 256), whose latent plane is drawn as a
   manifold of generated digits.

``quick=True`` trains on fewer digits for fewer epochs (under a minute on 2 cores; rougher pictures).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# (label, family, options, epochs): the full demo, then the quick one (train-set size below)
PLAN = [
    ("Convolutional autoencoder (Keras blog 16-8-8)", "conv", {"filters": [16, 8, 8]}, 12),
    ("Denoising convolutional autoencoder (32-32, Gaussian noise 0.5)", "conv",
     {"filters": [32, 32], "corruption": "gaussian:0.5"}, 8),
    ("Variational autoencoder with a 2-D code", "vae", {"hidden": [256], "latent_dim": 2}, 25),
]
QUICK_EPOCHS = (3, 2, 8)
QUICK_TRAIN = 2000
BATCH = 128


def run_demo(out_dir="aekit-demo", quick: bool = False, seed: int = 0, verbose: int = 1, device: str = "auto",
             plan=None) -> Path:
    """Train the demo models, save them to ``out_dir`` and write ``out_dir/report.html``; returns its path.

    Parameters
    ----------
    out_dir : path-like
        Receives ``report.html`` and one model file per model (``conv.aekit``, ``denoising.aekit``,
        ``vae2d.aekit``).
    quick : bool
        Fewer digits and epochs (the CI smoke run).
    seed : int
        Seeds the weights, the shuffling and the noise.
    verbose : int
        1: a progress bar per model and a line per model; 0: silent.
    plan : list, optional
        Replaces :data:`PLAN` (label, family, options, epochs) — e.g. for a faster test.

    Examples
    --------
    >>> from aekit.demo import run_demo
    >>> report = run_demo("demo-out", quick=True)      # doctest: +SKIP
    >>> report.name                                     # doctest: +SKIP
    'report.html'
    """
    from .autoencoder import build
    from .datasets import load_digits_sample
    from .io import atomic_write
    from .report.html import model_section, render_page

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (x_train, _), (x_test, y_test) = load_digits_sample(split=True, seed=seed)  # uint8 (N, 28, 28)
    if plan is None:
        plan = [(lab, fam, opts, q if quick else ep) for (lab, fam, opts, ep), q in zip(PLAN, QUICK_EPOCHS)]
    if quick:
        x_train = x_train[:QUICK_TRAIN]
    files = ("conv.aekit", "denoising.aekit", "vae2d.aekit")
    sections, t_all = [], time.perf_counter()
    for i, (label, family, opts, epochs) in enumerate(plan):
        t0 = time.perf_counter()
        ae = build(family, input_shape=(1, 28, 28), seed=seed, **opts)
        ae.fit(x_train, validation_data=x_test, epochs=epochs, batch_size=BATCH, seed=seed, device=device,
               verbose=1 if verbose else 0)
        name = files[i] if i < len(files) else f"model{i}.aekit"
        ae.save(out / name)
        sections.append(model_section(ae, x_test, y_test, heading=label, seed=seed))
        if verbose:
            print(f"{label}: {epochs} epochs in {time.perf_counter() - t0:.1f} s, "
                  f"val_loss {ae.history.history['val_loss'][-1]:.4g} -> {out / name}")
    note = (f"{len(x_train):,} training and {len(x_test):,} test digits (the MNIST test set embedded in aekit), "
            f"{'quick run' if quick else 'full run'}, {time.perf_counter() - t_all:.0f} s in all")
    page = render_page("aekit demo: autoencoders on handwritten digits", sections, note)
    return atomic_write(out / "report.html", page.encode("utf-8"))


__all__ = ["run_demo", "PLAN"]
