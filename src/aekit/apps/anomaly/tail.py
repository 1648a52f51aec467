"""The statistics of the streaming detector: a causal peaks-over-threshold tail model of a score series
(SPOT, Siffer et al., 2017) and Fisher's combination of tail probabilities, with Brown's correction for
dependent ones. :mod:`aekit.apps.anomaly.stream` builds the detector from them.
"""

from __future__ import annotations

import numpy as np

HISTORY = 4000  # points of past score the tail model judges against: two weeks of 5-minute points


def _gpd_moments(excess: np.ndarray) -> tuple[float, float]:
    """Shape and scale of a generalised Pareto distribution fitted to ``excess`` (> 0) by the method of
    moments (Hosking & Wallis, 1987); the shape is kept in [-0.5, 0.9] where the moments exist."""
    m, v = float(excess.mean()), float(excess.var())
    if v <= 0.0 or m <= 0.0:
        return 0.0, max(m, 1e-12)
    r = m * m / v
    return min(max(0.5 * (1.0 - r), -0.5), 0.9), 0.5 * m * (r + 1.0)


def pot_surprise(ref, x, level: float = 0.95) -> np.ndarray:
    """The surprise ``-log10(p)`` (N,) of each value of ``x`` (N,) against the reference values ``ref`` (n,),
    sorted ascending: below the reference's ``level`` quantile ``u``, ``p`` is the fraction of the reference
    at or above the value (at least 1/n); above ``u``, the fraction above ``u`` times the survival function
    of a generalised Pareto distribution fitted to the excesses over ``u`` (peaks over threshold), so that a
    value beyond every reference value still gets a finite, graded ``p``.

    >>> ref = np.sort(np.random.default_rng(0).exponential(size=2000))
    >>> (pot_surprise(ref, np.array([0.0, 1.0, 5.0, 10.0])) + 0.0).round(1).tolist()  # exact: 0, 0.43, 2.2, 4.3
    [0.0, 0.4, 2.1, 4.1]
    """
    ref = np.asarray(ref, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = len(ref)
    p = np.maximum((n - np.searchsorted(ref, x, side="left")) / n, 1.0 / n)
    u = ref[min(int(level * n), n - 1)]
    excess = ref[ref > u] - u
    over = x > u
    if len(excess) >= 5 and over.any():
        xi, sigma = _gpd_moments(excess)
        d = (x[over] - u) / sigma
        tail = np.exp(-d) if abs(xi) < 1e-6 else np.maximum(1.0 + xi * d, 1e-300) ** (-1.0 / xi)
        p[over] = len(excess) / n * tail
    return -np.log10(np.maximum(p, 1e-300))


def tail_surprise(
    raw,
    start: int,
    short: int = 5,
    history: int = HISTORY,
    level: float = 0.95,
    refit: int = 20,
    min_history: int = 100,
    exclude=None,
    max_excluded: int = 96,
) -> np.ndarray:
    """Peaks-over-threshold tail model of a causal error series, as the surprise ``-log10(p)``.

    The score of point ``t`` (``t >= start``) is the mean error of the last ``short`` points; its tail
    probability ``p`` comes from the scores of the ``history`` points before the current block: below their
    ``level`` quantile ``u``, the empirical fraction of history at or above it; above ``u``, the fraction
    above ``u`` times the survival function of a generalised Pareto distribution fitted to the excesses over
    ``u`` (SPOT, Siffer et al., 2017). The model is refitted every ``refit`` points, only ever on the past.
    Points before ``start`` (or with less than ``min_history`` points of history) score 0.

    With ``exclude`` (a surprise), points at least that surprising are kept out of the history, as SPOT
    keeps alarms out of its model, so one anomaly does not hide the next; a run of more than
    ``max_excluded`` such points is a new normal and enters the history again.

    >>> r = np.random.default_rng(0).random(600); r[500] = 5.0
    >>> s = tail_surprise(r, start=200, short=1)
    >>> int(np.argmax(s)), bool(s[500] > 4), bool(s[200:500].max() < 3)
    (500, True, True)
    """
    r = np.asarray(raw, dtype=np.float64)
    if short > 1:  # the mean of the last `short` errors: (T,)
        c = np.r_[0.0, np.cumsum(r)]
        t = np.arange(len(r))
        lo = np.maximum(t - short + 1, 0)
        r = (c[t + 1] - c[lo]) / (t + 1 - lo)
    start = max(int(start), 0)
    out = np.zeros(len(r))
    kept = list(r[:start])  # the history the model may learn from, in time order
    run = 0  # consecutive points kept out so far
    for a in range(start, len(r), int(refit)):
        x = r[a : a + int(refit)]
        ref = np.sort(np.asarray(kept[-int(history) :]))  # the past only
        if len(ref) >= min_history:
            out[a : a + len(x)] = pot_surprise(ref, x, level)
        for v, sv in zip(x, out[a : a + len(x)]):
            if exclude is not None and sv >= exclude and run < max_excluded:
                run += 1
            else:
                run = 0
                kept.append(v)
    return out


def fisher(surprises, cov: float = 0.0) -> np.ndarray:
    """Fisher's combination of tail probabilities, as surprises: ``surprises`` (T, m) of ``-log10(p_i)`` give
    (T,) ``-log10(p)`` where ``X = -2 sum(ln p_i)`` follows a chi-squared law with 2m degrees of freedom when
    the p_i are independent. ``cov`` > 0, the covariance of the terms ``-2 ln p_i`` summed over the pairs
    i < j, applies Brown's method for dependent ones (Brown, 1975): ``X / c`` follows a chi-squared law with
    ``f`` degrees of freedom, matching X's mean 2m and variance 4m + 2 cov. One column is returned as it is;
    two independent surprising pieces of evidence are more surprising than either (1e-3 and 1e-3 combine to
    about 1.5e-5), two that always move together are one piece of evidence.

    >>> fisher(np.array([[3.0, 3.0], [4.0, 0.0]])).round(2).tolist()
    [4.83, 2.99]
    >>> fisher(np.array([[3.0, 3.0]]), cov=4.0).round(2).tolist()       # fully dependent: p = 1e-3 again
    [3.0]
    """
    import torch

    s = np.asarray(surprises, dtype=np.float64)
    s = s if s.ndim == 2 else s[:, None]
    m = s.shape[1]
    if m == 1:
        return s[:, 0].copy()
    half_x = s.sum(axis=1) * np.log(10.0)  # X / 2 = -sum(ln p_i)
    mean, var = 2.0 * m, 4.0 * m + 2.0 * max(float(cov), 0.0)
    c, f = var / (2.0 * mean), 2.0 * mean * mean / var
    # the chi-squared(f) survival at X / c: the regularised upper incomplete gamma Q(f / 2, X / (2c))
    p = torch.special.gammaincc(
        torch.full(half_x.shape, f / 2.0, dtype=torch.float64), torch.from_numpy(half_x / c)
    ).numpy()
    return -np.log10(np.maximum(p, 1e-300))


def dependence(raw) -> float:
    """The summed covariance over pairs of columns of ``-2 ln p``, where each column of ``raw`` (N, m) is
    turned into p-values by its own ranks (the empirical Brown's method of Poole et al., 2016): Brown's
    ``cov`` for :func:`fisher`, estimated from a stretch of raw scores (the training part). Each pair's
    covariance is kept in [0, 4] (4: the variance of ``-2 ln p``, two scores that always agree).

    >>> x = np.random.default_rng(0).random(500)
    >>> round(dependence(np.stack([x, x], 1)), 1), round(dependence(np.stack([x, -x], 1)), 1)
    (3.8, 0.0)
    """
    r = np.asarray(raw, dtype=np.float64)
    n, m = r.shape
    if n < 3:
        return 0.0
    terms = np.empty_like(r)  # (n, m)
    for j in range(m):
        # p of each value: its rank from the top over n + 1 (tied values share their average rank)
        _, inv, counts = np.unique(-r[:, j], return_inverse=True, return_counts=True)
        rank = (np.cumsum(counts) - (counts - 1) / 2.0)[inv]
        terms[:, j] = -2.0 * np.log(rank / (n + 1))
    cov = np.cov(terms, rowvar=False)  # (m, m)
    return float(sum(min(max(cov[i, j], 0.0), 4.0) for i in range(m) for j in range(i + 1, m)))
