"""Generate: samples, manifold grid, interpolation, importance-sampled NLL, dynamic binarisation, the CLI."""

import json

import numpy as np
import pytest
from PIL import Image

import aekit
from aekit.apps.generate import DynamicBinarization, importance_nll, interpolate, manifold, sample_grid, save_grid_png
from aekit.cli.main import main
from aekit.errors import AekitError


@pytest.fixture(scope="module")
def digits():
    from aekit.datasets import load_digits_sample

    return load_digits_sample()[0][:1000]  # (1000, 28, 28) uint8


@pytest.fixture(scope="module")
def vae(digits):
    m = aekit.build("vae", input_shape=(28, 28), hidden=[64], latent_dim=2, seed=0)
    m.fit(digits, epochs=3, batch_size=100, verbose=0, seed=0)
    return m


def test_samples_shape_and_range(vae):
    s = sample_grid(vae, 12, seed=0)
    assert s.shape == (12, 28, 28, 1) and s.dtype == np.float32
    assert 0 <= s.min() and s.max() <= 1
    assert np.array_equal(s, sample_grid(vae, 12, seed=0)) and not np.array_equal(s, sample_grid(vae, 12, seed=1))


def test_conv_vae_rgb_pictures():
    m = aekit.build("conv_vae", input_shape=(3, 16, 16), filters=[8], latent_dim=3, seed=0)
    assert sample_grid(m, 4, seed=0).shape == (4, 16, 16, 3)
    assert manifold(m, n=3, dims=(0, 2)).shape == (9, 16, 16, 3)


def test_non_variational_models_are_refused():
    ae = aekit.build("dense", input_shape=(28, 28), hidden=[16], latent_dim=2, seed=0)
    for fn in (lambda: sample_grid(ae, 4), lambda: manifold(ae, 4), lambda: importance_nll(ae, np.zeros((1, 784)))):
        with pytest.raises(AekitError, match="variational"):
            fn()


def test_manifold_grid_follows_the_prior_quantiles(vae, tmp_path):
    g = manifold(vae, n=6)
    assert g.shape == (36, 28, 28, 1)
    # the top-left and bottom-right corners decode the codes at the 5% / 95% quantiles
    z = np.array([[-1.6448536, 1.6448536], [1.6448536, -1.6448536]], np.float32)
    corners = vae.decode(z).reshape(2, 28, 28, 1)
    assert np.allclose(g[0], corners[0], atol=1e-5) and np.allclose(g[-1], corners[1], atol=1e-5)
    path = save_grid_png(g, tmp_path / "m.png", ncols=6)
    im = Image.open(path)
    assert im.size[0] == im.size[1] and im.size[0] >= 6 * 28 and im.mode == "L"
    with pytest.raises(AekitError, match="dims"):
        manifold(vae, n=4, dims=(0, 5))


def test_interpolation_endpoints_are_the_reconstructions(vae, digits):
    a, b = digits[3], digits[17]
    path = interpolate(vae, a, b, steps=7)
    assert path.shape == (7, 28, 28, 1)
    rec = vae.reconstruct(digits[[3, 17]]).reshape(2, 28, 28, 1)
    assert np.allclose(path[0], rec[0], atol=1e-5) and np.allclose(path[-1], rec[1], atol=1e-5)
    assert not np.allclose(path[3], rec[0], atol=1e-3)  # the middle is neither end
    dense = aekit.build("dense", input_shape=(784,), hidden=[16], latent_dim=4, seed=0)  # any family works
    assert interpolate(dense, a.reshape(784), b.reshape(784), steps=3).shape == (3, 28, 28, 1)
    with pytest.raises(AekitError, match="steps"):
        interpolate(vae, a, b, steps=1)


def test_image_shape_one_axis_order_for_every_caller():
    from aekit.core.pictures import image_shape, to_pictures

    def shp(family, input_shape, **kw):
        return image_shape(aekit.build(family, input_shape=input_shape, **kw), guess_flat=True)

    assert shp("dense", (784,), latent_dim=2) == (1, 28, 28) and shp("dense", (192,), latent_dim=2) == (3, 8, 8)
    assert shp("dense", (28, 28), latent_dim=2) == (1, 28, 28) and shp("conv", (3, 8, 8)) == (3, 8, 8)
    assert shp("dense", (8, 8, 3), latent_dim=2) == (3, 8, 8)  # channels-last pictures into a dense model
    assert shp("dense", (10,), latent_dim=2) is None and shp("lstm", (28, 28)) is None
    m = aekit.build("dense", input_shape=(2, 3, 5), latent_dim=2)  # not pictures: refused by name
    with pytest.raises(AekitError, match="not a picture"):
        to_pictures(m, np.zeros((1, 2, 3, 5)))
    rgb = aekit.build("dense", input_shape=(192,), latent_dim=2)
    flat = np.arange(192, dtype=np.float32)[None]  # a flattened (C, H, W) picture
    assert np.array_equal(to_pictures(rgb, flat)[0, :, :, 1], flat[0, 64:128].reshape(8, 8))


