"""The causal streaming detector: past scores never depend on the future; an injected spike is flagged."""

import numpy as np
import pytest

from aekit.apps.anomaly.stream import (
    RANGE_BREAK_SURPRISE,
    range_breaks,
    seasonal_period,
    stream_detect,
    suppress,
    tail_surprise,
)
from aekit.errors import AekitError


def wave(n=1000, seed=0):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 40) + 0.05 * np.random.default_rng(seed).normal(size=n)


@pytest.fixture(scope="module")
def spiked():
    x = wave()
    x[800] += 2.5
    return x, stream_detect(x, window=16, n_train=300, epochs=15, seed=0)


def test_injected_spike_is_flagged_and_little_else(spiked):
    x, res = spiked
    assert res.scores.shape == res.raw.shape == res.labels.shape == (1000,)
    assert res.labels[800:806].any()  # the spike, at most a few points late
    assert res.labels[:300].sum() == 0  # nothing flagged while training
    assert res.labels.sum() - res.labels[800:806].sum() <= 3
    assert res.scores[800:806].max() >= res.threshold


def test_changing_future_points_never_changes_past_scores(spiked):
    x, res = spiked
    y = x.copy()
    y[700:] = np.random.default_rng(1).normal(size=300) * 5  # a different future from point 700 on
    other = stream_detect(y, window=16, n_train=300, epochs=15, seed=0)
    np.testing.assert_array_equal(other.raw[:700], res.raw[:700])
    np.testing.assert_array_equal(other.scores[:700], res.scores[:700])
    np.testing.assert_array_equal(other.labels[:700], res.labels[:700])
    assert not np.array_equal(other.raw[700:], res.raw[700:])


def test_online_learning_stays_causal():
    x = wave(700)
    a = stream_detect(x, window=16, n_train=300, epochs=5, update_every=100, seed=0)
    y = x.copy()
    y[550:] += 3.0
    b = stream_detect(y, window=16, n_train=300, epochs=5, update_every=100, seed=0)
    np.testing.assert_array_equal(a.raw[:550], b.raw[:550])
    np.testing.assert_array_equal(a.scores[:550], b.scores[:550])


def test_tail_model_uses_only_the_past():
    r = np.random.default_rng(0).random(800)
    s = tail_surprise(r, start=200, short=1)
    r2 = r.copy()
    r2[600:] = 100.0
    s2 = tail_surprise(r2, start=200, short=1)
    np.testing.assert_array_equal(s[:600], s2[:600])
    assert s2[600] > 4 and s[:200].max() == 0.0


def test_refractory_period_gives_one_alert_per_event():
    s = np.array([0, 5, 6, 5, 0, 0, 0, 7, 0], dtype=float)
    out, flags = suppress(s, 4.0, refractory=3)
    assert flags.tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 0]
    assert out.tolist() == [0, 5, 0, 0, 0, 0, 0, 7, 0]


def test_two_scores_that_move_together_count_as_one_piece_of_evidence():
    from aekit.apps.anomaly.stream import stream_surprise

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3000), rng.normal(size=3000)
    a[2500], b[2500] = 3.5, 3.5  # both high at the same point
    v = np.zeros(3000)
    one = stream_surprise(a, v, start=1000, short=1, range_tolerance=None)
    same = stream_surprise(np.stack([a, a], axis=1), v, start=1000, short=1, range_tolerance=None)
    both = stream_surprise(np.stack([a, b], axis=1), v, start=1000, short=1, range_tolerance=None)
    # the same score twice: Brown's correction keeps it close to one score (Fisher alone would nearly
    # double it); two independent scores that agree on a point are more surprising than either
    assert abs(same[2500] - one[2500]) < 0.25 * one[2500]
    assert both[2500] > max(one[2500], stream_surprise(b, v, start=1000, short=1, range_tolerance=None)[2500]) + 1.0
    assert abs(np.quantile(same[1000:2500], 0.99) - np.quantile(one[1000:2500], 0.99)) < 0.5


def test_a_sustained_change_is_one_alert_until_the_score_falls_back():
    s = np.array([0, 5, 5, 5, 5, 5, 5, 0, 6, 6, 0], dtype=float)  # above for six points, then a new rise
    out, flags = suppress(s, 4.0, refractory=2)
    assert flags.tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert ((out >= 4.0) == flags.astype(bool)).all()  # flagged exactly where scored


