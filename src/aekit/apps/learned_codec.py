"""Coding pictures with a ``codec`` model (:mod:`aekit.models.codec`): its own probability tables, any size.

Each picture, at its own size, goes through the analysis transform (padded to the transform's stride) and is
rounded to integer symbols (M channels x h x w positions). All pictures' symbols are coded in one rANS
stream by the model's own :meth:`~aekit.models.codec.CodecModule.compress`, with the per-channel tables of its
entropy model (:meth:`FactorizedPrior.pmf_table`): nothing about the probabilities is stored in the file, so the
bytes are what the model's rate term promises (plus a 16-bit table precision and the file's header).
Decoding rebuilds the same tables from the same weights, decodes the symbols and runs the synthesis
transform, cropped back to each picture's size. :mod:`aekit.apps.codec` wraps this in the ``.aekz`` file.

``refine=STEPS`` spends encoding time on a better code for the same decoder: the analysis transform's
output is only a first guess of the symbols that minimise ``lambda * 255^2 * MSE + bits`` for this picture,
and :func:`refine_latents` searches from it (stochastic Gumbel annealing, Yang, Bamler & Mandt 2020,
"Improving inference for neural image compression"), like a JPEG encoder's trellis quantisation: the file
format and the decoder do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from aekit.core.arrays import batches
from aekit.core.metrics import db
from aekit.errors import AekitError
from aekit.training.inference import map_batches

REFINE_PIXELS = 600_000  # pixels per batch of the encoder-side search (its memory grows with them)


def is_codec(model) -> bool:
    """True when ``model`` has a learned entropy model (the ``codec`` family)."""
    return hasattr(getattr(model.module, "head", None), "pmf_table")


def as_pictures(x, channels: int) -> tuple[list[np.ndarray], dict]:
    """Pictures as a list of (C, H, W) float32 in [0, 1], and how to give results back: ``{'dtype',
    'layout'}``. ``x`` is an array (N, H, W, C), (N, C, H, W) or (N, H, W) (grey), or a list of
    pictures (H, W, C) / (H, W) of any sizes."""
    arrays = list(x) if isinstance(x, (list, tuple)) else None
    if arrays is None:
        a = np.asarray(x)
        if a.ndim not in (3, 4) or len(a) == 0:
            raise AekitError(f"x: expected pictures (N, H, W, C), (N, C, H, W) or (N, H, W), got shape {a.shape}")
        arrays = list(a)
    pics, layouts, dtypes = [], set(), set()
    for i, p in enumerate(arrays):
        p = np.asarray(p)
        if p.ndim == 2 and channels == 1:
            p, lay = p[None], "no_channel"
        elif p.ndim == 3 and p.shape[-1] == channels and p.shape[0] != channels:
            p, lay = np.moveaxis(p, -1, 0), "channels_last"
        elif p.ndim == 3 and p.shape[0] == channels:
            lay = "channels_first"
        elif p.ndim == 3 and p.shape[-1] == channels:
            p, lay = np.moveaxis(p, -1, 0), "channels_last"
        else:
            raise AekitError(
                f"x: picture {i} has shape {p.shape}; this codec takes {channels}-channel pictures (H, W, {channels})"
            )
        if not (p.dtype == np.uint8 or np.issubdtype(p.dtype, np.floating)):
            raise AekitError(f"x: picture {i} has dtype {p.dtype}; expected uint8 or float in [0, 1]")
        dtypes.add("uint8" if p.dtype == np.uint8 else "float32")
        layouts.add(lay)
        f = p.astype(np.float32) / 255 if p.dtype == np.uint8 else p.astype(np.float32)
        if not np.isfinite(f).all():
            raise AekitError(f"x: picture {i} contains NaN or infinite values")
        pics.append(np.ascontiguousarray(f))
    if not pics:
        raise AekitError("x: no pictures")
    return pics, {
        "dtype": "uint8" if dtypes == {"uint8"} else "float32",
        "layout": layouts.pop() if len(layouts) == 1 else "channels_last",
    }


def pixel_count(x, channels: int) -> int:
    """Pixels (H * W, summed) of pictures as :func:`as_pictures` takes them."""
    total = 0
    for p in x:
        shp = np.shape(p)
        if len(shp) == 2:
            total += shp[0] * shp[1]
        elif shp[-1] == channels and shp[0] != channels:
            total += shp[0] * shp[1]
        else:
            total += shp[1] * shp[2]
    return int(total)


def _groups(sizes: Sequence[tuple]) -> dict[tuple, list[int]]:
    """Indices of the pictures of each size."""
    by: dict[tuple, list[int]] = {}
    for i, s in enumerate(sizes):
        by.setdefault(tuple(int(v) for v in s), []).append(i)
    return by


def _soft_round(y: torch.Tensor, tau: float, gen: torch.Generator) -> torch.Tensor:
    """A random relaxation of ``round(y)`` (stochastic Gumbel annealing): ``floor(y) + w`` with ``w`` in
    (0, 1) a Gumbel-softmax draw between rounding down and up, the nearer integer more likely; as ``tau`` goes
    to 0 it becomes a hard choice."""
    fl = torch.floor(y)
    r = (y - fl).clamp(1e-4, 1 - 1e-4)  # distance to the integer below, in (0, 1)
    logits = torch.stack([-torch.atanh(r), -torch.atanh(1 - r)], -1) / tau  # (..., 2): down, up
    g = -torch.log(-torch.log(torch.rand(logits.shape, generator=gen).clamp_min(1e-20))).to(y.device)
    return fl + F.softmax((logits + g) / tau, -1)[..., 1]


def _rd_per_picture(module, y_hat: torch.Tensor, x: torch.Tensor, lmbda: float) -> torch.Tensor:
    """``lambda * 255^2 * MSE + bits per pixel`` of each picture, (B,), for codes y_hat (B, M, h, w) of
    pictures x (B, C, H, W) (the training loss, per picture)."""
    x_hat = module.synthesis(y_hat, tuple(x.shape[-2:]))  # (B, C, H, W)
    mse = (x_hat - x).pow(2).flatten(1).mean(1)
    bits = -torch.log2(module.head.likelihood(y_hat)).flatten(1).sum(1)
    return lmbda * 255.0**2 * mse + bits / (x.shape[-2] * x.shape[-1])


def refine_latents(
    module, x: torch.Tensor, y: torch.Tensor, steps: int, lmbda: float, lr: float = 0.02, seed: int = 0
) -> torch.Tensor:
    """Integer codes (B, M, h, w) for pictures x (B, C, H, W) with a lower rate-distortion loss than
    ``round(y)``, y the analysis transform's output, ``lmbda`` the model's ``config.rate_lambda``: ``steps``
    Adam steps on y under a soft rounding whose temperature falls from 0.5 to 0.05, then rounded. Each
    picture keeps the searched code only where its loss (measured with hard rounding, as the file will hold
    it) is lower than the first guess's, so the result is never worse. Deterministic for a given ``seed``;
    the model's weights do not change.
    """
    dev = next(module.parameters()).device
    x, y = x.to(dev), y.to(dev)
    gen = torch.Generator().manual_seed(seed)
    y0 = y.detach().round()
    y = y.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=lr)
    was_training = module.training
    module.eval()
    try:
        with torch.enable_grad():  # also when called under no_grad
            for t in range(steps):
                tau = 0.5 * 0.1 ** (t / max(steps - 1, 1))
                loss = _rd_per_picture(module, _soft_round(y, tau, gen), x, lmbda).sum()
                (grad,) = torch.autograd.grad(loss, [y])  # the weights' gradients are not computed
                y.grad = grad
                opt.step()
        with torch.no_grad():
            y1 = y.round()
            better = _rd_per_picture(module, y1, x, lmbda) < _rd_per_picture(module, y0, x, lmbda)  # (B,)
            return torch.where(better[:, None, None, None], y1, y0).cpu()
    finally:
        module.train(was_training)


def encode_pictures(model, pics: list[np.ndarray], batch_size: int = 64, refine: int = 0) -> bytes:
    """The entropy-coded symbols of pictures (C, H, W) float32 (the body of a version-2 ``.aekz``);
    ``refine`` steps of :func:`refine_latents` per picture (0: the analysis transform's rounded output)."""
    module = model.module
    per: list[np.ndarray | None] = [None] * len(pics)
    for _, idx in _groups([p.shape[1:] for p in pics]).items():
        xs = np.stack([pics[i] for i in idx])  # (B, C, H, W)
        y = map_batches(module, xs, lambda m, b: m.encoder(b), batch_size=batch_size)  # (B, M, h, w)
        if refine > 0:  # the search keeps activations for a backward pass: batches of ~600k pixels at most
            rows = min(256, max(1, REFINE_PIXELS // (xs.shape[-2] * xs.shape[-1])))
            y = np.concatenate(
                [
                    refine_latents(
                        module,
                        torch.from_numpy(xs[s]),
                        torch.from_numpy(y[s]),
                        refine,
                        model.config.rate_lambda,
                        seed=s.start,
                    ).numpy()
                    for s in batches(len(xs), rows)
                ]
            )
        for i, yi in zip(idx, np.round(y).astype(np.int64)):
            per[i] = yi  # (M, h, w)
    return module.compress(per)


def decode_pictures(model, body: bytes, sizes: Sequence[tuple], batch_size: int = 64) -> list[np.ndarray]:
    """Reconstructions (C, H, W) float32 (clipped to [0, 1]) of :func:`encode_pictures`' bytes."""
    module = model.module
    latents = module.decompress(body, [module.latent_size(s) for s in sizes])  # (M, h, w) each
    out: list[np.ndarray | None] = [None] * len(sizes)
    for size, idx in _groups(sizes).items():
        y = np.stack([latents[i] for i in idx])  # (B, M, h, w)
        rec = map_batches(
            module,
            y,
            lambda mod, b: mod.synthesis(b, size).clamp(0, 1),  # noqa: B023  (B, C, H, W); called before the loop moves on
            batch_size=batch_size,
        )
        for i, r in zip(idx, rec):
            out[i] = r
    return cast("list[np.ndarray]", out)  # every size's pictures are set


def restore(pics: list[np.ndarray], dtype: str, layout: str):
    """Pictures (C, H, W) float32 back to the caller's dtype and layout: one array when all share a size,
    else a list."""
    conv = [(p * 255 + 0.5).astype(np.uint8) if dtype == "uint8" else p for p in pics]
    if layout == "channels_last":
        conv = [np.moveaxis(p, 0, -1) for p in conv]
    elif layout == "no_channel":
        conv = [p[0] for p in conv]
    if len({p.shape for p in conv}) == 1:
        return np.stack(conv)
    return conv


def psnr_report(original, decoded) -> dict:
    """PSNR in dB (10 log10(1 / MSE), pixels in [0, 1], MSE over all pictures) overall and, for colour
    pictures given channels last, per channel (``psnr_channels``). Arrays or lists of pictures."""
    total, n, per_c, per_n = 0.0, 0, None, 0
    for a, b in zip(list(original), list(decoded)):
        a, b = np.asarray(a), np.asarray(b)
        d = ((a / (255.0 if a.dtype == np.uint8 else 1.0)) - (b / (255.0 if b.dtype == np.uint8 else 1.0))) ** 2
        total, n = total + float(d.sum()), n + d.size
        if d.ndim == 3 and d.shape[-1] in (3, 4):  # (H, W, C): per-channel sums
            s = d.reshape(-1, d.shape[-1]).sum(0)
            per_c = s if per_c is None else per_c + s
            per_n += d.shape[0] * d.shape[1]
    rep = {"psnr": round(db(total / max(n, 1)), 3)}
    if per_c is not None:
        rep["psnr_channels"] = [round(db(v / per_n), 3) for v in per_c]
    return rep


__all__ = ["is_codec", "as_pictures", "pixel_count", "encode_pictures", "decode_pictures", "restore", "psnr_report"]
