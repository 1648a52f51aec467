"""The out-of-the-box demo: three autoencoders on the embedded digits, one HTML report. No network, no files.

Trains, on the 8,000/2,000 split of :func:`aekit.datasets.load_digits_sample`:

1. the Keras blog's convolutional autoencoder (``conv``, filters 16-8-8, a 4x4x8 = 128-value code);
2. a denoising convolutional autoencoder (``conv``, filters 32-32, Gaussian noise 0.5 during training);
3. a 2-D variational autoencoder (``vae``, one hidden layer of 256), whose latent plane is drawn as a
   manifold of generated digits.

``quick=True`` trains on fewer digits for fewer epochs (under a minute on 2 cores; rougher pictures).

Each model is an ordinary training run (:func:`aekit.runs.train_run`, what ``aekit train`` does): a run
folder with the model file, a checkpoint, the history CSV and TensorBoard logs, written as training goes;
the demo adds one report over the three models.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

# (label, family, options, epochs, training options): the full demo; QUICK_EPOCHS replace the epochs with
# --quick, which also trains on QUICK_TRAIN digits and validates on QUICK_VAL. Small batches and lr 2e-3
# for the conv models: after 3 quick epochs their digits are recognisable (val BCE ~0.18 / 0.11), where
# batch 128 at lr 1e-3 still gave blobs (0.46).
PLAN = [
    ("Convolutional autoencoder (Keras blog 16-8-8)", "conv", {"filters": [16, 8, 8]}, 10, {"lr": 2e-3}),
    (
        "Denoising convolutional autoencoder (32-32, Gaussian noise 0.5)",
        "conv",
        {"filters": [32, 32], "corruption": "gaussian:0.5"},
        6,
        {"lr": 2e-3},
    ),
    ("Variational autoencoder with a 2-D code", "vae", {"hidden": [256], "latent_dim": 2}, 20, {}),
]
QUICK_EPOCHS = (3, 2, 8)
QUICK_TRAIN = 3000
QUICK_VAL = 500
BATCH = 32


def run_demo(
    out_dir="aekit-demo",
    quick: bool = False,
    seed: int = 0,
    verbose: int = 1,
    device: str = "auto",
    plan=None,
    threads: int | None = 1,
) -> Path:
    """Train the demo models, save them to ``out_dir`` and write ``out_dir/report.html``; returns its path.

    Parameters
    ----------
    out_dir : path-like
        Receives ``report.html`` and one run folder per model (``conv/``, ``denoising/``, ``vae2d/``, each
        with ``model.aekit``, ``history.csv``, ``checkpoint.aekit`` and ``tb/``).
    quick : bool
        Fewer digits and epochs (the CI smoke run).
    seed : int
        Seeds the weights, the shuffling and the noise.
    verbose : int
        1: a progress bar per model and a line per model; 0: silent.
    plan : list, optional
        Replaces :data:`PLAN` (label, family, options, epochs, training options) — e.g. for a faster test.
    threads : int or None
        torch CPU threads during the demo (restored afterwards); None keeps torch's default. 1 by default:
        these models are small, and on a busy 2-core machine two spinning threads made one epoch 70x
        slower in our measurement (87 s instead of 1.2 s for 1,000 digits).

    Examples
    --------
    >>> from aekit.runs.demo import run_demo
    >>> report = run_demo("demo-out", quick=True)      # doctest: +SKIP
    >>> report.name                                     # doctest: +SKIP
    'report.html'
    """
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run(Path(out_dir), quick, seed, verbose, device, plan)
    finally:
        torch.set_num_threads(old_threads)


RUN_NAMES = ("conv", "denoising", "vae2d")


def _run(out: Path, quick: bool, seed: int, verbose: int, device: str, plan) -> Path:
    from aekit.core.container import atomic_write
    from aekit.datasets import load_digits_sample
    from aekit.datasets.description import DataDescription
    from aekit.datasets.sources import Source
    from aekit.report.html import model_section, render_page
    from aekit.runs.train import train_run

    out.mkdir(parents=True, exist_ok=True)
    (x_train, _), (x_test, y_test) = load_digits_sample(split=True, seed=seed)  # uint8 (N, 28, 28)
    if plan is None:
        plan = [(lab, fam, opts, q if quick else ep, tr) for (lab, fam, opts, ep, tr), q in zip(PLAN, QUICK_EPOCHS)]
    x_val = x_test[:QUICK_VAL] if quick else x_test
    if quick:
        x_train = x_train[:QUICK_TRAIN]
    # the test digits validate every model (train_run takes a source's test split as validation data)
    src = Source(x_train, None, x_val, None, DataDescription("image", "digits", image_shape=(1, 28, 28)))
    sections, t_all = [], time.perf_counter()
    for i, (label, family, opts, epochs, train_opts) in enumerate(plan):
        name = RUN_NAMES[i] if i < len(RUN_NAMES) else f"model{i}"
        run = train_run(
            family,
            src,
            out / name,
            options={**opts, **train_opts, "epochs": epochs, "batch_size": BATCH},
            seed=seed,
            device=device,
            verbose=1 if verbose else 0,
            report=False,
        )
        t1 = time.perf_counter()
        sections.append(
            model_section(
                run.model,
                x_test,
                y_test,
                heading=label,
                seed=seed,
                max_points=1000 if quick else 2000,
                max_tsne=500,
            )
        )
        if verbose:
            print(
                f"{label}: {epochs} epochs in {run.seconds:.1f} s (report {time.perf_counter() - t1:.1f} s), "
                f"val_loss {run.model.history.history['val_loss'][-1]:.4g} -> {run.model_path}"
            )
    note = (
        f"{len(x_train):,} training and {len(x_test):,} test digits (the MNIST test set embedded in aekit), "
        f"{'quick run' if quick else 'full run'}, {time.perf_counter() - t_all:.0f} s in all"
    )
    page = render_page("aekit demo: autoencoders on handwritten digits", sections, note)
    return atomic_write(out / "report.html", page.encode("utf-8"))


__all__ = ["run_demo", "PLAN"]
