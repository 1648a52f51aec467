"""Train/test splits with a seed, and scaling fitted on the training part only."""

from __future__ import annotations

import numpy as np

from aekit.datasets.preprocessing import Scaler
from aekit.errors import AekitError


def _n_test(n: int, test_size) -> int:
    if isinstance(test_size, (bool, np.bool_)):
        raise AekitError(f"train_test_split: test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        k = int(test_size)
        if not 0 < k < n:
            raise AekitError(f"train_test_split: test_size={k} must be between 1 and {n - 1} for {n} samples")
        return k
    try:
        frac = float(test_size)
    except (TypeError, ValueError):
        raise AekitError(f"train_test_split: test_size must be a fraction or a count, got {test_size!r}") from None
    if not 0.0 < frac < 1.0:
        raise AekitError(f"train_test_split: test_size={frac} must be in (0, 1) or a whole count")
    k = int(round(n * frac))
    if not 0 < k < n:
        raise AekitError(f"train_test_split: test_size={frac} leaves an empty part for {n} samples")
    return k


def train_test_split(*arrays, test_size=0.2, seed=None, shuffle: bool = True):
    """Split arrays (same first dimension) into training and test parts.

    Parameters
    ----------
    *arrays : array-like
        One or more arrays indexed along axis 0 together (e.g. ``x, y``).
    test_size : float or int
        Fraction in (0, 1) or number of test samples.
    seed : int or numpy.random.Generator, optional
        Seed of the shuffling permutation; the same seed gives the same split.
    shuffle : bool
        False keeps the order and puts the *last* samples in the test part (right for time series).

    Returns
    -------
    list
        ``[a_train, a_test, b_train, b_test, ...]`` (as scikit-learn does).

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.4, seed=0)
    >>> x_tr.shape, y_te.shape
    ((3, 2), (2,))
    >>> train_test_split(np.arange(5), test_size=2, shuffle=False)[1].tolist()
    [3, 4]
    """
    if not arrays:
        raise AekitError("train_test_split: give at least one array")
    arrays = tuple(a if hasattr(a, "shape") and hasattr(a, "__getitem__") else np.asarray(a) for a in arrays)
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise AekitError(f"train_test_split: arrays have different lengths {sorted(lengths)}")
    n = lengths.pop()
    k = _n_test(n, test_size)
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        perm = rng.permutation(n)
        # Sorted indices keep each part in the original relative order (and read memmaps forwards).
        train_idx, test_idx = np.sort(perm[k:]), np.sort(perm[:k])
        out = []
        for a in arrays:
            out += [a[train_idx], a[test_idx]]
        return out
    out = []
    for a in arrays:
        out += [a[: n - k], a[n - k :]]
    return out


def fit_scaler(x_train, kind: str = "minmax") -> Scaler:
    """Fit an :class:`aekit.datasets.preprocessing.Scaler` on training data only.

    Call it with the *training* part of a split, then ``transform`` both parts: nothing from the test set
    leaks into the scaling statistics. For a time series, fit on the 1-D training values (one mean and
    deviation for the whole series) before cutting windows.

    Parameters
    ----------
    x_train : array-like
        Training samples; statistics are taken over axis 0.
    kind : {"minmax", "standard"}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10, dtype=float).reshape(5, 2)
    >>> x_tr, x_te = train_test_split(x, test_size=0.4, shuffle=False)
    >>> s = fit_scaler(x_tr, "minmax")
    >>> bool(s.transform(x_te).max() > 1)      # test data may fall outside [0, 1]: nothing leaked
    True
    """
    x = np.asarray(x_train)
    if x.size == 0:
        raise AekitError("fit_scaler: x_train is empty")
    return Scaler(kind).fit(x)
