"""Detect-anomalies job: detection quality on an easy synthetic set, threshold semantics, the model file, CLI."""

import csv
import json

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import (
    AnomalyThreshold,
    anomaly_scores,
    detect,
    fit_threshold,
    predict,
    predict_proba,
    threshold_for,
)
from aekit.cli.main import main


def manifold_data(n: int, seed: int):
    """Normal points on a 2-D curved sheet in 16-D; anomalies: points of the same spread off the sheet."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(99).normal(size=(3, 16))
    t = rng.uniform(-1, 1, size=(n, 2))
    lat = np.c_[t, t[:, 0] * t[:, 1]]  # (n, 3): a saddle, intrinsically 2-D
    normal = lat @ basis + 0.02 * rng.normal(size=(n, 16))
    off = rng.normal(size=(n, 16)) * normal.std(0) + normal.mean(0)
    return normal.astype(np.float32), off.astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    x, _ = manifold_data(1000, 0)
    ae = aekit.build(
        "dense", input_shape=(16,), hidden=[32], latent_dim=2, output_activation="linear", loss="mse", seed=0
    )
    ae.fit(x, epochs=60, batch_size=64, verbose=0, seed=0)
    return ae.to_bytes(), x


@pytest.fixture
def model(trained):
    """A fresh copy of the trained model for each test (tests store thresholds in it: no order dependence)."""
    data, x = trained
    return aekit.Autoencoder.from_bytes(data), x


def test_reconstruction_error_separates_off_manifold_points(model):
    from sklearn.metrics import roc_auc_score

    ae, _ = model
    normal, off = manifold_data(300, 1)
    s = anomaly_scores(ae, np.r_[normal, off])
    assert s.shape == (600,)
    assert roc_auc_score(np.r_[np.zeros(300), np.ones(300)], s) > 0.9


def test_contamination_flags_that_fraction_of_training(model):
    ae, x = model
    info = fit_threshold(ae, x, contamination=0.1)
    assert ae.section(AnomalyThreshold).to_dict() == info and info["metric"] == "mse" and info["n_train"] == len(x)
    res = detect(ae, x)
    assert res.threshold == pytest.approx(info["threshold"])
    assert abs(res.labels.mean() - 0.1) < 0.015
    assert abs(detect(ae, x, contamination=0.05).labels.mean() - 0.05) < 0.015  # from the stored quantiles
    assert threshold_for(ae, 0.05) > threshold_for(ae, 0.2)
    fit_threshold(ae, x, percentile=80)
    assert abs(predict(ae, x).mean() - 0.2) < 0.015
    assert detect(ae, x, threshold=np.inf).n_anomalies == 0


def test_predict_proba_follows_scores(model):
    ae, x = model
    fit_threshold(ae, x, contamination=0.05)
    normal, off = manifold_data(100, 2)
    xx = np.r_[normal, off]
    s = anomaly_scores(ae, xx)
    for method in ("linear", "unify"):
        p = predict_proba(ae, xx, method=method)
        assert p.shape == (200, 2) and np.allclose(p.sum(1), 1) and p.min() >= 0 and p.max() <= 1
        order = np.argsort(s)
        assert np.all(np.diff(p[order, 1]) >= -1e-12)  # monotone in the score
        assert p[100:, 1].mean() > p[:100, 1].mean()


def test_threshold_survives_save_and_load(model, tmp_path):
    ae, x = model
    info = fit_threshold(ae, x, contamination=0.02)
    ae.save(tmp_path / "m.aekit")
    back = aekit.load(tmp_path / "m.aekit")
    assert back.section(AnomalyThreshold).threshold == pytest.approx(info["threshold"])
    assert np.array_equal(detect(back, x).labels, detect(ae, x).labels)


def test_vae_scores_with_the_negative_elbo():
    x, off = manifold_data(400, 3)
    vae = aekit.build(
        "vae", input_shape=(16,), hidden=[32], latent_dim=2, output_activation="linear", loss="mse", seed=0
    )
    vae.fit(x, epochs=3, batch_size=64, verbose=0, seed=0)
    info = fit_threshold(vae, x, contamination=0.1)
    assert info["metric"] == "elbo"
    assert np.allclose(anomaly_scores(vae, off), vae.reconstruction_error(off, metric="elbo"))


def test_user_errors(model):
    ae, x = model
    bare = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=2, seed=0)
    with pytest.raises(aekit.AekitError, match="no fitted anomaly threshold"):
        detect(bare, x)
    with pytest.raises(aekit.AekitError, match="contamination"):
        fit_threshold(ae, x, contamination=0.7)
    with pytest.raises(aekit.AekitError, match="not both"):
        detect(ae, x, contamination=0.1, threshold=1.0)
    with pytest.raises(aekit.AekitError, match="percentile"):
        fit_threshold(ae, x, percentile=101)
    with pytest.raises(aekit.AekitError, match="elbo"):
        anomaly_scores(ae, x, metric="elbo")
    with pytest.raises(aekit.AekitError, match="predict_proba"):
        predict_proba(bare, x)
    # no stored threshold + contamination: PyOD's fit-and-predict on the scored set itself
    assert abs(detect(bare, x, contamination=0.1).labels.mean() - 0.1) < 0.01


def test_cli_detect_golden_runs(model, tmp_path, capsys):
    ae, x = model
    ae.pop_section(AnomalyThreshold)
    ae.save(tmp_path / "m.aekit")
    normal, off = manifold_data(50, 4)
    np.save(tmp_path / "train.npy", x)
    np.save(tmp_path / "new.npy", np.r_[normal, off])
    m, out = str(tmp_path / "m.aekit"), str(tmp_path / "scores.csv")
    assert (
        main(
            [
                "detect",
                m,
                str(tmp_path / "train.npy"),
                "--fit-on",
                str(tmp_path / "train.npy"),
                "--contamination",
                "0.1",
                "-o",
                out,
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["fitted"] and abs(info["n_anomalies"] / len(x) - 0.1) < 0.015
    assert aekit.load(m).section(AnomalyThreshold).contamination == pytest.approx(0.1)
    assert main(["detect", m, str(tmp_path / "new.npy"), "-o", out, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 100 and list(rows[0]) == ["index", "score", "anomaly"]
    assert info["n_anomalies"] == sum(int(r["anomaly"]) for r in rows)
    assert sum(int(r["anomaly"]) for r in rows[50:]) > sum(int(r["anomaly"]) for r in rows[:50])
    assert main(["detect", m, str(tmp_path / "new.npy"), "-o", out, "--threshold", "1e9", "-q"]) == 0
    assert all(r["anomaly"] == "0" for r in csv.DictReader(open(out)))


def test_cli_detect_without_threshold_is_a_one_line_error(tmp_path, capsys):
    ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=2, seed=0)
    ae.save(tmp_path / "m.aekit")
    np.save(tmp_path / "x.npy", np.zeros((4, 16), np.float32))
    rc = main(["detect", str(tmp_path / "m.aekit"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("aekit: error:") and "--fit-on" in err and err.count("\n") == 1
    assert not (tmp_path / "s.csv").exists()


def test_a_threshold_fitted_on_another_metric_is_refused(model, tmp_path, capsys):
    ae, x = model
    fit_threshold(ae, x, contamination=0.05, metric="mse_knn")  # the stored threshold: a mse_knn score
    with pytest.raises(aekit.AekitError, match="fitted on 'mse_knn' scores, not 'mse'"):
        detect(ae, x, metric="mse")  # squared errors: another scale
    with pytest.raises(aekit.AekitError, match="fitted on 'mse_knn' scores"):
        predict_proba(ae, x, metric="mse")
    assert detect(ae, x, metric="mse", threshold=1e9).labels.sum() == 0  # an explicit threshold is the user's
    assert detect(ae, x).metric == "mse_knn"  # 'auto': the stored one
    ae.save(tmp_path / "m.aekit")
    np.save(tmp_path / "x.npy", x[:20])
    rc = main(
        ["detect", str(tmp_path / "m.aekit"), str(tmp_path / "x.npy"), "--metric", "mse", "-o", str(tmp_path / "s.csv")]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "fitted on 'mse_knn' scores" in err and err.count("\n") == 1
    assert not (tmp_path / "s.csv").exists()
