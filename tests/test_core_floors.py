"""Behaviour floors on real data that needs no download: scikit-learn's bundled 8x8 digits."""

import numpy as np
import pytest

import aekit

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    x = (load_digits().data / 16.0).astype(np.float32)  # (1797, 64) in [0, 1]
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    return x[idx[:1400]], x[idx[1400:]]


def test_dense_8_code_beats_pca_8(digits):
    train, test = digits
    pca = PCA(8).fit(train)
    pca_mse = float(((pca.inverse_transform(pca.transform(test)) - test) ** 2).mean())
    ae = aekit.build("dense", input_shape=(64,), hidden=[128], latent_dim=8, seed=0)
    # given as 8x8 pictures, they get the picture rule (cross-entropy on a sigmoid)
    ae.fit(train.reshape(-1, 8, 8), epochs=150, batch_size=64, lr=2e-3, verbose=0, seed=0)
    assert ae.fit_info["loss"] == "bce"
    ae_mse = float(ae.reconstruction_error(test).mean())
    assert ae_mse < pca_mse, (ae_mse, pca_mse)


def test_flat_rows_in_unit_range_are_a_table_and_beat_pca_8(digits):
    """The same values as rows of 64 features: a table whatever its range (standard scaling, MSE, a
    linear output), and still better than PCA-8 in the data's own units."""
    train, test = digits
    pca = PCA(8).fit(train)
    pca_mse = float(((pca.inverse_transform(pca.transform(test)) - test) ** 2).mean())
    ae = aekit.build("dense", input_shape=(64,), hidden=[128], latent_dim=8, seed=0)
    ae.fit(train, epochs=60, batch_size=64, verbose=0, seed=0)
    d = ae.fit_info
    assert (d["scaling"], d["loss"], d["output_activation"]) == ("standard", "mse", "linear")
    ae_mse = float(((ae.reconstruct(test) - test) ** 2).mean())
    assert ae_mse < pca_mse, (ae_mse, pca_mse)


def test_denoiser_lowers_noisy_to_clean_error(digits):
    train, test = digits
    ae = aekit.build(
        "dense", input_shape=(64,), hidden=[128], latent_dim=16, corruption={"kind": "gaussian", "amount": 0.3}, seed=0
    )
    pics = train.reshape(-1, 8, 8)  # pictures: the noise is added in pixel units, not per standardised column
    ae.fit(pics, epochs=60, batch_size=64, lr=2e-3, verbose=0, seed=0)
    test = test.reshape(-1, 8, 8)
    noisy = np.clip(test + 0.3 * np.random.default_rng(1).standard_normal(test.shape), 0, 1).astype(np.float32)
    noisy_mse = ((noisy - test) ** 2).mean()
    denoised_mse = ((ae.reconstruct(noisy) - test) ** 2).mean()
    assert denoised_mse < 0.5 * noisy_mse, (denoised_mse, noisy_mse)


def test_kl_sparse_code_is_sparser(digits):
    from aekit.models.losses import squash

    train, _ = digits
    import torch

    def mean_activation(ae):
        z = torch.from_numpy(ae.encode(train))
        return float(squash(z, ae.config.latent_activation == "sigmoid").mean())

    kw = dict(input_shape=(64,), hidden=[64], latent_dim=32, latent_activation="sigmoid", seed=0)
    plain = aekit.build("dense", **kw)
    sparse = aekit.build("dense", sparsity={"kind": "kl", "rho": 0.05, "weight": 0.5}, **kw)
    plain.fit(train, epochs=30, batch_size=64, verbose=0, seed=0)
    h = sparse.fit(train, epochs=30, batch_size=64, verbose=0, seed=0)
    assert "sparsity" in h.history
    assert mean_activation(sparse) < 0.5 * mean_activation(plain)


def test_l1_sparsity_term_reported(digits):
    train, _ = digits
    ae = aekit.build(
        "dense", input_shape=(64,), hidden=[], latent_dim=16, latent_activation="relu", sparsity="l1:1e-3", seed=0
    )
    h = ae.fit(train, epochs=3, batch_size=64, verbose=0, seed=0)
    assert all(v > 0 for v in h.history["sparsity"])
    assert np.allclose(
        np.array(h.history["loss"]), np.array(h.history["reconstruction"]) + np.array(h.history["sparsity"]), rtol=1e-4
    )


def test_vae_samples_finite_images(digits):
    train, _ = digits
    ae = aekit.build("vae", input_shape=(8, 8), hidden=[64], latent_dim=2, seed=0)
    ae.fit(train.reshape(-1, 8, 8), epochs=5, batch_size=64, verbose=0, seed=0)
    s = ae.sample(16, seed=0)
    assert s.shape == (16, 8, 8) and np.isfinite(s).all() and s.min() >= 0 and s.max() <= 1
