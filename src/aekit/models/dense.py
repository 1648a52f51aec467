"""Dense families: ``dense`` (vanilla and deep), ``stacked`` (greedy layer-wise pretraining) and ``vae``.

The vanilla 784-32-784 autoencoder is ``build("dense", input_shape=(784,), hidden=[])``; the deep
784-128-64-32-64-128-784 one is ``hidden=[128, 64]``; the kitten tutorial's photo compressor is
``build("dense", input_shape=(3, 48, 48), hidden=[...], batch_norm=True, latent_dim=1728)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from torch import nn

from ..config import ACTIVATIONS, ModelConfig, _check_choice, _check_positive
from ..errors import AekitError
from ..nn.blocks import dense_block, mlp
from ..nn.heads import GaussianHead, LatentHead
from ..registry import register_model
from .base import AEModule


@dataclass
class DenseConfig(ModelConfig):
    hidden: list = field(default_factory=lambda: [128, 64])  # encoder sizes; the decoder mirrors them
    activation: str = "relu"
    latent_activation: Optional[str] = None  # None: a linear code (Keras' relu code is latent_activation='relu')
    batch_norm: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        self.hidden = [int(h) for h in self.hidden]
        if any(h <= 0 for h in self.hidden):
            raise AekitError(f"{type(self).__name__}: hidden={self.hidden!r}; expected positive sizes")
        if self.latent_dim is None:
            raise AekitError(f"{type(self).__name__}: latent_dim is required for dense families")
        _check_choice(type(self).__name__, "activation", self.activation, ACTIVATIONS)
        if self.latent_activation is not None:
            _check_choice(type(self).__name__, "latent_activation", self.latent_activation, ACTIVATIONS)
        if not 0 <= self.dropout < 1:
            raise AekitError(f"{type(self).__name__}: dropout={self.dropout!r}; expected 0 <= dropout < 1")


@dataclass
class StackedConfig(DenseConfig):
    hidden: list = field(default_factory=lambda: [256, 128])
    pretrain_epochs: int = 2  # epochs per encoder/decoder pair before end-to-end fine-tuning

    def __post_init__(self):
        super().__post_init__()
        _check_positive("StackedConfig", "pretrain_epochs", self.pretrain_epochs, allow_zero=True)


@dataclass
class VAEConfig(DenseConfig):
    variational = True  # class attribute, not an option
    hidden: list = field(default_factory=lambda: [512])
    latent_dim: Optional[int] = 2
    beta: float = 1.0  # weight of the KL term (beta-VAE)

    def __post_init__(self):
        super().__post_init__()
        _check_positive("VAEConfig", "beta", self.beta, allow_zero=True)


def build_dense_module(cfg: DenseConfig, variational: bool = False) -> AEModule:
    n_in = math.prod(cfg.input_shape)
    enc_sizes = [n_in, *cfg.hidden]
    dec_sizes = [cfg.latent_dim, *reversed(cfg.hidden)]
    # (B, *input_shape) -> (B, n_in) -> hidden blocks -> (B, hidden[-1])
    encoder = nn.Sequential(nn.Flatten(), *mlp(enc_sizes, cfg.activation, cfg.batch_norm, cfg.dropout))
    head = (GaussianHead(enc_sizes[-1], cfg.latent_dim) if variational
            else LatentHead(enc_sizes[-1], cfg.latent_dim, cfg.latent_activation))
    # (B, latent) -> mirrored hidden blocks -> (B, n_in) logits -> (B, *input_shape)
    decoder = nn.Sequential(*mlp(dec_sizes, cfg.activation, cfg.batch_norm, cfg.dropout),
                            nn.Linear(dec_sizes[-1], n_in), nn.Unflatten(1, cfg.input_shape))
    return AEModule(encoder, head, decoder, cfg.output_activation, cfg.latent_activation)


def dense_layer_pairs(module: AEModule) -> list[tuple[nn.Module, nn.Module]]:
    """The (encoder layer, matching decoder layer) pairs of a dense module, outermost first, for greedy
    layer-wise pretraining: (enc 1, output layer), (enc 2, dec k), ..., (head, dec 1)."""
    enc_layers = [m for m in module.encoder if isinstance(m, nn.Sequential)]
    dec = list(module.decoder)
    dec_layers = [m for m in dec if isinstance(m, nn.Sequential)]
    out_layer = dec[len(dec_layers)]  # the Linear after the mirrored blocks
    encs = [*enc_layers, module.head]
    decs = [out_layer, *reversed(dec_layers)]
    return list(zip(encs, decs))


@register_model("dense", DenseConfig, "dense autoencoder: any hidden sizes ([] for the vanilla 784-32-784)")
def build_dense(cfg: DenseConfig) -> AEModule:
    return build_dense_module(cfg)


@register_model("stacked", StackedConfig, "deep dense autoencoder with greedy layer-wise pretraining")
def build_stacked(cfg: StackedConfig) -> AEModule:
    return build_dense_module(cfg)


@register_model("vae", VAEConfig, "dense variational autoencoder (Gaussian posterior, KL to N(0, I), beta)")
def build_vae(cfg: VAEConfig) -> AEModule:
    return build_dense_module(cfg, variational=True)


__all__ = ["DenseConfig", "StackedConfig", "VAEConfig", "dense_layer_pairs", "dense_block"]
