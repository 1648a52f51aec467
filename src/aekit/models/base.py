"""The autoencoder module every family builds: encoder -> head -> decoder, and nothing else.

Models compute and nothing else: no logging, saving or epochs here. ``forward`` returns :class:`Output`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class Output:
    x_hat: torch.Tensor  # reconstruction in data space, shape of the input
    logits: torch.Tensor  # pre-activation output (equals x_hat for linear outputs); BCE uses it
    z: torch.Tensor  # (B, latent) code
    mu: Optional[torch.Tensor] = None  # (B, latent), variational models only
    logvar: Optional[torch.Tensor] = None


class AEModule(nn.Module):
    """``encoder`` maps (B, *input_shape) to features, ``head`` features to (z, mu, logvar), ``decoder``
    (B, latent) to output logits of the input's shape; ``output_activation`` is 'sigmoid' or 'linear'."""

    def __init__(self, encoder: nn.Module, head: nn.Module, decoder: nn.Module, output_activation: str,
                 code_activation: str | None = None):
        super().__init__()
        self.encoder, self.head, self.decoder = encoder, head, decoder
        self.output_activation = output_activation
        self.code_activation = code_activation  # tells the KL sparsity penalty whether z is already in (0, 1)

    @property
    def variational(self) -> bool:
        return bool(getattr(self.head, "variational", False))

    def encode(self, x: torch.Tensor):
        """(z, mu, logvar) for a batch."""
        return self.head(self.encoder(x))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.output_activation == "sigmoid" else logits

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.activate(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> Output:
        z, mu, logvar = self.encode(x)
        logits = self.decode_logits(z)
        return Output(self.activate(logits), logits, z, mu, logvar)
