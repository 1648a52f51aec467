"""Loss terms as pure functions of tensors. Per-sample terms return shape (B,).

Plain autoencoders report the reconstruction term as a mean over features (Keras' convention, so MNIST BCE
reads about 0.1); variational ones as a sum over features, so that reconstruction + KL is the negative
ELBO in nats per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from aekit.models.base import Output
from aekit.models.config import SparsityConfig


def reconstruction(out: Output, target: torch.Tensor, kind: str, reduction: str = "mean") -> torch.Tensor:
    """Per-sample reconstruction loss (B,): 'bce' from logits (numerically stable) or 'mse'."""
    if kind == "bce":
        per = F.binary_cross_entropy_with_logits(out.logits, target, reduction="none")
    else:
        per = (out.x_hat - target) ** 2
    per = per.flatten(1)  # (B, D)
    return per.sum(1) if reduction == "sum" else per.mean(1)


def smoothed_error(
    x_hat: torch.Tensor, target: torch.Tensor, chw: tuple, channels_last: bool = False, sigma: float = 1.0
) -> torch.Tensor:
    """Per-sample mean squared error (B,) of the residual blurred by a Gaussian of ``sigma`` pixels (5x5, per
    channel): for pictures (C, H, W), a missing or extra stroke counts, an edge one pixel off mostly cancels
    out (the plain MSE counts it twice). ``channels_last``: the tensors hold (B, H, W, C) pictures.

    >>> import torch
    >>> a = torch.zeros(1, 1, 9, 9); b = a.clone(); c = a.clone()
    >>> a[..., 4] = 1; b[..., 5] = 1  # the same line, one pixel to the right
    >>> c[..., 4:6] = 0.5            # the line, spread over both columns
    >>> bool(smoothed_error(b, a, (1, 9, 9)) > 2 * smoothed_error(c, a, (1, 9, 9)))
    True
    """
    c, h, w = chw
    d = x_hat - target
    d = d.reshape(len(d), h, w, c).permute(0, 3, 1, 2) if channels_last else d.reshape(len(d), c, h, w)
    t = torch.arange(-2, 3, dtype=d.dtype, device=d.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k[:, None] * k[None, :]) / k.sum() ** 2  # (5, 5), sums to 1
    d = F.conv2d(d, k.expand(c, 1, 5, 5), padding=2, groups=c)  # (B, C, H, W)
    return d.pow(2).flatten(1).mean(1)


def reconstruction_batch(out: Output, target: torch.Tensor, kind: str, reduction: str = "mean") -> torch.Tensor:
    """The batch mean of :func:`reconstruction` as one fused op (the training objective's hot path)."""
    if kind == "bce":
        fn = F.binary_cross_entropy_with_logits
        return fn(out.logits, target) if reduction == "mean" else fn(out.logits, target, reduction="sum") / len(target)
    if reduction == "mean":
        return F.mse_loss(out.x_hat, target)
    return F.mse_loss(out.x_hat, target, reduction="sum") / len(target)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample (B,)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def squash(z: torch.Tensor, already_unit: bool) -> torch.Tensor:
    """The code in (0, 1), as the KL sparsity penalty and the 'mean code activation' metric read it."""
    return z if already_unit else torch.sigmoid(z)


def sparsity_penalty(z: torch.Tensor, cfg: SparsityConfig, code_in_unit: bool = False) -> torch.Tensor:
    """L1: weight * mean_b sum_j |z_bj|. KL: weight * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean."""
    if cfg.kind == "l1":
        return cfg.weight * z.abs().sum(1).mean()
    rho_hat = squash(z, code_in_unit).mean(0).clamp(1e-6, 1 - 1e-6)  # (latent,)
    rho = torch.full_like(rho_hat, cfg.rho)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return cfg.weight * kl.sum()


@dataclass(frozen=True)
class LossSpec:
    """What the training objective of one model is made of (derived from its family and config by
    :meth:`aekit.models.registry.Family.loss_spec`)."""

    reconstruction: str  # 'bce' | 'mse'
    variational: bool = False
    beta: float = 1.0
    sparsity: SparsityConfig | None = None
    code_in_unit: bool = False
    rate_lambda: float | None = None  # codec models: lambda * 255^2 * MSE + bits per pixel


def bits_per_pixel(likelihoods: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The rate of a batch: -log2 p(code) summed, over the pixels (B * H * W) of target (B, C, H, W)."""
    pixels = target.shape[0] * target.shape[-2] * target.shape[-1]
    return -torch.log2(likelihoods).sum() / pixels


def rate_distortion(out: Output, target: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A codec's loss ``lambda * 255^2 * MSE + bpp`` (Ballé et al.; MSE on [0, 1] pixels) and its terms
    {'reconstruction' (the MSE), 'bpp'}."""
    mse = F.mse_loss(out.x_hat, target)
    assert out.likelihoods is not None  # a codec's forward returns them
    bpp = bits_per_pixel(out.likelihoods, target)
    return lmbda * 255.0**2 * mse + bpp, {"reconstruction": mse, "bpp": bpp}


def objective(out: Output, target: torch.Tensor, spec: LossSpec) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The scalar loss to minimise and its named terms (batch means), e.g. {'reconstruction', 'kl'}."""
    if spec.rate_lambda is not None:
        return rate_distortion(out, target, spec.rate_lambda)
    rec = reconstruction_batch(out, target, spec.reconstruction, "sum" if spec.variational else "mean")
    terms = {"reconstruction": rec}
    total = rec
    if spec.variational:
        assert out.mu is not None and out.logvar is not None  # a variational head returns both
        kl = kl_divergence(out.mu, out.logvar).mean()
        terms["kl"] = kl
        total = total + (kl if spec.beta == 1.0 else spec.beta * kl)  # no multiply (and its backward) at 1
    if spec.sparsity is not None:
        sp = sparsity_penalty(out.z, spec.sparsity, spec.code_in_unit)
        terms["sparsity"] = sp
        total = total + sp
    return total, terms