def test_at_risk_gives_the_flags_of_a_run_at_that_risk_without_rerunning_the_model():
    x = wave(900)
    x[[500, 700]] += [1.5, 3.0]
    strict = stream_detect(x, window=16, n_train=300, epochs=5, seed=0)
    loose = stream_detect(x, window=16, n_train=300, epochs=5, seed=0, risk=1e-2)
    scores, labels = strict.at_risk(1e-2)
    np.testing.assert_array_equal(labels, loose.labels)
    np.testing.assert_array_equal(scores, loose.scores)
    assert loose.n_anomalies > strict.n_anomalies  # a larger risk: more flags
    with pytest.raises(AekitError, match="risk"):
        strict.at_risk(0.0)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(AekitError, match="n_train"):
        stream_detect(np.zeros(50), window=32)
    with pytest.raises(AekitError, match="risk"):
        stream_detect(wave(400), window=16, n_train=100, risk=2.0)
    with pytest.raises(AekitError, match="finite"):
        stream_detect(np.full(400, np.nan), window=16, n_train=100)
    with pytest.raises(AekitError, match="range_tolerance"):
        stream_detect(wave(400), window=16, n_train=100, range_tolerance=-0.1)
    with pytest.raises(AekitError, match="season"):
        stream_detect(wave(400), window=16, n_train=100, season=90)  # no room for a cycle and a window
    for bad in (-1, True, 2.5, 84):  # 84 > 100 - 16 - 1 training windows' others
        with pytest.raises(AekitError, match="neighbours"):
            stream_detect(wave(400), window=16, n_train=100, neighbours=bad)


