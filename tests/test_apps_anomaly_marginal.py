"""The tables' default anomaly score, 'mse_tails': the error plus the columns' tails and histogram densities."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import aekit
from aekit.apps.anomaly import MarginalTails, default_score, detect, fit_threshold, mse_tails_scores
from aekit.errors import AekitError


def _table(n, seed):
    """Rows of 8 columns driven by 2 factors, min-max-like values in [0, 1] (as ADBench delivers tables)."""
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(99).normal(size=(2, 8))
    x = rng.normal(size=(n, 2)) @ w + 0.05 * rng.normal(size=(n, 8))
    return ((x + 6) / 12).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    train = _table(600, 0)
    train[:15, 3] += 0.6  # the training part is contaminated, as in ADBench's unsupervised protocol
    m = aekit.build("dense", input_shape=(8,), seed=0)
    m.fit(train, verbose=0, seed=0)
    assert m.fit_info["scaling"] == "standard"  # values in [0, 1]: still a table
    metric = default_score(m, "table", len(train))
    fit_threshold(m, train, contamination=0.01, metric=metric)
    return m, metric


def test_tables_default_to_mse_tails(fitted):
    _, metric = fitted
    assert metric == "mse_tails"


def test_extreme_values_and_broken_structure_are_both_found(fitted):
    m, _ = fitted
    normal = _table(300, 1)
    extreme = _table(30, 2)
    extreme[np.arange(30), np.arange(30) % 8] += 0.5  # one column far in its tail
    rng = np.random.default_rng(3)
    broken = _table(30, 4)
    broken = np.stack([rng.permutation(broken[:, j]) for j in range(8)], 1)  # usual values, unusual rows
    for anomalies, floor in ((extreme, 0.95), (broken, 0.9)):
        s = detect(m, np.r_[normal, anomalies]).scores
        auc = roc_auc_score(np.r_[np.zeros(300), np.ones(30)], s)
        assert auc > floor, auc


def test_the_score_travels_in_the_model_file(fitted, tmp_path):
    m, _ = fitted
    x = _table(50, 5)
    back = aekit.load(m.save(tmp_path / "m.aekit"))
    assert isinstance(back.section(MarginalTails), MarginalTails)
    np.testing.assert_allclose(mse_tails_scores(back, x), mse_tails_scores(m, x), rtol=1e-6, atol=1e-6)
    assert detect(back, x).threshold == detect(m, x).threshold


def test_it_refuses_what_it_cannot_score():
    pics = aekit.build("conv", input_shape=(1, 8, 8), seed=0)
    pics.fit(np.random.default_rng(0).random((40, 1, 8, 8), dtype=np.float32), epochs=1, verbose=0)
    with pytest.raises(AekitError, match="mse_tails' is for tables"):
        fit_threshold(pics, np.zeros((40, 1, 8, 8), np.float32), metric="mse_tails")
    plain = aekit.build("dense", input_shape=(8,), seed=0)
    plain.fit(_table(60, 0), epochs=1, verbose=0)
    with pytest.raises(AekitError, match="needs the training columns stored"):
        mse_tails_scores(plain, _table(5, 1))
