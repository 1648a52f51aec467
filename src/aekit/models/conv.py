"""Convolutional families: ``conv`` and ``conv_vae``.

The Keras blog's 16-8-8 model is the default ``filters=[16, 8, 8]`` with max-pooling and the feature map
as the code (``latent_dim=None``, 8x4x4=128 values for MNIST); the 32-32 denoiser is ``filters=[32, 32]``.
``mode='strided'`` uses stride-2 convolutions and transposed convolutions instead. Any H, W and channel
count works, and the output always has exactly the input's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from torch import nn

from aekit.errors import AekitError
from aekit.models.base import AEModule
from aekit.models.config import HIDDEN_ACTIVATIONS, ModelConfig, option
from aekit.models.registry import register_model
from aekit.nn.blocks import activation, conv_down, conv_up, halve
from aekit.nn.heads import GaussianHead, LatentHead


def to_chw(shape: tuple) -> tuple:
    """Normalise an image input_shape to (C, H, W): (H, W) -> (1, H, W); (H, W, C) with C in 1/3/4 and H
    not -> (C, H, W)."""
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3 and shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4):
        return (shape[2], shape[0], shape[1])
    return tuple(shape)


def _odd(owner: str, name: str, value: int) -> None:
    if value % 2 == 0:
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected an odd size")


def _non_empty(owner: str, name: str, value: list) -> None:
    if not value:
        raise AekitError(f"{owner}: {name}=[] is not valid; expected a non-empty list of positive counts")


@dataclass
class ConvConfig(ModelConfig):
    latent_dim: Optional[int] = None  # None: the last feature map is the code
    filters: list = option(default_factory=lambda: [16, 8, 8], items=True, low=1, integer=True, check=_non_empty)
    kernel_size: int = option(3, low=1, integer=True, check=_odd)
    mode: str = option("pool", choices=("pool", "strided"))  # conv + max-pool / upsample, or strided convs
    activation: str = option("auto", choices=HIDDEN_ACTIVATIONS)  # auto: relu for [0, 1] data, else elu
    batch_norm: bool = False

    def normalize(self):
        self.input_shape = to_chw(self.input_shape)
        if len(self.input_shape) != 3:
            raise AekitError(
                f"{type(self).__name__}: input_shape={self.input_shape!r}; expected (C, H, W), (H, W, C) or (H, W)"
            )


@dataclass
class ConvVAEConfig(ConvConfig):
    latent_dim: Optional[int] = 2
    filters: list = field(default_factory=lambda: [32, 64])
    mode: str = "strided"
    beta: float = option(1.0, low=0)  # weight of the KL term (beta-VAE)

    def normalize(self):
        super().normalize()
        if self.latent_dim is None:
            raise AekitError("ConvVAEConfig: latent_dim is required for a variational model")


def build_conv_module(cfg: ConvConfig, variational: bool = False) -> AEModule:
    c, h, w = cfg.input_shape
    sizes = [(h, w)]
    for _ in cfg.filters:
        sizes.append(halve(sizes[-1]))
    chans = [c, *cfg.filters]
    k, act, bn = cfg.kernel_size, cfg.activation, cfg.batch_norm
    # (B, C, H, W) -> ... -> (B, filters[-1], h', w') with h' = ceil(H / 2^len(filters))
    encoder = nn.Sequential(*[conv_down(a, b, act, cfg.mode, k, bn) for a, b in zip(chans[:-1], chans[1:])])
    map_shape = (cfg.filters[-1], *sizes[-1])
    n_map = math.prod(map_shape)
    head: nn.Module
    if variational:
        assert cfg.latent_dim is not None  # ConvVAEConfig requires it
        head = GaussianHead(n_map, cfg.latent_dim)
    else:
        head = LatentHead(n_map, cfg.latent_dim, cfg.latent_activation)
    stem: list[nn.Module] = []
    if cfg.latent_dim:  # a dense bottleneck: (B, latent) -> (B, n_map)
        stem = [nn.Linear(cfg.latent_dim, n_map), activation(act)]
    rev = list(reversed(cfg.filters))  # e.g. [8, 8, 16]
    ups = [
        conv_up(a, b, act, cfg.mode, size, k, bn) for a, b, size in zip([rev[0], *rev[:-1]], rev, reversed(sizes[:-1]))
    ]
    # (B, latent | n_map) -> (B, filters[-1], h', w') -> up stages back to (H, W) -> (B, C, H, W) logits
    decoder = nn.Sequential(*stem, nn.Unflatten(1, map_shape), *ups, nn.Conv2d(cfg.filters[0], c, k, padding=k // 2))
    return AEModule(encoder, head, decoder, cfg.output_activation)


@register_model(
    "conv", ConvConfig, "convolutional autoencoder (pooling or strided), any H, W and channels", input_layout="image"
)
def build_conv(cfg: ConvConfig) -> AEModule:
    return build_conv_module(cfg)


@register_model(
    "conv_vae", ConvVAEConfig, "convolutional variational autoencoder", input_layout="image", variational=True
)
def build_conv_vae(cfg: ConvVAEConfig) -> AEModule:
    return build_conv_module(cfg, variational=True)