def test_importance_nll_is_finite_and_under_the_negative_elbo(vae, digits):
    x = (np.random.default_rng(0).random((20, 28, 28)) < digits[:20] / 255).astype(np.float32)
    nll, nelbo = importance_nll(vae, x, k=400, seed=0, return_elbo=True)
    assert nll.shape == (20,) and np.isfinite(nll).all()
    assert np.all(nll <= nelbo + 1e-6) and (nelbo - nll).mean() > 0.1  # log p(x) estimate >= ELBO
    one, one_elbo = importance_nll(vae, x[:3], k=1, return_elbo=True)
    assert np.allclose(one, one_elbo)  # with one sample the bound is the ELBO
    assert np.all(nll > 0)
    # the model's own (posterior-mean) bound agrees in size
    assert abs(nelbo.mean() - vae.reconstruction_error(x, metric="elbo").mean()) < 0.1 * nelbo.mean()


def test_importance_nll_needs_a_bernoulli_likelihood():
    m = aekit.build("vae", input_shape=(16,), hidden=[8], latent_dim=2, output_activation="linear", seed=0)
    with pytest.raises(AekitError, match="Bernoulli"):
        importance_nll(m, np.zeros((2, 16), np.float32), k=5)


def test_dynamic_binarization_stream(digits):
    s = DynamicBinarization(digits[:200], seed=0)
    b1 = np.concatenate(list(s.iter_batches(64, shuffle=False)))
    b2 = np.concatenate(list(s.iter_batches(64, shuffle=False)))
    assert b1.shape == (200, 28, 28) and set(np.unique(b1)) <= {0.0, 1.0}
    assert not np.array_equal(b1, b2)  # a fresh draw every pass
    assert abs(b1.mean() - digits[:200].mean() / 255) < 0.01
    m = aekit.build("vae", input_shape=(28, 28), hidden=[32], latent_dim=2, seed=0)
    h = m.fit(DynamicBinarization(digits, seed=0), epochs=3, batch_size=100, verbose=0, seed=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    with pytest.raises(AekitError, match="probabilities"):
        DynamicBinarization(np.full((4, 3), 2.0))


def test_cli_generate(vae, digits, tmp_path, capsys):
    vae.save(tmp_path / "v.aekit")
    np.save(tmp_path / "x.npy", digits[:20])
    m = str(tmp_path / "v.aekit")
    assert main(["generate", m, "-n", "9", "-o", str(tmp_path / "s.png"), "--seed", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 9 and out["mode"] == "samples" and Image.open(tmp_path / "s.png").size[0] > 3 * 28
    assert main(["-q", "generate", m, "--manifold", "--grid", "4", "-o", str(tmp_path / "g.png")]) == 0
    assert (
        main(
            [
                "-q",
                "generate",
                m,
                "--interpolate",
                "2",
                "5",
                "--input",
                str(tmp_path / "x.npy"),
                "--steps",
                "4",
                "-o",
                str(tmp_path / "i.npy"),
            ]
        )
        == 0
    )
    path = np.load(tmp_path / "i.npy")
    assert path.shape == (4, 28, 28, 1)
    assert np.allclose(path[0], vae.reconstruct(digits[2:3]).reshape(28, 28, 1), atol=1 / 255)
    Image.fromarray(digits[0]).save(tmp_path / "a.png")
    assert (
        main(
            [
                "-q",
                "generate",
                m,
                "--interpolate",
                str(tmp_path / "a.png"),
                "7",
                "--input",
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "j.png"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    dense = tmp_path / "d.aekit"
    aekit.build("dense", input_shape=(28, 28), hidden=[8], latent_dim=2, seed=0).save(dense)
    for argv in (
        ["generate", str(dense), "-o", str(tmp_path / "z.png")],
        ["generate", m, "--interpolate", "0", "1", "-o", str(tmp_path / "z.png")],
        ["generate", m, "--interpolate", "0", "99", "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "z.png")],
        ["generate", str(tmp_path / "missing.aekit"), "-o", str(tmp_path / "z.png")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("aekit: error: ") and err.count("\n") == 1
