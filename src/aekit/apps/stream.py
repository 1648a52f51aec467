"""Causal (streaming) anomaly detection on a series: what a detector watching a live stream can do.

The score of time ``t`` uses only the points up to ``t``:

1. the first ``n_train`` points (by default NAB's probationary period: 15 % of the series, at most 750
   points) fix the scaling (median and standard deviation) and train a small dense autoencoder on the
   trailing windows that lie inside them;
2. each later point gets the reconstruction error of the trailing window that *ends* at it (``window``
   points, the newest last); with ``update_every`` the model keeps learning online on the windows it has
   already scored. When the training part repeats with a period ``P`` (``season``: found from its
   autocorrelation), each window is shown beside the same window ``P`` points earlier (a second channel),
   so the model learns what a point should look like given the last cycle: a 32-point window cannot see
   that today's daily peak is missing, the window one day earlier can;
3. the error is judged against its own past with a tail model (peaks over threshold, as SPOT of Siffer et
   al., 2017): the mean error of the last ``short`` points gets a tail probability ``p`` from the errors of
   the previous ``history`` points, a generalised Pareto distribution fitted to their top 5 %; the score
   is the surprise ``-log10(p)``. The threshold therefore follows the error's distribution as the stream
   goes on, instead of being "the largest training error";
4. a point whose value leaves the range of every value seen before it (the training part included) by
   more than ``range_tolerance`` times that range is a *range break*: its surprise is raised to at least
   ``RANGE_BREAK_SURPRISE`` (Numenta's HTM detector adds the same check, with the same 5 % tolerance, to
   its NAB entry). The autoencoder sees shapes inside a 32-point window; a level never seen before is an
   anomaly whatever its shape, and it is flagged on its first point;
5. a point is flagged when ``p < risk``; after a flag the detector stays quiet for ``refractory`` points
   (one alert per event; the scores of those points are set to 0).

Examples
--------
>>> import numpy as np
>>> from aekit.apps.stream import stream_detect
>>> t = np.arange(1200)
>>> x = np.sin(2 * np.pi * t / 50) + 0.05 * np.random.default_rng(0).normal(size=1200)
>>> x[900] += 3.0                                       # a spike
>>> res = stream_detect(x, n_train=300, epochs=20, seed=0)
>>> bool(res.labels[900:910].any()), res.scores.shape
(True, (1200,))
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import AekitError

RANGE_BREAK_SURPRISE = 10.0  # -log10(p) given to a range break: p = 1e-10, flagged at any usual risk
HISTORY = 4000  # points of past error the tail model judges against: two weeks of 5-minute points


@dataclass
class StreamResult:
    """``scores`` (T,) surprise ``-log10(p)`` of each point (0 in the training part and after a flag);
    ``raw`` (T,) the reconstruction error of the trailing window ending at each point; ``labels`` (T,) 1 for
    flagged points; ``threshold`` the score threshold ``-log10(risk)``; ``n_train`` the training points;
    ``season`` the period shown beside each window (None: none)."""

    scores: np.ndarray
    raw: np.ndarray
    labels: np.ndarray
    threshold: float
    n_train: int
    season: Optional[int] = None

    @property
    def n_anomalies(self) -> int:
        return int(self.labels.sum())


def default_train_length(n_points: int) -> int:
    """NAB's probationary period: ``min(floor(0.15 n), 750)`` points."""
    from ..datasets.nab import probation_length

    return probation_length(n_points)


def _gpd_moments(excess: np.ndarray) -> tuple[float, float]:
    """Shape and scale of a generalised Pareto distribution fitted to ``excess`` (> 0) by the method of
    moments (Hosking & Wallis, 1987); the shape is kept in [-0.5, 0.9] where the moments exist."""
    m, v = float(excess.mean()), float(excess.var())
    if v <= 0.0 or m <= 0.0:
        return 0.0, max(m, 1e-12)
    r = m * m / v
    return min(max(0.5 * (1.0 - r), -0.5), 0.9), 0.5 * m * (r + 1.0)


def tail_surprise(raw, start: int, short: int = 5, history: int = HISTORY, level: float = 0.95,
                  refit: int = 20, min_history: int = 100, exclude=None, max_excluded: int = 96) -> np.ndarray:
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
    kept = list(r[:start])      # the history the model may learn from, in time order
    run = 0                     # consecutive points kept out so far
    for a in range(start, len(r), int(refit)):
        x = r[a:a + int(refit)]
        ref = np.sort(np.asarray(kept[-int(history):]))  # the past only
        n = len(ref)
        if n >= min_history:
            p = np.maximum((n - np.searchsorted(ref, x, side="left")) / n, 1.0 / n)
            u = ref[min(int(level * n), n - 1)]
            excess = ref[ref > u] - u
            over = x > u
            if len(excess) >= 5 and over.any():
                xi, sigma = _gpd_moments(excess)
                d = (x[over] - u) / sigma
                tail = np.exp(-d) if abs(xi) < 1e-6 else np.maximum(1.0 + xi * d, 1e-300) ** (-1.0 / xi)
                p[over] = len(excess) / n * tail
            out[a:a + len(x)] = -np.log10(np.maximum(p, 1e-300))
        for v, sv in zip(x, out[a:a + len(x)]):
            if exclude is not None and sv >= exclude and run < max_excluded:
                run += 1
            else:
                run = 0
                kept.append(v)
    return out


