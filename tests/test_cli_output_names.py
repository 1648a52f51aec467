"""An output named for another format is refused before any work (exit 2, one line, nothing written), and
complex arrays are refused instead of losing their imaginary part."""

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import AnomalyThreshold
from aekit.cli.main import main
from aekit.errors import AekitError


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("names")
    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    np.save(d / "x.npy", x)
    ae = aekit.build("dense", input_shape=(6,), hidden=[8], latent_dim=2, seed=0)
    ae.fit(x, epochs=1, verbose=0, seed=0)
    ae.save(d / "m.aekit")
    return d


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["compress", "{m}", "{x}", "-o", "{d}/c.txt"], "-o {d}/c.txt: expected a .aekz file"),
        (["export", "{m}", "-o", "{d}/m.onnx.bak"], "expected a .onnx file"),
        (["embed", "{m}", "{x}", "-o", "{d}/codes.txt"], "expected a .npy file for the codes"),
        (
            ["embed", "{m}", "{x}", "-o", "{d}/codes.npy", "--map-image", "{d}/map.jpg"],
            "--map-image {d}/map.jpg: expected a .png",
        ),
        (["report", "{m}", "--data", "{x}", "-o", "{d}/r.txt"], "expected a .html or .htm file"),
        (["detect", "{m}", "{x}", "-o", "{d}/s.npy"], "expected a .csv or .json file for the scores"),
    ],
)
def test_an_output_named_for_another_format_is_refused(files, argv, expected, capsys):
    fill = {"m": files / "m.aekit", "x": files / "x.npy", "d": files}
    before = set(files.iterdir())
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err
    assert expected.format(**fill) in err and err.count("\n") == 1 and "Traceback" not in err
    assert set(files.iterdir()) == before  # nothing written, not even the codes before the map


def test_complex_arrays_are_refused_with_the_file_named(files, capsys):
    np.save(files / "z.npy", np.ones((10, 6)) + 1j)
    assert main(["train", "dense", "--data", str(files / "z.npy"), "--out", str(files / "run")]) == 2
    err = capsys.readouterr().err
    assert "z.npy: holds complex numbers" in err and not (files / "run").exists()
    (files / "z.npy").unlink()
    with pytest.raises(AekitError, match="x: array dtype complex128 is complex"):
        aekit.load(files / "m.aekit").encode(np.ones((3, 6)) + 1j)


def test_every_model_argument_takes_the_run_folder_of_aekit_train(files, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "dense",
                "--data",
                str(files / "x.npy"),
                "--out",
                str(run),
                "--no-report",
                "--set",
                "epochs=1",
                "--set",
                "hidden=4",
            ]
        )
        == 0
    )
    x = str(files / "x.npy")
    for argv in (
        ["info", str(run)],
        ["encode", str(run), x, "-o", str(tmp_path / "c.npy")],
        ["reconstruct", str(run), x, "-o", str(tmp_path / "r.npy")],
        ["evaluate", str(run), "--data", x],
        ["detect", str(run), x, "-o", str(tmp_path / "s.csv"), "--fit-on", x, "--percentile", "50"],
        ["compress", str(run), x, "-o", str(tmp_path / "c.aekz")],
        ["decompress", str(tmp_path / "c.aekz"), "--model", str(run), "-o", str(tmp_path / "d.npy")],
    ):
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    # --fit-on saved its threshold into the run's model file, and kept the table's metric
    stored = aekit.load(run / "model.aekit").section(AnomalyThreshold)
    assert (stored.contamination, stored.metric) == (0.5, "mse_tails")
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    assert "anomaly     score mse_tails, threshold" in capsys.readouterr().out  # info says which score detect uses
    assert np.load(tmp_path / "d.npy").shape == (64, 6)
    assert main(["info", str(tmp_path)]) == 2 and "is a folder, expected an aekit model file" in capsys.readouterr().err
