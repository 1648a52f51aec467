"""Input corruptions for denoising training. Applied by the training loop to inputs only (the target stays
clean), in training only; any family becomes a denoiser with ``corruption=...``."""

from __future__ import annotations

import torch

from aekit.models.config import CorruptionConfig


def corrupt(x: torch.Tensor, cfg: CorruptionConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """A corrupted copy of batch ``x`` (any shape); the random draws come from ``generator`` for seeding."""
    if cfg.amount == 0:
        return x
    lo, hi = x.min(), x.max()  # the clean batch's value range ([0, 1] for images)
    if cfg.kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        y = x + cfg.amount * noise
    else:
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        hit = u < cfg.amount
        if cfg.kind == "masking":
            y = torch.where(hit, torch.zeros_like(x), x)
        else:  # salt_pepper: half of the hits to the max, half to the min
            salt = u < cfg.amount / 2
            y = torch.where(hit, torch.where(salt, hi, lo).to(x.dtype).expand_as(x), x)
    return y.clamp(lo, hi) if cfg.clip else y
