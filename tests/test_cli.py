"""Golden tests of the aekit command line on tiny inputs: files written, exit codes, --json output."""

import json

import numpy as np
import pytest

from aekit.cli.main import commands, main

# every discovered subcommand, the apps' ones included
ALL_COMMANDS = sorted(commands())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """200 embedded digits as .npy (uint8 (N, 28, 28)) and .npz (x, y), plus 5 of them as PNG files."""
    from PIL import Image

    from aekit.datasets import load_digits_sample

    d = tmp_path_factory.mktemp("data")
    x, y = load_digits_sample()
    x, y = x[:200], y[:200]
    np.save(d / "x.npy", x)
    np.savez(d / "d.npz", x=x, y=y)
    (d / "pics").mkdir()
    for i in range(5):
        Image.fromarray(x[i]).save(d / "pics" / f"digit{i}.png")
    return d


@pytest.fixture(scope="module")
def run_dir(data, tmp_path_factory):
    """One small conv run (1 epoch on 200 digits), with its report."""
    out = tmp_path_factory.mktemp("runs") / "conv"
    rc = main(
        [
            "train",
            "conv",
            "--data",
            str(data / "d.npz"),
            "--out",
            str(out),
            "--set",
            "epochs=1",
            "--set",
            "filters=4,4",
            "--seed",
            "0",
            "--quiet",
        ]
    )
    assert rc == 0
    return out


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_train_writes_the_run_folder(run_dir):
    for name in ("model.aekit", "history.csv", "report.html", "checkpoint.aekit"):
        assert (run_dir / name).stat().st_size > 0, name
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    lines = (run_dir / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss") and len(lines) == 2
    html = (run_dir / "report.html").read_text()
    assert html.count("<img") >= 5 and "data:image/png;base64," in html


def test_train_json_and_set_options(data, tmp_path, capsys):
    out = tmp_path / "dense"
    rc = main(
        [
            "train",
            "dense",
            "--data",
            str(data / "x.npy"),
            "--out",
            str(out),
            "--set",
            "hidden=16",
            "--set",
            "latent_dim=3",
            "--set",
            "epochs=2",
            "--set",
            "corruption=gaussian:0.3",
            "--no-report",
            "--json",
        ]
    )
    assert rc == 0
    s = _json(capsys)
    assert s["epochs"] == 2 and s["family"] == "dense" and np.isfinite(s["final_loss"])
    rc = main(["info", str(out / "model.aekit"), "--json"])
    info = _json(capsys)
    assert info["code_size"] == 3 and info["config"]["hidden"] == [16]
    assert info["config"]["corruption"] == {"kind": "gaussian", "amount": 0.3, "clip": True}
    assert sum(layer["params"] for layer in info["layers"]) == info["n_params"]
    assert info["training"]["epochs"] == 2 and info["training"]["train_config"]["epochs"] == 2


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_train_config_file(data, tmp_path, capsys, suffix):
    cfg = tmp_path / f"c{suffix}"
    if suffix == ".toml":
        cfg.write_text(
            "[model]\nhidden = [8]\nlatent_dim = 5\n[model.sparsity]\nkind = 'kl'\nweight = 0.1\n"
            "[train]\nepochs = 1\nbatch_size = 50\n"
        )
    else:
        cfg.write_text(
            "model:\n  hidden: [8]\n  latent_dim: 5\n  sparsity: kl\ntrain:\n  epochs: 1\n  batch_size: 50\n"
        )
    out = tmp_path / "run"
    # --set wins over the file
    assert (
        main(
            [
                "train",
                "dense",
                "--data",
                str(data / "x.npy"),
                "--out",
                str(out),
                "--config",
                str(cfg),
                "--set",
                "latent_dim=6",
                "--no-report",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["info", str(out / "model.aekit"), "--json"]) == 0
    info = _json(capsys)
    assert info["code_size"] == 6 and info["config"]["sparsity"]["kind"] == "kl"
    assert info["training"]["train_config"]["batch_size"] == 50
    assert main(["evaluate", str(out / "model.aekit"), "--data", str(data / "x.npy"), "--json"]) == 0
    m = _json(capsys)
    assert 0 < m["mean_code_activation"] < 1 and m["n"] == 200


def test_resume_finishes_with_the_right_number_of_epochs(data, tmp_path, capsys):
    from aekit.runs import train_run
    from aekit.training.callbacks import Callback

    class Kill(Callback):  # stands in for a killed process: stop hard after the 2nd epoch
        def on_epoch_end(self, state, logs):
            if state.epoch == 2:
                raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_run(
            "dense",
            str(data / "x.npy"),
            out,
            options={"hidden": "8", "latent_dim": "2", "epochs": "4"},
            callbacks=[Kill()],
            report=False,
        )
    assert (out / "checkpoint.aekit").exists() and not (out / "model.aekit").exists()
    assert (out / "history.csv").read_text().count("\n") == 3  # written as training went: both finished epochs
    rc = main(
        [
            "train",
            "dense",
            "--data",
            str(data / "x.npy"),
            "--out",
            str(out),
            "--set",
            "epochs=4",
            "--resume",
            "--no-report",
            "--json",
        ]
    )
    assert rc == 0 and _json(capsys)["epochs"] == 4
    import aekit

    m = aekit.load(out / "model.aekit")
    assert m.history.epoch == [0, 1, 2, 3] and len(m.history.history["loss"]) == 4
    assert (out / "history.csv").read_text().count("\n") == 5


def test_encode_decode_reconstruct(run_dir, data, tmp_path, capsys):
    from PIL import Image

    model = str(run_dir / "model.aekit")
    assert main(["encode", model, str(data / "x.npy"), "-o", str(tmp_path / "c.npy"), "--json"]) == 0
    assert _json(capsys)["shape"] == [200, 196]  # 4 filters x 7 x 7
    codes = np.load(tmp_path / "c.npy")
    assert codes.shape == (200, 196) and codes.dtype == np.float32
    assert main(["decode", model, str(tmp_path / "c.npy"), "-o", str(tmp_path / "y.npy"), "--quiet"]) == 0
    dec = np.load(tmp_path / "y.npy")
    assert dec.shape == (200, 1, 28, 28) and 0 <= dec.min() and dec.max() <= 1
    assert main(["decode", model, str(tmp_path / "c.npy"), "-o", str(tmp_path / "grid.png"), "--quiet"]) == 0
    assert Image.open(tmp_path / "grid.png").size[0] > 28 * 10
    assert main(["reconstruct", model, str(data / "x.npy"), "-o", str(tmp_path / "r.npy"), "--quiet"]) == 0
    rec = np.load(tmp_path / "r.npy")
    assert rec.shape == (200, 28, 28)  # the input's own layout
    # pictures in, pictures out, same names
    assert main(["reconstruct", model, str(data / "pics"), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"digit{i}.png" for i in range(5)]
    assert Image.open(tmp_path / "out" / "digit0.png").size == (28, 28)
    one = tmp_path / "one.npy"
    assert main(["encode", model, str(data / "pics" / "digit3.png"), "-o", str(one), "--quiet"]) == 0
    np.testing.assert_allclose(np.load(one)[0], codes[3], atol=1e-5)  # PNG is lossless


def test_evaluate_report_info(run_dir, data, tmp_path, capsys):
    model = str(run_dir / "model.aekit")
    assert main(["evaluate", model, "--data", str(data / "x.npy"), "--json"]) == 0
    m = _json(capsys)
    e = m["error"]
    assert m["n"] == 200 and e["min"] <= e["p50"] <= e["p90"] <= e["p95"] <= e["p99"] <= e["max"]
    assert m["loss"] == pytest.approx(m["reconstruction"]) and "kl" not in m
    assert main(["evaluate", model, "--data", str(data / "x.npy")]) == 0
    assert "per-sample mse" in capsys.readouterr().out
    assert main(["info", model]) == 0
    text = capsys.readouterr().out
    assert "family      conv" in text and "training    1 epochs" in text
    assert main(["report", str(run_dir), "-o", str(tmp_path / "r.html"), "--json"]) == 0
    assert _json(capsys)["report"] == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().count("<img") >= 5


def test_help_of_every_command_shows_examples(capsys):
    assert {"demo", "train", "detect", "compress", "export", "embed"} <= set(ALL_COMMANDS)
    for cmd in ALL_COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        assert "examples:" in capsys.readouterr().out, cmd
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("aekit ")


def test_models_still_lists_the_families(capsys):
    assert main(["models", "--json"]) == 0
    assert {"conv", "vae", "dense", "lstm"} <= set(_json(capsys)["models"])


def test_train_on_a_folder_a_table_and_a_time_series(data, tmp_path, capsys):
    from PIL import Image

    import aekit

    pics = tmp_path / "pics"
    for cls in ("a", "b"):
        (pics / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(np.load(data / "x.npy")[i + (12 if cls == "b" else 0)]).save(pics / cls / f"{i}.png")
    assert (
        main(
            [
                "train",
                "conv",
                "--data",
                str(pics),
                "--image-size",
                "16x16",
                "--out",
                str(tmp_path / "p"),
                "--set",
                "epochs=1",
                "--set",
                "filters=4",
                "--no-report",
                "--quiet",
            ]
        )
        == 0
    )
    m = aekit.load(tmp_path / "p" / "model.aekit")
    assert m.input_shape == (1, 16, 16) and m.data.class_names == ["a", "b"]
    # the model remembers the picture size: evaluate reads the folder at 16x16 again
    assert main(["evaluate", str(tmp_path / "p" / "model.aekit"), "--data", str(pics), "--json"]) == 0
    assert _json(capsys)["n"] == 24

    rng = np.random.default_rng(0)
    table = tmp_path / "t.csv"
    table.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.3f}" for v in r) for r in rng.random((40, 3)) * 50))
    assert (
        main(
            [
                "train",
                "dense",
                "--data",
                str(table),
                "--out",
                str(tmp_path / "t"),
                "--set",
                "hidden=4",
                "--set",
                "latent_dim=2",
                "--set",
                "epochs=1",
                "--no-report",
                "--quiet",
            ]
        )
        == 0
    )
    m = aekit.load(tmp_path / "t" / "model.aekit")
    assert m.input_shape == (3,) and m.train_config.scale == "standard"  # tables are scaled by default

    series = tmp_path / "s.csv"
    values = np.sin(np.arange(200) / 5.0)
    series.write_text(
        "timestamp,value\n"
        + "\n".join(f"2020-01-01 00:{i // 60:02d}:{i % 60:02d},{v:.4f}" for i, v in enumerate(values))
    )
    assert (
        main(
            [
                "train",
                "lstm",
                "--data",
                str(series),
                "--window",
                "20",
                "--stride",
                "5",
                "--out",
                str(tmp_path / "s"),
                "--set",
                "hidden=8",
                "--set",
                "latent_dim=2",
                "--set",
                "epochs=1",
                "--json",
            ]
        )
        == 0
    )
    assert _json(capsys)["epochs"] == 1
    m = aekit.load(tmp_path / "s" / "model.aekit")
    assert m.input_shape == (20, 1) and m.data.window == 20 and m.data.kind == "series"
    assert "Reconstructions" in (tmp_path / "s" / "report.html").read_text()
    assert main(["evaluate", str(tmp_path / "s" / "model.aekit"), "--data", str(series), "--json"]) == 0
    assert _json(capsys)["n"] == (200 - 20) // 5 + 1  # the windows, cut as in training
