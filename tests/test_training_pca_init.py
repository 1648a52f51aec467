"""fit(x, init="pca"): dense models start from the PCA solution and end no worse than PCA."""

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import AekitError
from aekit.training.pca_init import pca


def _data(n=300, d=40, rank=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, rank)) @ rng.random((rank, d)) / rank + 0.02 * rng.standard_normal((n, d))
    return np.clip(x, 0, 1).astype(np.float32)


def _pca_mse(x, k):
    xc = x.astype(np.float64) - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    rec = xc @ vt[:k].T @ vt[:k]
    return float(np.mean((rec - xc) ** 2))


def test_pca_components_are_orthonormal_and_ordered():
    x = torch.from_numpy(_data())
    mean, comps, var = pca(x, 5)
    assert torch.allclose(comps @ comps.T, torch.eye(5), atol=1e-4)
    assert (var[:-1] >= var[1:]).all() and torch.allclose(mean, x.mean(0), atol=1e-6)
    _, comps_gram, _ = pca(x[:20], 5)  # fewer samples than features: the Gram route
    assert torch.allclose(comps_gram @ comps_gram.T, torch.eye(5), atol=1e-3)


def test_linear_model_starts_at_pca_and_never_ends_worse():
    x = _data()
    ae = aekit.build(
        "dense", input_shape=(40,), hidden=[], latent_dim=4, output_activation="linear", loss="mse", seed=0
    )
    ae.fit(x, epochs=0, verbose=0, seed=0, init="pca", scale=None)  # PCA of the data as given
    start = float(np.mean((ae.reconstruct(x) - x) ** 2))
    assert start == pytest.approx(_pca_mse(x, 4), rel=1e-3)
    ae.fit(x, epochs=3, batch_size=32, lr=1e-2, verbose=0, seed=0, init="pca", scale=None)  # a large lr wanders off
    assert float(np.mean((ae.reconstruct(x) - x) ** 2)) <= start * (1 + 1e-4)
    random = aekit.build(
        "dense", input_shape=(40,), hidden=[], latent_dim=4, output_activation="linear", loss="mse", seed=0
    )
    random.fit(x, epochs=3, batch_size=32, verbose=0, seed=0, scale=None)
    assert float(np.mean((random.reconstruct(x) - x) ** 2)) > start


def test_deep_batchnorm_model_first_layer_gives_the_pca_coefficients():
    x = _data()
    ae = aekit.build(
        "dense", input_shape=(40,), hidden=[8], latent_dim=4, batch_norm=True, activation="linear", linear_path="off"
    )
    ae.fit(x, epochs=0, verbose=0, seed=0, init="pca", scale=None)  # PCA of the data as given
    mean, comps, _ = pca(torch.from_numpy(x), 8)
    ae.module.eval()
    with torch.no_grad():
        h = ae.module.encoder(torch.from_numpy(x))  # (N, 8) after Linear + BatchNorm + linear activation
    coef = (torch.from_numpy(x) - mean) @ comps.T
    assert torch.allclose(h, coef, atol=1e-3)


def test_init_pca_is_refused_where_it_does_not_apply():
    x = _data(n=40).reshape(40, 1, 5, 8)
    with pytest.raises(AekitError, match="dense"):
        aekit.build("conv", input_shape=(1, 5, 8), seed=0).fit(x, epochs=1, verbose=0, init="pca")
    with pytest.raises(AekitError, match="init"):
        aekit.build("dense", input_shape=(40,), hidden=[], latent_dim=4).fit(_data(), epochs=1, verbose=0, init="svd")


def test_cli_set_init_pca(tmp_path):
    from aekit.cli.main import main

    np.save(tmp_path / "x.npy", _data())
    assert (
        main(
            [
                "train",
                "dense",
                "--data",
                str(tmp_path / "x.npy"),
                "--out",
                str(tmp_path / "run"),
                "--set",
                "init=pca",
                "--set",
                "hidden=[]",
                "--set",
                "latent_dim=4",
                "--set",
                "epochs=1",
                "--no-report",
            ]
        )
        == 0
    )
    assert aekit.load(tmp_path / "run" / "model.aekit").train_config.init == "pca"
