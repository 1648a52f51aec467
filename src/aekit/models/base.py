"""The autoencoder module every family builds: encoder -> head -> decoder, and nothing else.

Models compute and nothing else: no logging, saving or epochs here. ``forward`` returns :class:`Output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn


@dataclass
class Output:
    logits: torch.Tensor  # (B, *input_shape) pre-activation output; BCE is computed from it
    z: torch.Tensor  # (B, latent) code
    mu: torch.Tensor | None = None  # (B, latent), variational models only
    logvar: torch.Tensor | None = None
    output_activation: str = "linear"
    likelihoods: torch.Tensor | None = None  # (B, M, h, w), codec models: p(quantised code), for the rate

    @cached_property
    def x_hat(self) -> torch.Tensor:
        """The reconstruction in data space, (B, *input_shape). Computed on first use only: training with
        BCE never needs it, and on small models the extra sigmoid is a measurable share of a step."""
        return self.logits if self.output_activation == "linear" else torch.sigmoid(self.logits)


class AEModule(nn.Module):
    """``encoder`` maps (B, *input_shape) to features, ``head`` features to (z, mu, logvar), ``decoder``
    (B, latent) to output logits of the input's shape; ``output_activation`` is 'sigmoid' or 'linear'."""

    def __init__(self, encoder: nn.Module, head: nn.Module, decoder: nn.Module, output_activation: str):
        super().__init__()
        self.encoder, self.head, self.decoder = encoder, head, decoder
        self.output_activation = output_activation

    def encode(self, x: torch.Tensor):
        """(z, mu, logvar) for a batch."""
        return self.head(self.encoder(x))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        # 'auto' (before fit has decided) acts as sigmoid, the default of data in [0, 1]
        return logits if self.output_activation == "linear" else torch.sigmoid(logits)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.activate(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> Output:
        z, mu, logvar = self.encode(x)
        return Output(self.decode_logits(z), z, mu, logvar, self.output_activation)
