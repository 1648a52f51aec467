"""NAB scoring on hand-made series whose scores are worked out in the comments.

Shared facts used below (sigma is NAB's scaled sigmoid, sigma(y) = 2 / (1 + exp(5 y)) - 1):
  sigma(-1)   = 2 / (1 + e^-5)   - 1 = 0.986614   (a detection at a window's left edge; the reward unit)
  sigma(-0.5) = 2 / (1 + e^-2.5) - 1 = 0.848284   -> reward 0.848284 / 0.986614 = 0.859793
  sigma(-0.8) = 2 / (1 + e^-4)   - 1 = 0.964028   -> reward 0.964028 / 0.986614 = 0.977107
  sigma(5/9)  = 2 / (1 + e^2.7778) - 1 = -0.882926 -> standard cost 0.11 * -0.882926 = -0.097122
A 100-point series has a probationary period of floor(0.15 * 100) = 15 points (indices 0..14).
"""

import numpy as np
import pytest

from aekit.datasets.nab import (
    PROFILES,
    nab_best,
    nab_score,
    prepare_series,
    probation_length,
    scaled_sigmoid,
    sweep_thresholds,
    window_indices,
)
from aekit.errors import AekitError

WIN = [[(50, 59)]]  # one labelled window of 10 points, right edge at 59


def series(**points):
    """A 100-point score series, 0 everywhere but at the given indices (``p55=1.0``)."""
    s = np.zeros(100)
    for k, v in points.items():
        s[int(k[1:])] = v
    return [s]


def test_scaled_sigmoid_matches_the_paper():
    got = scaled_sigmoid([-1.0, -0.5, 0.0, 1.0, 2.999, 3.0, 10.0])
    np.testing.assert_allclose(got[:4], [0.986614, 0.848284, 0.0, -0.986614], atol=1e-6)
    assert got[4] > -1.0 and got[5] == -1.0 and got[6] == -1.0


def test_probationary_period_is_15_percent_capped_at_750():
    assert probation_length(100) == 15
    assert probation_length(4032) == 604  # floor(604.8)
    assert probation_length(15902) == 750  # 0.15 * 5000


def test_detection_in_the_middle_of_the_window():
    # detection at 55: y = -(59 - 55 + 1) / 10 = -0.5, reward 0.859793.
    # null = -1 (one missed window), perfect = +1 (detected at its left edge 50: y = -1, reward 1).
    # normalised = 100 * (0.859793 + 1) / (1 + 1) = 92.9896
    r = nab_score(series(p55=1.0), WIN, threshold=0.5)
    assert r.raw == pytest.approx(0.859793, abs=1e-6)
    assert (r.null, r.perfect) == (-1.0, pytest.approx(1.0))
    assert r.normalized == pytest.approx(92.9896, abs=1e-3)
    assert (r.tp, r.fn, r.fp) == (1, 0, 0)


def test_only_the_first_detection_in_a_window_counts():
    # detections at 52 and 57: only 52 counts, y = -(59 - 52 + 1) / 10 = -0.8, reward 0.977107 (not a sum)
    r = nab_score(series(p52=1.0, p57=1.0), WIN, threshold=0.5)
    assert r.raw == pytest.approx(0.977107, abs=2e-6)
    assert r.tp == 1 and r.fp == 0


def test_false_positives_before_after_and_in_probation():
    # 5: probationary, not scored.      30: before any window, full cost -0.11.
    # 55: reward 0.859793.             64: y = (64 - 59) / (10 - 1) = 5/9, cost -0.097122.
    # 95: y = 36 / 9 = 4 >= 3, full cost -0.11.
    # raw = 0.859793 - 0.11 - 0.097122 - 0.11 = 0.542671; normalised 100 * 1.542671 / 2 = 77.1336
    r = nab_score(series(p5=1.0, p30=1.0, p55=1.0, p64=1.0, p95=1.0), WIN, threshold=0.5)
    assert r.raw == pytest.approx(0.542671, abs=1e-6)
    assert r.normalized == pytest.approx(77.1336, abs=1e-3)
    assert (r.tp, r.fn, r.fp) == (1, 0, 3)


