"""The public model API: prepare, evaluate, the one inference helper, typed header sections, to/from bytes."""

import pickle

import numpy as np
import pytest
import torch

import aekit
from aekit.core import container as io
from aekit.datasets.description import DataDescription, Sections
from aekit.training.inference import map_batches


@pytest.fixture
def x():
    return np.random.default_rng(0).random((40, 12), dtype=np.float32)


def test_prepare_is_layout_and_scaler(x):
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], latent_dim=3, seed=0)
    ae.fit(x * 10 + 5, epochs=1, batch_size=16, verbose=0, seed=0, scale="minmax")
    p = ae.prepare(x * 10 + 5)
    assert p.dtype == np.float32 and p.shape == (40, 12)
    assert p.min() >= -1e-6 and p.max() <= 1 + 1e-6  # scaled by the fitted min-max scaler
    assert np.allclose(ae.unscale(p), x * 10 + 5, atol=1e-4)
    conv = aekit.build("conv", input_shape=(1, 8, 8), filters=[4])
    assert conv.prepare(np.full((3, 8, 8), 255, np.uint8)).max() == 1.0  # uint8 -> [0, 1], channel added


def test_evaluate_returns_the_validation_loss_terms(x):
    vae = aekit.build("vae", input_shape=(12,), hidden=[8], latent_dim=2, seed=0)
    h = vae.fit(x, validation_data=x[:10], epochs=1, batch_size=16, verbose=0, seed=0)
    terms = vae.evaluate(x[:10])
    assert sorted(terms) == ["kl", "loss", "reconstruction"]
    assert terms["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-5)
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + terms["kl"], rel=1e-5)
    with pytest.raises(aekit.AekitError, match="y: 5 samples"):
        vae.evaluate(x[:10], x[:5])


def test_map_batches_batches_and_restores_training_mode():
    lin = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.9))
    lin.train()
    a = np.random.default_rng(0).random((7, 3), dtype=np.float32)
    out = map_batches(lin, a, lambda m, b: m(b), batch_size=3)
    assert out.shape == (7, 2) and lin.training  # dropout off during the call, training mode back after
    assert np.allclose(out, lin[0](torch.from_numpy(a)).detach().numpy(), atol=1e-6)
    out64 = map_batches(lin.double(), a, lambda m, b: m(b), batch_size=2, dtype=torch.float64)
    assert out64.dtype == np.float64


def test_bytes_round_trip_keeps_weights_sections_and_extras(x):
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], latent_dim=3, seed=0)
    ae.fit(x, epochs=1, batch_size=16, verbose=0, seed=0, scale="standard")
    ae.data = DataDescription(kind="table", columns=[f"c{i}" for i in range(12)], source="t.csv")
    ae.sections.apps["someone_elses"] = {"k": 1}  # a section of an application that is not imported
    ae.extra_tensors["v"] = torch.arange(3.0)
    back = aekit.Autoencoder.from_bytes(ae.to_bytes())
    assert np.array_equal(back.encode(x), ae.encode(x))
    assert back.data == ae.data and back.scaler.kind == "standard"
    assert back.sections.apps["someone_elses"] == {"k": 1}
    assert torch.equal(back.extra_tensors["v"], ae.extra_tensors["v"])
    assert pickle.loads(pickle.dumps(ae.data)) == ae.data
    with pytest.raises(aekit.FormatError, match="model bytes"):
        aekit.Autoencoder.from_bytes(ae.to_bytes()[:-10])


def test_version_1_headers_still_load(tmp_path, x):
    """A file written before the typed sections: everything lived in one 'preprocessing' dict."""
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], latent_dim=3, seed=0)
    header = ae.header()
    for k in ("header_version", "data", "apps"):
        header.pop(k)
    header["preprocessing"] = {
        "scaler": {"kind": "minmax", "shape": [12], "offset": [1.0] * 12, "scale": [2.0] * 12},
        "window": 20,
        "stride": 5,
        "data": "series.csv",
        "anomaly": {
            "metric": "mse",
            "threshold": 0.5,
            "contamination": 0.1,
            "n_train": 3,
            "mean": 0.1,
            "std": 0.1,
            "min": 0.0,
            "max": 1.0,
            "quantiles": [0.0, 1.0],
        },
    }
    io.write_file(tmp_path / "old.aekit", header, ae.module.state_dict())
    old = aekit.load(tmp_path / "old.aekit")
    from aekit.apps.anomaly import AnomalyThreshold

    assert old.scaler.kind == "minmax" and float(old.scaler.offset_[0]) == 1.0
    assert (old.data.window, old.data.stride, old.data.source) == (20, 5, "series.csv")
    assert old.section(AnomalyThreshold).threshold == 0.5
    assert Sections.from_header(old.header()).data == old.data  # written back as version 2


def test_malformed_section_is_a_format_error(x):
    from aekit.apps.anomaly import AnomalyThreshold

    ae = aekit.build("dense", input_shape=(12,), hidden=[8], latent_dim=3, seed=0)
    ae.sections.apps["anomaly"] = {"metric": "mse"}
    with pytest.raises(aekit.FormatError, match="anomaly"):
        ae.section(AnomalyThreshold)
