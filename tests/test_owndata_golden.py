"""Golden CLI runs: every data-reading command on each input kind (arrays, a table, a time series, a picture
folder, one picture), through the one reader, with the options the model remembers; outputs by extension."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

import aekit
from aekit.cli.main import main

KINDS = ("npy", "table", "series", "pictures")
COMMANDS = ("evaluate", "report", "detect", "encode", "embed", "reconstruct", "compress", "denoise")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny trained run per input kind: {kind: (data path, model path, n samples, id column)}."""
    d = tmp_path_factory.mktemp("golden")
    rng = np.random.default_rng(0)
    np.save(d / "x.npy", (rng.random((40, 12)) * 9).astype(np.float32))
    cols = [f"c{i}" for i in range(6)]
    (d / "t.csv").write_text(
        ",".join(cols + ["name"])
        + "\n"
        + "\n".join(
            ",".join(f"{v:.3f}" for v in r) + f",row{i}" for i, r in enumerate(rng.normal(size=(40, 6)) * 10 + 50)
        )
    )
    values = 50 + 10 * np.sin(np.arange(160) / 6.0)
    (d / "s.csv").write_text(
        "timestamp,value\n"
        + "\n".join(f"2021-03-01 {i // 60:02d}:{i % 60:02d}:00,{v:.4f}" for i, v in enumerate(values))
    )
    (d / "pics").mkdir()
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (20, 16, 3), dtype=np.uint8)).save(d / "pics" / f"p{i:02d}.png")
    spec = {
        "npy": ("dense", "x.npy", 40, "index", []),
        "table": ("dense", "t.csv", 40, "index", ["--columns", ",".join(cols)]),
        "series": ("dense", "s.csv", (160 - 8) // 2 + 1, "timestamp", []),
        "pictures": ("conv", "pics", 12, "path", ["--set", "filters=4"]),
    }
    out = {}
    for kind, (family, data, n, id_col, extra) in spec.items():
        run = d / f"run_{kind}"
        args = [
            "-q",
            "train",
            family,
            "--data",
            str(d / data),
            "--out",
            str(run),
            "--no-report",
            "--set",
            "epochs=1",
            *extra,
        ]
        if family == "dense":
            args += ["--set", "hidden=8"]
        assert main(args) == 0, kind
        out[kind] = (d / data, run / "model.aekit", n, id_col)
    return out


def test_train_remembers_how_the_data_was_read(runs):
    m = aekit.load(runs["series"][1])
    assert (m.data.kind, m.data.window, m.data.stride) == ("series", 8, 2)  # window: 160 points / 20
    assert aekit.load(runs["table"][1]).data.columns == [f"c{i}" for i in range(6)]
    p = aekit.load(runs["pictures"][1])
    assert p.input_shape == (3, 20, 16) and p.data.color == "rgb"  # size and colour from the folder


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_reads_every_kind(runs, kind, command, tmp_path, capsys):
    data, model, n, id_col = runs[kind]
    out = {
        "report": "r.html",
        "detect": "d.csv",
        "encode": "e.csv",
        "embed": "m.npy",
        "reconstruct": "r.npy",
        "compress": "c.aekz",
        "denoise": "n.json",
    }.get(command)
    args = [command, str(model)] + (
        ["--data", str(data)]
        if command == "evaluate"
        else [str(data)]
        if command != "report"
        else ["--data", str(data)]
    )
    args += ["-o", str(tmp_path / out)] if out else []
    capsys.readouterr()
    assert main(["--json", *args]) == 0, capsys.readouterr().err
    if command == "evaluate":
        assert json.loads(capsys.readouterr().out)["n"] == n
    elif command in ("detect", "encode"):
        if command == "detect":  # tables: the error plus the columns' tails; series: the code's Gaussian distance
            assert json.loads(capsys.readouterr().out)["metric"] == {"series": "mse_maha", "pictures": "mse"}.get(
                kind, "mse_tails"
            )  # a 2-D .npy is a table
        rows = list(csv.DictReader(open(tmp_path / out)))
        if command == "detect" and kind == "series":
            assert len(rows) == 160 and set(rows[0]) == {"timestamp", "value", "score", "anomaly"}
        else:
            assert len(rows) == n and next(iter(rows[0])) == id_col
    elif command in ("embed", "reconstruct"):
        assert len(np.load(tmp_path / out)) == n
    elif command == "denoise":
        doc = json.loads((tmp_path / out).read_text())
        assert len(doc["values"]) == n and len(doc[id_col]) == n
    elif command == "report":
        assert (tmp_path / out).stat().st_size > 1000


def test_one_picture_and_a_folder_of_gray_pictures_for_a_28x28_model(tmp_path, capsys):
    from aekit.datasets import load_digits_sample

    x, _ = load_digits_sample()
    (tmp_path / "digits").mkdir()
    for i in range(6):
        Image.fromarray(x[i]).save(tmp_path / "digits" / f"{i}.png")
    ae = aekit.build("dense", input_shape=(28, 28), hidden=[16], latent_dim=4, seed=0)
    ae.fit(x[:64], epochs=1, verbose=0)
    ae.save(tmp_path / "m.aekit")
    assert main(["encode", str(tmp_path / "m.aekit"), str(tmp_path / "digits"), "-o", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (6, 4)
    assert (
        main(
            [
                "reconstruct",
                str(tmp_path / "m.aekit"),
                str(tmp_path / "digits" / "0.png"),
                "-o",
                str(tmp_path / "one.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "one.png").size[0] >= 28


def test_outputs_follow_the_extension_and_a_mismatch_is_refused(runs, tmp_path, capsys):
    data, model, n, _ = runs["table"]
    for bad, msg in (("codes.png", "not pictures"), ("codes_dir", "not pictures"), ("codes.txt", "unsupported type")):
        capsys.readouterr()
        assert main(["encode", str(model), str(data), "-o", str(tmp_path / bad)]) == 2
        assert msg in capsys.readouterr().err and not (tmp_path / bad).exists()
    assert main(["detect", str(model), str(data), "-o", str(tmp_path / "s.npy")]) == 2
    assert "expected a .csv or .json file" in capsys.readouterr().err
    assert main(["reconstruct", str(model), str(data), "-o", str(tmp_path / "rec.csv")]) == 0
    head = (tmp_path / "rec.csv").read_text().splitlines()[0]
    assert head == "index," + ",".join(f"c{i}" for i in range(6))  # the table's own columns


def test_series_detect_writes_points_and_ranges(runs, tmp_path, capsys):
    data, model, _, _ = runs["series"]
    capsys.readouterr()
    # the stored score (mse_maha) is >= 0: a negative threshold flags every point
    assert main(["--json", "detect", str(model), str(data), "-o", str(tmp_path / "p.csv"), "--threshold", "-1"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_points"] == 160 and info["n_points_flagged"] == 160
    assert info["ranges"] == [{"start": "2021-03-01T00:00:00", "end": "2021-03-01T02:39:00"}]
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert rows[5]["timestamp"] == "2021-03-01T00:05:00" and rows[5]["anomaly"] == "1"


@pytest.mark.parametrize("kind", ["table", "series"])
def test_decode_reads_the_codes_encode_wrote_in_every_format(runs, kind, tmp_path, capsys):
    data, model, n, id_col = runs[kind]
    for suf in (".npy", ".csv", ".json"):
        assert main(["-q", "encode", str(model), str(data), "-o", str(tmp_path / f"z{suf}")]) == 0
    assert open(tmp_path / "z.csv").readline().startswith(id_col + ",")
    decoded = {}
    for suf in (".npy", ".csv", ".json"):
        assert main(["-q", "decode", str(model), str(tmp_path / f"z{suf}"), "-o", str(tmp_path / f"y{suf}.npy")]) == 0
        decoded[suf] = np.load(tmp_path / f"y{suf}.npy")
    assert len(decoded[".npy"]) == n
    np.testing.assert_array_equal(decoded[".csv"], decoded[".npy"])  # every digit of the codes
    np.testing.assert_array_equal(decoded[".json"], decoded[".npy"])
    if kind == "table":  # the rows come back under the table's own column names
        assert main(["-q", "decode", str(model), str(tmp_path / "z.csv"), "-o", str(tmp_path / "rows.csv")]) == 0
        assert open(tmp_path / "rows.csv").readline().strip() == "index," + ",".join(f"c{i}" for i in range(6))
        assert main(["-q", "compress", str(model), str(data), "-o", str(tmp_path / "t.aekz")]) == 0
        assert main(["-q", "decompress", str(tmp_path / "t.aekz"), "-o", str(tmp_path / "back.csv")]) == 0
        assert open(tmp_path / "back.csv").readline().strip() == "index," + ",".join(f"c{i}" for i in range(6))
    (tmp_path / "bad.json").write_text('{"rows": []}')
    capsys.readouterr()
    assert main(["decode", str(model), str(tmp_path / "bad.json"), "-o", str(tmp_path / "b.npy")]) == 2
    assert "not the .json that aekit writes for codes" in capsys.readouterr().err


def test_a_series_with_several_value_columns_end_to_end(tmp_path, capsys):
    t = np.arange(200)
    lines = [
        f"2021-03-01 {i // 60:02d}:{i % 60:02d}:00,{50 + 10 * np.sin(i / 6):.4f},{5 * np.cos(i / 6):.4f}" for i in t
    ]
    (tmp_path / "s.csv").write_text("timestamp,cpu,mem\n" + "\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert (
        main(
            [
                "-q",
                "train",
                "dense",
                "--data",
                str(tmp_path / "s.csv"),
                "--out",
                str(run),
                "--set",
                "epochs=2",
                "--set",
                "hidden=8",
            ]
        )
        == 0
    )
    m = aekit.load(run / "model.aekit")
    assert m.input_shape == (10, 2) and m.data.columns == ["cpu", "mem"]  # window 200 / 20, both columns
    assert "The series and its flagged ranges" in (run / "report.html").read_text()
    assert (
        main(
            ["--json", "detect", str(run), str(tmp_path / "s.csv"), "-o", str(tmp_path / "p.csv"), "--threshold", "-1"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["n_points_flagged"] == 200
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert list(rows[0]) == ["timestamp", "cpu", "mem", "score", "anomaly"] and float(rows[0]["cpu"]) == 50.0
    assert main(["detect", "--stream", str(tmp_path / "s.csv"), "-o", str(tmp_path / "st.csv")]) == 2
    assert "one value column; this one has 2 (cpu, mem): pick one with --columns" in capsys.readouterr().err
