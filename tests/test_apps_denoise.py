"""Denoise job: the noise protocol, PSNR, a quality floor against a tuned classical filter, and the CLI."""

import json

import numpy as np
import pytest

import aekit
from aekit.apps.denoise import add_noise, denoise, psnr
from aekit.cli.main import main
from aekit.datasets import load_digits_sample


@pytest.fixture(scope="module")
def digits():
    x, _ = load_digits_sample()
    x = x.astype(np.float32) / 255
    return x[:1500], x[1500:1800]  # 1,500 to train on, 300 to test


@pytest.fixture(scope="module")
def denoiser(digits):
    train, _ = digits
    ae = aekit.build("dense", input_shape=(28, 28), hidden=[256], latent_dim=64, corruption="gaussian:0.5", seed=0)
    ae.fit(train, epochs=25, batch_size=64, verbose=0, seed=0)
    return ae


def test_add_noise_is_the_tutorial_protocol(digits):
    clean = digits[1]
    a, b = add_noise(clean, 0.5, seed=3), add_noise(clean, 0.5, seed=3)
    assert a.shape == clean.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, add_noise(clean, 0.5, seed=4))
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert 8.5 < psnr(clean, a).mean() < 10.5  # the tutorials' noisy input reads about 9.4 dB
    raw = add_noise(clean, 0.5, seed=3, clip=False)
    assert raw.min() < 0 and raw.max() > 1
    with pytest.raises(aekit.AekitError, match="factor"):
        add_noise(clean, -1)


def test_psnr_values_and_errors():
    a = np.zeros((2, 4, 4), np.float32)
    b = a.copy()
    b[1] += 0.1  # MSE 0.01 -> 20 dB
    p = psnr(a, b)
    assert np.isinf(p[0]) and p[1] == pytest.approx(20.0)
    assert psnr(np.full((1, 3), 255, np.uint8), np.ones((1, 3), np.float32))[0] == np.inf  # uint8 is [0, 1]
    with pytest.raises(aekit.AekitError, match="same shape"):
        psnr(a, b[:, :2])


def test_denoiser_beats_a_tuned_gaussian_blur(digits, denoiser):
    from scipy.ndimage import gaussian_filter

    _, clean = digits
    noisy = add_noise(clean, 0.5, seed=1)
    blur = max(psnr(clean, np.stack([gaussian_filter(im, s) for im in noisy])).mean() for s in (0.5, 0.75, 1, 1.5))
    out = denoise(denoiser, noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32
    ae_db = psnr(clean, out).mean()
    assert ae_db > blur + 1.0, (ae_db, blur)
    assert ae_db > psnr(clean, noisy).mean() + 4.0


def test_cli_denoise_golden_runs(tmp_path, digits, denoiser, capsys):
    _, clean = digits
    model = tmp_path / "den.aekit"
    denoiser.save(model)
    noisy = add_noise(clean[:12], 0.5, seed=2)
    np.save(tmp_path / "noisy.npy", noisy)
    np.save(tmp_path / "clean.npy", clean[:12])
    assert (
        main(
            [
                "denoise",
                str(model),
                str(tmp_path / "noisy.npy"),
                "-o",
                str(tmp_path / "out.npy"),
                "--reference",
                str(tmp_path / "clean.npy"),
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (12, 28, 28) and info["n"] == 12
    assert np.allclose(out, denoise(denoiser, noisy), atol=1e-6)
    assert info["psnr_output_db"] > info["psnr_input_db"] + 3
    assert main(["denoise", str(model), str(tmp_path / "noisy.npy"), "-o", str(tmp_path / "pngs"), "-q"]) == 0
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 12


def test_cli_denoise_missing_input_is_a_one_line_error(tmp_path, denoiser, capsys):
    model = tmp_path / "den.aekit"
    denoiser.save(model)
    assert main(["denoise", str(model), str(tmp_path / "nope.npy"), "-o", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: input") and "nope.npy" in err and err.count("\n") == 1
    assert not (tmp_path / "o.npy").exists()