def suppress(scores, threshold: float, refractory: int) -> tuple[np.ndarray, np.ndarray]:
    """Flags ``scores >= threshold`` with a quiet period: after a flag, the next ``refractory`` points are
    neither flagged nor scored (score 0). Returns ``(scores, flags)``; causal."""
    s = np.asarray(scores, dtype=np.float64).copy()
    flags = np.zeros(len(s), dtype=np.int64)
    quiet_until = -1
    for i in np.flatnonzero(s >= threshold):
        if i <= quiet_until:
            continue
        flags[i] = 1
        quiet_until = i + int(refractory)
        s[i + 1: quiet_until + 1] = 0.0
    return s, flags


def range_breaks(values, start: int, tolerance: float) -> np.ndarray:
    """Points (bool (T,)) whose value leaves the range ``[lo, hi]`` of all the values before them by more
    than ``tolerance * (hi - lo)``; points before ``start`` are never breaks. Causal. ``values`` (T,) or
    (T, F): a break in any channel counts.

    >>> range_breaks([0.0, 1.0, 0.5, 1.04, 1.2, -0.3], start=2, tolerance=0.05).tolist()
    [False, False, False, False, True, True]
    """
    v = np.asarray(values, dtype=np.float64)
    v = v if v.ndim == 2 else v[:, None]                                    # (T, F)
    hi = np.r_[v[:1], np.maximum.accumulate(v, axis=0)[:-1]]                # (T, F) max of the points before t
    lo = np.r_[v[:1], np.minimum.accumulate(v, axis=0)[:-1]]
    span = hi - lo
    out = ((v > hi + tolerance * span) | (v < lo - tolerance * span)) & (span > 0)
    out = out.any(axis=1)
    out[:max(int(start), 1)] = False
    return out


