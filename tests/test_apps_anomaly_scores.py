"""AnomalyScorer: the code's density finds what the reconstruction error cannot; ensembles; errors."""

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import AnomalyScorer
from aekit.errors import AekitError


@pytest.fixture(scope="module")
def plane():
    # normal data: two clusters on a 2-D plane inside 8-D; the anomalies lie on the plane between them, so a
    # model that learned the plane reconstructs them as well as the normal points
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T  # (2, 8) orthonormal rows
    c = np.r_[rng.normal(size=(300, 2)) * 0.3 + 3, rng.normal(size=(300, 2)) * 0.3 - 3]
    x = (c @ basis + 0.01 * rng.normal(size=(600, 8))).astype(np.float32)
    anomalies = ((rng.normal(size=(20, 2)) * 0.3) @ basis).astype(np.float32)
    models = []
    for s in range(2):
        m = aekit.build(
            "dense",
            input_shape=(8,),
            hidden=[32],
            latent_dim=2,
            output_activation="linear",
            loss="mse",
            linear_path="off",
            seed=s,
        )  # random starts: two different models
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
    assert auroc(plain.score(x), plain.score(anomalies)) < auroc(with_density.score(x), with_density.score(anomalies))


def test_scores_are_standardised_and_averaged_over_models(plane):
    x, _, models = plane
    one = AnomalyScorer(models[:1], density="gaussian").fit(x).score(x)
    two = AnomalyScorer(models, density="gaussian").fit(x).score(x)
    assert one.shape == two.shape == (600,)
    assert abs(np.median(one)) < 1.0  # each term centred on its training median
    assert not np.allclose(one, two)


def test_misuse_is_refused(plane):
    x, _, models = plane
    with pytest.raises(AekitError, match="fit"):
        AnomalyScorer(models).score(x)
    with pytest.raises(AekitError, match="density"):
        AnomalyScorer(models, density="kde").fit(x)


def test_mse_knn_finds_anomalies_inside_the_plane_and_survives_the_model_file(plane, tmp_path):
    from aekit.apps.anomaly import CodeNeighbours, anomaly_scores, detect, fit_threshold

    x, anomalies, models = plane
    path = models[0].save(tmp_path / "m.aekit")
    m = aekit.load(path)  # a copy: the fixture's models stay without the section
    info = fit_threshold(m, x, contamination=0.02, metric="mse_knn")
    sec = m.section(CodeNeighbours)
    assert (
        info["metric"] == "mse_knn"
        and (sec.k, sec.n_codes) == (5, 600)
        and m.extra_tensors["code_neighbours"].shape == (600, 2)
    )
    knn, mse = anomaly_scores(m, np.r_[x, anomalies]), anomaly_scores(m, np.r_[x, anomalies], "mse")
    assert auroc(knn[:600], knn[600:]) > 0.95 > auroc(mse[:600], mse[600:])
    assert abs(np.median(knn[:600])) < 1.0  # both terms centred on their training medians
    m.save(tmp_path / "m2.aekit")
    again = aekit.load(tmp_path / "m2.aekit")
    np.testing.assert_allclose(anomaly_scores(again, anomalies), knn[600:], rtol=1e-6, atol=1e-6)
    assert detect(again, anomalies).metric == "mse_knn" and detect(again, anomalies).labels.mean() > 0.9


def test_mse_knn_sums_log_excesses_and_reads_older_files_as_they_scored():
    from aekit.apps.anomaly import CodeNeighbours

    err, dist = np.array([0.5, 2.0, 8.0]), np.array([1.0, 1.0, 4.0])
    now = CodeNeighbours(5, 10, [0.0, 1.0], [0.0, np.log(2.0)])  # log: the new default
    # each term's standardised log excess over its training median; a term below it counts 0
    np.testing.assert_allclose(now.standardised_sum(err, dist), [0.0, np.log(2.0), np.log(8.0) + 2.0])
    old = CodeNeighbours.from_dict({"k": 5, "n_codes": 10, "error_scale": [1.0, 2.0], "distance_scale": [1.0, 1.0]})
    assert old.transform == "identity"  # a file written before the field
    np.testing.assert_allclose(old.standardised_sum(err, dist), (err - 1) / 2 + (dist - 1))
    with pytest.raises(AekitError, match="transform 'cube' is not one of"):
        CodeNeighbours.from_dict({**old.to_dict(), "transform": "cube"})
    # a duplicate row's zero distance stays finite
    assert np.isfinite(now.standardised_sum(np.zeros(1), np.zeros(1))).all()


