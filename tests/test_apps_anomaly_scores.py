"""AnomalyScorer: the code's density finds what the reconstruction error cannot; ensembles; errors."""
import numpy as np
import pytest

import aekit
from aekit.apps.anomaly_scores import AnomalyScorer
from aekit.errors import AekitError


@pytest.fixture(scope="module")
def plane():
    # normal data: two clusters on a 2-D plane inside 8-D; the anomalies lie on the plane between them, so a
    # model that learned the plane reconstructs them as well as the normal points
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T             # (2, 8) orthonormal rows
    c = np.r_[rng.normal(size=(300, 2)) * 0.3 + 3, rng.normal(size=(300, 2)) * 0.3 - 3]
    x = (c @ basis + 0.01 * rng.normal(size=(600, 8))).astype(np.float32)
    anomalies = ((rng.normal(size=(20, 2)) * 0.3) @ basis).astype(np.float32)
    models = []
    for s in range(2):
        m = aekit.build("dense", input_shape=(8,), hidden=[32], latent_dim=2, output_activation="linear",
                        loss="mse", linear_path="off", seed=s)  # random starts: two different models
        m.fit(x, epochs=60, batch_size=32, verbose=0, seed=s)
        models.append(m)
    return x, anomalies, models


def auroc(normal, anomalous):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(anomalous))], np.r_[normal, anomalous])


def test_code_density_finds_anomalies_inside_the_learned_plane(plane):
    x, anomalies, models = plane
    with_density = AnomalyScorer(models, density="gmm", n_components=2).fit(x)
    plain = AnomalyScorer(models, density=None).fit(x)
    assert auroc(with_density.score(x), with_density.score(anomalies)) > 0.95
    assert auroc(plain.score(x), plain.score(anomalies)) < auroc(with_density.score(x),
                                                                 with_density.score(anomalies))


def test_scores_are_standardised_and_averaged_over_models(plane):
    x, _, models = plane
    one = AnomalyScorer(models[:1], density="gaussian").fit(x).score(x)
    two = AnomalyScorer(models, density="gaussian").fit(x).score(x)
    assert one.shape == two.shape == (600,)
    assert abs(np.median(one)) < 1.0                                 # each term centred on its training median
    assert not np.allclose(one, two)


def test_misuse_is_refused(plane):
    x, _, models = plane
    with pytest.raises(AekitError, match="fit"):
        AnomalyScorer(models).score(x)
    with pytest.raises(AekitError, match="density"):
        AnomalyScorer(models, density="kde").fit(x)
