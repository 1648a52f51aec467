"""The Numenta Anomaly Benchmark's score (Lavin & Ahmad, 2015), written from the paper and NAB's scorer rules.

A detector gives one anomaly score per point of each series; a threshold turns scores into detections.
Each labelled anomaly window (``combined_windows.json``) earns at most one reward: its *first* detection,
weighted by a scaled sigmoid of the detection's position in the window (early is worth ``A_TP``, the
window's right edge about 0). A window without a detection costs ``A_FN``. Every detection outside the
windows costs ``A_FP`` times a sigmoid of its distance past the previous window (a detection right after a
window costs little, one far after it or before any window costs the full ``A_FP``). Points of the
probationary period (the first 15 % of a series, at most 750 points) are not scored. The raw score is the
sum over the corpus; it is normalised to 0-100 between the null detector (no detection: ``-A_FN`` per
window) and the perfect detector (each window detected at its first scored point). The threshold is
chosen per detector for the whole corpus, the one with the best total raw score (NAB's optimiser).

Rules from NAB's ``sweeper.py`` that the paper leaves implicit and that this module follows:

- position in a window of width ``w`` (points) whose right edge is index ``r``: ``y = -(r - i + 1) / w``
  (so ``-1`` at the left edge), and the reward is ``A_TP * sigma(y) / sigma(-1)``;
- position after a window: ``y = (i - r) / (w - 1)``, the cost ``A_FP * sigma(y)`` (negative);
  before the first window ``y = 3`` (full cost);
- ``sigma(y) = 2 / (1 + exp(5 y)) - 1`` for ``y < 3``, else ``-1``;
- a point is a detection when its score is ``>= threshold``.

Examples
--------
>>> import numpy as np
>>> scores = [np.zeros(100)]
>>> scores[0][50] = 1.0                                  # one detection, at the left edge of the window
>>> res = nab_score(scores, [[(50, 59)]], profile="standard")
>>> round(res.normalized, 3), res.threshold, (res.tp, res.fn, res.fp)
(100.0, 1.0, (1, 0, 0))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import floor

import numpy as np

from aekit.errors import AekitError

#: NAB's application profiles: weights (A_TP, A_FP, A_FN) of ``config/profiles.json``.
PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
#: Published NAB scoreboard (NAB v1.1 README, all 58 series): standard, low-FP, low-FN.
SCOREBOARD = {
    "Numenta HTM": (70.5, 62.6, 75.2),
    "CAD OSE": (69.9, 67.0, 73.2),
    "KNN CAD": (58.0, 43.4, 64.8),
    "Relative Entropy": (54.6, 47.6, 58.8),
    "Twitter ADVec": (47.1, 33.6, 53.5),
    "Windowed Gaussian": (39.6, 20.9, 47.4),
    "Etsy Skyline": (35.7, 27.1, 44.5),
    "Bayesian Changepoint": (17.7, 3.2, 32.2),
    "Random": (11.0, 1.2, 19.5),
    "Null": (0.0, 0.0, 0.0),
}


def scaled_sigmoid(y):
    """NAB's reward curve: ``2 / (1 + exp(5 y)) - 1`` for ``y < 3``, else ``-1`` (array in, array out).

    >>> [round(float(v), 5) for v in scaled_sigmoid([-1.0, 0.0, 1.0, 3.0])]
    [0.98661, 0.0, -0.98661, -1.0]
    """
    y = np.asarray(y, dtype=np.float64)
    return np.where(y >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0)


def probation_length(n_points: int, fraction: float = 0.15) -> int:
    """Points in NAB's probationary period: ``min(floor(fraction * n), fraction * 5000)``.

    >>> probation_length(4032), probation_length(10000)
    (604, 750)
    """
    return int(min(floor(fraction * n_points), fraction * 5000))


def window_indices(timestamps, windows) -> list[tuple[int, int]]:
    """Timestamp windows ``[(start, end), ...]`` to inclusive index ranges of ``timestamps`` (sorted).

    >>> t = np.arange("2015-01-01T00:00", "2015-01-01T00:10", dtype="datetime64[m]")
    >>> window_indices(t, [(t[2], t[4])])
    [(2, 4)]
    """
    t = np.asarray(timestamps).astype("datetime64[s]")
    out = []
    for a, b in windows:
        i = int(np.searchsorted(t, np.datetime64(a, "s"), side="left"))
        j = int(np.searchsorted(t, np.datetime64(b, "s"), side="right")) - 1
        if j >= i:
            out.append((i, j))
    return out


@dataclass
class NabSeries:
    """One series prepared for scoring: what a detection at each point is worth.

    ``weight[i]`` is the sweep score of a detection at point i (reward inside a window, cost outside);
    ``window[i]`` the window number (0, 1, ...) of a point inside a window, -1 outside; ``scored[i]``
    False in the probationary period. ``n_windows`` counts the windows with at least one scored point.
    """

    weight: np.ndarray
    window: np.ndarray
    scored: np.ndarray
    n_windows: int
    best: float  # the perfect detector's reward on this series (sum over windows)


def prepare_series(n_points: int, windows, profile="standard", probation: float = 0.15) -> NabSeries:
    """The sweep scores of one series of ``n_points`` with inclusive index windows ``[(a, b), ...]``."""
    w = _profile(profile)
    n = int(n_points)
    weight = np.empty(n)
    window = np.full(n, -1, dtype=np.int64)
    scored = np.arange(n) >= probation_length(n, probation)
    idx = np.arange(n, dtype=np.float64)
    max_tp = float(scaled_sigmoid(-1.0))
    # before any window a detection costs the full A_FP (position 3)
    prev_r, prev_w, cursor = None, 1.0, 0  # prev_w is read only once prev_r is set
    wins = sorted((int(a), int(b)) for a, b in windows)
    for k, (a, b) in enumerate(wins + [(n, n)]):
        a, b = max(a, cursor), min(b, n - 1)
        # the stretch [cursor, a) lies outside every window, after window prev (or before the first)
        out = idx[cursor:a]
        pos = np.full(len(out), 3.0) if prev_r is None else (out - prev_r) / max(prev_w - 1.0, 1.0)
        weight[cursor:a] = w["fp"] * scaled_sigmoid(pos)
        if a >= n:
            break
        width = float(b - a + 1)
        inside = idx[a : b + 1]
        weight[a : b + 1] = w["tp"] * scaled_sigmoid(-(b - inside + 1) / width) / max_tp
        window[a : b + 1] = k
        prev_r, prev_w, cursor = b, width, b + 1
    window[~scored] = -1
    # the number each scored window gets in 0..n_windows-1; the perfect detector hits its first scored point
    ids = np.unique(window[window >= 0])
    remap = np.full(len(wins) + 1, -1, dtype=np.int64)
    remap[ids] = np.arange(len(ids))
    window = np.where(window >= 0, remap[np.maximum(window, 0)], -1)
    best = float(sum(weight[np.flatnonzero(window == k)[0]] for k in range(len(ids))))
    return NabSeries(weight=weight, window=window, scored=scored, n_windows=int(len(ids)), best=best)


def _profile(profile) -> dict:
    if isinstance(profile, dict):
        return {"tp": float(profile["tp"]), "fp": float(profile["fp"]), "fn": float(profile["fn"])}
    if profile not in PROFILES:
        raise AekitError(f"profile={profile!r}; expected one of {', '.join(PROFILES)} or a dict tp/fp/fn")
    return PROFILES[profile]


@dataclass
class NabResult:
    """The corpus score at the chosen threshold.

    ``normalized`` is the NAB score (0 = null detector, 100 = perfect); ``raw`` the summed sweep score;
    ``tp``/``fn`` count windows, ``fp`` detections outside windows (all after the probationary period).
    """

    normalized: float
    raw: float
    null: float
    perfect: float
    threshold: float
    tp: int
    fn: int
    fp: int
    per_series: list = field(default_factory=list)  # raw score of each series at the threshold


def _series_raw(s: NabSeries, detected: np.ndarray, fn_weight: float) -> tuple[float, int, int]:
    """Raw score, detected windows and false positives of one series for a boolean detection mask."""
    d = detected & s.scored
    fp_mask = d & (s.window < 0)
    raw = float(s.weight[fp_mask].sum())
    hit = 0
    for k in range(s.n_windows):
        pts = np.flatnonzero(d & (s.window == k))
        if len(pts):
            raw += s.weight[pts[0]]
            hit += 1
        else:
            raw -= fn_weight
    return raw, hit, int(fp_mask.sum())


def sweep_thresholds(scores, windows, profile="standard", probation: float = 0.15):
    """Total raw score of the corpus at every distinct score, as NAB's threshold sweep.

    Returns ``(thresholds, totals, null, perfect)``: ``thresholds`` descending (the distinct scores of the
    scored points), ``totals[j]`` the corpus raw score when every point with score ``>= thresholds[j]`` is
    a detection.
    """
    w = _profile(profile)
    all_s, inc = [], []
    null = perfect = 0.0
    offset = 0
    for sc, win in zip(scores, windows):
        sc = np.asarray(sc, dtype=np.float64).ravel()
        s = prepare_series(len(sc), win, w, probation)
        null -= w["fn"] * s.n_windows
        perfect += s.best
        keep = np.flatnonzero(s.scored)
        all_s.append(sc[keep])
        # window points keep their id, made unique across the corpus; -1 stays "outside"
        inc.append(np.stack([s.weight[keep], np.where(s.window[keep] >= 0, s.window[keep] + offset, -1), keep], axis=1))
        offset += s.n_windows
    if not all_s:
        raise AekitError("sweep_thresholds: no series given")
    sc = np.concatenate(all_s)
    parts = np.concatenate(inc)
    order = np.lexsort((parts[:, 2], -sc))  # by score descending, then by time (earliest first)
    sc, parts = sc[order], parts[order]
    # the change of the total when a point becomes a detection: its cost outside windows; inside, the
    # rise of its window's best reward (a window's first detection also cancels its -A_FN)
    delta = np.where(parts[:, 1] < 0, parts[:, 0], 0.0)
    best = np.full(offset, -w["fn"])
    for j in np.flatnonzero(parts[:, 1] >= 0):
        k = int(parts[j, 1])
        if parts[j, 0] > best[k]:
            delta[j] = parts[j, 0] - best[k]
            best[k] = parts[j, 0]
    totals = null + np.cumsum(delta)
    last = np.r_[sc[1:] != sc[:-1], True]  # the total after all points sharing a score are in
    return sc[last], totals[last], null, perfect


def nab_score(scores, windows, profile="standard", threshold=None, probation: float = 0.15) -> NabResult:
    """NAB score of a detector on a corpus.

    Parameters
    ----------
    scores : list of arrays (T_i,)
        The detector's anomaly score per point of each series (higher = more anomalous).
    windows : list of lists of (start, end)
        Each series' labelled windows as inclusive point indices (:func:`window_indices` converts NAB's
        timestamp windows).
    profile : {'standard', 'reward_low_FP_rate', 'reward_low_FN_rate'} or dict with tp, fp, fn
    threshold : float, optional
        Detections are scores ``>= threshold``. Default: the threshold with the best corpus total
        (NAB's optimiser); with no detection better than any, the threshold above every score.
    probation : float
        The probationary fraction (points not scored).

    Returns
    -------
    NabResult
    """
    w = _profile(profile)
    if threshold is None:
        thr, totals, _, _ = sweep_thresholds(scores, windows, w, probation)
        null_total = -w["fn"] * sum(
            prepare_series(len(s), win, w, probation).n_windows for s, win in zip(scores, windows)
        )
        j = int(np.argmax(totals))
        threshold = float(thr[j]) if totals[j] > null_total else float(np.inf)
    raw = null = perfect = 0.0
    tp = fn = fp = 0
    per = []
    for sc, win in zip(scores, windows):
        sc = np.asarray(sc, dtype=np.float64).ravel()
        s = prepare_series(len(sc), win, w, probation)
        r, hit, f = _series_raw(s, sc >= threshold, w["fn"])
        raw += r
        per.append(r)
        null -= w["fn"] * s.n_windows
        perfect += s.best
        tp, fn, fp = tp + hit, fn + s.n_windows - hit, fp + f
    span = perfect - null
    norm = 100.0 * (raw - null) / span if span > 0 else 0.0
    return NabResult(
        normalized=float(norm),
        raw=float(raw),
        null=float(null),
        perfect=float(perfect),
        threshold=float(threshold),
        tp=tp,
        fn=fn,
        fp=fp,
        per_series=[float(v) for v in per],
    )


def nab_best(candidates: dict, windows, profile="standard", probation: float = 0.15):
    """NAB's optimiser over a detector's own setting: the best ``(key, NabResult)`` among ``candidates``.

    NAB chooses each detector's threshold for the best corpus total. A detector whose output depends on
    its threshold beyond a cut (after a flag, a quiet period: the flags at one risk are not the flags at
    another cut above the same scores) is run at each setting; ``candidates`` maps each setting to that
    run's per-series scores (its 0/1 flags, say), each scored by :func:`nab_score`.

    >>> wins = [[(4, 6)]]
    >>> flags = {"early": [np.eye(1, 10, 4)[0]], "late": [np.eye(1, 10, 6)[0]]}
    >>> key, res = nab_best(flags, wins, probation=0.0)
    >>> key, res.tp, res.fp
    ('early', 1, 0)
    """
    if not candidates:
        raise AekitError("nab_best: no candidate settings given")
    scored = {k: nab_score(v, windows, profile, probation=probation) for k, v in candidates.items()}
    best = max(scored, key=lambda k: scored[k].normalized)  # the first of equal scores: dicts keep order
    return best, scored[best]
