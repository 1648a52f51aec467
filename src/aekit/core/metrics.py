"""Picture quality in dB: the one PSNR formula of aekit, shared by denoising, the codecs and the report.

Examples
--------
>>> import numpy as np
>>> db(0.01)
20.0
>>> psnr(np.zeros((2, 4)), np.full((2, 4), 0.1)).round(3).tolist()
[20.0, 20.0]
"""

from __future__ import annotations

import numpy as np

from aekit.core.arrays import as_array, to_float
from aekit.errors import AekitError


def db(mse, data_range: float = 1.0):
    """``10 log10(data_range^2 / mse)`` in dB, elementwise (a float for a scalar); ``inf`` where mse is 0.
    The one PSNR formula of aekit: :func:`psnr`, the codec's reports and the report's curves use it.

    >>> db(0.01), db(0.0)
    (20.0, inf)
    """
    m = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(data_range**2 / m)
    return float(out) if out.ndim == 0 else out


def psnr(clean, test, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB per sample (N,): ``10 log10(data_range^2 / MSE)``.

    ``clean`` and ``test`` must have the same shape (uint8 arrays are read as [0, 1]). A perfect sample gives
    ``inf``; average with ``np.mean`` over finite values or report the median.
    """
    a, b = to_float(as_array(clean, "clean")), to_float(as_array(test, "test"))
    if a.shape != b.shape:
        raise AekitError(f"psnr: clean has shape {a.shape} but test has {b.shape}; expected the same shape")
    return db(((a.astype(np.float64) - b) ** 2).reshape(len(a), -1).mean(1), data_range)


__all__ = ["db", "psnr"]