def test_cli_detect_stream_writes_points_and_flags_the_spike(tmp_path, capsys):
    import csv
    import json

    from aekit.cli.main import main

    x = wave(900)
    x[700] += 3.0
    t = np.arange("2015-01-01T00:00", 900 * 5, 5, dtype="datetime64[m]")[:900]
    src = tmp_path / "series.csv"
    src.write_text("timestamp,value\n" + "".join(f"{str(a).replace('T', ' ')}:00,{b:.6f}\n" for a, b in zip(t, x)))
    out = tmp_path / "points.csv"
    cmd = ["detect", "--stream", str(src), "-o", str(out), "--stream-window", "16", "--train-points", "300", "--json"]
    assert main(cmd) == 0
    info = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 900 and list(rows[0]) == ["index", "timestamp", "value", "score", "anomaly"]
    flagged = [int(row["index"]) for row in rows if row["anomaly"] == "1"]
    assert any(700 <= i <= 705 for i in flagged) and info["n_anomalies"] == len(flagged) and info["n_train"] == 300
    assert main(cmd[:-1] + ["--threshold", "3"]) == 2
    assert "does not apply to --stream" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # too short a history for a tail model
        main(cmd + ["--history", "50"])
    assert e.value.code == 2 and "--history" in capsys.readouterr().err
    assert main(cmd + ["--history", "400", "--no-range-check", "--season", "none"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_anomalies"] >= 1 and info["season"] is None
    assert main(cmd + ["--season", "40"]) == 0 and json.loads(capsys.readouterr().out)["season"] == 40
    assert main(cmd + ["--neighbours", "0"]) == 0  # the reconstruction error alone
    flagged = [int(row["index"]) for row in csv.DictReader(out.open()) if row["anomaly"] == "1"]
    assert json.loads(capsys.readouterr().out)["neighbours"] == 0 and any(700 <= i <= 705 for i in flagged)
    assert main(cmd + ["--neighbours", "500"]) == 2  # more than the training windows hold
    assert "neighbours=500" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(cmd + ["--season", "daily"])
    assert e.value.code == 2 and "expected auto, none or a period" in capsys.readouterr().err


def test_alarms_kept_out_of_the_history_do_not_hide_the_next_one():
    r = np.random.default_rng(0).random(700)
    r[[400, 402, 404, 600]] = 3.0  # an anomaly, then the same again 200 points later
    plain = tail_surprise(r, start=200, short=1)
    spot = tail_surprise(r, start=200, short=1, exclude=4.0)
    assert plain[400] > 4 and spot[600] > 4
    assert spot[600] > plain[600]  # the first anomaly made the second look ordinary
    np.testing.assert_array_equal(spot[:401], plain[:401])


def test_range_breaks_are_causal_per_channel_and_respect_the_tolerance():
    v = np.array([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0], [1.04, 5.0], [0.2, 5.0], [0.2, 6.0]])
    # channel 0 spans [0, 1]: 1.04 is inside the 5 % tolerance; channel 1 is constant until its jump,
    # and a constant past has no range to leave
    assert range_breaks(v, start=2, tolerance=0.05).tolist() == [False] * 6
    assert range_breaks(v[:, 0], start=2, tolerance=0.0).tolist() == [False, False, False, True, False, False]
    w = np.r_[v[:, 0], -0.2]  # below the minimum by 0.2 > 5 % of 1.04
    assert range_breaks(w, start=2, tolerance=0.05)[-1]
    assert not range_breaks(w, start=7, tolerance=0.05).any()  # nothing before `start`


def test_a_new_level_is_flagged_on_its_first_point_and_the_check_can_be_turned_off():
    x = wave(900)
    x[700:] += 0.6  # a level shift to values the training part never reached (max ~1.1)
    on = stream_detect(x, window=16, n_train=300, epochs=5, seed=0, refractory=0)  # no quiet period to hide it
    off = stream_detect(x, window=16, n_train=300, epochs=5, seed=0, refractory=0, range_tolerance=None)
    first = 700 + int(np.argmax(x[700:] > x[:700].max() + 0.05 * np.ptp(x[:700])))
    assert on.scores[first] >= RANGE_BREAK_SURPRISE and on.labels[first] == 1
    assert off.scores[first] < RANGE_BREAK_SURPRISE
    np.testing.assert_array_equal(on.raw, off.raw)  # the check changes the scores, not the model


def test_seasonal_period_finds_a_cycle_and_nothing_in_noise_or_a_trend():
    t = np.arange(900)
    assert seasonal_period(np.sin(2 * np.pi * t / 40) + 0.1 * np.random.default_rng(0).normal(size=900)) == 40
    assert seasonal_period(np.random.default_rng(1).normal(size=900)) is None
    assert seasonal_period(t * 0.01) is None  # smooth, correlated at every short lag
    assert seasonal_period(np.zeros(50)) is None


def test_a_missing_daily_peak_is_found_only_beside_the_previous_cycle():
    # a 48-point "day": a sine with a peak at the same hour every day; one day after training has no peak.
    # Its values stay in range and its shape is smooth, so a 16-point window alone sees nothing wrong.
    n, t = 1500, np.arange(1500)
    x = np.sin(2 * np.pi * t / 48) + 0.05 * np.random.default_rng(0).normal(size=n)
    peak = (t % 48 >= 20) & (t % 48 < 26)
    x[peak & ((t < 1100) | (t >= 1148))] += 1.0
    day = slice(1100 + 20, 1100 + 26 + 16)
    # the reconstruction error alone (neighbours=0): with the previous cycle beside each window, or without
    seen = stream_detect(x, window=16, n_train=600, epochs=20, seed=0, neighbours=0)
    blind = stream_detect(x, window=16, n_train=600, epochs=20, seed=0, season=None, neighbours=0)
    assert seen.season == 48 and blind.season is None
    assert seen.labels[day].any() and seen.labels[600:].sum() <= 3
    assert not blind.labels[day].any()
    # the code's distance to the training codes sees it without the previous cycle: the model reconstructs
    # the flat day well, but no training window's code lies near that day's
    near = stream_detect(x, window=16, n_train=600, epochs=20, seed=0, season=None)
    assert near.labels[day].any() and near.labels[600:].sum() <= 3
    assert near.distance[day].max() > 2 * near.distance[600:1100].max()


def test_a_given_plain_model_gets_no_season_channel():
    import aekit
    from aekit.apps.anomaly.stream import _scaled
    from aekit.datasets import sliding_windows

    x = np.sin(2 * np.pi * np.arange(1500) / 48)  # repeats: 'auto' would find 48
    m = aekit.build(
        "dense", input_shape=(16, 1), hidden=[8], latent_dim=2, output_activation="linear", loss="mse", seed=0
    )
    m.fit(sliding_windows(_scaled(x, 225), 16)[:200], epochs=1, verbose=0, seed=0)
    res = stream_detect(x, window=16, model=m)
    assert res.season is None and res.raw.shape == (1500,)
    with pytest.raises(AekitError, match="does not fit the model's input shape"):
        stream_detect(x, window=16, model=m, season=48)
