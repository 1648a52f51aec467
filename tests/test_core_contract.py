"""The contract every registered family keeps: shapes, finite loss, learning, save/load, determinism."""

import numpy as np
import pytest
import torch

import aekit
from aekit.models.losses import objective

# A small input for each family; a newly registered family must add one here (the test below fails if not).
SHAPES = {
    "dense": (1, 8, 8),
    "stacked": (64,),
    "vae": (64,),
    "conv": (1, 12, 12),
    "conv_vae": (3, 10, 10),
    "lstm": (6, 3),
    "codec": (3, 16, 16),
}


def _data(shape, n=96, seed=0):
    # low-rank, structured data in [0, 1]: something an autoencoder can learn in a few epochs
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    basis = rng.random((4, d))
    x = rng.random((n, 4)) @ basis / 4
    return x.reshape(n, *shape).astype(np.float32)


def test_every_family_has_a_contract_shape():
    assert sorted(SHAPES) == aekit.list_models()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_forward_shapes_and_finite_loss(name):
    ae = aekit.build(name, input_shape=SHAPES[name], seed=0)
    x = torch.from_numpy(_data(SHAPES[name], n=8))
    out = ae.module(x)
    assert out.x_hat.shape == x.shape
    assert out.z.shape == (8, ae.code_size)
    spec = ae.loss_spec
    loss, terms = objective(out, x, spec)
    assert torch.isfinite(loss)
    assert "reconstruction" in terms
    assert ("kl" in terms) == ae.variational


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_fit_lowers_loss_and_history_is_keras_like(name):
    x = _data(SHAPES[name])
    ae = aekit.build(name, input_shape=SHAPES[name], seed=0)
    # in the data's units: fit may choose a scaling (tables and series are standardised), and the model's own
    # error is measured after it
    before = float(((ae.reconstruct(x) - x) ** 2).mean())
    h = ae.fit(x, validation_data=x[:16], epochs=8, batch_size=16, lr=3e-3, verbose=0, seed=0)
    after = float(((ae.reconstruct(x) - x) ** 2).mean())
    assert after < before
    assert len(h.history["loss"]) == 8 and len(h.history["val_loss"]) == 8
    assert h.history["loss"][-1] < h.history["loss"][0]
    if ae.variational:
        assert len(h.history["kl"]) == 8


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_save_load_round_trip_identical(name, tmp_path):
    x = _data(SHAPES[name], n=20)
    ae = aekit.build(name, input_shape=SHAPES[name], seed=0)
    ae.fit(x, epochs=1, batch_size=10, verbose=0, seed=0)
    path = ae.save(tmp_path / "m.aekit")
    ae2 = aekit.load(path)
    assert ae2.family == name and ae2.config == ae.config
    np.testing.assert_array_equal(ae.reconstruct(x), ae2.reconstruct(x))
    np.testing.assert_array_equal(ae.encode(x), ae2.encode(x))
    assert ae2.history.history["loss"] == ae.history.history["loss"]
    assert ae2.train_config == ae.train_config
    assert ae2.fingerprint() == ae.fingerprint()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_same_seed_same_weights(name):
    x = _data(SHAPES[name], n=40)

    def run(seed):
        ae = aekit.build(
            name, input_shape=SHAPES[name], seed=seed, corruption="gaussian:0.1" if name == "dense" else None
        )
        ae.fit(x, epochs=2, batch_size=8, verbose=0, seed=seed)
        return [p.detach().clone() for p in ae.module.parameters()]

    a, b, c = run(1), run(1), run(2)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not all(torch.equal(p, q) for p, q in zip(a, c))


@pytest.mark.parametrize("name", ["vae", "conv_vae"])
def test_sample_from_prior(name):
    ae = aekit.build(name, input_shape=SHAPES[name], seed=0)
    s = ae.sample(5, seed=3)
    assert s.shape == (5, *ae.input_shape) and np.isfinite(s).all()
    np.testing.assert_array_equal(s, ae.sample(5, seed=3))
