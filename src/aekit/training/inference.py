"""Batched inference without gradients: the one place a module is run over data outside training.

:meth:`aekit.Autoencoder.encode` and friends, the fine-tuned classifier, the scikit-learn estimators,
layer-wise pretraining and the training loop's validation all go through :func:`map_batches`, so the
device transfer, evaluation mode (restored afterwards), ``inference_mode`` and batching are written once.

Examples
--------
>>> import numpy as np, torch
>>> lin = torch.nn.Linear(3, 2)
>>> map_batches(lin, np.ones((5, 3), np.float32), lambda m, b: m(b), batch_size=2).shape
(5, 2)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from aekit.core.arrays import batches
from aekit.training.threads import thread_scope


@contextlib.contextmanager
def evaluation(module: nn.Module):
    """Evaluation mode and no autograd for the block; the module's training flag is restored after."""
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            yield module
    finally:
        module.train(was_training)


def map_batches(
    module: nn.Module,
    data,
    fn: Callable,
    *,
    batch_size: int = 1024,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    numpy: bool = True,
):
    """Apply ``fn`` to ``data`` batch by batch on ``device`` in evaluation mode, without gradients.

    Parameters
    ----------
    module : the module ``fn`` receives (put in evaluation mode for the call, then restored)
    data : array or tensor (N, ...), sliced in order into batches moved to ``device`` as ``dtype``;
        or a training-loop source (anything with ``iter_batches(batch_size, shuffle, generator)``
        yielding ``(inputs, targets)``), in which case ``fn`` is called as ``fn(module, inputs, targets)``
    fn : ``fn(module, batch) -> tensor (B, ...)``
    device : default: the device of the module's first parameter
    dtype : floating results are returned in this dtype (float64 for the estimators' CPU copies)
    numpy : return a numpy array (default) or a CPU tensor

    Returns
    -------
    The per-batch results concatenated along axis 0.
    """
    if device is None:
        device = next(module.parameters()).device
    out = []
    with thread_scope(), evaluation(module):  # inside fit, the training's thread policy stays in charge
        if hasattr(data, "iter_batches"):
            for xb, yb in data.iter_batches(batch_size, False, torch.Generator()):
                out.append(_to_cpu(fn(module, xb.to(device), yb.to(device)), dtype))
        else:
            for sl in batches(len(data), batch_size):
                b = data[sl] if isinstance(data, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(data[sl]))
                out.append(_to_cpu(fn(module, b.to(device, dtype)), dtype))
    if not out:
        return np.empty((0,), np.float32) if numpy else torch.empty(0)
    res = torch.cat(out)
    return res.numpy() if numpy else res


def _to_cpu(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (t.to(dtype) if t.is_floating_point() else t).cpu()


__all__ = ["map_batches", "evaluation"]