def test_mse_knn_adds_the_rows_distance_for_tables_only(plane, tmp_path):
    from aekit.apps.anomaly import CodeNeighbours, anomaly_scores, errors_and_codes, fit_threshold, knn_distance
    from aekit.apps.anomaly.terms import _log, _robust

    x, anomalies, models = plane
    m = aekit.load(models[0].save(tmp_path / "m.aekit"))
    info = fit_threshold(m, x, metric="mse_knn")
    sec, rows = m.section(CodeNeighbours), m.extra_tensors["row_neighbours"]
    assert rows.shape == (600, 8) and sec.row_scale is not None and info["n_train"] == 600
    # the score is the three log excesses, each over its training median (rows scaled as the model takes them)
    new = np.r_[1.01 * x[:3], anomalies[:3], 5 * anomalies[:2]]  # new rows (training rows: the test below)
    err, codes = errors_and_codes(m, new, 64)
    xs = m.scale(new).reshape(len(new), -1)
    lx = lambda sc, a: np.maximum((_log(a) - sc[0]) / sc[1], 0)  # noqa: E731
    code_d = knn_distance(codes, m.extra_tensors["code_neighbours"].numpy(), 5)
    row_d = knn_distance(xs, rows.numpy(), 5)
    want = lx(sec.error_scale, err) + lx(sec.distance_scale, code_d) + lx(sec.row_scale, row_d)
    np.testing.assert_allclose(anomaly_scores(m, new), want, rtol=1e-5, atol=1e-6)
    # the row scale is that of the training rows measured against the others, as the code's
    tr_rows = m.scale(x).reshape(600, -1)
    own = knn_distance(tr_rows, tr_rows, 5, exclude_self=True)
    np.testing.assert_allclose(sec.row_scale, _robust(_log(own)), rtol=1e-5)
    # kept through the file; a file without the field (written before it) scores with two terms
    again = aekit.load(m.save(tmp_path / "m2.aekit"))
    np.testing.assert_allclose(anomaly_scores(again, new), want, rtol=1e-5, atol=1e-6)
    older = CodeNeighbours.from_dict({k: v for k, v in sec.to_dict().items() if k != "row_scale"})
    assert older.row_scale is None
    two_terms = want - lx(sec.row_scale, row_d)
    np.testing.assert_allclose(older.standardised_sum(err, code_d), two_terms, rtol=1e-5, atol=1e-6)
    del again.extra_tensors["row_neighbours"]
    with pytest.raises(AekitError, match=r"needs the training codes \(and rows\) stored"):
        anomaly_scores(again, new)
    # windows (not flat rows) keep two terms and store no rows; a refit leaves none behind
    w = aekit.build("dense", input_shape=(8, 1), hidden=[8], latent_dim=2, output_activation="linear", loss="mse")
    w.extra_tensors["row_neighbours"] = rows
    fit_threshold(w, x[:, :, None], metric="mse_knn")
    assert w.section(CodeNeighbours).row_scale is None and "row_neighbours" not in w.extra_tensors


def test_mse_knn_without_stored_codes_is_refused(plane):
    from aekit.apps.anomaly import anomaly_scores, fit_code_neighbours, knn_distance

    x, _, models = plane
    with pytest.raises(AekitError, match=r"needs the training codes \(and rows\) stored in the model"):
        anomaly_scores(models[1], x[:5], "mse_knn")
    with pytest.raises(AekitError, match="at least 2 training samples"):
        fit_code_neighbours(models[1], x[:1])
    ref = np.array([[0.0], [1.0], [3.0]], np.float32)
    np.testing.assert_allclose(knn_distance(ref, ref, 1, exclude_self=True), [1.0, 1.0, 2.0])
    np.testing.assert_allclose(knn_distance(np.array([[2.0]]), ref, 2), [1.0])
    # a mask: only the rows that are in ref skip their own zero distance
    both = np.array([[0.0], [2.0]], np.float32)
    np.testing.assert_allclose(knn_distance(both, ref, 1, exclude_self=np.array([True, False])), [1.0, 1.0])


