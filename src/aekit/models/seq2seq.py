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

from ..config import ModelConfig, _check_choice, _check_positive
from ..errors import AekitError
from ..nn.blocks import LSTMStack
from ..nn.heads import LatentHead
from ..registry import register_model
from .base import AEModule


@dataclass
class LSTMConfig(ModelConfig):
    latent_dim: Optional[int] = 32
    output_activation: str = "linear"
    hidden: int = 64  # LSTM units per direction
    num_layers: int = 1
    bidirectional: bool = False
    merge_mode: str = "concat"

    def __post_init__(self):
        super().__post_init__()
        if len(self.input_shape) == 1:  # a univariate series of T steps
            self.input_shape = (self.input_shape[0], 1)
        if len(self.input_shape) != 2:
            raise AekitError(f"LSTMConfig: input_shape={self.input_shape!r}; expected (timesteps, features)")
        if self.latent_dim is None:
            raise AekitError("LSTMConfig: latent_dim is required")
        _check_positive("LSTMConfig", "hidden", self.hidden)
        _check_positive("LSTMConfig", "num_layers", self.num_layers)
        _check_choice("LSTMConfig", "merge_mode", self.merge_mode, ("concat", "sum", "ave", "mul"))


class SeqEncoder(nn.Module):
    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        self.lstm = LSTMStack(cfg.input_shape[1], cfg.hidden, cfg.num_layers, cfg.bidirectional, cfg.merge_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[1]  # (B, H') last state


class RepeatDecoder(nn.Module):
    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        self.steps = cfg.input_shape[0]
        self.lstm = LSTMStack(cfg.latent_dim, cfg.hidden, cfg.num_layers, cfg.bidirectional, cfg.merge_mode)
        self.out = nn.Linear(self.lstm.width, cfg.input_shape[1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        rep = z.unsqueeze(1).expand(-1, self.steps, -1)  # (B, T, latent)
        seq, _ = self.lstm(rep)  # (B, T, H')
        return self.out(seq)  # (B, T, F)


@register_model("lstm", LSTMConfig, "sequence-to-sequence LSTM autoencoder (optionally bidirectional)")
def build_lstm(cfg: LSTMConfig) -> AEModule:
    encoder = SeqEncoder(cfg)
    head = LatentHead(encoder.lstm.width, cfg.latent_dim)
    return AEModule(encoder, head, RepeatDecoder(cfg), cfg.output_activation)
