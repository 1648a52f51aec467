"""``lstm``: the sequence-to-sequence LSTM autoencoder.

An LSTM stack encodes (B, T, F) to its last state, a head maps that to the code (B, latent), the code is
repeated over the T steps (Keras' RepeatVector) and a decoder LSTM stack maps it back to (B, T, F).
Encoder and decoder can be bidirectional with merge mode 'concat', 'sum', 'ave' or 'mul'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from aekit.errors import AekitError
from aekit.models.base import AEModule
from aekit.models.config import ModelConfig, option
from aekit.models.registry import register_model
from aekit.nn.blocks import LSTMStack
from aekit.nn.heads import LatentHead


def _widths(owner: str, name: str, value) -> None:
    """``hidden``: one LSTM width (int), or a list of equal widths, one per layer (as dense families list them)."""
    vals = value if isinstance(value, (list, tuple)) else [value]
    ok = bool(vals) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in vals)
    if not ok or len(set(vals)) > 1:
        raise AekitError(
            f"{owner}: {name}={value!r} is not valid; expected a positive width, or a list of equal "
            f"widths (one per layer: the LSTM stack has one width)"
        )


@dataclass
class LSTMConfig(ModelConfig):
    latent_dim: Optional[int] = "auto"  # type: ignore[assignment]  # 'auto' becomes an int in __post_init__
    output_activation: str = "linear"
    hidden: list = option(64, check=_widths)  # LSTM units per direction; [64, 64] = 2 layers of 64
    num_layers: int = option(1, low=1, integer=True)
    bidirectional: bool = False
    merge_mode: str = option("concat", choices=("concat", "sum", "ave", "mul"))

    def normalize(self):
        if len(self.input_shape) == 1:  # a univariate series of T steps
            self.input_shape = (self.input_shape[0], 1)
        if len(self.input_shape) != 2:
            raise AekitError(f"LSTMConfig: input_shape={self.input_shape!r}; expected (timesteps, features)")
        if self.latent_dim is None:
            raise AekitError("LSTMConfig: latent_dim is required")
        if isinstance(self.hidden, (list, tuple)):
            if len(self.hidden) > 1 and self.num_layers not in (1, len(self.hidden)):
                raise AekitError(
                    f"LSTMConfig: hidden={list(self.hidden)!r} lists {len(self.hidden)} layers but "
                    f"num_layers={self.num_layers}"
                )
            self.num_layers = max(self.num_layers, len(self.hidden))
            self.hidden = int(self.hidden[0])


class SeqEncoder(nn.Module):
    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        # hidden is declared a list (how options are parsed); normalize() leaves one int
        self.lstm = LSTMStack(
            cfg.input_shape[1],
            cfg.hidden,  # type: ignore[arg-type]
            cfg.num_layers,
            cfg.bidirectional,
            cfg.merge_mode,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[1]  # (B, H') last state


class RepeatDecoder(nn.Module):
    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        self.steps = cfg.input_shape[0]
        assert cfg.latent_dim is not None  # LSTMConfig.normalize requires it
        # hidden is declared a list (how options are parsed); normalize() leaves one int
        self.lstm = LSTMStack(
            cfg.latent_dim,
            cfg.hidden,  # type: ignore[arg-type]
            cfg.num_layers,
            cfg.bidirectional,
            cfg.merge_mode,
        )
        self.out = nn.Linear(self.lstm.width, cfg.input_shape[1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        rep = z.unsqueeze(1).expand(-1, self.steps, -1)  # (B, T, latent)
        seq, _ = self.lstm(rep)  # (B, T, H')
        return self.out(seq)  # (B, T, F)


@register_model(
    "lstm", LSTMConfig, "sequence-to-sequence LSTM autoencoder (optionally bidirectional)", input_layout="sequence"
)
def build_lstm(cfg: LSTMConfig) -> AEModule:
    encoder = SeqEncoder(cfg)
    head = LatentHead(encoder.lstm.width, cfg.latent_dim, cfg.latent_activation)
    return AEModule(encoder, head, RepeatDecoder(cfg), cfg.output_activation)
