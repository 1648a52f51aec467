"""Metrics of a trained autoencoder on data (:func:`model_metrics`): what ``aekit evaluate`` prints and the
report shows. :meth:`aekit.Autoencoder.evaluate` is the loss alone, as Keras' ``evaluate``.

The loss and its terms are computed by the training loop's own evaluation (so they read exactly like
``val_loss`` during training); per-sample errors come from :meth:`Autoencoder.reconstruction_error`.
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.models.losses import squash

PERCENTILES = (50, 90, 95, 99)


def error_stats(err: np.ndarray) -> dict:
    """mean, std, min, max and percentiles of per-sample errors (N,)."""
    err = np.asarray(err, np.float64)
    out = {"mean": float(err.mean()), "std": float(err.std()), "min": float(err.min()), "max": float(err.max())}
    out.update({f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(err, PERCENTILES))})
    return out


def model_metrics(model, x, *, batch_size: int = 1024, errors=None) -> dict:
    """Evaluate ``model`` on ``x`` (any layout the model accepts).

    Returns
    -------
    dict
        ``n``; ``loss`` and each loss term (``reconstruction``, ``kl`` for variational models,
        ``sparsity`` for sparse ones) as in training; ``error``: per-sample reconstruction error statistics
        (metric ``error_metric``, 'mse' in the model's scaled space: mean, std, min, max, p50, p90, p95, p99);
        for variational models ``kl``; for sparse models ``mean_code_activation`` (the code squashed to
        (0, 1) by :func:`aekit.models.losses.squash`, averaged over samples and units; compare with ``rho``).

    ``errors`` may pass ``model.reconstruction_error(x, metric="mse")`` when the caller already has it
    (the report does), saving a pass over the data.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from aekit.autoencoder.metrics import model_metrics
    >>> ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=4, seed=0)
    >>> m = model_metrics(ae, np.random.default_rng(0).random((50, 16), dtype=np.float32))
    >>> sorted(m["error"])[:3], m["n"]
    (['max', 'mean', 'min'], 50)
    """
    terms = model.evaluate(x, batch_size=batch_size)  # the loss terms, as training reports them
    err = errors if errors is not None else model.reconstruction_error(x, metric="mse", batch_size=batch_size)
    out = {
        "n": int(len(err)),
        "family": model.family,
        "loss_kind": model.config.reconstruction_loss,
        **terms,
        "error_metric": "mse",
        "error": error_stats(err),
    }
    if model.variational:
        out["kl"] = terms.get("kl")
    if model.config.sparsity is not None:
        codes = torch.from_numpy(model.encode(x, batch_size=batch_size))  # (N, code)
        act = squash(codes, model.loss_spec.code_in_unit)
        out["mean_code_activation"] = float(act.mean())
        out["target_activation"] = float(model.config.sparsity.rho) if model.config.sparsity.kind == "kl" else None
        out["fraction_inactive"] = float((act.mean(0) < 0.05).float().mean())  # units almost never on
    return out


__all__ = ["model_metrics", "error_stats"]
