"""A learned factorised entropy model for integer-quantised codes (Ballé et al. 2018, appendix 6.1).

Every channel ``c`` of a code ``y`` (B, C, H, W) gets its own univariate density, defined through its
cumulative ``CDF_c(v) = sigmoid(f_c(v))`` where ``f_c`` is a small monotone network (per-channel 1 -> 3 ->
3 -> 3 -> 1 layers whose matrices pass through softplus, so they are positive, with tanh gates
``v + tanh(a) * tanh(v)``, ``tanh(a) > -1``): whatever the parameters, ``f_c`` increases and goes to
+-infinity, so the model is a proper distribution. The probability of the integer ``k`` is
``CDF_c(k + 1/2) - CDF_c(k - 1/2)``, and summed over all integers it is one.

Training sees ``y + U(-1/2, 1/2)`` (the density of the noisy code is exactly that bin probability, which
makes the rate differentiable); inference rounds. :meth:`FactorizedPrior.pmf_table` turns the density
into the integer tables the rANS coder uses, so that the coder and the rate estimate read the same model.

Examples
--------
>>> import torch
>>> from aekit.nn.entropy_model import FactorizedPrior
>>> ep = FactorizedPrior(4).eval()
>>> y_hat, lik = ep(torch.randn(2, 4, 3, 3) * 3)
>>> y_hat.shape, bool((lik > 0).all() and (lik <= 1).all())
(torch.Size([2, 4, 3, 3]), True)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.nn.blocks import lower_bound

LIKELIHOOD_BOUND = 1e-9  # no symbol is ever given less than this probability (bounds the rate of outliers)


class FactorizedPrior(nn.Module):
    """Per-channel learned densities of a code, and the quantiser in front of them.

    ``forward(y)`` returns ``(y_hat, likelihoods)``, both (B, C, H, W): in training ``y_hat = y + noise``,
    in evaluation ``y_hat = round(y)``; the likelihoods are the model's probabilities of ``y_hat``'s bins,
    so the rate in bits is ``-log2(likelihoods).sum()``.
    """

    def __init__(self, channels: int, filters: tuple = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(dims) - 1):
            # softplus(init) = 1 / (scale * fan_out): the initial density is a logistic of width ~init_scale
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    @property
    def channels(self) -> int:
        return self.matrices[0].shape[0]

    def logits_cdf(self, v: torch.Tensor) -> torch.Tensor:
        """``f_c(v)`` for values v (C, 1, N) -> (C, 1, N); the CDF is its sigmoid."""
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            # .to(v): the float64 CPU copy pmf_table asks for; a no-op in training
            v = torch.matmul(F.softplus(m.to(v)), v) + b.to(v)  # (C, d_out, N)
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i].to(v)) * torch.tanh(v)
        return v

    def bin_probability(self, v: torch.Tensor) -> torch.Tensor:
        """P(bin of width 1 centred on v) for v (C, 1, N). Evaluated on the side of the median where the
        sigmoid is not saturated (``sigmoid(-a) - sigmoid(-b)`` there), so tail probabilities keep their
        precision instead of cancelling to zero."""
        lower, upper = self.logits_cdf(v - 0.5), self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        return (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()

    def likelihood(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Bin probabilities of y_hat (B, C, H, W), bounded below by ``LIKELIHOOD_BOUND``."""
        b, c = y_hat.shape[:2]
        v = y_hat.transpose(0, 1).reshape(c, 1, -1)  # (C, 1, B*H*W)
        p = self.bin_probability(v).reshape(c, b, *y_hat.shape[2:]).transpose(0, 1)  # (B, C, H, W)
        return lower_bound(p, LIKELIHOOD_BOUND)

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training:
            y_hat = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            y_hat = torch.round(y)
        return y_hat, self.likelihood(y_hat)

    @torch.no_grad()
    def pmf_table(self, tail: float = 1e-7, limit: int = 1024, max_symbols: int = 4096):
        """What the coder needs: ``(lo (C,) int64, pmf (C, S) float64, tail (C,) float64)``.

        Channel c codes the integers ``lo[c] .. lo[c] + S_c - 1`` with probabilities ``pmf[c, :S_c]`` (the
        rest of the row is 0) and everything outside that range as one escape symbol of probability
        ``tail[c]``. The range is where the cumulative is between ``tail / 2`` and ``1 - tail / 2``.
        Computed in float64 on the CPU from the parameters alone, so compressing and decompressing with
        the same weights build the same table.
        """
        c = self.channels
        grid = torch.arange(-limit, limit + 1, dtype=torch.float64)  # (G,)
        edges = torch.sigmoid(self.logits_cdf(torch.cat([grid - 0.5, grid[-1:] + 0.5]).expand(c, 1, -1)))[
            :, 0
        ].numpy()  # (C, G + 1)
        probs = self.bin_probability(grid.expand(c, 1, -1))[:, 0].numpy()  # (C, G)
        lo = np.zeros(c, np.int64)
        hi = np.zeros(c, np.int64)
        for j in range(c):
            first = int(np.searchsorted(edges[j], tail / 2))  # first bin whose upper edge passes tail/2
            last = int(np.searchsorted(edges[j], 1 - tail / 2))
            first = min(max(first - 1, 0), len(grid) - 1)
            last = min(max(last - 1, first), len(grid) - 1, first + max_symbols - 1)
            lo[j], hi[j] = grid[first], grid[last]
        width = int((hi - lo).max()) + 1
        pmf = np.zeros((c, width), np.float64)
        for j in range(c):
            s = int(hi[j] - lo[j]) + 1
            pmf[j, :s] = probs[j, int(lo[j] + limit) : int(lo[j] + limit) + s]
        rest = np.clip(1 - pmf.sum(1), 0, 1)
        return lo, pmf, rest


__all__ = ["FactorizedPrior", "LIKELIHOOD_BOUND"]
