"""The building blocks of the fitted anomaly scores (:mod:`.knn`, :mod:`.maha`) and of the streaming
detector (:mod:`.stream`): a sample's reconstruction error and code from one forward pass, the mean distance
to the nearest reference codes, and the robust standardisation of a positive, skewed term (its logarithm's
excess over the training median, in interquartile ranges).

Examples
--------
>>> import numpy as np
>>> from aekit.apps.anomaly.terms import knn_distance
>>> c = np.array([[0.0], [1.0], [3.0]])
>>> knn_distance(c, c, 1, exclude_self=True).tolist()            # each code's nearest other code
[1.0, 1.0, 2.0]
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.models.losses import reconstruction


def _robust(train: np.ndarray) -> tuple[float, float]:
    q1, med, q3 = np.percentile(train, [25, 50, 75])
    return float(med), float(max(q3 - q1, 1e-12))


def _log(a: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(a, 1e-12))  # an exact zero (a duplicate row's distance) stays finite


def _log_excess(scale, a: np.ndarray) -> np.ndarray:
    """(N,): the logarithm of ``a`` standardised by the training ``[median, IQR]`` of the logarithms, clipped
    at 0 from below (only an excess over the training median counts)."""
    med, iqr = scale
    return np.maximum((_log(a) - med) / iqr, 0.0)


def log_excess_sum(error_scale, distance_scale, err: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(N,): :func:`_log_excess` of ``err`` and of ``dist``, summed."""
    return _log_excess(error_scale, err) + _log_excess(distance_scale, dist)


def knn_distance(
    codes: np.ndarray, ref: np.ndarray, k: int, exclude_self=False, zone: int = 0, offset: int = 0
) -> np.ndarray:
    """Mean Euclidean distance (N,) of each row of ``codes`` (N, L) to its ``k`` nearest rows of ``ref``
    (M, L). ``exclude_self`` (a bool, or a bool mask (N,) of the rows of ``codes`` that are rows of ``ref``)
    drops such a row's nearest match, itself. ``zone`` > 0: the rows are windows of one series, row ``i`` of
    ``codes`` at position ``offset + i`` and row ``j`` of ``ref`` at position ``j``; pairs closer than
    ``zone`` positions share points and are not neighbours (the trivial matches a matrix profile's
    exclusion zone leaves out); each row needs ``k`` rows of ``ref`` outside its zone. Chunked: at most
    4096 x M distances at a time.

    >>> c = np.arange(6.0)[:, None]                                   # six windows' codes, in time order
    >>> knn_distance(c, c, 1, zone=2).tolist()                       # nearest code 2 or more steps away
    [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    """
    mask = np.array(np.broadcast_to(np.asarray(exclude_self, dtype=bool), (len(codes),)))  # (N,), writable
    r = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32))
    k = int(k)
    kk = min(k + int(mask.any()), len(r))
    ref_pos = torch.arange(len(r))
    out = []
    with torch.inference_mode():
        for i in range(0, len(codes), 4096):
            c = torch.from_numpy(np.ascontiguousarray(codes[i : i + 4096], dtype=np.float32))
            d = torch.cdist(c, r)  # (n, M)
            if zone > 0:
                pos = torch.arange(offset + i, offset + i + len(c))[:, None]  # (n, 1)
                d[(pos - ref_pos[None, :]).abs() < int(zone)] = float("inf")
            d = d.topk(kk, dim=1, largest=False).values  # (n, kk), ascending
            own = torch.from_numpy(np.ascontiguousarray(mask[i : i + 4096]))
            others = d[:, 1 : k + 1] if kk > 1 else d  # a row of ref without its zero distance to itself
            out.append(torch.where(own, others.mean(1), d[:, :k].mean(1)).numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def errors_and_codes(model, x, batch_size: int, prepared: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruction MSE (N,) and codes (N, L) of ``x`` from one forward pass per batch: the same values as
    ``model.reconstruction_error(x, 'mse')`` and ``model.encode(x)``, without running the encoder twice
    (``prepared``: ``x`` is already ``model.prepare(x)``)."""

    def both(m, b: torch.Tensor) -> torch.Tensor:
        out = m(b)
        return torch.cat([reconstruction(out, b, "mse", "mean")[:, None], out.z.flatten(1)], 1)  # (B, 1 + L)

    res = model.predict_batches(x if prepared else model.prepare(x), both, batch_size)
    return res[:, 0], np.ascontiguousarray(res[:, 1:])
