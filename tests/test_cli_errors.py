"""User mistakes exit with status 2 and one line 'aekit: error: ...', no traceback (unless --debug)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aekit.cli.main import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import aekit

    d = tmp_path_factory.mktemp("err")
    np.save(d / "x.npy", np.random.default_rng(0).random((20, 10), dtype=np.float32))
    np.save(d / "img.npy", np.random.default_rng(0).random((20, 28, 28), dtype=np.float32))
    ae = aekit.build("dense", input_shape=(10,), hidden=[4], latent_dim=2, seed=0)
    ae.save(d / "m.aekit")
    (d / "bad.toml").write_text("model = [unclosed\n")
    (d / "notamodel.aekit").write_bytes(b"hello")
    return d


def cases(d: Path):
    x, m = str(d / "x.npy"), str(d / "m.aekit")
    return {
        "missing model file": (["info", str(d / "nope.aekit")], "no such file"),
        "missing data file": (["train", "dense", "--data", str(d / "nope.npy"), "--out", str(d / "r")], "no such"),
        "unknown family": (["train", "nosuch", "--data", x, "--out", str(d / "r")], "unknown family"),
        "bad option value": (
            ["train", "dense", "--data", x, "--out", str(d / "r"), "--set", "latent_dim=abc"],
            "latent_dim",
        ),
        "unknown option": (
            ["train", "dense", "--data", x, "--out", str(d / "r"), "--set", "colour=red"],
            "unknown option",
        ),
        "bad --set syntax": (["train", "dense", "--data", x, "--out", str(d / "r"), "--set", "epochs"], "key=value"),
        "invalid choice": (
            ["train", "dense", "--data", x, "--out", str(d / "r"), "--set", "optimizer=fast"],
            "optimizer",
        ),
        "conv on a table": (["train", "conv", "--data", x, "--out", str(d / "r")], "input_shape"),
        "resume without checkpoint": (
            ["train", "dense", "--data", x, "--out", str(d / "r2"), "--resume"],
            "nothing to resume",
        ),
        "bad config file": (
            ["train", "dense", "--data", x, "--out", str(d / "r"), "--config", str(d / "bad.toml")],
            "TOML",
        ),
        "wrong data shape": (["encode", m, str(d / "img.npy"), "-o", str(d / "c.npy")], "does not fit"),
        "wrong code width": (["decode", m, x, "-o", str(d / "y.npy")], "code"),
        "not a model file": (["info", str(d / "notamodel.aekit")], "notamodel"),
        "bad output type": (["reconstruct", m, x, "-o", str(d / "out.xyz")], "unsupported"),
        "missing required option": (["train", "dense", "--out", str(d / "r")], "--data"),
        "unknown command": (["frobnicate"], "invalid choice"),
    }


@pytest.mark.parametrize("name", list(cases(Path("."))))
def test_user_mistakes_exit_2_with_one_line(files, name, capsys):
    argv, needle = cases(files)[name]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse usage errors
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("aekit: error: "), err
    assert needle.lower() in lines[0].lower() and "Traceback" not in err


def test_debug_shows_the_exception(files):
    from aekit.errors import AekitError

    with pytest.raises(AekitError):
        main(["info", str(files / "nope.aekit"), "--debug"])


def _console_script():
    exe = Path(sys.executable).with_name("aekit")
    return str(exe) if exe.exists() else shutil.which("aekit")


@pytest.mark.skipif(_console_script() is None, reason="the aekit console script is not installed")
def test_console_script_error_and_version(files):
    exe = _console_script()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run(
        [exe, "evaluate", str(files / "nope.aekit"), "--data", "digits"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.startswith("aekit: error: ") and p.stderr.count("\n") == 1
    assert "Traceback" not in p.stderr
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("aekit ")


def test_warnings_are_one_line_and_debug_keeps_pythons_form(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "pics").mkdir()
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "pics" / f"p{i}.png")
    (tmp_path / "pics" / "notes.txt").write_text("not a picture")
    args = [
        "train",
        "conv",
        "--data",
        str(tmp_path / "pics"),
        "--out",
        str(tmp_path / "run"),
        "--no-report",
        "--set",
        "epochs=1",
        "--set",
        "filters=4",
        "--force",
    ]
    assert main(["-q", *args]) == 0
    err = capsys.readouterr().err
    assert "aekit: warning: load_images: skipped 1 of 9 files" in err and "notes.txt" in err
    assert "UserWarning" not in err and "reader.py" not in err and err.count("\n") == 1
    with pytest.warns(UserWarning, match="skipped 1 of 9 files"):  # --debug: Python's own warning
        assert main(["-q", "--debug", *args]) == 0
    assert "aekit: warning" not in capsys.readouterr().err


def test_a_decompression_bomb_is_refused_alone_and_skipped_in_a_folder(tmp_path, capsys, monkeypatch):
    """A 20000x20000 PNG (400 M pixels: Pillow's DecompressionBombError) goes through the one picture check
    (aekit.datasets.decode.open_picture) whether it is the --data file or one file of a --data folder."""
    from PIL import Image

    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    pics = tmp_path / "pics"
    pics.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(pics / f"p{i}.png")
    Image.new("1", (20000, 20000)).save(pics / "big.png")  # 1 bit per pixel: 50 MB in memory, 50 kB on disk
    args = ["--no-report", "--set", "epochs=1", "--set", "hidden=4", "--set", "latent_dim=2"]
    assert main(["-q", "train", "dense", "--data", str(pics / "big.png"), "--out", str(tmp_path / "r1"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1 and "big.png" in err, err
    # in a folder it is skipped with one warning, as any unreadable picture there (load_images)
    assert main(["-q", "train", "dense", "--data", str(pics), "--out", str(tmp_path / "r2"), *args]) == 0
    err = capsys.readouterr().err
    assert err.startswith("aekit: warning: ") and err.count("\n") == 1 and "big.png" in err, err
    assert "decompression bomb" in err and "internal error" not in err
