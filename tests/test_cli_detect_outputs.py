"""What `aekit detect` (and every output writer) writes, row by row and digit by digit: the input's row
order, no negative zero, full float precision, and a table whose first column holds negative numbers."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from aekit.cli.main import main
from aekit.cli.outputs import write_output, write_records


def _rows(path) -> list[dict]:
    """A CSV output's rows as dicts (the file read whole, so no handle is left open)."""
    return list(csv.DictReader(io.StringIO(Path(path).read_text())))


def _table(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(Path(path).read_text())))


def _json(path):
    return json.loads(Path(path).read_text())


def _cells(path):
    """Every cell of a CSV file after its header, as text."""
    return [c for row in _table(path)[1:] for c in row]


def test_no_negative_zero_is_ever_written(tmp_path):
    arr = np.array([[-0.0, 1.5], [2.0, -0.0]], dtype=np.float32)
    write_output(tmp_path / "a.csv", arr)
    write_output(tmp_path / "a.json", arr)
    cols = {"index": [0, 1], "value": np.array([-0.0, 3.0]), "score": [np.float32(-0.0), -0.0]}
    write_records(tmp_path / "r.csv", cols)
    write_records(tmp_path / "r.json", cols)
    for name in ("a.csv", "r.csv"):
        cells = _cells(tmp_path / name)
        assert not [c for c in cells if c.startswith("-0") and float(c) == 0], (name, cells)
    assert "-0" not in (tmp_path / "a.json").read_text() and "-0" not in (tmp_path / "r.json").read_text()


STREAM = ["--stream-window", "8", "--train-points", "100", "--history", "100", "--seed", "0"]


def _series(path, values, order=None):
    """A timestamp,value CSV of ``values`` at one point a minute, its rows written in ``order``."""
    t = np.arange("2021-03-01T00:00", len(values), dtype="datetime64[m]")[: len(values)]
    order = range(len(values)) if order is None else order
    path.write_text("timestamp,value\n" + "".join(f"{str(t[i]).replace('T', ' ')}:00,{values[i]}\n" for i in order))
    return path


def test_detect_stream_writes_no_negative_zero(tmp_path):
    values = [str(float(v)) for v in np.round(np.sin(np.arange(300) / 5.0), 1)]
    values[150:160] = ["-0.0"] * 10
    src = _series(tmp_path / "s.csv", values)
    assert main(["-q", "detect", "--stream", str(src), "-o", str(tmp_path / "p.csv"), *STREAM]) == 0
    rows = _rows(tmp_path / "p.csv")
    assert [float(r["value"]) for r in rows[150:160]] == [0.0] * 10
    assert not [c for r in rows for c in (r["value"], r["score"]) if c.startswith("-") and float(c) == 0]


def test_outputs_write_every_digit_of_a_float_and_integers_as_integers(tmp_path):
    x64 = np.array([[0.12345678901234566, 123456.78901234567], [1e-300, -2.5]])
    x32 = np.array([[0.1, 1.2345678], [3.4028235e38, -7.0]], dtype=np.float32)
    for arr in (x64, x32):
        for suf in (".csv", ".json"):
            out = write_output(tmp_path / f"a{arr.dtype}{suf}", arr)
            back = (
                np.array(json.loads(out.read_text())["values"], arr.dtype)
                if suf == ".json"
                else _csv_values(out, arr.dtype)
            )
            np.testing.assert_array_equal(back, arr)  # every digit: the values read back as they were
    assert _cells(tmp_path / "afloat32.csv")[:3] == ["0", "0.1", "1.2345678"]  # the shortest that reads back
    assert _cells(tmp_path / "afloat64.csv")[1] == "0.12345678901234566"
    assert '"values": [[0.1, 1.2345678]' in (tmp_path / "afloat32.json").read_text()
    write_output(tmp_path / "i.csv", np.array([[3, 255]], dtype=np.uint8))
    assert _cells(tmp_path / "i.csv") == ["0", "3", "255"]
    cols = {"index": [7], "value": [np.float32(0.1)], "score": [0.12345678901234566], "anomaly": [np.int64(1)]}
    write_records(tmp_path / "r.csv", cols)
    write_records(tmp_path / "r.json", cols, extra={"threshold": 0.5})
    assert _cells(tmp_path / "r.csv") == ["7", "0.1", "0.12345678901234566", "1"]
    assert json.loads((tmp_path / "r.json").read_text())["rows"] == [
        {"index": 7, "value": 0.1, "score": 0.12345678901234566, "anomaly": 1}
    ]


def _csv_values(path, dtype):
    return np.array([[dtype.type(c) for c in row[1:]] for row in _table(path)[1:]])


def test_detect_writes_every_digit_of_values_and_scores(tmp_path):
    values = [f"{v:.15g}" for v in 10 + np.sin(np.arange(300) / 5.0) + np.arange(300) * 1e-9]
    src = _series(tmp_path / "s.csv", values)
    assert main(["-q", "detect", "--stream", str(src), "-o", str(tmp_path / "p.csv"), *STREAM]) == 0
    rows = _rows(tmp_path / "p.csv")
    assert [float(r["value"]) for r in rows] == [float(v) for v in values]
    digits = [len(r["score"].lstrip("-0.").replace(".", "").split("e")[0]) for r in rows]
    assert max(digits) > 10  # a score of float64 precision, not 6 significant digits


