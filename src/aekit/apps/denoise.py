"""Denoise: clean corrupted inputs with a denoising autoencoder, and measure how clean they are.

A denoising autoencoder is any family trained with ``corruption=`` (e.g. ``corruption='gaussian:0.5'``):
the loop corrupts each training batch and asks the model to reproduce the clean one. At inference the
noisy input goes in and the reconstruction is the denoised output.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.denoise import add_noise, denoise, psnr
>>> rng = np.random.default_rng(0)
>>> clean = (rng.random((64, 8, 8)) > 0.5).astype(np.float32)
>>> ae = aekit.build("dense", input_shape=(8, 8), hidden=[32], latent_dim=16, corruption="gaussian:0.3", seed=0)
>>> _ = ae.fit(clean, epochs=1, batch_size=32, verbose=0, seed=0)
>>> noisy = add_noise(clean, 0.3, seed=1)
>>> out = denoise(ae, noisy)
>>> out.shape, psnr(clean, out).shape
((64, 8, 8), (64,))
"""

from __future__ import annotations

import numpy as np

from aekit.core.arrays import as_array, to_float
from aekit.core.metrics import db, psnr  # noqa: F401  (re-exported: psnr is part of this job's API)
from aekit.errors import AekitError


def denoise(model, x, batch_size: int = 1024) -> np.ndarray:
    """Denoised copies of ``x``: the model's reconstructions of the noisy inputs.

    Parameters
    ----------
    model : aekit.Autoencoder
        Ideally trained with ``corruption=`` (a denoising autoencoder); any autoencoder works.
    x : array (N, ...)
        Noisy inputs in any layout the model accepts; uint8 is read as [0, 1].
    batch_size : int

    Returns
    -------
    float32 array in ``x``'s layout (a sigmoid-output model returns values in [0, 1], mapped back through
    the model's scaler when it has one).
    """
    return model.reconstruct(x, batch_size=batch_size)


def add_noise(x, factor: float = 0.5, seed: int | None = None, clip: bool = True) -> np.ndarray:
    """The tutorials' corruption: ``x + factor * N(0, 1)``, clipped to [0, 1] (``x`` uint8 is read as [0, 1]).

    Returns float32 of ``x``'s shape.
    """
    if factor < 0:
        raise AekitError(f"add_noise: factor={factor!r}; expected a number >= 0")
    a = to_float(as_array(x, "x"))
    rng = np.random.default_rng(seed)
    y = a + np.float32(factor) * rng.standard_normal(a.shape, dtype=np.float32)
    return np.clip(y, 0.0, 1.0) if clip else y
