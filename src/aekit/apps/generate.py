"""Generate: samples, latent interpolations and the 2-D manifold of a variational model, and its
importance-sampled log-likelihood.

``sample_grid``, ``interpolate`` and ``manifold`` return pictures as float32 (N, H, W, C) in the model's
output range ([0, 1] for sigmoid outputs), ready for :func:`save_grid_png`. ``importance_nll`` is the
IWAE-paper estimate of -log p(x) for models with a Bernoulli (BCE) likelihood; ``DynamicBinarization``
is the training-time input transform of that benchmark (a fresh Bernoulli draw of every batch), usable
with any family because it is a stream for :meth:`aekit.Autoencoder.fit`.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.generate import sample_grid, manifold
>>> vae = aekit.build("vae", input_shape=(28, 28), hidden=[32], latent_dim=2, seed=0)
>>> sample_grid(vae, 8, seed=0).shape, manifold(vae, n=5).shape
((8, 28, 28, 1), (25, 28, 28, 1))
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from statistics import NormalDist

import numpy as np
import torch
import torch.nn.functional as F

from aekit.core.arrays import batches, index_batches, infer_layout
from aekit.core.container import atomic_write
from aekit.core.pictures import grid, png_bytes, to_pictures, to_uint8_images
from aekit.errors import AekitError

_LOG_2PI = math.log(2 * math.pi)


def _need_variational(model, what: str) -> None:
    if not model.variational:
        raise AekitError(f"{what}: needs a variational model (vae, conv_vae); this model is {model.family!r}")


def sample_grid(model, n: int = 64, seed: int | None = None) -> np.ndarray:
    """``n`` pictures (n, H, W, C) decoded from prior draws z ~ N(0, I) (:meth:`Autoencoder.sample`)."""
    _need_variational(model, "sample_grid")
    if int(n) < 1:
        raise AekitError(f"n={n!r}; expected a positive number of samples")
    return to_pictures(model, model.sample(int(n), seed=seed))


def interpolate(model, a, b, steps: int = 10) -> np.ndarray:
    """Decode ``steps`` codes on the straight line between the codes of inputs ``a`` and ``b``.

    ``a`` and ``b`` are one sample each, in any layout the model accepts (with or without the batch
    axis). The codes are the encoder's outputs (posterior means for variational models), so the first and
    last pictures are the reconstructions of ``a`` and ``b``. Works for every family. Returns (steps, H, W, C).
    """
    if int(steps) < 2:
        raise AekitError(f"steps={steps!r}; expected at least 2 (the two endpoints)")
    pair = []
    for name, v in (("a", a), ("b", b)):
        v = np.asarray(v)
        # one sample without the batch axis; a grey picture (H, W, 1) also fits an (H, W) or flat model
        for cand in (v, v[..., 0]) if v.ndim > 1 and v.shape[-1] == 1 else (v,):
            try:
                infer_layout(cand.shape, model.input_shape, name)
                v = cand[None]
                break
            except AekitError:
                pass  # already (1, ...), or a wrong shape that encode() reports
        if len(v) != 1:
            raise AekitError(f"interpolate: {name} must be one sample; got {len(v)}")
        pair.append(model.encode(v))  # (1, code)
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, None]  # (steps, 1)
    z = (1 - t) * pair[0] + t * pair[1]  # (steps, code)
    return to_pictures(model, model.decode(z))


def manifold(model, n: int = 20, dims: tuple = (0, 1)) -> np.ndarray:
    """The Keras blog's 2-D manifold: an n x n grid of codes at the prior's quantiles
    ``NormalDist().inv_cdf(linspace(0.05, 0.95, n))`` in latent ``dims`` (other dimensions at 0),
    decoded; row-major, the first row at the top. Returns (n*n, H, W, C)."""
    _need_variational(model, "manifold")
    n, d = int(n), model.config.latent_dim
    if n < 2:
        raise AekitError(f"manifold: n={n!r}; expected at least 2")
    i, j = (int(k) for k in dims)
    if not (0 <= i < d and 0 <= j < d and i != j):
        raise AekitError(f"manifold: dims={dims!r}; expected two different latent indices below {d}")
    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], np.float32)
    z = np.zeros((n * n, d), np.float32)
    for r in range(n):  # y decreases down the rows, as in the blog's figure
        z[r * n : (r + 1) * n, i] = q
        z[r * n : (r + 1) * n, j] = q[::-1][r]
    return to_pictures(model, model.decode(z))


def save_grid_png(images: np.ndarray, path: str | os.PathLike, ncols: int | None = None) -> Path:
    """Write pictures (N, H, W, C) in [0, 1] as one PNG grid (atomically), ``ncols`` per row (default about
    square), with the picture helpers of :mod:`aekit.core.pictures`. Returns the path."""
    x = np.asarray(images)
    if x.ndim not in (3, 4) or len(x) == 0 or (x.ndim == 4 and x.shape[-1] not in (1, 3)):
        raise AekitError(f"images: expected (N, H, W) or (N, H, W, C) with C 1 or 3, got {x.shape}")
    return atomic_write(path, png_bytes(grid(to_uint8_images(x), cols=ncols)))


# --- likelihood ----------------------------------------------------------------------------------------


def _log_normal(z: torch.Tensor, mu, logvar) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last axis."""
    return -0.5 * (((z - mu) ** 2) * torch.exp(-logvar) + logvar + _LOG_2PI).sum(-1)