@pytest.mark.parametrize("first", ["-3", "-12", "-2021", "+5", "-0.5", " -7"])
def test_a_table_whose_first_cell_is_a_negative_number_stays_a_table(tmp_path, first):
    from aekit.datasets.reader import looks_like_series, read_source

    rng = np.random.default_rng(0)
    rows = [[first.strip(), "1.5", "2"]] + [[f"{v:.3f}" for v in r] for r in rng.normal(size=(39, 3))]
    src = tmp_path / "t.csv"
    src.write_text("a,b,c\n" + "\n".join(",".join(r) for r in rows).replace(first.strip(), first, 1) + "\n")
    assert not looks_like_series(src)
    s = read_source(src)
    assert s.kind == "table" and s.x.shape == (40, 3) and s.x[0, 0] == float(first)
    run = tmp_path / "run"
    args = ["-q", "train", "dense", "--data", str(src), "--out", str(run), "--no-report", "--set", "epochs=1"]
    assert main(args + ["--set", "hidden=4"]) == 0
    assert main(["-q", "detect", str(run), str(src), "-o", str(tmp_path / "d.csv")]) == 0
    assert len(_rows(tmp_path / "d.csv")) == 40


def test_a_series_still_starts_with_a_date(tmp_path):
    from aekit.datasets.reader import looks_like_series

    (tmp_path / "s.csv").write_text("when,v\n2021-03-01 00:00:00,1\n2021-03-01 00:01:00,2\n")
    (tmp_path / "d.csv").write_text("day,v\n2021-03-01,1\n2021-03-02,2\n")
    assert looks_like_series(tmp_path / "s.csv") and looks_like_series(tmp_path / "d.csv")


def _shuffled_series(tmp_path, n=240):
    """The same series twice: in time order, and with its rows out of time order (a block moved, two swapped)."""
    values = [f"{v:.4f}" for v in 50 + 10 * np.sin(np.arange(n) / 6.0)]
    values[180] = "90.0"  # something to flag
    order = list(range(100, 160)) + list(range(100)) + list(range(160, n))
    order[5], order[200] = order[200], order[5]
    return _series(tmp_path / "sorted.csv", values), _series(tmp_path / "shuffled.csv", values, order), order


def _by_time(rows):
    return {r["timestamp"].replace(" ", "T"): r for r in rows}


@pytest.mark.filterwarnings("always")  # the same warning again in this process: said by each command
@pytest.mark.parametrize("family", ["dense", "lstm"])
def test_detect_writes_the_rows_of_an_unordered_series_in_the_input_order(family, tmp_path, capsys):
    ordered, shuffled, order = _shuffled_series(tmp_path)
    run = tmp_path / "run"
    train = ["-q", "--seed", "0", "train", family, "--data", str(shuffled), "--out", str(run), "--no-report"]
    assert main(train + ["--set", "epochs=1"]) == 0
    assert "the rows were sorted by time" in capsys.readouterr().err
    for suf in (".csv", ".json"):
        assert main(["-q", "detect", str(run), str(shuffled), "-o", str(tmp_path / f"p{suf}")]) == 0
        assert "not in increasing order; the rows were sorted by time" in capsys.readouterr().err  # still said
        assert main(["-q", "detect", str(run), str(ordered), "-o", str(tmp_path / f"q{suf}")]) == 0
    lines = shuffled.read_text().splitlines()[1:]
    for suf in (".csv", ".json"):
        read = _rows if suf == ".csv" else lambda p: _json(p)["rows"]
        got, want = read(tmp_path / f"p{suf}"), _by_time(read(tmp_path / f"q{suf}"))
        assert [(r["timestamp"].replace("T", " "), float(r["value"])) for r in got] == [
            (line.split(",")[0], float(line.split(",")[1])) for line in lines
        ]  # the input's rows, in the input's order
        assert [(r["score"], r["anomaly"]) for r in got] == [
            (want[t]["score"], want[t]["anomaly"]) for t in _by_time(got)
        ]  # each point's score as in time order
    assert _json(tmp_path / "p.json")["ranges"] == _json(tmp_path / "q.json")["ranges"]


def test_detect_stream_writes_the_rows_of_an_unordered_series_in_the_input_order(tmp_path, capsys):
    ordered, shuffled, order = _shuffled_series(tmp_path, n=300)
    assert main(["-q", "detect", "--stream", str(shuffled), "-o", str(tmp_path / "p.csv"), *STREAM]) == 0
    assert "the rows were sorted by time" in capsys.readouterr().err
    assert main(["-q", "detect", "--stream", str(ordered), "-o", str(tmp_path / "q.csv"), *STREAM]) == 0
    got, want = (
        _rows(tmp_path / "p.csv"),
        _rows(tmp_path / "q.csv"),
    )
    lines = shuffled.read_text().splitlines()[1:]
    assert [(r["timestamp"], float(r["value"])) for r in got] == [
        (line.split(",")[0], float(line.split(",")[1])) for line in lines
    ]
    assert [r["index"] for r in got] == [str(i) for i in range(300)]  # the input's row number
    assert [(r["score"], r["anomaly"]) for r in got] == [(want[i]["score"], want[i]["anomaly"]) for i in order]
