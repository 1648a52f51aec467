"""Causal (streaming) anomaly detection on a series: what a detector watching a live stream can do.

The score of time ``t`` uses only the points up to ``t``:

1. the first ``n_train`` points (by default NAB's probationary period: 15 % of the series, at most 750
   points) fix the scaling (median and standard deviation) and train a small dense autoencoder on the
   trailing windows that lie inside them;
2. each later point gets two raw scores from the trailing window that *ends* at it (``window`` points, the
   newest last): the window's reconstruction error, and its code's mean distance to the ``neighbours``
   nearest codes of the training windows that share no point with it (the exclusion zone of a matrix
   profile, so that a window is not its own neighbour shifted by one point). The model reconstructs a
   window at a level or in a shape it never saw almost as well as a usual one when its code can hold it;
   the distance sees that the code lies where no training code does. With ``update_every`` the model keeps
   learning online on the windows it has already scored. When the training part repeats with a period
   ``P`` (``season``: found from its autocorrelation), each window is shown beside the same window ``P``
   points earlier (a second channel), so the model learns what a point should look like given the last
   cycle: a 32-point window cannot see that today's daily peak is missing, the window one day earlier can;
3. each raw score is judged against its own past with a tail model (peaks over threshold, as SPOT of
   Siffer et al., 2017): the mean of its last ``short`` values gets a tail probability ``p`` from its
   values over the previous ``history`` points, a generalised Pareto distribution fitted to their top 5 %.
   The two probabilities are combined by Fisher's method, with Brown's correction for how much the two
   scores move together in the training part (two scores that always agree are one piece of evidence,
   not two), and the score is the surprise ``-log10(p)``. The threshold therefore follows the scores'
   distribution as the stream goes on, instead of being "the largest training error";
4. a point whose value leaves the range of every value seen before it (the training part included) by
   more than ``range_tolerance`` times that range is a *range break*: its surprise is raised to at least
   ``RANGE_BREAK_SURPRISE`` (Numenta's HTM detector adds the same check, with the same 5 % tolerance, to
   its NAB entry). The autoencoder sees shapes inside a 32-point window; a level never seen before is an
   anomaly whatever its shape, and it is flagged on its first point;
5. a point is flagged when ``p < risk``, one alert per event: the next flag needs the surprise to have
   fallen back below the threshold and ``refractory`` points to have passed (the scores of the points in
   between are set to 0).

Examples
--------
>>> import numpy as np
>>> from aekit.apps.anomaly.stream import stream_detect
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

import numpy as np

from aekit.apps.anomaly.tail import HISTORY, dependence, fisher, tail_surprise  # noqa: F401  (re-exported statistics)
from aekit.apps.anomaly.terms import errors_and_codes, knn_distance
from aekit.errors import AekitError

RANGE_BREAK_SURPRISE = 10.0  # -log10(p) given to a range break: p = 1e-10, flagged at any usual risk
NEIGHBOURS = 5  # nearest training codes of the code-distance term, as the 'mse_knn' score of tables


@dataclass
class StreamResult:
    """``scores`` (T,) surprise ``-log10(p)`` of each point (0 in the training part and after a flag);
    ``raw`` (T,) the reconstruction error of the trailing window ending at each point; ``labels`` (T,) 1 for
    flagged points; ``threshold`` the score threshold ``-log10(risk)``; ``n_train`` the training points;
    ``season`` the period shown beside each window (None: none); ``surprise`` (T,) the score before the
    quiet period, from which :meth:`at_risk` flags at another risk without rerunning the model;
    ``refractory`` the quiet period (points); ``distance`` (T,) the code's distance to its nearest training
    codes (None with ``neighbours=0``)."""

    scores: np.ndarray
    raw: np.ndarray
    labels: np.ndarray
    threshold: float
    n_train: int
    season: int | None = None
    surprise: np.ndarray | None = None
    refractory: int = 0
    distance: np.ndarray | None = None

    @property
    def n_anomalies(self) -> int:
        return int(self.labels.sum())

    def at_risk(self, risk: float) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, labels)`` as the detector gives them at another ``risk``: the quiet period follows
        the flags at that risk (lowering the threshold on :attr:`scores` would not: their quiet periods
        follow the flags at the risk the detector ran with)."""
        if not 0.0 < risk < 1.0:
            raise AekitError(f"at_risk: risk={risk!r}; expected 0 < risk < 1")
        return suppress(self.surprise, -np.log10(risk), self.refractory)