def test_training_scores_measure_each_row_against_the_other_training_codes(plane, tmp_path):
    from aekit.apps.anomaly import anomaly_scores, fit_code_neighbours

    x, _, models = plane
    m = aekit.load(models[0].save(tmp_path / "m.aekit"))
    train = fit_code_neighbours(m, x)
    # rescored later, a training row is recognised (it is one of the stored rows) and scores as it did
    np.testing.assert_allclose(anomaly_scores(m, x, "mse_knn"), train, rtol=1e-5, atol=1e-5)
    high = np.flatnonzero(train > 0.5)[:5]  # a changed row is new: its near copy among the stored rows counts
    assert len(high) == 5 and (anomaly_scores(m, x[high] + 1e-3, "mse_knn") < train[high]).all()
    # without the rows (windows, pictures, older files) each row finds itself at distance 0 among the codes
    w = aekit.build("dense", input_shape=(8, 1), hidden=[8], latent_dim=2, output_activation="linear", loss="mse")
    w_train = fit_code_neighbours(w, x[:, :, None])
    with_self = anomaly_scores(w, x[:, :, None], "mse_knn")
    assert w_train.shape == (600,) and np.all(w_train >= with_self - 1e-9) and w_train.mean() > with_self.mean()


def test_blur_mse_scores_pictures_and_counts_a_missing_stroke_more_than_a_shifted_one():
    import torch

    from aekit.models.losses import smoothed_error

    target = torch.zeros(3, 1, 16, 16)
    target[:, :, 4:12, 8] = 1.0  # a vertical stroke
    shifted = torch.roll(target, 1, dims=3)  # the stroke one pixel to the right
    missing = torch.zeros_like(target)  # no stroke at all
    plain = lambda a, b: ((a - b) ** 2).flatten(1).mean(1)  # noqa: E731
    assert torch.allclose(plain(shifted, target), plain(missing, target) * 2)  # plain MSE: the shift is worse
    s_shift, s_miss = smoothed_error(shifted, target, (1, 16, 16)), smoothed_error(missing, target, (1, 16, 16))
    assert s_shift.shape == (3,) and bool((s_shift < 0.6 * s_miss).all())  # blurred: the missing stroke is
    # (B, H, W, C) pictures give the same as (B, C, H, W)
    nhwc = smoothed_error(shifted.permute(0, 2, 3, 1), target.permute(0, 2, 3, 1), (1, 16, 16), channels_last=True)
    assert torch.allclose(nhwc, s_shift)

    rng = np.random.default_rng(0)
    x = rng.random((40, 12, 12), dtype=np.float32)
    m = aekit.build("dense", input_shape=(12, 12), hidden=[16], latent_dim=4, seed=0)
    m.fit(x, epochs=1, batch_size=20, verbose=0)
    s = AnomalyScorer([m], density=None, metric="blur_mse").fit(x).score(x)
    assert s.shape == (40,) and np.isfinite(s).all()
    table = aekit.build("dense", input_shape=(12,), latent_dim=3)
    with pytest.raises(AekitError, match="blur_mse' needs a model of pictures"):
        table.reconstruction_error(np.zeros((2, 12), np.float32), "blur_mse")


