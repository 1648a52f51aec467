"""Behaviour of aekit.sklearn beyond the conformance suite: pipelines, grid search, quality, layouts,
PyOD-style attributes, pickling through aekit's own file format, and the errors users can hit."""

import pickle

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from aekit import AekitError  # noqa: E402
from aekit.sklearn import AutoencoderOutlierDetector, AutoencoderTransformer  # noqa: E402

FAST = dict(hidden=[16], epochs=40, batch_size=32, lr=5e-3, random_state=0)


def low_rank(n=300, d=10, rank=3, noise=0.02, seed=0):
    """Rows on a random ``rank``-dimensional subspace of R^d with unequal feature scales."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) + noise * rng.normal(size=(n, d))
    return x * np.linspace(1, 20, d) + 5.0


def test_transformer_reconstructs_low_rank_data_and_roundtrips_shapes():
    X = low_rank()
    ae = AutoencoderTransformer(latent_dim=3, **FAST).fit(X)
    assert ae.fit_transform(X).shape == (300, 3)
    Z = ae.transform(X)
    R = ae.inverse_transform(Z)
    assert R.shape == X.shape and R.dtype == np.float64
    r2 = 1 - ((R - X) ** 2).sum() / ((X - X.mean(0)) ** 2).sum()
    assert r2 > 0.9, r2  # a rank-3 signal through a 3-unit code
    assert ae.scale_ == "standard" and ae.loss_ == "mse"  # unbounded data: standardised, MSE
    assert ae.model_.scaler.kind == "standard"
    assert ae.n_features_in_ == 10 and len(ae.history_["loss"]) == ae.n_epochs_ == 40
    assert ae.history_["loss"][-1] < ae.history_["loss"][0]
    assert ae.score(X) == pytest.approx(ae.score_samples(X).mean())
    assert ae.transform(X.astype(np.float32)).dtype == np.float32


def test_pipeline_and_grid_search_pick_the_true_latent_size():
    X = low_rank(n=240)
    pipe = Pipeline([("scale", StandardScaler()), ("ae", AutoencoderTransformer(**FAST))])
    search = GridSearchCV(pipe, {"ae__latent_dim": [1, 3]}, cv=2).fit(X)
    assert search.best_params_ == {"ae__latent_dim": 3}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[1] > scores[0]
    assert search.best_estimator_.transform(X[:5]).shape == (5, 3)


def test_random_state_reproducible_and_seeds_differ():
    X = low_rank(n=100)
    a = AutoencoderTransformer(latent_dim=2, hidden=[8], epochs=5, random_state=3).fit_transform(X)
    b = AutoencoderTransformer(latent_dim=2, hidden=[8], epochs=5, random_state=3).fit_transform(X)
    c = AutoencoderTransformer(latent_dim=2, hidden=[8], epochs=5, random_state=4).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_pickle_stores_aekit_file_bytes_not_torch_modules():
    X = low_rank(n=80)
    det = AutoencoderOutlierDetector(latent_dim=2, hidden=[8], epochs=3, random_state=0).fit(X)
    blob = pickle.dumps(det)
    assert b"AEKITMDL" in blob  # the model travels as our own file format
    assert b"torch" not in blob  # no pickled torch module or tensor
    det2 = pickle.loads(blob)
    np.testing.assert_array_equal(det.decision_function(X), det2.decision_function(X))
    assert det2.model_.fingerprint() == det.model_.fingerprint()
    assert hasattr(det, "model_")  # pickling leaves the original intact


def test_set_output_pandas_and_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(low_rank(n=60, d=4), columns=["a", "b", "c", "d"])
    ae = AutoencoderTransformer(latent_dim=2, hidden=[8], epochs=2, random_state=0).set_output(transform="pandas")
    out = ae.fit_transform(X)
    assert list(out.columns) == ["autoencoder0", "autoencoder1"] and out.index.equals(X.index)
    assert list(ae.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError):
        ae.get_feature_names_out(["w", "x", "y", "z"])


def test_image_rows_with_input_shape_conv_family():
    X = load_digits().data[:400] / 16.0  # (400, 64) flattened 8x8 digits in [0, 1]
    ae = AutoencoderTransformer(
        "conv",
        input_shape=(8, 8),
        latent_dim=8,
        epochs=30,
        batch_size=32,
        lr=1e-2,
        model_options={"filters": [16], "mode": "strided"},
        random_state=0,
    ).fit(X)
    assert ae.model_.input_shape == (1, 8, 8)
    assert ae.scale_ is None and ae.loss_ == "bce"  # data in [0, 1]: no scaling, sigmoid + BCE
    R = ae.inverse_transform(ae.transform(X))
    assert R.shape == (400, 64) and R.min() >= 0 and R.max() <= 1
    # measured 0.12 of the mean image's error (seed 0); 0.3 leaves room for platform differences
    assert ((R - X) ** 2).mean() < 0.3 * X.var(0).sum() / 64


def test_channels_last_rows_come_back_in_the_users_order():
    rng = np.random.default_rng(0)
    base = rng.random((1, 6, 6, 3))
    X = np.clip(base + 0.05 * rng.normal(size=(200, 6, 6, 3)), 0, 1).reshape(200, -1)  # HWC rows
    ae = AutoencoderTransformer(
        "conv",
        input_shape=(6, 6, 3),
        latent_dim=4,
        epochs=40,
        batch_size=32,
        lr=3e-3,
        model_options={"filters": [8]},
        random_state=0,
    ).fit(X)
    assert ae.model_.input_shape == (3, 6, 6)
    R = ae.inverse_transform(ae.transform(X))
    # a permuted feature order would put errors near the spread of base (~0.08); the right order is small
    assert ((R - X) ** 2).mean() < 0.02


@pytest.mark.parametrize(
    "family,extra", [("vae", {}), ("stacked", {"hidden": [8, 4]}), ("lstm", {"input_shape": (5, 2)})]
)
def test_other_families(family, extra):
    X = low_rank(n=64)
    ae = AutoencoderTransformer(family, latent_dim=2, epochs=2, random_state=0, **extra).fit(X)
    assert ae.transform(X).shape == (64, 2) and ae.inverse_transform(ae.transform(X)).shape == (64, 10)


def test_outlier_detector_sklearn_and_pyod_conventions():
    rng = np.random.default_rng(1)
    inliers = low_rank(n=285, noise=0.05, seed=1)
    outliers = 5.0 + rng.normal(size=(15, 10)) * np.linspace(1, 20, 10) * 2  # off the subspace
    X = np.vstack([inliers, outliers])
    truth = np.r_[np.zeros(285), np.ones(15)]
    det = AutoencoderOutlierDetector(contamination=0.05, latent_dim=3, **FAST).fit(X)
    assert roc_auc_score(truth, det.decision_scores_) > 0.95
    pred = det.predict(X)
    assert set(np.unique(pred)) <= {-1, 1} and np.mean(pred == -1) == pytest.approx(0.05, abs=0.01)
    np.testing.assert_array_equal(det.fit_predict(X) == -1, det.labels_ == 1)  # same seed, same model
    np.testing.assert_allclose(det.decision_scores_, -det.score_samples(X), rtol=1e-6)
    np.testing.assert_allclose(det.outlier_scores(X), det.decision_scores_, rtol=1e-6)
    assert det.threshold_ == -det.offset_
    np.testing.assert_array_equal(det.labels_, (det.decision_scores_ > det.threshold_).astype(int))
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)
    proba = det.predict_proba(X)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(1), 1) and proba.min() >= 0 and proba.max() <= 1
    order = np.argsort(det.decision_scores_)
    assert np.all(np.diff(proba[order, 1]) >= 0)  # P(outlier) rises with the outlier score
    assert proba[order[-1], 1] == 1.0 and proba[order[0], 1] == 0.0


def test_outlier_detector_mse_knn_sees_anomalies_inside_the_subspace_and_pickles():
    # two clusters on a plane; the anomalies lie on the plane between them, so the error alone misses them
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T
    c = np.r_[rng.normal(size=(150, 2)) * 0.3 + 3, rng.normal(size=(150, 2)) * 0.3 - 3]
    X = c @ basis + 0.01 * rng.normal(size=(300, 8))
    A = (rng.normal(size=(15, 2)) * 0.3) @ basis
    truth = np.r_[np.zeros(300), np.ones(15)]
    opts = dict(hidden=[32], latent_dim=2, epochs=40, random_state=0, contamination=0.02)
    plain = AutoencoderOutlierDetector(**opts).fit(X)
    knn = AutoencoderOutlierDetector(metric="mse_knn", **opts).fit(X)
    assert (
        roc_auc_score(truth, knn.outlier_scores(np.r_[X, A]))
        > 0.95
        > roc_auc_score(truth, plain.outlier_scores(np.r_[X, A]))
    )
    assert knn.score_stats_.metric == "mse_knn" and knn.labels_.mean() == pytest.approx(0.02, abs=0.01)
    np.testing.assert_allclose(knn.decision_scores_, -knn.score_samples(X), rtol=1e-6)
    again = pickle.loads(pickle.dumps(knn))
    np.testing.assert_allclose(again.score_samples(A), knn.score_samples(A), rtol=1e-6)
    with pytest.raises(ValueError, match="metric"):
        AutoencoderOutlierDetector(metric="knn").fit(X)


def test_outlier_detector_mse_maha_sees_an_unusual_mix_of_usual_values():
    # normal rows: two coordinates of a plane that move together; the outliers move them against each other
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T
    t = rng.normal(size=(300, 1))
    X = (np.c_[t, t] + 0.1 * rng.normal(size=(300, 2))) @ basis + 0.01 * rng.normal(size=(300, 8))
    s = rng.choice([-1.0, 1.0], size=(15, 1)) * 1.2
    A = np.c_[s, -s] @ basis
    det = AutoencoderOutlierDetector(
        metric="mse_maha", hidden=[16], latent_dim=2, epochs=40, random_state=0, contamination=0.02
    ).fit(X)
    truth = np.r_[np.zeros(300), np.ones(15)]
    assert roc_auc_score(truth, det.outlier_scores(np.r_[X, A])) > 0.95
    assert det.score_stats_.metric == "mse_maha" and det.predict(A).tolist().count(-1) >= 13
    again = pickle.loads(pickle.dumps(det))
    np.testing.assert_allclose(again.score_samples(A), det.score_samples(A), rtol=1e-6)
    with pytest.raises(ValueError, match="at least 2 training samples"):
        AutoencoderOutlierDetector(metric="mse_maha", epochs=1).fit(X[:1])


def test_noise_scale_and_device_parameters_map_to_aekit():
    X = low_rank(n=40)
    g = AutoencoderTransformer(noise=0.2, hidden=[8], epochs=1, random_state=0).fit(X)
    assert (g.model_.config.corruption.kind, g.model_.config.corruption.amount) == ("gaussian", 0.2)
    m = AutoencoderTransformer(
        noise="masking:0.3", scale="minmax", hidden=[8], epochs=1, device="auto", random_state=0
    ).fit(X)
    assert (m.model_.config.corruption.kind, m.model_.config.corruption.amount) == ("masking", 0.3)
    assert m.loss_ == "bce" and m.model_.train_config.scale == "minmax"
    assert m.device == "auto" and m.device_ in ("cpu", "cuda", "mps")  # resolved in fit, parameter kept


@pytest.mark.parametrize(
    "params,match",
    [
        ({"loss": "bce"}, "loss='bce' needs data in \\[0, 1\\]"),
        ({"input_shape": (3, 3)}, "input_shape=\\(3, 3\\) holds 9 values"),
        ({"family": "nope"}, "unknown family 'nope'"),
        ({"family": "conv"}, "need input_shape="),
        ({"model_options": {"latent_dim": 3}}, "model_options=\\{'latent_dim'"),
        ({"noise": "blur:0.2"}, "corruption"),
        ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "nonsense"}, "device="),
    ],
)
def test_user_mistakes_raise_one_line_aekit_errors(params, match):
    with pytest.raises(AekitError, match=match):
        AutoencoderTransformer(epochs=1, **params).fit(low_rank(n=20))


def test_inverse_transform_checks_code_width():
    ae = AutoencoderTransformer(latent_dim=2, hidden=[8], epochs=1, random_state=0).fit(low_rank(n=20))
    with pytest.raises(AekitError, match="code size is 2"):
        ae.inverse_transform(np.zeros((3, 5)))
