"""``fit(x, init="pca")``: start a dense autoencoder from the closed-form PCA solution of its training data.

What it sets (the outermost encoder/decoder pair, :func:`aekit.models.dense.dense_layer_pairs`):

- the first encoder Linear (the code head itself when ``hidden=[]``) to the top-k principal directions
  ``W = C`` (k, D), ``b = -C m``, so its outputs are the PCA coefficients of the input (k = its width);
- a BatchNorm right after it to pass those coefficients through unchanged at the start (running mean 0,
  running variance and scale the PCA eigenvalues, shift 0);
- the output Linear to the PCA reconstruction ``W = C^T``, ``b = m`` (a linear output), or for a sigmoid
  output to its first-order logit ``logit(m) + C^T z / (m (1 - m))``.

With a linear path (``linear_path='on'``, the default for standardised data) the pair is the code head and
the output layer, each summing a hidden path and a linear one: the linear paths get the PCA and the hidden
paths start at zero, so the whole model starts as exactly PCA with ``latent_dim`` components and training
adds only what PCA misses.

For the one-layer model (``hidden=[]``, linear code and output) this is exactly PCA with ``latent_dim``
components, and :class:`KeepInitIfBetter` keeps those weights unless training lowers the training loss:
the model is never worse than PCA on its training data. For deeper or nonlinear stacks only the outer
pair starts from PCA (of ``hidden[0]`` components) and the inner layers keep their random start: a good
start for the outer pair, no guarantee.

PCA itself: the eigendecomposition of the covariance (D <= 8192), or of the Gram matrix when there are
fewer samples than features, in float64 for D <= 2048 and float32 above.
"""

from __future__ import annotations

import torch
from torch import nn

from aekit.errors import AekitError
from aekit.models.base import AEModule
from aekit.models.dense import dense_layer_pairs
from aekit.training.callbacks import Callback, StateSnapshot
from aekit.training.loop import mean_loss


def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean (D,), components (k, D) with orthonormal rows, eigenvalues (k,)) of x (N, D)."""
    n, d = x.shape
    if k > min(n, d):
        raise AekitError(f"init='pca': {k} components need at least {k} training samples (got {n}) and features")
    dt = torch.float64 if d <= 2048 else torch.float32
    xc = x.to(dt)
    mean = xc.mean(0)
    xc = xc - mean
    if n < d:  # Gram matrix: (N, N) instead of (D, D)
        evals, u = torch.linalg.eigh(xc @ xc.T)
        top = torch.argsort(evals, descending=True)[:k]
        ev = evals[top].clamp_min(1e-12)
        comps = (xc.T @ (u[:, top] / ev.sqrt())).T  # (k, D)
    else:
        evals, vecs = torch.linalg.eigh(xc.T @ xc)
        top = torch.argsort(evals, descending=True)[:k]
        ev, comps = evals[top].clamp_min(0), vecs[:, top].T
    return mean.float(), comps.float().contiguous(), (ev / max(n - 1, 1)).float()


def _linear(layer: nn.Module) -> tuple[nn.Linear, nn.BatchNorm1d | None]:
    """The Linear of an encoder block (or of the code head) and the BatchNorm after it, if any."""
    if isinstance(layer, nn.Sequential) and isinstance(layer[0], nn.Linear):
        bn = layer[1] if len(layer) > 1 and isinstance(layer[1], nn.BatchNorm1d) else None
        return layer[0], bn
    lin = getattr(layer, "linear", None)
    if isinstance(lin, nn.Linear):
        return lin, None
    raise AekitError("init='pca' needs a dense autoencoder (families dense, stacked, vae with a linear code)")


@torch.no_grad()
def pca_init(module: AEModule, x: torch.Tensor) -> None:
    """Set the outermost encoder and decoder layers of a dense ``module`` from the PCA of x (N, ...)."""
    try:
        enc, dec = dense_layer_pairs(module)[0]
    except (TypeError, IndexError, AttributeError):
        raise AekitError("init='pca' needs a dense autoencoder (families dense, stacked)") from None
    lin, bn = _linear(enc)
    if not isinstance(dec, nn.Linear):
        raise AekitError("init='pca' needs a dense autoencoder whose output layer is a Linear")
    flat = x.flatten(1).float()  # (N, D)
    mean, comps, var = pca(flat, lin.out_features)
    # with a linear path (models.dense, linear_path='on') the Linear reads [hidden features, x]: the PCA goes
    # on the input's columns (the last D) and the hidden ones start at zero, so the model starts as PCA
    e0, d0 = lin.in_features - flat.shape[1], dec.in_features - lin.out_features
    lin.weight.zero_()
    lin.weight[:, e0:].copy_(comps.to(lin.weight))
    lin.bias.copy_((-comps @ mean).to(lin.bias))
    if bn is not None:  # BatchNorm passes the coefficients through: (h - 0) / sqrt(var) * sqrt(var) + 0
        assert bn.running_mean is not None and bn.running_var is not None  # the blocks' BatchNorm tracks them
        bn.running_mean.zero_()
        bn.running_var.copy_(var.clamp_min(1e-8).to(bn.running_var))
        if bn.affine:
            bn.weight.copy_(var.clamp_min(1e-8).sqrt().to(bn.weight))
            bn.bias.zero_()
    dec.weight.zero_()
    if module.output_activation == "sigmoid":  # first-order: sigmoid(logit(m) + C^T z / (m (1 - m)))
        m = mean.clamp(0.01, 0.99)
        dec.weight[:, d0:].copy_((comps.T / (m * (1 - m))[:, None]).to(dec.weight))
        dec.bias.copy_(torch.log(m / (1 - m)).to(dec.bias))
    else:
        dec.weight[:, d0:].copy_(comps.T.to(dec.weight))
        dec.bias.copy_(mean.to(dec.bias))


class KeepInitIfBetter(Callback):
    """Measure the loss on ``source`` before and after training; if training made it worse, put the
    starting weights back (a model started from PCA is never worse than PCA on its training data)."""

    start_loss: float | None
    start_weights: StateSnapshot | None

    def __init__(self, source, batch_size: int = 1024):
        self.source, self.batch_size = source, batch_size
        self.start_loss, self.start_weights, self.kept_init = None, None, False

    def on_train_begin(self, state) -> None:
        self.start_loss = mean_loss(state.module, self.source, state.loss_fn, self.batch_size, state.device)["loss"]
        self.start_weights = StateSnapshot()
        self.start_weights.take(state.module)

    def on_train_end(self, state) -> None:
        end = mean_loss(state.module, self.source, state.loss_fn, self.batch_size, state.device)["loss"]
        assert self.start_loss is not None and self.start_weights is not None  # set by on_train_begin
        if end > self.start_loss:
            self.start_weights.restore(state.module)
            self.kept_init = True


__all__ = ["pca", "pca_init", "KeepInitIfBetter"]
