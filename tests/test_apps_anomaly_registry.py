"""The score registry: one name -> one score object, and every consumer looks names up there."""

import json

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import (
    SCORES,
    AnomalyThreshold,
    Score,
    default_score,
    detect,
    fit_threshold,
    get_score,
    metric_names,
    predict_proba,
    register_score,
    unregister_score,
)
from aekit.cli.main import main


@pytest.fixture(scope="module")
def trained():
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    ae = aekit.build(
        "dense", input_shape=(6,), hidden=[16], latent_dim=2, output_activation="linear", loss="mse", seed=0
    )
    ae.fit(x, epochs=3, batch_size=64, verbose=0, seed=0)
    return ae.to_bytes(), x


@pytest.fixture
def model(trained):
    data, x = trained
    return aekit.Autoencoder.from_bytes(data), x


class Shifted(Score):
    """A fitted score for the tests: the error minus the training errors' median, kept in the model."""

    name, fitted, min_train = "shifted_mse", True, 2
    fits = 0

    def fit(self, model, x_train, batch_size=1024):
        import torch

        type(self).fits += 1
        err = model.reconstruction_error(x_train, "mse", batch_size)
        model.extra_tensors["shift"] = torch.tensor([float(np.median(err))])
        return err - float(np.median(err))

    def score(self, model, x, batch_size=1024):
        return model.reconstruction_error(x, "mse", batch_size) - float(model.extra_tensors["shift"][0])


@pytest.fixture
def shifted():
    register_score(Shifted)
    yield get_score("shifted_mse")
    unregister_score("shifted_mse")


def test_the_builtin_scores_and_their_order():
    # the order is the one --metric and the error messages have always listed
    assert metric_names() == ("auto", "mse", "bce", "blur_mse", "elbo", "mse_tails", "mse_knn", "mse_maha")
    assert [n for n, s in SCORES.items() if s.fitted] == ["mse_tails", "mse_knn", "mse_maha"]
    assert get_score("mse_tails").data_kinds == ("table",) and get_score("mse_maha").data_kinds == ("series",)
    with pytest.raises(aekit.AekitError, match="expected one of mse, bce"):
        get_score("nope")
    with pytest.raises(aekit.AekitError, match="taken"):
        register_score(Shifted())
        register_score(Shifted())
    unregister_score("shifted_mse")


def test_default_score_follows_the_data_kind(model):
    ae, _ = model
    vae = aekit.build("vae", input_shape=(6,), hidden=[8], latent_dim=2, seed=0)
    assert default_score(ae, "table", 100) == "mse_tails" and default_score(ae, "series", 100) == "mse_maha"
    assert default_score(ae, "table", 1) == "mse"  # too few rows for the fitted terms
    assert default_score(ae, "images", 100) == "mse" and default_score(ae) == "mse"
    assert default_score(vae, "table", 100) == "elbo"


def test_a_registered_score_goes_through_fit_threshold_detect_and_proba(model, shifted):
    ae, x = model
    fits = Shifted.fits
    info = fit_threshold(ae, x, contamination=0.1, metric="shifted_mse")
    assert Shifted.fits == fits + 1 and info["metric"] == "shifted_mse" and "shift" in ae.extra_tensors
    assert info["threshold"] == pytest.approx(np.quantile(shifted.score(ae, x), 0.9), rel=1e-5)
    res = detect(ae, x)  # 'auto': the stored score
    assert res.metric == "shifted_mse" and abs(res.labels.mean() - 0.1) < 0.01
    np.testing.assert_allclose(res.scores, ae.reconstruction_error(x, "mse") - float(ae.extra_tensors["shift"][0]))
    assert predict_proba(ae, x).shape == (len(x), 2)
    assert "shifted_mse" in metric_names()


def test_a_registered_score_reaches_the_cli(model, shifted, tmp_path, capsys):
    ae, x = model
    ae.pop_section(AnomalyThreshold)
    ae.save(tmp_path / "m.aekit")
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            [
                "detect",
                str(tmp_path / "m.aekit"),
                str(tmp_path / "x.npy"),
                "--fit-on",
                str(tmp_path / "x.npy"),
                "--metric",
                "shifted_mse",
                "-o",
                str(tmp_path / "s.csv"),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["metric"] == "shifted_mse"
    assert aekit.load(tmp_path / "m.aekit").section(AnomalyThreshold).metric == "shifted_mse"


def test_a_registered_fitted_score_reaches_the_estimator(shifted):
    from aekit.sklearn import AutoencoderOutlierDetector

    X = np.random.default_rng(1).normal(size=(120, 5))
    fits = Shifted.fits
    det = AutoencoderOutlierDetector(metric="shifted_mse", hidden=[8], latent_dim=2, epochs=2, random_state=0).fit(X)
    assert Shifted.fits == fits + 1
    np.testing.assert_allclose(det.decision_scores_, -det.score_samples(X))
    assert set(det.predict(X)) <= {-1, 1} and set(det.labels_) <= {0, 1}
    assert (det.predict(X) == -1).sum() == det.labels_.sum()  # scikit-learn's -1 is aekit's 1