def default_train_length(n_points: int) -> int:
    """NAB's probationary period: ``min(floor(0.15 n), 750)`` points."""
    from aekit.datasets.nab import probation_length

    return probation_length(n_points)


def suppress(scores, threshold: float, refractory: int) -> tuple[np.ndarray, np.ndarray]:
    """Flags where the score reaches ``threshold``, one per event: after a flag, the next needs the score to
    have fallen back below the threshold (hysteresis: a sustained change is one alert, not one per quiet
    period) and ``refractory`` points to have passed. Points after a flag that are not flags score 0.
    Returns ``(scores, flags)``; a point is flagged exactly when its returned score is at the threshold or
    above. Causal.

    >>> suppress([0, 5, 0, 0, 6, 6, 6, 6, 0, 7], threshold=4, refractory=2)[1].tolist()
    [0, 1, 0, 0, 1, 0, 0, 0, 0, 1]
    """
    s = np.asarray(scores, dtype=np.float64).copy()
    above = s >= threshold
    seen = np.cumsum(above)  # (T,) points at or above the threshold so far
    flags = np.zeros(len(s), dtype=np.int64)
    last, quiet_until = -1, -1
    for i in np.flatnonzero(above).tolist():
        # the same event: inside the quiet period, or no point below the threshold since the last flag
        if last >= 0 and (i <= quiet_until or seen[i - 1] - seen[last] == i - last - 1):
            s[i] = 0.0
            continue
        flags[i] = 1
        last, quiet_until = i, i + int(refractory)
        s[i + 1 : quiet_until + 1] = 0.0
    return s, flags


