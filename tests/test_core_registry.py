"""Family knowledge in the registry, config rules declared once per field, optimizers and schedulers by name,
and no global side effects of fit."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

import aekit
from aekit.models.config import ModelConfig, TrainConfig, from_dict
from aekit.models.registry import get_family, register_model


@pytest.fixture
def x():
    return np.random.default_rng(0).random((64, 10), dtype=np.float32)


def test_families_declare_input_layout_variational_and_pretraining():
    kinds = {n: get_family(n).input_layout for n in aekit.list_models()}
    assert kinds["conv"] == kinds["conv_vae"] == "image" and kinds["lstm"] == "sequence" and kinds["dense"] == "flat"
    assert {n for n in aekit.list_models() if get_family(n).variational} == {"vae", "conv_vae"}
    assert {n for n in aekit.list_models() if get_family(n).pretrain is not None} == {"stacked"}
    spec = get_family("vae").loss_spec(from_dict(get_family("vae").config_cls, {"input_shape": (4,), "beta": 3}))
    assert spec.variational and spec.beta == 3.0


def test_registering_a_variational_family_without_beta_is_refused():
    @dataclass
    class NoBeta(ModelConfig):
        pass

    with pytest.raises(ValueError, match="beta"):
        register_model("nobeta_test", NoBeta, "x", variational=True)
    with pytest.raises(ValueError, match="input_layout"):
        register_model("badkind_test", NoBeta, "x", input_layout="graph")


@pytest.mark.parametrize(
    "family, options, match",
    [
        ("conv", {"latent_activation": "swishy"}, "latent_activation='swishy'"),
        ("lstm", {"latent_activation": "swishy"}, "latent_activation"),
        ("dense", {"hidden": [16, 0]}, "hidden"),
        ("dense", {"hidden": "big"}, "hidden"),
        ("conv", {"filters": []}, "filters"),
        ("conv", {"kernel_size": 4}, "odd"),
        ("conv_vae", {"beta": -1}, "beta"),
        ("vae", {"latent_dim": 0}, "latent_dim"),
        ("lstm", {"hidden": [16, 8]}, "equal widths"),
        ("lstm", {"hidden": [16, 16], "num_layers": 3}, "num_layers"),
        ("stacked", {"pretrain_epochs": 1.5}, "whole number"),
    ],
)
def test_bad_model_options_are_one_clear_error(family, options, match):
    shape = {"conv": (1, 8, 8), "conv_vae": (1, 8, 8), "lstm": (6, 2)}.get(family, (10,))
    with pytest.raises(aekit.AekitError, match=match):
        aekit.build(family, input_shape=shape, **options)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"optimizer": "adamm"}, "nadam"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"scheduler": "nope"}, "steplr"),
        ({"lr": 0}, "lr"),
        ({"optimizer_options": {"betas": 3}}, "Adam"),
        ({"scheduler": "steplr"}, "step_size"),
    ],
)
def test_bad_training_options_are_refused(x, options, match):
    ae = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0)
    with pytest.raises(aekit.AekitError, match=match):
        ae.fit(x, epochs=1, verbose=0, **options)


def test_lstm_takes_a_list_of_widths_like_dense():
    ae = aekit.build("lstm", input_shape=(6, 2), hidden=[16, 16], latent_dim=4)
    assert (ae.config.hidden, ae.config.num_layers) == (16, 2)
    from aekit.sklearn import AutoencoderTransformer

    X = np.random.default_rng(0).random((32, 12))
    t = AutoencoderTransformer("lstm", input_shape=(6, 2), hidden=[8], latent_dim=3, epochs=1).fit(X)
    assert t.model_.config.hidden == 8 and t.transform(X).shape == (32, 3)


def test_any_torch_optimizer_and_scheduler_by_name(x):
    ae = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0)
    h = ae.fit(
        x,
        epochs=2,
        batch_size=16,
        verbose=0,
        seed=0,
        optimizer="nadam",
        lr=0.01,
        optimizer_options={"betas": [0.8, 0.99]},
        scheduler="steplr",
        scheduler_options={"step_size": 1, "gamma": 0.5},
    )
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
    assert TrainConfig(optimizer="sgd", momentum=0.0).momentum == 0.0
    with pytest.raises(aekit.AekitError, match="cannot read"):
        from_dict(TrainConfig, {"optimizer_options": "{not json"})
    assert from_dict(TrainConfig, {"optimizer_options": '{"amsgrad": true}'}).optimizer_options == {"amsgrad": True}


def test_scheduler_state_survives_resume(tmp_path, x):
    opts = dict(
        batch_size=16,
        verbose=0,
        seed=0,
        scheduler="steplr",
        scheduler_options={"step_size": 1, "gamma": 0.5},
        checkpoint=str(tmp_path / "c.aekit"),
    )
    full = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0, dropout=0.2)
    full.fit(x, epochs=3, **opts)
    part = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0, dropout=0.2)
    part.fit(x, epochs=2, **{**opts, "checkpoint": str(tmp_path / "p.aekit")})
    resumed = aekit.load(tmp_path / "p.aekit")
    resumed.fit(x, epochs=3, resume=True, **{**opts, "checkpoint": str(tmp_path / "p.aekit")})
    assert resumed.history.history["loss"] == pytest.approx(full.history.history["loss"], rel=1e-6)


def test_fit_leaves_the_global_torch_generator_alone(x):
    ae = aekit.build("vae", input_shape=(10,), hidden=[8], latent_dim=2, seed=0)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ae.fit(x, epochs=1, batch_size=16, verbose=0, seed=0)  # VAE sampling draws from torch's generator
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(5)
    a = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0)
    a.fit(x, epochs=1, batch_size=16, verbose=0)  # no seed: drawn from the caller's generator, reproducibly
    torch.manual_seed(5)
    b = aekit.build("dense", input_shape=(10,), hidden=[8], latent_dim=2, seed=0)
    b.fit(x, epochs=1, batch_size=16, verbose=0)
    assert np.array_equal(a.encode(x), b.encode(x))
