"""Detect anomalies with a model: fit the threshold on normal data and store it in the model
(:func:`fit_threshold`), score (:func:`anomaly_scores`), flag (:func:`detect`, :func:`predict`) and give
outlier probabilities (:func:`predict_proba`). See :mod:`aekit.apps.anomaly` for the method.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.anomaly.detection import detect, fit_threshold
>>> x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
>>> ae = aekit.build("dense", input_shape=(8,), hidden=[16], latent_dim=2, loss="mse",
...                  output_activation="linear", seed=0)
>>> _ = ae.fit(x, epochs=2, verbose=0, seed=0)
>>> fit_threshold(ae, x, contamination=0.1)["contamination"]
0.1
>>> res = detect(ae, np.r_[x[:5], 8 + x[:5]])
>>> res.labels.tolist()
[0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aekit.apps.anomaly.scores import default_score, get_score, score_names
from aekit.apps.anomaly.threshold import (
    AnomalyThreshold,
    check_contamination,
    check_proba_method,
    flag,
    quantile_threshold,
    scores_to_proba,
    threshold_from_scores,
)
from aekit.errors import AekitError


@dataclass
class DetectionResult:
    """Scores (N,) (higher = more anomalous), labels (N,) (1 = anomaly), the threshold and the score metric."""

    scores: np.ndarray
    labels: np.ndarray
    threshold: float
    metric: str = "mse"

    @property
    def n_anomalies(self) -> int:
        return int(self.labels.sum())


def metric_names() -> tuple:
    """What ``metric=`` takes: ``'auto'`` and the registered scores (:mod:`aekit.apps.anomaly.scores`)."""
    return ("auto", *score_names())


def resolve_metric(model, metric: str = "auto") -> str:
    """The score metric ``'auto'`` stands for: the one stored by :func:`fit_threshold`, else ``'elbo'`` for
    variational models and ``'mse'`` otherwise (:func:`aekit.apps.anomaly.scores.default_score`)."""
    if metric not in metric_names():
        raise AekitError(f"metric={metric!r}; expected one of {', '.join(metric_names())}")
    if metric == "auto":
        stored = _stored(model)
        return stored.metric if stored is not None else default_score(model)
    return metric


def anomaly_scores(model, x, metric: str = "auto", batch_size: int = 1024) -> np.ndarray:
    """Per-sample anomaly scores (N,): the reconstruction error (``'mse'``, ``'bce'``, or for pictures
    ``'blur_mse'``, the error of the residual blurred by one pixel), the negative ELBO (``'elbo'``,
    variational models), ``'mse_knn'``: the error plus the code's distance to its nearest training codes
    (and, for flat rows, the row's to its nearest training rows), their logarithms standardised (tables;
    :class:`aekit.apps.anomaly.knn.CodeNeighbours`), or
    ``'mse_maha'``: the error and the code's Mahalanobis distance to the training codes, standardised the
    same way, the larger counting (series windows; :class:`aekit.apps.anomaly.maha.CodeGaussian`).
    ``'auto'``: the metric stored by :func:`fit_threshold`, else ``'elbo'`` for variational models and
    ``'mse'`` otherwise. Any score registered in :mod:`aekit.apps.anomaly.scores` is taken by name."""
    return get_score(resolve_metric(model, metric)).score(model, x, batch_size)


def fit_threshold(
    model,
    x_train,
    contamination: float | None = 0.01,
    percentile: float | None = None,
    metric: str = "auto",
    batch_size: int = 1024,
) -> dict:
    """Fit the decision threshold on normal (training) data and store it in the model (an
    :class:`AnomalyThreshold` section, saved with the model).

    Parameters
    ----------
    model : aekit.Autoencoder
        A model trained on (mostly) normal data.
    x_train : array (N, ...)
        The training data (or held-out normal data).
    contamination : float, default 0.01
        Expected fraction of anomalies: the threshold is the ``1 - contamination`` quantile of the training
        scores (PyOD's ``threshold_``), so about that fraction of the training data is flagged.
    percentile : float, optional
        Instead of ``contamination``: the threshold is this percentile (0-100) of the training scores.
    metric : {'auto', 'mse', 'bce', 'blur_mse', 'elbo', 'mse_knn', 'mse_maha'} or another registered score
        ``'auto'``: the metric the model already uses (from an earlier fit, e.g. ``aekit train``'s
        ``'mse_knn'`` for a table, ``'mse_maha'`` for a series), else ``'elbo'`` for variational models and
        ``'mse'``. ``'mse_knn'`` also stores a sample of ``x_train``'s codes in the model (its distance
        term), ``'mse_maha'`` the mean and whitening matrix of a Gaussian fitted on them.

    Returns
    -------
    dict
        What was stored: metric, threshold, contamination, n_train, the training scores' mean, std, min, max
        (used by :func:`predict_proba`) and 1001 quantiles (so a later ``contamination`` can be applied
        without the training data).
    """
    if percentile is None and contamination is not None:
        check_contamination(contamination)  # before the (long) scoring pass
    metric = resolve_metric(model, metric)  # 'auto': the metric the model already uses (a table's mse_knn)
    # a fitted score fits its terms and scores the training rows in the same pass
    scores = get_score(metric).fit(model, x_train, batch_size=batch_size)
    info = threshold_from_scores(scores, metric, contamination, percentile)
    model.set_section(info)
    return info.to_dict()


def _stored(model) -> AnomalyThreshold | None:
    return model.section(AnomalyThreshold)


def _stored_for(model, metric: str) -> AnomalyThreshold | None:
    """The stored threshold section, refused when it was fitted on another metric's scores (their scales
    differ: an error in squared units against a sum of standardised terms)."""
    info = _stored(model)
    if info is not None and info.metric != metric:
        raise AekitError(
            f"the model's threshold was fitted on {info.metric!r} scores, not {metric!r}; give a "
            f"threshold, or fit one on normal data for {metric!r} (fit_threshold(model, x_train, "
            f"metric={metric!r}), or 'aekit detect --metric {metric} --fit-on TRAIN')"
        )
    return info


def threshold_for(model, contamination: float) -> float:
    """The threshold that flags ``contamination`` of the training data, from the stored quantiles."""
    info = _stored(model)
    if info is None:
        raise AekitError(
            "the model has no fitted anomaly threshold; fit one on normal data (fit_threshold, "
            "or 'aekit detect --fit-on TRAIN'), or give a threshold"
        )
    return info.at(contamination)


def detect(
    model,
    x,
    contamination: float | None = None,
    threshold: float | None = None,
    metric: str = "auto",
    batch_size: int = 1024,
) -> DetectionResult:
    """Score ``x`` and flag anomalies.

    The threshold is, in order: ``threshold`` if given; the training quantile for ``contamination`` if
    given and the model has a fitted threshold (:func:`fit_threshold`); the stored threshold; or, with
    ``contamination`` and no fitted threshold, the ``1 - contamination`` quantile of ``x``'s own scores
    (PyOD's fit-and-predict on one set). Otherwise an :class:`AekitError` says what to do; so it does when
    the stored threshold was fitted on another metric's scores and no ``threshold`` is given.
    """
    if threshold is not None and contamination is not None:
        raise AekitError("give contamination= or threshold=, not both")
    metric = resolve_metric(model, metric)
    info = _stored_for(model, metric) if threshold is None else None
    scores = anomaly_scores(model, x, metric, batch_size)
    if threshold is not None:
        thr = float(threshold)
    elif contamination is not None:
        thr = (
            info.at(contamination)
            if info is not None
            else quantile_threshold(scores, 1.0 - check_contamination(contamination))
        )
    elif info is not None:
        thr = float(info.threshold)
    else:
        raise AekitError(
            "the model has no fitted anomaly threshold; fit one on normal data (fit_threshold, "
            "or 'aekit detect --fit-on TRAIN'), or give a contamination or a threshold"
        )
    return DetectionResult(scores, flag(scores, thr), thr, metric)


def predict(model, x, **kwargs) -> np.ndarray:
    """Labels (N,): 1 for anomalies, 0 for inliers (PyOD's convention); kwargs as :func:`detect`."""
    return detect(model, x, **kwargs).labels


def predict_proba(model, x, method: str = "linear", metric: str = "auto", batch_size: int = 1024) -> np.ndarray:
    """Outlier probabilities (N, 2): columns [inlier, outlier], as PyOD's ``predict_proba``.

    ``'linear'``: scores min-max scaled by the training scores' range and clipped to [0, 1];
    ``'unify'``: ``erf((score - mean) / (std * sqrt(2)))`` clipped at 0 (Kriegel et al., 2011).
    Needs a fitted threshold (:func:`fit_threshold`), whose training statistics are used.
    """
    info = _stored_for(model, resolve_metric(model, metric))
    if info is None:
        raise AekitError("predict_proba needs the training score statistics; run fit_threshold first")
    check_proba_method(method)  # before the scoring pass
    return scores_to_proba(anomaly_scores(model, x, metric, batch_size), info, method)