def test_profiles_weigh_misses_and_false_alarms():
    assert PROFILES["standard"] == {"tp": 1.0, "fp": 0.11, "fn": 1.0}
    # low FN: a missed window costs 2 -> raw -2 = null -> 0; the perfect detector still earns +1
    r = nab_score(series(), WIN, profile="reward_low_FN_rate", threshold=0.5)
    assert (r.raw, r.null, r.perfect, r.normalized) == (-2.0, -2.0, pytest.approx(1.0), 0.0)
    # low FP: one false alarm at 30 costs 0.22 and the window is missed: raw -1.22,
    # normalised 100 * (-1.22 + 1) / 2 = -11
    r = nab_score(series(p30=1.0), WIN, profile="reward_low_FP_rate", threshold=0.5)
    assert r.raw == pytest.approx(-1.22) and r.normalized == pytest.approx(-11.0)
    with pytest.raises(AekitError, match="profile"):
        nab_score(series(), WIN, profile="lenient")


def test_threshold_is_chosen_for_the_best_total():
    # scores 0.9 at 30 (false alarm), 0.8 at 55 (in the window), 0.7 at 64 (just after it), 0 elsewhere.
    # threshold 0.9: -0.11 - 1 (window missed)            = -1.11
    # threshold 0.8: -0.11 + 0.859793                      =  0.749793   <- best
    # threshold 0.7: 0.749793 - 0.097122                   =  0.652671
    # threshold 0  : every scored point fires, much worse
    s = series(p30=0.9, p55=0.8, p64=0.7)
    thr, totals, null, perfect = sweep_thresholds(s, WIN)
    np.testing.assert_allclose(thr[:3], [0.9, 0.8, 0.7])
    np.testing.assert_allclose(totals[:3], [-1.11, 0.749793, 0.652671], atol=1e-6)
    r = nab_score(s, WIN)
    assert r.threshold == 0.8 and r.normalized == pytest.approx(87.4897, abs=1e-3)


def test_nab_best_keeps_the_setting_with_the_best_score():
    # three runs of one detector (0/1 flags): a false alarm and a late hit; an early hit; nothing at all
    runs = {"noisy": series(p30=1.0, p58=1.0), "early": series(p51=1.0), "silent": series()}
    key, res = nab_best(runs, WIN)
    assert key == "early" and res.tp == 1 and res.fp == 0
    assert res.normalized == max(nab_score(v, WIN).normalized for v in runs.values())
    assert nab_best({"silent": series()}, WIN)[1].normalized == 0.0  # the null detector scores 0
    with pytest.raises(AekitError, match="no candidate"):
        nab_best({}, WIN)


def test_sweep_agrees_with_fixed_thresholds_on_random_scores():
    rng = np.random.default_rng(0)
    scores = [rng.random(300), rng.random(200)]
    wins = [[(100, 129), (200, 229)], [(150, 170)]]
    thr, totals, null, perfect = sweep_thresholds(scores, wins, "reward_low_FN_rate")
    for j in range(0, len(thr), 37):
        assert nab_score(scores, wins, "reward_low_FN_rate", threshold=thr[j]).raw == pytest.approx(totals[j])
    assert nab_score(scores, wins, "reward_low_FN_rate").raw == pytest.approx(totals.max())


def test_windows_in_the_probationary_period():
    # a window wholly inside the first 15 points is not scored at all
    assert prepare_series(100, [(2, 8)]).n_windows == 0
    # a window straddling it (10..19) is scored from point 15: y = -(19 - 15 + 1) / 10 = -0.5, so the perfect
    # detector earns 0.859793 there, and a detection at 15 scores 100
    s = prepare_series(100, [(10, 19)])
    assert s.n_windows == 1 and s.best == pytest.approx(0.859793, abs=1e-6)
    r = nab_score([np.eye(1, 100, 15)[0]], [[(10, 19)]], threshold=0.5)
    assert r.normalized == pytest.approx(100.0)


def test_window_indices_from_timestamps():
    t = np.arange("2015-01-01T00:00", "2015-01-01T01:40", 5, dtype="datetime64[m]")  # 20 points
    assert window_indices(t, [(t[3], t[6]), (np.datetime64("2015-01-01T00:52"), t[19])]) == [(3, 6), (11, 19)]
    assert window_indices(t, [(np.datetime64("2016-01-01"), np.datetime64("2016-01-02"))]) == []
