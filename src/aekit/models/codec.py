"""``codec``: a learned image codec trained for rate and distortion (Ballé, Laparra & Simoncelli 2017;
the factorised-prior model of Ballé et al. 2018).

    x (B, C, H, W) -> g_a: [stride-2 conv + GDN] x (stages - 1), stride-2 conv -> y (B, M, H/2^s, W/2^s)
    y -> round (inference) / + U(-1/2, 1/2) (training) -> y_hat, with a learned per-channel density p(y_hat)
    y_hat -> g_s: [stride-2 transposed conv + IGDN] x (stages - 1), stride-2 transposed conv -> x_hat

The loss is ``lambda * 255^2 * MSE + bits per pixel`` (:func:`aekit.models.losses.objective`; MSE on [0, 1]
pixels, so ``255^2 * MSE`` is the MSE in 8-bit units), ``lambda`` set by ``quality`` 1..8 (CompressAI's
table, 0.0018 .. 0.18) or directly by ``lmbda``. The transforms are fully convolutional: a picture of any
size is padded (edge pixels repeated) to a multiple of ``2**stages`` and the output cropped back, which is
how :func:`aekit.apps.codec.compress` codes each photo of a folder at its own size. ``input_shape`` is the
training size only.

Examples
--------
>>> import aekit
>>> ae = aekit.build("codec", input_shape=(3, 32, 32), filters=16, latent_channels=24, stages=3, seed=0)
>>> ae.code_size, ae.config.rate_lambda
(384, 0.013)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.core.entropy_coder import decode_with_model, encode_with_model, model_freqs
from aekit.errors import AekitError
from aekit.models.base import AEModule, Output
from aekit.models.config import ModelConfig, option
from aekit.models.conv import to_chw
from aekit.models.registry import register_model
from aekit.nn.blocks import GDN
from aekit.nn.entropy_model import FactorizedPrior

# quality -> lambda of lambda * 255^2 * MSE + bpp (CompressAI's MSE ladder; higher quality, more bits)
QUALITY_LAMBDA = {1: 0.0018, 2: 0.0035, 3: 0.0067, 4: 0.0130, 5: 0.0250, 6: 0.0483, 7: 0.0932, 8: 0.1800}


def _odd(owner: str, name: str, value: int) -> None:
    if value % 2 == 0:
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected an odd size")


@dataclass
class CodecConfig(ModelConfig):
    latent_dim: Optional[int] = None  # the code is the latent map (latent_channels x H/2^s x W/2^s)
    output_activation: str = "linear"
    loss: str = "mse"
    filters: int = option(64, low=1, integer=True)  # N: channels inside g_a and g_s
    latent_channels: int = option(96, low=1, integer=True)  # M: channels of the code
    stages: int = option(4, low=1, high=8, integer=True)  # stride-2 stages (Ballé: 4); 3 keeps more positions
    kernel_size: int = option(5, low=1, integer=True, check=_odd)
    quality: int = option(4, choices=tuple(QUALITY_LAMBDA))  # 1..8 -> lambda (QUALITY_LAMBDA)
    lmbda: Optional[float] = option(None, low=0, low_open=True)  # sets lambda directly, overriding quality

    def normalize(self):
        owner = type(self).__name__
        self.input_shape = to_chw(self.input_shape)
        if len(self.input_shape) != 3:
            raise AekitError(f"{owner}: input_shape={self.input_shape!r}; expected (C, H, W), (H, W, C) or (H, W)")
        if self.latent_dim is not None:
            raise AekitError(
                f"{owner}: latent_dim={self.latent_dim!r}; a codec's code size follows from "
                f"latent_channels and the picture size (set latent_channels instead)"
            )
        if self.loss != "mse" or self.output_activation != "linear":
            raise AekitError(
                f"{owner}: a codec trains with loss='mse' and output_activation='linear' "
                f"(got {self.loss!r}, {self.output_activation!r})"
            )

    @property
    def rate_lambda(self) -> float:
        """The lambda of the rate-distortion loss."""
        return float(self.lmbda) if self.lmbda is not None else QUALITY_LAMBDA[int(self.quality)]

    @property
    def stride(self) -> int:
        return 2**self.stages


def padded_size(size: tuple, stride: int) -> tuple:
    """(H, W) rounded up to multiples of ``stride``."""
    return tuple(-(-int(s) // stride) * stride for s in size)


class Analysis(nn.Module):
    """g_a: (B, C, H, W) -> (B, M, ceil(H / 2^s), ceil(W / 2^s)); pads the picture by repeating its edge."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        k, n = cfg.kernel_size, cfg.filters
        chans = [cfg.input_shape[0]] + [n] * (cfg.stages - 1) + [cfg.latent_channels]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers.append(nn.Conv2d(a, b, k, stride=2, padding=k // 2))
            if i < cfg.stages - 1:
                layers.append(GDN(b))
        self.net = nn.Sequential(*layers)
        self.stride = cfg.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = padded_size((h, w), self.stride)
        if (ph, pw) != (h, w):
            x = F.pad(x, (0, pw - w, 0, ph - h), mode="replicate")
        return self.net(x)


class Synthesis(nn.Module):
    """g_s: (B, M, h, w) -> (B, C, h * 2^s, w * 2^s), cropped to ``out_size`` (the training size unless
    :meth:`forward` is given another)."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        k, n = cfg.kernel_size, cfg.filters
        chans = [cfg.latent_channels] + [n] * (cfg.stages - 1) + [cfg.input_shape[0]]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers.append(nn.ConvTranspose2d(a, b, k, stride=2, padding=k // 2, output_padding=1))
            if i < cfg.stages - 1:
                layers.append(GDN(b, inverse=True))
        self.net = nn.Sequential(*layers)
        self.out_size = tuple(cfg.input_shape[1:])

    def forward(self, y: torch.Tensor, out_size: Optional[tuple] = None) -> torch.Tensor:
        h, w = out_size or self.out_size
        return self.net(y)[..., :h, :w]


class CodecModule(AEModule):
    """encoder = g_a, head = the quantiser and its entropy model, decoder = (flat code -> latent map) + g_s.

    ``forward`` also returns the likelihoods of the quantised code, which the rate term of the loss reads.
    """

    def __init__(self, cfg: CodecConfig):
        c, h, w = cfg.input_shape
        ph, pw = padded_size((h, w), cfg.stride)
        self.latent_shape = (cfg.latent_channels, ph // cfg.stride, pw // cfg.stride)
        super().__init__(
            Analysis(cfg),
            FactorizedPrior(cfg.latent_channels),
            nn.Sequential(nn.Unflatten(1, self.latent_shape), Synthesis(cfg)),
            cfg.output_activation,
        )

    @property
    def synthesis(self) -> Synthesis:
        return cast(Synthesis, cast(nn.Sequential, self.decoder)[1])  # decoder = Sequential(Unflatten, Synthesis)

    def encode(self, x: torch.Tensor):
        """(the rounded code flattened (B, M*h*w), None, None) in evaluation."""
        y_hat, _ = self.head(self.encoder(x))
        return y_hat.flatten(1), None, None

    def forward(self, x: torch.Tensor) -> Output:
        y_hat, lik = self.head(self.encoder(x))  # (B, M, h, w) each
        logits = self.synthesis(y_hat, tuple(x.shape[-2:]))  # (B, C, H, W)
        return Output(logits, y_hat.flatten(1), output_activation=self.output_activation, likelihoods=lik)

    # Entropy coding lives on the model, beside the entropy model whose tables it uses (as CompressAI's
    # compress/decompress): the file format around the bytes is aekit.apps.codec's.

    def latent_size(self, size: tuple) -> tuple[int, int]:
        """(h, w) of the latent map of a picture of ``size`` (H, W): the padded size over the stride."""
        stride = int(cast(Analysis, self.encoder).stride)
        return (-(-int(size[0]) // stride), -(-int(size[1]) // stride))

    def coder_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo (M,), frequencies (M, S + 1)) of the entropy model, for the rANS coder; the same weights give
        the same tables, so nothing about the probabilities is stored with the bytes."""
        lo, pmf, tail = cast(FactorizedPrior, self.head).pmf_table()
        return lo, model_freqs(pmf, tail)

    def compress(self, latents: Sequence[np.ndarray]) -> bytes:
        """Integer latents, one (M, h, w) array per picture (sizes may differ), as one rANS stream."""
        rows = [np.asarray(y, np.int64).reshape(len(y), -1).T for y in latents]  # (h*w, M) each: a row a position
        lo, freqs = self.coder_tables()
        return encode_with_model(np.concatenate(rows), lo, freqs)

    def decompress(self, data: bytes, latent_sizes: Sequence[tuple]) -> list[np.ndarray]:
        """The integer latents (M, h, w) float32 of :meth:`compress`'s bytes, given each picture's (h, w)."""
        lo, freqs = self.coder_tables()
        counts = [int(h) * int(w) for h, w in latent_sizes]
        q = decode_with_model(data, int(sum(counts)), lo, freqs)  # (rows, M)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        m = len(lo)
        return [q[starts[i] : starts[i + 1]].T.reshape(m, *hw).astype(np.float32) for i, hw in enumerate(latent_sizes)]


@register_model(
    "codec",
    CodecConfig,
    "learned image codec: GDN transforms + factorised entropy model, "
    "trained for rate + distortion (quality 1-8), any picture size",
    input_layout="image",
    rate_distortion=True,
)
def build_codec(cfg: CodecConfig) -> CodecModule:
    return CodecModule(cfg)


__all__ = ["CodecConfig", "CodecModule", "QUALITY_LAMBDA", "padded_size"]
