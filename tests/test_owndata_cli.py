"""`aekit train` on the user's own data: what it decides and says, --out/--force/--resume, divergence."""

import json

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import AnomalyThreshold
from aekit.cli.main import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)) @ rng.normal(size=(3, 10)) * 30 + 200
    p = d / "table.csv"
    np.savetxt(p, x, delimiter=",", header=",".join(f"c{i}" for i in range(10)), comments="", fmt="%.4f")
    return p


def test_train_json_carries_the_decisions(table, tmp_path, capsys):
    assert (
        main(
            [
                "--json",
                "train",
                "dense",
                "--data",
                str(table),
                "--out",
                str(tmp_path / "r"),
                "--no-report",
                "--set",
                "hidden=8",
                "--set",
                "epochs=2",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    d = s["decided"]
    assert (d["scaling"], d["loss"], d["output_activation"], d["code_size"]) == ("standard", "mse", "linear", 3)
    assert d["samples"] == 120 and d["batch_size"] == 16 and d["steps_per_epoch"] == 8 and d["epochs"] == 2
    assert d["shape"] == [10] and d["value_range"][1] > 200
    # what `aekit detect` will use with no option: the table's score and the training 99th percentile
    assert s["anomaly"]["metric"] == "mse_tails" and s["anomaly"]["contamination"] == 0.01
    assert s["anomaly"]["threshold"] == aekit.load(tmp_path / "r" / "model.aekit").section(AnomalyThreshold).threshold
    # detect on the very file train read flags what train said (1 % of 120 rows: 1 or 2), its rows scored as
    # at the fit (each against the other training rows), not each at distance 0 from itself
    model = str(tmp_path / "r" / "model.aekit")
    assert main(["--json", "detect", model, str(table), "-o", str(tmp_path / "d.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["n_anomalies"] in (1, 2)
    assert (
        main(
            [
                "train",
                "dense",
                "--data",
                str(table),
                "--out",
                str(tmp_path / "r2"),
                "--no-report",
                "--set",
                "hidden=8",
                "--set",
                "epochs=1",
            ]
        )
        == 0
    )
    assert "anomaly: score mse_tails, threshold" in capsys.readouterr().out


def test_out_holding_another_run_is_refused_unless_force_or_resume(table, tmp_path, capsys):
    out = tmp_path / "r"
    base = ["train", "dense", "--data", str(table), "--out", str(out), "--no-report", "--set", "hidden=8"]
    assert main(base + ["--set", "epochs=2"]) == 0
    capsys.readouterr()
    assert main(base + ["--set", "epochs=2"]) == 2
    assert "holds another run (model.aekit" in capsys.readouterr().err
    assert main(base + ["--set", "epochs=1", "--force"]) == 0
    assert len(aekit.load(out / "model.aekit").history.epoch) == 1 and len(list((out / "tb").iterdir())) == 1
    capsys.readouterr()
    assert main(base + ["--set", "epochs=1", "--resume"]) == 0  # fewer epochs than done: said, not silent
    assert "1 epochs done, not fewer than epochs=1; nothing to train" in capsys.readouterr().out


def test_divergence_exits_2_with_one_line_and_keeps_finite_weights(table, tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(
        [
            "train",
            "dense",
            "--data",
            str(table),
            "--out",
            str(out),
            "--no-report",
            "--set",
            "hidden=8",
            "--set",
            "optimizer=sgd",
            "--set",
            "lr=1e6",
            "--set",
            "epochs=3",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("aekit: error: training diverged in epoch 1") and "lower lr" in err[-1]
    m = aekit.load(out / "model.aekit")
    assert np.isfinite(m.reconstruct(np.loadtxt(table, delimiter=",", skiprows=1))).all()


def test_models_family_and_train_family_help_list_every_default(capsys):
    assert main(["models", "dense"]) == 0
    out = capsys.readouterr().out
    for name in ("latent_dim", "epochs", "batch_size", "validation_split", "scale", "hidden", "patience"):
        assert f" {name} " in out
    assert "ceil(input width / 4)" in out
    with pytest.raises(SystemExit):
        main(["train", "lstm", "--help"])
    assert "options of 'lstm'" in capsys.readouterr().out


def test_missing_values_need_impute_which_the_model_remembers(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    rows = [",".join("" if (i % 9 == 2 and j == 1) else f"{v:.4f}" for j, v in enumerate(r)) for i, r in enumerate(x)]
    (tmp_path / "t.csv").write_text("a,b,c,d\n" + "\n".join(rows) + "\n")
    (tmp_path / "new.csv").write_text("a,b,c,d\n,1,2,3\n4,,6,7\n1,1,1,1\n")
    base = [
        "train",
        "dense",
        "--data",
        str(tmp_path / "t.csv"),
        "--out",
        str(tmp_path / "r"),
        "--no-report",
        "--set",
        "epochs=1",
    ]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "column 'b' has 9 missing values" in err and "--impute" in err and not (tmp_path / "r").exists()
    assert main(base + ["--impute", "median"]) == 0
    model = aekit.load(tmp_path / "r" / "model.aekit")
    assert model.data.impute == "median" and model.data.columns == ["a", "b", "c", "d"]
    # detect reads new rows the way the model was trained: their missing values are filled, no option needed
    assert (
        main(["detect", str(tmp_path / "r" / "model.aekit"), str(tmp_path / "new.csv"), "-o", str(tmp_path / "s.csv")])
        == 0
    )
    scores = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1, usecols=1)
    assert scores.shape == (3,) and np.isfinite(scores).all()
