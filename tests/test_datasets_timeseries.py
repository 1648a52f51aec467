"""Time series: CSV loading, windows, scores back to points, NAB labels, z-normalisation."""

import json

import numpy as np
import pytest

from aekit.datasets import (
    TimeSeries,
    fit_scaler,
    load_nab_windows,
    load_timeseries,
    nab_labels,
    sliding_windows,
    train_test_split,
    window_scores_to_points,
)
from aekit.errors import AekitError


def series_csv(path, n=10, start="2015-09-01 13:45:00", step_min=5):
    t0 = np.datetime64(start.replace(" ", "T"))
    lines = ["timestamp,value"] + [
        f"{str(t0 + np.timedelta64(step_min * i, 'm')).replace('T', ' ')},{i * 1.5}" for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_load_timeseries(tmp_path):
    ts = load_timeseries(series_csv(tmp_path / "s.csv"))
    assert isinstance(ts, TimeSeries) and len(ts) == 10 and ts.path.endswith("s.csv")
    t, v = ts
    assert t.dtype == np.dtype("datetime64[s]") and v.dtype == np.float64
    assert str(t[1]) == "2015-09-01T13:50:00" and v[2] == 3.0


def test_load_timeseries_other_column_names_and_order(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("value,Timestamp\n1,2020-01-01 00:00:00\n2,2020-01-01 01:00:00\n")
    assert load_timeseries(p).values.tolist() == [1.0, 2.0]
    p.write_text("time,load\n2020-01-01,5\n")
    assert load_timeseries(p).values.tolist() == [5.0]


def test_unix_seconds_and_rows_out_of_order(tmp_path):
    p = tmp_path / "epoch.csv"
    p.write_text("timestamp,value\n1600000000,1\n1600000060,2\n")
    assert [str(t) for t in load_timeseries(p).timestamps] == ["2020-09-13T12:26:40", "2020-09-13T12:27:40"]
    p.write_text("timestamp,value\n2020-01-01 00:02:00,3\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,2\n")
    with pytest.warns(UserWarning, match="not in increasing order; the rows were sorted by time"):
        ts = load_timeseries(p)
    assert ts.values.tolist() == [1.0, 2.0, 3.0] and str(ts.timestamps[0]) == "2020-01-01T00:00:00"


def test_several_value_columns_make_a_multivariate_series(tmp_path):
    from aekit.datasets.reader import read_source

    p = tmp_path / "multi.csv"
    p.write_text("timestamp,a,b\n" + "\n".join(f"2020-01-01 00:{i:02d}:00,{i},{2 * i}" for i in range(40)) + "\n")
    ts = load_timeseries(p)
    assert ts.values.shape == (40, 2) and ts.columns == ["a", "b"] and ts.values[3].tolist() == [3.0, 6.0]
    assert load_timeseries(p, columns=["b"]).values.tolist()[:3] == [0.0, 2.0, 4.0]
    s = read_source(p)  # windows (N, window, 2), and the model will remember both columns
    assert s.kind == "series" and s.x.shape[1:] == (8, 2) and s.description.columns == ["a", "b"]
    assert read_source(p, columns="b").x.shape[1:] == (8, 1)
    one = read_source(series_csv(tmp_path / "one.csv", n=40))
    assert one.description.columns is None  # one 'value': nothing to remember
    with pytest.raises(AekitError, match="no column 'c'; available: timestamp, a, b"):
        load_timeseries(p, columns=["c"])
    p.write_text("timestamp,a,b\n2020-01-01 00:00:00,1,x\n")
    with pytest.raises(AekitError, match="data row 1: 'x' is not a number in column 'b'"):
        load_timeseries(p)


def test_load_timeseries_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n")
    with pytest.raises(AekitError, match=r"bad.csv: data row 2: 'yesterday' is not a timestamp"):
        load_timeseries(p)
    p.write_text("timestamp,value\n2020-01-01 00:00:00,high\n")
    with pytest.raises(AekitError, match=r"bad.csv: data row 1: 'high' is not a number"):
        load_timeseries(p)
    p.write_text("timestamp,value\n2020-01-01 00:00:00,nan\n")
    with pytest.raises(AekitError, match=r"bad.csv: data row 1: missing or infinite value 'nan'"):
        load_timeseries(p)
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(AekitError, match="expected a header with 'timestamp' and 'value'"):
        load_timeseries(p)
    with pytest.raises(AekitError, match="no such file"):
        load_timeseries(tmp_path / "nope.csv")


def test_sliding_windows():
    w = sliding_windows(np.arange(10), length=4, stride=3)
    assert w.shape == (3, 4, 1) and w.dtype == np.float32 and w.flags.c_contiguous
    assert w[:, :, 0].tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert sliding_windows(np.arange(5), 5).shape == (1, 5, 1)
    multi = sliding_windows(np.arange(12).reshape(6, 2), length=3)
    assert multi.shape == (4, 3, 2) and multi[1, :, 1].tolist() == [3, 5, 7]


def test_sliding_windows_too_short_names_file_and_lengths(tmp_path):
    ts = load_timeseries(series_csv(tmp_path / "short.csv", n=10))
    with pytest.raises(AekitError) as e:
        sliding_windows(ts, length=50)
    msg = str(e.value)
    assert "short.csv" in msg and "10 points" in msg and "length 50" in msg and "\n" not in msg
    with pytest.raises(
        AekitError, match="sliding_windows: the series has 3 points, shorter than one window of length 4"
    ):
        sliding_windows([1, 2, 3], 4)
    with pytest.raises(AekitError, match="stride must be >= 1"):
        sliding_windows(np.arange(10), 3, stride=0)


def test_window_scores_to_points_mean_and_max():
    assert window_scores_to_points([1.0, 3.0], 4, 3).tolist() == [1.0, 2.0, 2.0, 3.0]
    assert window_scores_to_points([1.0, 3.0], 4, 3, reduce="max").tolist() == [1.0, 3.0, 3.0, 3.0]
    # stride 2 over 8 points, length 4: windows at 0, 2, 4; point 7 is covered by none -> last score
    out = window_scores_to_points([1.0, 2.0, 4.0], 8, 4, stride=2)
    assert out.tolist() == [1.0, 1.0, 1.5, 1.5, 3.0, 3.0, 4.0, 4.0]


def test_window_scores_per_position_and_roundtrip():
    x = np.arange(10.0)
    w = sliding_windows(x, 4, stride=2)
    back = window_scores_to_points(w[:, :, 0], len(x), 4, stride=2)
    np.testing.assert_allclose(back[:8], x[:8])  # per-position scores land where they came from
    with pytest.raises(AekitError, match=r"expected 4 scores"):
        window_scores_to_points(np.ones(5), 10, 4, stride=2)
    with pytest.raises(AekitError, match="reduce must be"):
        window_scores_to_points(np.ones(4), 10, 4, stride=2, reduce="median")


def test_nab_windows_and_labels(tmp_path):
    (tmp_path / "realX").mkdir()
    series_csv(tmp_path / "realX" / "s.csv", n=10)
    (tmp_path / "combined_windows.json").write_text(
        json.dumps(
            {"realX/s.csv": [["2015-09-01 13:55:00.000000", "2015-09-01 14:05:00.000000"]], "realX/none.csv": []}
        )
    )
    wins = load_nab_windows(tmp_path)
    assert set(wins) == {"realX/s.csv", "realX/none.csv"}
    ts = load_timeseries(tmp_path / "realX" / "s.csv")
    lab = nab_labels(tmp_path, "realX/s.csv", ts.timestamps)
    assert lab.dtype == np.uint8 and lab.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert nab_labels(tmp_path / "combined_windows.json", "realX/none.csv", ts.timestamps).sum() == 0
    with pytest.raises(AekitError, match="no series 'realX/other.csv'"):
        nab_labels(tmp_path, "realX/other.csv", ts.timestamps)
    with pytest.raises(AekitError, match="combined_windows.json: no such file"):
        load_nab_windows(tmp_path / "realX")


def test_z_normalisation_uses_training_part_only(tmp_path):
    values = np.r_[np.zeros(50), np.full(50, 100.0)]
    train, test = train_test_split(values, test_size=0.5, shuffle=False)
    scaler = fit_scaler(train, "standard")
    z = scaler.transform(values)
    assert abs(z[:50].mean()) < 1e-6 and z[50:].min() > 10  # test part far out: no leakage
    assert sliding_windows(z, 10).shape == (91, 10, 1)