def range_breaks(values, start: int, tolerance: float) -> np.ndarray:
    """Points (bool (T,)) whose value leaves the range ``[lo, hi]`` of all the values before them by more
    than ``tolerance * (hi - lo)``; points before ``start`` are never breaks. Causal. ``values`` (T,) or
    (T, F): a break in any channel counts.

    >>> range_breaks([0.0, 1.0, 0.5, 1.04, 1.2, -0.3], start=2, tolerance=0.05).tolist()
    [False, False, False, False, True, True]
    """
    v = np.asarray(values, dtype=np.float64)
    v = v if v.ndim == 2 else v[:, None]  # (T, F)
    hi = np.r_[v[:1], np.maximum.accumulate(v, axis=0)[:-1]]  # (T, F) max of the points before t
    lo = np.r_[v[:1], np.minimum.accumulate(v, axis=0)[:-1]]
    span = hi - lo
    out = ((v > hi + tolerance * span) | (v < lo - tolerance * span)) & (span > 0)
    out = out.any(axis=1)
    out[: max(int(start), 1)] = False
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
    ac = np.fft.irfft(f * np.conj(f))[: n // 2] / den  # (n // 2,): ac[k] is the autocorrelation at lag k
    neg = np.flatnonzero(ac[1:] < 0.0)
    if not len(neg):
        return None
    first = int(neg[0]) + 1
    k = first + int(np.argmax(ac[first:]))
    return k if ac[k] > min_corr else None


def stream_surprise(
    raw, values, start: int, short: int = 5, history: int = HISTORY, range_tolerance=0.05
) -> np.ndarray:
    """The detector's score before the quiet period, from causal raw scores ``raw`` (T,) or (T, m) of
    ``values`` (T,) or (T, F): each raw score gets the tail model's surprise (:func:`tail_surprise`), the
    surprises are combined by Fisher's method with Brown's correction for their dependence, measured on the
    training part ``raw[:start]`` (:func:`fisher`, :func:`dependence`), and the result is raised to
    ``RANGE_BREAK_SURPRISE`` at range breaks (:func:`range_breaks`; ``range_tolerance=None``: none). Flags at
    a risk come from :func:`suppress` with the threshold ``-log10(risk)``."""
    r = np.asarray(raw, dtype=np.float64)
    r = r if r.ndim == 2 else r[:, None]
    each = np.stack([tail_surprise(c, start, short=short, history=history) for c in r.T], axis=1)  # (T, m)
    surprise = fisher(each, cov=dependence(r[:start]) if r.shape[1] > 1 else 0.0)
    if range_tolerance is not None:
        surprise = np.where(
            range_breaks(values, start, float(range_tolerance)), np.maximum(surprise, RANGE_BREAK_SURPRISE), surprise
        )
    return surprise


def _scaled(values: np.ndarray, n_train: int) -> np.ndarray:
    v = values if values.ndim == 2 else values[:, None]
    head = v[:n_train]
    centre = np.median(head, axis=0)
    spread = head.std(axis=0)
    # a constant training stretch: scale by the values' magnitude instead of dividing by zero
    floor = np.maximum(np.abs(centre) * 0.01, 1e-3)
    return ((v - centre) / np.maximum(spread, floor)).astype(np.float32)


def stream_detect(
    values,
    window: int = 32,
    n_train=None,
    risk: float = 1e-4,
    refractory=None,
    short: int = 5,
    history: int = HISTORY,
    update_every: int = 0,
    epochs: int = 30,
    hidden: int = 32,
    latent_dim: int = 4,
    range_tolerance=0.05,
    season="auto",
    neighbours: int = NEIGHBOURS,
    seed: int = 0,
    model=None,
) -> StreamResult:
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
        Flag a point when the combined tail probability of its recent scores is below ``risk``.
    refractory : int, optional
        Points of silence after a flag (default ``window``); after them, the next flag also needs the
        surprise to have fallen below the threshold since the last (one alert per event).
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
        score from 73.6 to 74.2 (from 64.7 to 67.2 with the error alone; BENCHMARKS.md).
    neighbours : int, default 5
        The code's distance to its ``neighbours`` nearest training codes (leaving out the windows that
        share points with it) is judged by a tail model of its own, and its surprise is combined with the
        error's by Fisher's method with Brown's correction (:func:`fisher`): a window the model
        reconstructs well can still lie where no training window lies (a level never seen in that shape).
        0: the error alone. On NAB it raised the standard score from 69.1 to 74.2 at the same event F1
        (0.64-0.65; BENCHMARKS.md).
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
    from aekit.autoencoder.model import build
    from aekit.datasets import sliding_windows

    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2) or not np.isfinite(v).all():
        raise AekitError(f"stream_detect: expected a finite series of shape (T,) or (T, F), got {v.shape}")
    T, L = len(v), int(window)
    n_train = default_train_length(T) if n_train is None else int(n_train)
    if L < 2 or n_train < L + 8 or n_train > T:
        raise AekitError(
            f"stream_detect: need window >= 2 and window + 8 <= n_train <= T; got window={L}, "
            f"n_train={n_train}, T={T} (a shorter window or more training points)"
        )
    if not 0.0 < risk < 1.0:
        raise AekitError(f"stream_detect: risk={risk!r}; expected 0 < risk < 1")
    if range_tolerance is not None and not (isinstance(range_tolerance, numbers.Real) and float(range_tolerance) >= 0):
        raise AekitError(f"stream_detect: range_tolerance={range_tolerance!r}; expected a number >= 0 or None")
    if (
        isinstance(neighbours, bool)
        or not isinstance(neighbours, numbers.Integral)
        or not 0 <= neighbours <= n_train - L - 1
    ):
        raise AekitError(
            f"stream_detect: neighbours={neighbours!r}; expected 0 (off) to n_train - window - 1 = {n_train - L - 1}"
        )
    z = _scaled(v, n_train)  # (T, F), training statistics only
    # a given model trained on plain windows (F channels) has no room for the season's channel
    period = (
        None
        if model is not None and season == "auto" and tuple(model.input_shape)[-1:] == (z.shape[1],)
        else _season(season, z, n_train, L)
    )
    if period:
        # (T, 2F): each value beside the value a period earlier; the first period, which has no earlier
        # cycle, is shown beside itself (training on its windows too measured better than leaving them out:
        # NAB 67.2 against 66.3, the probationary period is short)
        z = np.concatenate([z, np.r_[z[:period], z[:-period]]], axis=1)
    wins = sliding_windows(z, L)  # (T - L + 1, L, F'); window j ends at j + L - 1
    n_fit = n_train - L + 1  # windows inside the training part
    if model is None:
        model = build(
            "dense",
            input_shape=wins.shape[1:],
            hidden=[int(hidden)],
            latent_dim=int(latent_dim),
            output_activation="linear",
            loss="mse",
            seed=seed,
        )
        model.fit(wins[:n_fit], epochs=int(epochs), batch_size=32, verbose=0, seed=seed)
    werr, d = _score_windows(model, wins, n_fit, update_every, seed, int(neighbours), L)  # (N,), (N,) or None
    raw = np.r_[np.full(L - 1, werr[0]), werr].astype(np.float64)  # (T,): points before the first window
    dist = None if d is None else np.r_[np.full(L - 1, d[0]), d]
    thr = -np.log10(risk)
    quiet = L if refractory is None else int(refractory)
    both = raw if dist is None else np.stack([raw, dist], axis=1)  # (T,) or (T, 2)
    surprise = stream_surprise(both, v, n_train, short=short, history=history, range_tolerance=range_tolerance)
    scores, flags = suppress(surprise, thr, quiet)
    return StreamResult(
        scores=scores,
        raw=raw,
        labels=flags,
        threshold=float(thr),
        n_train=n_train,
        season=period,
        surprise=surprise,
        refractory=quiet,
        distance=dist,
    )


