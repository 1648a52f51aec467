"""Dense families: ``dense`` (vanilla and deep), ``stacked`` (greedy layer-wise pretraining) and ``vae``.

The vanilla 784-32-784 autoencoder is ``build("dense", input_shape=(784,), hidden=[])``; the deep
784-128-64-32-64-128-784 one is ``hidden=[128, 64]``; the kitten tutorial's photo compressor is
``build("dense", input_shape=(3, 48, 48), hidden=[...], batch_norm=True, latent_dim=1728)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, cast

from torch import nn

from aekit.errors import AekitError
from aekit.models.base import AEModule
from aekit.models.config import HIDDEN_ACTIVATIONS, ModelConfig, option
from aekit.models.registry import register_model
from aekit.nn.blocks import WithInput, dense_block, mlp
from aekit.nn.heads import GaussianHead, LatentHead

LINEAR_PATH = ("auto", "on", "off")


@dataclass
class DenseConfig(ModelConfig):
    hidden: list = option(default_factory=lambda: [128, 64], items=True, low=1, integer=True)  # decoder mirrors
    activation: str = option("auto", choices=HIDDEN_ACTIVATIONS)  # auto: relu for [0, 1] data, else elu
    batch_norm: bool = False
    dropout: float = option(0.0, low=0, high=1, high_open=True)
    # a linear path beside the hidden layers (encoder and decoder), so the model can start as exactly PCA;
    # auto: on for standardised data with a linear output (aekit.training.defaults.linear_path), else off
    linear_path: str = option("auto", choices=LINEAR_PATH)

    def normalize(self):
        if self.latent_dim is None:
            raise AekitError(f"{type(self).__name__}: latent_dim is required for dense families")


@dataclass
class StackedConfig(DenseConfig):
    hidden: list = field(default_factory=lambda: [256, 128])
    linear_path: str = option("off", choices=LINEAR_PATH)  # greedy pretraining trains plain layer pairs
    pretrain_epochs: int = option(2, low=0, integer=True)  # epochs per encoder/decoder pair before fine-tuning


@dataclass
class VAEConfig(DenseConfig):
    hidden: list = field(default_factory=lambda: [512])
    latent_dim: Optional[int] = 2
    beta: float = option(1.0, low=0)  # weight of the KL term (beta-VAE)
    linear_path: str = option("off", choices=LINEAR_PATH)


def build_dense_module(cfg: DenseConfig, variational: bool = False) -> AEModule:
    assert cfg.latent_dim is not None  # DenseConfig.normalize requires it
    n_in = math.prod(cfg.input_shape)
    enc_sizes = [n_in, *cfg.hidden]
    dec_sizes = [cfg.latent_dim, *reversed(cfg.hidden)]
    enc_blocks = mlp(enc_sizes, cfg.activation, cfg.batch_norm, cfg.dropout)
    dec_blocks = mlp(dec_sizes, cfg.activation, cfg.batch_norm, cfg.dropout)
    decoder_blocks: list[nn.Module]
    if cfg.linear_path == "on" and cfg.hidden:
        # (B, n_in) -> [hidden blocks (B, hidden[-1]), x (B, n_in)]: the head sums both paths; likewise
        # (B, latent) -> [mirrored blocks (B, hidden[0]), z (B, latent)] before the output layer
        encoder = nn.Sequential(nn.Flatten(), WithInput(enc_blocks))
        decoder_blocks, n_enc, n_dec = [WithInput(dec_blocks)], enc_sizes[-1] + n_in, dec_sizes[-1] + cfg.latent_dim
    else:
        # (B, *input_shape) -> (B, n_in) -> hidden blocks -> (B, hidden[-1])
        encoder = nn.Sequential(nn.Flatten(), *enc_blocks)
        decoder_blocks, n_enc, n_dec = list(dec_blocks), enc_sizes[-1], dec_sizes[-1]
    head = (
        GaussianHead(n_enc, cfg.latent_dim) if variational else LatentHead(n_enc, cfg.latent_dim, cfg.latent_activation)
    )
    # (B, latent) -> mirrored hidden blocks -> (B, n_in) logits -> (B, *input_shape); flat inputs need no
    # Unflatten, whose module call and view node are a few per cent of a small model's step (no weights, so
    # the file's keys are the same either way)
    unflatten = [nn.Unflatten(1, cfg.input_shape)] if len(cfg.input_shape) > 1 else []
    decoder = nn.Sequential(*decoder_blocks, nn.Linear(n_dec, n_in), *unflatten)
    return AEModule(encoder, head, decoder, cfg.output_activation)


def dense_layer_pairs(module: AEModule) -> list[tuple[nn.Module, nn.Module]]:
    """The (encoder layer, matching decoder layer) pairs of a dense module, outermost first, for greedy
    layer-wise pretraining: (enc 1, output layer), (enc 2, dec k), ..., (head, dec 1). A module with a
    linear path has one pair: (head, output layer), each summing its two paths."""
    encoder, decoder = cast(nn.Sequential, module.encoder), cast(nn.Sequential, module.decoder)  # dense stacks
    if isinstance(encoder[-1], WithInput):
        return [(module.head, next(m for m in reversed(decoder) if isinstance(m, nn.Linear)))]  # the output layer
    enc_layers = [m for m in encoder if isinstance(m, nn.Sequential)]
    dec = list(decoder)
    dec_layers = [m for m in dec if isinstance(m, nn.Sequential)]
    out_layer = dec[len(dec_layers)]  # the Linear after the mirrored blocks
    encs = [*enc_layers, module.head]
    decs = [out_layer, *reversed(dec_layers)]
    return list(zip(encs, decs))


def pretrain_stacked(module: AEModule, cfg: StackedConfig) -> tuple[list, int]:
    """The ``stacked`` family's pretraining plan: its (encoder, decoder) layer pairs and the epochs for each.
    The training layer runs it (:func:`aekit.training.pretrain.greedy_pretrain`); a model only describes it."""
    return dense_layer_pairs(module), cfg.pretrain_epochs


@register_model("dense", DenseConfig, "dense autoencoder: any hidden sizes ([] for the vanilla 784-32-784)")
def build_dense(cfg: DenseConfig) -> AEModule:
    return build_dense_module(cfg)


@register_model(
    "stacked", StackedConfig, "deep dense autoencoder with greedy layer-wise pretraining", pretrain=pretrain_stacked
)
def build_stacked(cfg: StackedConfig) -> AEModule:
    return build_dense_module(cfg)


@register_model(
    "vae", VAEConfig, "dense variational autoencoder (Gaussian posterior, KL to N(0, I), beta)", variational=True
)
def build_vae(cfg: VAEConfig) -> AEModule:
    return build_dense_module(cfg, variational=True)


__all__ = ["LINEAR_PATH", "DenseConfig", "StackedConfig", "VAEConfig", "dense_layer_pairs", "dense_block"]
