"""Code heads: what turns encoder features into the code. A VAE is an encoder with a Gaussian head."""

from __future__ import annotations

import torch
from torch import nn

from aekit.nn.blocks import activation


class LatentHead(nn.Module):
    """Deterministic code: ``z = act(W h)``; with ``latent_dim=None`` the flattened features are the code
    (the tutorials' convolutional autoencoders, whose code is the last feature map)."""

    def __init__(self, n_in: int, latent_dim: int | None, act: str | None = None):
        super().__init__()
        self.linear = nn.Linear(n_in, latent_dim) if latent_dim else nn.Identity()
        self.act = activation(act)

    def forward(self, h: torch.Tensor):
        z = self.act(self.linear(h.flatten(1)))  # (B, latent)
        return z, None, None


class GaussianHead(nn.Module):
    """Gaussian posterior q(z|x) = N(mu, diag(exp(logvar))); reparameterised sample in training, the mean
    in evaluation so that ``encode`` is deterministic."""

    def __init__(self, n_in: int, latent_dim: int):
        super().__init__()
        self.mu = nn.Linear(n_in, latent_dim)
        self.logvar = nn.Linear(n_in, latent_dim)

    def forward(self, h: torch.Tensor):
        h = h.flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)  # (B, latent) each
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return z, mu, logvar