def test_mse_maha_sees_an_unusual_mix_of_usual_codes_and_survives_the_model_file(tmp_path):
    from aekit.apps.anomaly import CodeGaussian, anomaly_scores, detect, fit_code_gaussian, fit_threshold

    # normal rows: a plane in 8-D whose two coordinates move together; the anomalies lie on the plane with
    # the two moving against each other: each coordinate in its usual range, the mix unseen
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T  # (2, 8) orthonormal rows
    t = rng.normal(size=(500, 1))
    c = np.c_[t, t] + 0.1 * rng.normal(size=(500, 2))
    x = (c @ basis + 0.01 * rng.normal(size=(500, 8))).astype(np.float32)
    s = rng.choice([-1.0, 1.0], size=(20, 1)) * 1.2
    anomalies = (np.c_[s, -s] @ basis).astype(np.float32)
    m = aekit.build(
        "dense", input_shape=(8,), hidden=[16], latent_dim=2, output_activation="linear", loss="mse", seed=0
    )
    m.fit(x, epochs=40, batch_size=32, verbose=0, seed=0)
    info = fit_threshold(m, x, contamination=0.02, metric="mse_maha")
    assert info["metric"] == "mse_maha" and m.section(CodeGaussian) is not None
    assert m.extra_tensors["code_mean"].shape == (2,) and m.extra_tensors["code_whiten"].shape == (2, 2)
    maha, mse = anomaly_scores(m, np.r_[x, anomalies]), anomaly_scores(m, np.r_[x, anomalies], "mse")
    assert auroc(maha[:500], maha[500:]) > 0.95 > auroc(mse[:500], mse[500:])
    assert maha.min() >= 0 and np.mean(maha[:500] == 0) > 0.1  # only excesses over the training medians count
    again = aekit.load(m.save(tmp_path / "m.aekit"))
    np.testing.assert_allclose(anomaly_scores(again, anomalies), maha[500:], rtol=1e-5, atol=1e-5)
    assert detect(again, anomalies).metric == "mse_maha" and detect(again, anomalies).labels.mean() > 0.9
    fresh = aekit.build("dense", input_shape=(8,), hidden=[16], latent_dim=2, seed=0)
    with pytest.raises(AekitError, match="needs the training codes' Gaussian stored in the model"):
        anomaly_scores(fresh, x[:5], "mse_maha")
    with pytest.raises(AekitError, match="at least 2 training samples"):
        fit_code_gaussian(m, x[:1])


def test_mse_maha_takes_the_larger_term_and_reads_older_files_as_they_scored():
    from aekit.apps.anomaly import CodeGaussian

    err, dist = np.array([0.5, 2.0, 8.0, 8.0]), np.array([1.0, 4.0, 1.0, 4.0])
    now = CodeGaussian([0.0, 1.0], [0.0, np.log(2.0)])  # max: the new default
    # each term's log excess over its training median, in IQRs: (0, 0), (log 2, 2), (log 8, 0), (log 8, 2)
    np.testing.assert_allclose(now.score(err, dist), [0.0, 2.0, np.log(8.0), np.log(8.0)])
    old = CodeGaussian.from_dict({"error_scale": [0.0, 1.0], "distance_scale": [0.0, np.log(2.0)]})
    assert old.combine == "sum"  # a file written before the field
    np.testing.assert_allclose(old.score(err, dist), [0.0, np.log(2.0) + 2.0, np.log(8.0), np.log(8.0) + 2.0])
    assert CodeGaussian.from_dict(now.to_dict()).combine == "max"
    with pytest.raises(AekitError, match="combine 'mean' is not one of"):
        CodeGaussian.from_dict({**now.to_dict(), "combine": "mean"})


def test_wide_tables_store_fewer_rows_and_still_rescore_their_training_rows(monkeypatch):
    from aekit.apps.anomaly import CodeNeighbours, anomaly_scores, fit_code_neighbours

    x = np.random.default_rng(0).normal(size=(400, 50)).astype(np.float32)
    m = aekit.build(
        "dense", input_shape=(50,), hidden=[8], latent_dim=3, output_activation="linear", loss="mse", seed=0
    )
    monkeypatch.setattr(CodeNeighbours, "ROW_VALUES", 100 * 50)  # room for 100 rows of 50: the floor of 256 holds
    train = fit_code_neighbours(m, x)
    assert tuple(m.extra_tensors["row_neighbours"].shape) == (256, 50)
    assert tuple(m.extra_tensors["code_neighbours"].shape) == (256, 3)  # the same rows' codes
    # stored or not, every training row scores as it did at the fit
    np.testing.assert_allclose(anomaly_scores(m, x, "mse_knn"), train, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(CodeNeighbours, "ROW_VALUES", 300 * 50)
    fit_code_neighbours(m, x)
    assert len(m.extra_tensors["row_neighbours"]) == 300
