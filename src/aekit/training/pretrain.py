"""Greedy layer-wise pretraining for the ``stacked`` family (Hinton & Salakhutdinov 2006, Bengio 2007).

Each encoder layer and its mirrored decoder layer are first trained as a shallow autoencoder on the codes
of the layers below (outermost pair on the data itself, with the model's own loss; inner pairs with MSE on
the hidden activations); then the whole stack is fine-tuned end to end by the normal loop. Every pair is
trained by the same :func:`fit_loop` as any model.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from aekit.models.base import Output
from aekit.models.losses import LossSpec
from aekit.training.batches import ArraySource
from aekit.training.inference import map_batches
from aekit.training.loop import fit_loop, new_state


def _first(h):
    return h[0] if isinstance(h, tuple) else h  # the latent head returns (z, mu, logvar)


class _PairAE(nn.Module):
    """One encoder layer and its decoder layer as a shallow autoencoder on flat (B, D) inputs."""

    def __init__(self, enc: nn.Module, dec: nn.Module, sigmoid_out: bool):
        super().__init__()
        self.enc, self.dec, self.sigmoid_out = enc, dec, sigmoid_out

    def forward(self, x: torch.Tensor) -> Output:
        z = _first(self.enc(x))
        logits = self.dec(z)
        return Output(logits, z, output_activation="sigmoid" if self.sigmoid_out else "linear")


def greedy_pretrain(
    pairs: list, output_activation: str, x: torch.Tensor, spec: LossSpec, cfg, epochs: int
) -> list[list[float]]:
    """Pretrain each (encoder layer, decoder layer) pair, outermost first (the family says which, e.g.
    :func:`aekit.models.dense.dense_layer_pairs`), on ``x`` (N, ...) for ``epochs``; the outermost decoder
    layer's output goes through ``output_activation``. Returns each pair's per-epoch training losses."""
    pair_cfg = dataclasses.replace(
        cfg, epochs=epochs, checkpoint=None, resume=False, log_dir=None, patience=None, validation_split=0.0, verbose=0
    )
    h = x.flatten(1)  # (N, D)
    losses = []
    for i, (enc, dec) in enumerate(pairs):
        outer = i == 0
        pair_spec = spec if outer else LossSpec("mse")
        # The outermost decoder layer is the bare output Linear (flat: the model's Unflatten is not part of the
        # pair), whose output goes through the model's output activation; inner decoder layers end in their
        # own activation already.
        pair = _PairAE(enc, dec, outer and output_activation != "linear")
        state = new_state(pair, pair_cfg, dataclasses.replace(pair_spec, variational=False, sparsity=None))
        hist = fit_loop(state, ArraySource(h))
        losses.append(hist.history["loss"])
        if i + 1 < len(pairs):
            h = map_batches(
                enc, h, lambda m, b: _first(m(b)), batch_size=cfg.batch_size, device=state.device, numpy=False
            )  # (N, width of this layer) on the CPU
    return losses