def _score_windows(model, wins: np.ndarray, n_fit: int, update_every: int, seed: int, k: int, L: int):
    """Reconstruction errors (N,) of every window and, with ``k``, its code's mean distance (N,) to the ``k``
    nearest codes of the training windows that share no point with it (None without ``k``). With
    ``update_every``, each block is scored before the model learns on it (online learning, still causal),
    against the training windows' codes under the model of that moment."""
    zone = min(L, max(1, (n_fit - k) // 2))  # every training window keeps k neighbours outside its zone

    def block(a: int, b: int):
        err, codes = errors_and_codes(model, wins[a:b], 1024)
        if not k:
            return err, None
        ref = codes[:n_fit] if a == 0 else errors_and_codes(model, wins[:n_fit], 1024)[1]
        return err, knn_distance(codes, ref, k, zone=zone, offset=a)

    steps = [(0, n_fit if update_every else len(wins))]
    if update_every:
        steps += [(a, min(a + int(update_every), len(wins))) for a in range(n_fit, len(wins), int(update_every))]
    parts = []
    for a, b in steps:
        parts.append(block(a, b))  # scored before the model sees them
        if a >= n_fit:
            model.fit(wins[max(0, b - n_fit) : b], epochs=2, batch_size=32, verbose=0, seed=seed + a)
    err = np.concatenate([p[0] for p in parts])
    return err, (np.concatenate([p[1] for p in parts]) if k else None)


def _season(season, z: np.ndarray, n_train: int, L: int):
    """The period to show beside each window (None for none); refuses an explicit one that does not fit."""
    if season is None:
        return None
    if season == "auto":
        p = seasonal_period(z[:n_train, 0]) if z.shape[1] == 1 else None
        return p if p is not None and p + L + 8 <= n_train else None
    if isinstance(season, bool) or not isinstance(season, numbers.Integral) or not 0 < int(season) <= n_train - L - 8:
        raise AekitError(
            f"stream_detect: season={season!r}; expected 'auto', None or a period from 1 to "
            f"n_train - window - 8 = {n_train - L - 8} points"
        )
    return int(season)
