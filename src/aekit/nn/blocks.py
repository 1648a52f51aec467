"""The one set of building blocks every encoder and decoder is composed from.

Dense stacks, convolutional down/up stages and LSTM stacks live here and nowhere else, so a family is a
composition (encoder blocks + a head + decoder blocks), never a second copy of an encoder.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
from torch import nn

_ACT: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "linear": nn.Identity,
    "auto": nn.ReLU,  # until fit decides from the data (aekit.training.defaults.hidden_activation)
}


def activation(name: str | None) -> nn.Module:
    return _ACT[name or "linear"]()


def dense_block(n_in: int, n_out: int, act: str, batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout]: one layer of a dense stack (one pretraining unit)."""
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(activation(act))
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def mlp(sizes: list[int], act: str, batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """A stack of :func:`dense_block` s through ``sizes`` (``[784, 128, 64]`` -> two blocks)."""
    return nn.Sequential(*[dense_block(a, b, act, batch_norm, dropout) for a, b in zip(sizes[:-1], sizes[1:])])


class WithInput(nn.Module):
    """``inner(x)`` and the flat input side by side, (B, n_inner + n_in): the Linear after it sums a nonlinear
    path and a linear one (a dense skip connection, as in DenseNet). A dense autoencoder built this way can
    start as exactly PCA (the linear path) and learn only what PCA misses (training/pca_init.py)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # (B, n_in)
        return torch.cat([self.inner(x), x], 1)  # (B, n_inner + n_in)


def halve(size: tuple[int, int]) -> tuple[int, int]:
    """Spatial size after one down stage (pool with ceil_mode, or stride-2 conv with padding 1)."""
    return (math.ceil(size[0] / 2), math.ceil(size[1] / 2))


def conv_down(c_in: int, c_out: int, act: str, mode: str, kernel: int = 3, batch_norm: bool = False) -> nn.Sequential:
    """One encoder stage that halves H and W: conv + max-pool ('pool') or a stride-2 conv ('strided')."""
    pad = kernel // 2
    stride = 2 if mode == "strided" else 1
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(activation(act))
    if mode == "pool":
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    return nn.Sequential(*layers)


def conv_up(
    c_in: int, c_out: int, act: str, mode: str, out_size: tuple[int, int], kernel: int = 3, batch_norm: bool = False
) -> nn.Sequential:
    """One decoder stage that doubles H and W back to exactly ``out_size``.

    'pool': conv + nearest upsampling to ``out_size``; 'strided': a stride-2 transposed conv whose
    output_padding makes odd sizes (7 -> 14 -> 28, or 25 -> 13 -> 25) come out exact.
    """
    pad = kernel // 2
    layers: list[nn.Module]
    if mode == "strided":
        # (in - 1) * 2 - 2 * pad + kernel + output_padding = out  ->  solve for output_padding per axis
        in_h, in_w = halve(out_size)
        op = tuple(o - ((i - 1) * 2 - 2 * pad + kernel) for o, i in zip(out_size, (in_h, in_w)))
        layers = [
            nn.ConvTranspose2d(c_in, c_out, kernel, stride=2, padding=pad, output_padding=cast("tuple[int, int]", op))
        ]  # one per axis of out_size
    else:
        layers = [nn.Conv2d(c_in, c_out, kernel, padding=pad)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(activation(act))
    if mode != "strided":
        layers.append(nn.Upsample(size=out_size, mode="nearest"))
    return nn.Sequential(*layers)


class Merge(nn.Module):
    """Merge the two directions of a bidirectional LSTM output (Keras' merge_mode)."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, fwd: torch.Tensor, bwd: torch.Tensor) -> torch.Tensor:
        if self.mode == "concat":
            return torch.cat([fwd, bwd], dim=-1)
        if self.mode == "sum":
            return fwd + bwd
        if self.mode == "ave":
            return (fwd + bwd) / 2
        return fwd * bwd  # "mul"

    def width(self, hidden: int) -> int:
        return 2 * hidden if self.mode == "concat" else hidden


class LSTMStack(nn.Module):
    """An LSTM stack over (B, T, F) returning the merged per-step outputs (B, T, H') and the merged last
    state (B, H'), where H' is ``hidden`` or ``2 * hidden`` for a bidirectional stack merged by concat."""

    def __init__(
        self, n_in: int, hidden: int, num_layers: int = 1, bidirectional: bool = False, merge_mode: str = "concat"
    ):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
        self.hidden, self.bidirectional = hidden, bidirectional
        self.merge = Merge(merge_mode)
        self.width = self.merge.width(hidden) if bidirectional else hidden

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq, (h, _) = self.lstm(x)  # seq (B, T, D*H); h (layers*D, B, H)
        if not self.bidirectional:
            return seq, h[-1]
        fwd, bwd = seq[..., : self.hidden], seq[..., self.hidden :]
        return self.merge(fwd, bwd), self.merge(h[-2], h[-1])


# --- learned image compression (Ballé et al. 2017, 2018) ---------------------------------------------------


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows where it pushes x back up over the bound, so a parameter
    stuck at the bound can leave it (a plain clamp would zero its gradient for good)."""

    @staticmethod
    def forward(ctx, x, bound: float):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        pass_through = (x >= ctx.bound) | (grad < 0)
        return grad * pass_through.to(grad.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    return _LowerBound.apply(x, bound)


class GDN(nn.Module):
    """Generalised divisive normalisation (Ballé, Laparra & Simoncelli 2016) over channels:
    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; ``inverse=True`` is IGDN (multiplies instead).

    beta and gamma must stay non-negative; they are stored reparameterised (``p = sqrt(v + pedestal)``,
    read back as ``lower_bound(p)^2 - pedestal``), which keeps gradients well scaled near zero.
    Input and output (B, C, H, W).
    """

    _PEDESTAL = 2.0**-36

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        ped = self._PEDESTAL
        self._beta_bound = (beta_min + ped) ** 0.5
        self._gamma_bound = ped**0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + ped))  # (C,)
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + ped))  # (C, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ped = self._PEDESTAL
        beta = lower_bound(self.beta, self._beta_bound) ** 2 - ped  # (C,)
        gamma = lower_bound(self.gamma, self._gamma_bound) ** 2 - ped  # (C, C)
        c = gamma.shape[0]
        norm = torch.nn.functional.conv2d(x * x, gamma.view(c, c, 1, 1), beta)  # (B, C, H, W)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)