def seasonal_period(z, min_corr: float = 0.5):
    """The period of a 1-D series, or None: the lag of the highest autocorrelation after the
    autocorrelation first turns negative, when that peak is above ``min_corr`` (a series that does not
    repeat has no such peak; a smooth one stays correlated at short lags, which the first negative
    crossing skips). Lags up to half the length.

    >>> t = np.arange(600)
    >>> seasonal_period(np.sin(2 * np.pi * t / 48)), seasonal_period(np.random.default_rng(0).normal(size=600))
    (48, None)
    """
    x = np.asarray(z, dtype=np.float64).ravel()
    x = x - x.mean()
    n = len(x)
    den = float(x @ x)
    if n < 8 or den <= 0.0:
        return None
    f = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[: n // 2] / den       # (n // 2,): ac[k] is the autocorrelation at lag k
    neg = np.flatnonzero(ac[1:] < 0.0)
    if not len(neg):
        return None
    first = int(neg[0]) + 1
    k = first + int(np.argmax(ac[first:]))
    return k if ac[k] > min_corr else None


def judge(raw, values, start: int, threshold: float, refractory: int, short: int = 5, history: int = HISTORY,
          range_tolerance=0.05) -> tuple[np.ndarray, np.ndarray]:
    """The detector's steps after the model, on any causal raw score (T,) of ``values`` (T,) or (T, F):
    the tail model's surprise (:func:`tail_surprise`), raised to ``RANGE_BREAK_SURPRISE`` at range breaks
    (:func:`range_breaks`; ``range_tolerance=None``: none), then flags with a quiet period
    (:func:`suppress`). Returns ``(scores, flags)``, each (T,)."""
    surprise = tail_surprise(raw, start, short=short, history=history)
    if range_tolerance is not None:
        surprise = np.where(range_breaks(values, start, float(range_tolerance)),
                            np.maximum(surprise, RANGE_BREAK_SURPRISE), surprise)
    return suppress(surprise, threshold, refractory)


def _scaled(values: np.ndarray, n_train: int) -> np.ndarray:
    v = values if values.ndim == 2 else values[:, None]
    head = v[:n_train]
    centre = np.median(head, axis=0)
    spread = head.std(axis=0)
    # a constant training stretch: scale by the values' magnitude instead of dividing by zero
    floor = np.maximum(np.abs(centre) * 0.01, 1e-3)
    return ((v - centre) / np.maximum(spread, floor)).astype(np.float32)


def stream_detect(values, window: int = 32, n_train=None, risk: float = 1e-4, refractory=None,
                  short: int = 5, history: int = HISTORY, update_every: int = 0, epochs: int = 30,
                  hidden: int = 32, latent_dim: int = 4, range_tolerance=0.05, season="auto", seed: int = 0,
                  model=None) -> StreamResult:
    """Causal anomaly scores and flags for one series (see the module docstring for the method).

    Parameters
    ----------
    values : array (T,) or (T, F)
        The series in time order.
    window : int, default 32
        Length of the trailing window whose reconstruction error scores its last point.
    n_train : int, optional
        Training points at the start (default NAB's probationary period, 15 % and at most 750).
    risk : float, default 1e-4
        Flag a point when the tail probability of its recent error is below ``risk``.
    refractory : int, optional
        Points of silence after a flag (default ``window``).
    short, history : int
        The tail model's recent and reference stretches (points). The default history, 4,000 points (two
        weeks of 5-minute points), judges today's error against weeks of it: on NAB it raised fewer false
        alarms than 1,000 points (event precision 0.56-0.59 against 0.37-0.38) at the same standard score
        (see BENCHMARKS.md).
    range_tolerance : float or None, default 0.05
        A value outside the range seen so far by more than this fraction of it is flagged (a range
        break); None turns the check off.
    season : 'auto', int or None, default 'auto'
        Show each window beside the window this many points earlier. 'auto': the period of the training
        part of a one-channel series (:func:`seasonal_period`), if it has one and the training part holds
        the period plus ``window + 8`` points; None: no second channel. On NAB it raised the standard
        score from 64.7 to 67.2 (BENCHMARKS.md).
    update_every : int, default 0
        0: the model learns on the training part only. N > 0: after every N scored points, a few epochs
        more on the last ``n_train`` windows already scored (online learning; still causal).
    epochs, hidden, latent_dim, seed
        The dense autoencoder (window*F - hidden - latent_dim) and its training.
    model : aekit.Autoencoder, optional
        A model already trained on windows of shape (window, F) of scaled data (window, 2F with a season);
        skips the training step.

    Returns
    -------
    StreamResult
    """
    from .. import build
    from ..datasets import sliding_windows

    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2) or not np.isfinite(v).all():
        raise AekitError(f"stream_detect: expected a finite series of shape (T,) or (T, F), got {v.shape}")
    T, L = len(v), int(window)
    n_train = default_train_length(T) if n_train is None else int(n_train)
    if L < 2 or n_train < L + 8 or n_train > T:
        raise AekitError(f"stream_detect: need window >= 2 and window + 8 <= n_train <= T; got window={L}, "
                         f"n_train={n_train}, T={T} (a shorter window or more training points)")
    if not 0.0 < risk < 1.0:
        raise AekitError(f"stream_detect: risk={risk!r}; expected 0 < risk < 1")
    if range_tolerance is not None and not (isinstance(range_tolerance, numbers.Real) and range_tolerance >= 0):
        raise AekitError(f"stream_detect: range_tolerance={range_tolerance!r}; expected a number >= 0 or None")
    z = _scaled(v, n_train)                                  # (T, F), training statistics only
    # a given model trained on plain windows (F channels) has no room for the season's channel
    period = None if model is not None and season == "auto" and tuple(model.input_shape)[-1:] == (z.shape[1],) \
        else _season(season, z, n_train, L)
    if period:
        # (T, 2F): each value beside the value a period earlier; the first period, which has no earlier
        # cycle, is shown beside itself (training on its windows too measured better than leaving them out:
        # NAB 67.2 against 66.3, the probationary period is short)
        z = np.concatenate([z, np.r_[z[:period], z[:-period]]], axis=1)
    wins = sliding_windows(z, L)                             # (T - L + 1, L, F'); window j ends at j + L - 1
    n_fit = n_train - L + 1                                  # windows inside the training part
    if model is None:
        model = build("dense", input_shape=wins.shape[1:], hidden=[int(hidden)], latent_dim=int(latent_dim),
                      output_activation="linear", loss="mse", seed=seed)
        model.fit(wins[:n_fit], epochs=int(epochs), batch_size=32, verbose=0, seed=seed)
    if update_every:
        err = [model.reconstruction_error(wins[:n_fit])]
        for a in range(n_fit, len(wins), int(update_every)):
            b = min(a + int(update_every), len(wins))
            err.append(model.reconstruction_error(wins[a:b]))  # scored before the model sees them
            model.fit(wins[max(0, b - n_fit):b], epochs=2, batch_size=32, verbose=0, seed=seed + a)
        werr = np.concatenate(err)
    else:
        werr = model.reconstruction_error(wins)
    raw = np.r_[np.full(L - 1, werr[0]), werr].astype(np.float64)  # (T,): points before the first window
    thr = -np.log10(risk)
    scores, flags = judge(raw, v, n_train, thr, L if refractory is None else int(refractory), short=short,
                          history=history, range_tolerance=range_tolerance)
    return StreamResult(scores=scores, raw=raw, labels=flags, threshold=float(thr), n_train=n_train,
                        season=period)


def _season(season, z: np.ndarray, n_train: int, L: int):
    """The period to show beside each window (None for none); refuses an explicit one that does not fit."""
    if season is None:
        return None
    if season == "auto":
        p = seasonal_period(z[:n_train, 0]) if z.shape[1] == 1 else None
        return p if p is not None and p + L + 8 <= n_train else None
    if isinstance(season, bool) or not isinstance(season, numbers.Integral) or not 0 < season <= n_train - L - 8:
        raise AekitError(f"stream_detect: season={season!r}; expected 'auto', None or a period from 1 to "
                         f"n_train - window - 8 = {n_train - L - 8} points")
    return int(season)
