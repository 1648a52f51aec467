"""Feature scaling that travels inside the model file.

A scaler is fitted on training data only and stored as plain JSON numbers in the model file, so the same
transform is applied at inference (``Autoencoder.encode`` etc. apply it automatically).

Examples
--------
>>> import numpy as np
>>> s = Scaler("minmax").fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
>>> s.transform(np.array([[1.0, 20.0]])).tolist()
[[0.5, 0.5]]
>>> Scaler.from_dict(s.to_dict()).inverse_transform(np.array([[0.5, 0.5]])).tolist()
[[1.0, 20.0]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aekit.errors import AekitError

KINDS = ("minmax", "standard", "pixel")


def _stat_axes(shared: tuple) -> tuple:
    """The array axes a statistic is taken over: the samples (0) and the ``shared`` per-sample axes."""
    return (0, *(a + 1 for a in shared))


class Scaler:
    """Per-feature min-max (to [0, 1]) or standard (zero mean, unit variance) scaling, or ``pixel``: one
    fixed division by 255 for pictures stored as 0-255 values (no statistics; shape ()).

    Statistics are taken over axis 0 (samples); any trailing shape is kept. Constant features are left
    unscaled (their range or deviation is treated as 1) rather than divided by zero.
    """

    def __init__(self, kind: str = "minmax"):
        if kind not in KINDS:
            raise AekitError(f"scaler: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        self.kind = kind
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, x: np.ndarray, shared: tuple = ()) -> Scaler:
        """Fit on ``x`` (N, ...). ``shared``: axes of the per-sample shape whose positions share one statistic
        (``(0,)`` for windows (W, C) of a series: one mean and deviation per channel, not per time step).

        >>> w = np.arange(12.0).reshape(2, 3, 2)  # 2 windows of 3 steps, 2 channels
        >>> Scaler("standard").fit(w, shared=(0,)).offset_.tolist()
        [[5.0, 6.0]]
        """
        if self.kind == "pixel":
            self.offset_, self.scale_ = np.zeros((), np.float32), np.full((), 255.0, np.float32)
            return self
        x = np.asarray(x, dtype=np.float64)
        axes = _stat_axes(shared)
        if self.kind == "minmax":
            lo, hi = x.min(axis=axes, keepdims=True)[0], x.max(axis=axes, keepdims=True)[0]
            offset, scale = lo, hi - lo
        else:
            offset, scale = x.mean(axis=axes, keepdims=True)[0], x.std(axis=axes, keepdims=True)[0]
        scale = np.where(scale > 0, scale, 1.0)
        self.offset_, self.scale_ = offset.astype(np.float32), scale.astype(np.float32)
        return self

    def fit_batches(self, batches, shared: tuple = ()) -> Scaler:
        """Fit on an iterable of arrays ``(n_i, ...)`` read one at a time (a stream, a memory map in
        chunks): the same statistics as :meth:`fit` on their concatenation (``shared`` as there), in
        bounded memory.

        >>> import numpy as np
        >>> x = np.random.default_rng(0).random((10, 3))
        >>> a, b = Scaler("standard").fit(x), Scaler("standard").fit_batches([x[:4], x[4:]])
        >>> bool(np.allclose(a.offset_, b.offset_) and np.allclose(a.scale_, b.scale_))
        True
        """
        if self.kind == "pixel":  # a fixed division by 255: no statistics to gather
            return self.fit(np.zeros((1,)))
        axes = _stat_axes(shared)
        lo: Any  # the statistics: None until the first non-empty batch
        hi: Any
        mean: Any
        m2: Any
        n, lo, hi, mean, m2 = 0, None, None, None, None  # n: values behind each statistic so far
        for b in batches:
            b = np.asarray(b, dtype=np.float64)
            if not len(b):
                continue
            k = math.prod(b.shape[a] for a in axes)  # values behind each statistic in this batch
            if self.kind == "minmax":
                bl, bh = b.min(axis=axes, keepdims=True)[0], b.max(axis=axes, keepdims=True)[0]
                lo = bl if lo is None else np.minimum(lo, bl)
                hi = bh if hi is None else np.maximum(hi, bh)
            else:  # Chan et al.'s pairwise update of the mean and the sum of squared deviations
                mb = b.mean(axis=axes, keepdims=True)
                m2b = ((b - mb) ** 2).sum(axis=axes, keepdims=True)[0]
                mb = mb[0]
                if mean is None:
                    mean, m2 = mb, m2b
                else:
                    delta = mb - mean
                    mean = mean + delta * k / (n + k)
                    m2 = m2 + m2b + delta**2 * n * k / (n + k)
            n += k
        if n == 0:
            raise AekitError("scaler: no samples to fit on")
        offset, scale = (lo, hi - lo) if self.kind == "minmax" else (mean, np.sqrt(m2 / n))
        scale = np.where(scale > 0, scale, 1.0)
        self.offset_, self.scale_ = offset.astype(np.float32), scale.astype(np.float32)
        return self

    def _check(self) -> None:
        if self.offset_ is None:
            raise AekitError("scaler: not fitted; call fit() on training data first")

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._check()
        assert self.offset_ is not None and self.scale_ is not None  # fit sets both
        return ((np.asarray(x, dtype=np.float32) - self.offset_) / self.scale_).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        self._check()
        assert self.offset_ is not None and self.scale_ is not None  # fit sets both
        return (np.asarray(x, dtype=np.float32) * self.scale_ + self.offset_).astype(np.float32)

    def to_dict(self) -> dict:
        self._check()
        assert self.offset_ is not None and self.scale_ is not None  # fit sets both
        return {
            "kind": self.kind,
            "shape": list(self.offset_.shape),
            "offset": self.offset_.ravel().tolist(),
            "scale": self.scale_.ravel().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        try:
            s = cls(d["kind"])
            shape = tuple(d["shape"])
            s.offset_ = np.asarray(d["offset"], dtype=np.float32).reshape(shape)
            s.scale_ = np.asarray(d["scale"], dtype=np.float32).reshape(shape)
        except (KeyError, TypeError, ValueError) as e:
            raise AekitError(f"scaler: malformed scaler state in model file ({e})") from None
        return s