def importance_nll(model, x, k: int = 5000, chunk: int = 500, seed: int = 0, return_elbo: bool = False):
    """Importance-sampled negative log-likelihood -log p(x) in nats per sample (N,).

    log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K with z_k ~ q(z|x)
    (Burda et al., the IWAE paper). Needs a variational model with a BCE (Bernoulli) likelihood; ``x``
    should be binary (e.g. a fixed binarisation of MNIST). With ``return_elbo`` also returns the
    single-sample-average negative ELBO over the same draws, an upper bound the estimate stays under.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> vae = aekit.build("vae", input_shape=(16,), hidden=[8], latent_dim=2, seed=0)
    >>> x = (np.random.default_rng(0).random((4, 16)) > 0.5).astype(np.float32)
    >>> importance_nll(vae, x, k=50).shape
    (4,)
    """
    _need_variational(model, "importance_nll")
    if model.config.reconstruction_loss != "bce":
        raise AekitError("importance_nll: needs a Bernoulli likelihood (loss 'bce' with sigmoid outputs)")
    if int(k) < 1:
        raise AekitError(f"importance_nll: k={k!r}; expected a positive number of samples")
    arr = model.prepare(x)  # (N, *input_shape), scaled as in training
    gen = torch.Generator().manual_seed(seed)
    mod, dev = model.module, model.device
    mod.eval()
    nll, nelbo = np.empty(len(arr)), np.empty(len(arr))
    with torch.inference_mode():
        for i in range(len(arr)):
            xi = torch.from_numpy(arr[i : i + 1]).to(dev)  # (1, *input_shape)
            _, mu, logvar = mod.encode(xi)  # (1, d) each
            logw = []
            for sl in batches(int(k), chunk):
                m = sl.stop - sl.start
                eps = torch.randn(m, mu.shape[1], generator=gen).to(dev)
                z = mu + eps * torch.exp(0.5 * logvar)  # (m, d)
                logits = mod.decode_logits(z).flatten(1)  # (m, D)
                target = xi.flatten(1).expand_as(logits)
                log_px = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1)
                log_pz = -0.5 * (z**2 + _LOG_2PI).sum(1)
                logw.append(log_px + log_pz - _log_normal(z, mu, logvar))  # (m,)
            lw = torch.cat(logw).double()
            nll[i] = -(torch.logsumexp(lw, 0) - math.log(len(lw))).item()
            nelbo[i] = -lw.mean().item()
    return (nll, nelbo) if return_elbo else nll


class DynamicBinarization:
    """A training stream that draws a fresh binarisation Bernoulli(x) of every batch (inputs and targets
    alike), for Bernoulli-likelihood models; pass it to :meth:`Autoencoder.fit` in place of ``x``.

    ``x`` holds probabilities in [0, 1] (uint8 pictures are scaled by 1/255).

    Examples
    --------
    >>> import numpy as np, aekit
    >>> x = np.random.default_rng(0).random((64, 16)).astype(np.float32)
    >>> vae = aekit.build("vae", input_shape=(16,), hidden=[8], latent_dim=2, seed=0)
    >>> h = vae.fit(DynamicBinarization(x, seed=0), epochs=1, batch_size=32, verbose=0)
    """

    def __init__(self, x, seed: int | None = None):
        x = np.asarray(x)
        self.x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
        if self.x.ndim < 2 or len(self.x) == 0:
            raise AekitError(f"DynamicBinarization: expected a batch (N, ...), got shape {self.x.shape}")
        if self.x.min() < 0 or self.x.max() > 1:
            raise AekitError("DynamicBinarization: x must hold probabilities in [0, 1]")
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.x)

    def iter_batches(self, batch_size: int, shuffle: bool = True, seed: int | None = None, shard=None):
        for idx in index_batches(len(self.x), batch_size, shuffle, seed, shard):
            xb = self.x[idx]
            yield (self.rng.random(xb.shape, dtype=np.float32) < xb).astype(np.float32)


__all__ = ["sample_grid", "interpolate", "manifold", "save_grid_png", "importance_nll", "DynamicBinarization"]
