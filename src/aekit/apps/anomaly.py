"""Detect anomalies: score samples by how badly an autoencoder reconstructs them.

The model is trained on normal data only. A sample's anomaly score is its reconstruction error (MSE or BCE
per sample, or the negative ELBO for a variational model); for tables, ``aekit train`` stores ``'mse_knn'``,
the error plus the code's (and the row's) distance to its nearest training codes (rows), and for the
windows of a series ``'mse_maha'``, the error or the code's Mahalanobis distance to the training codes (see
:func:`anomaly_scores`). As in PyOD,
a threshold is taken from the scores of the training data: the ``(1 - contamination)`` quantile (or a
given percentile), contamination in (0, 0.5]. :func:`fit_threshold` stores it in the model as an
:class:`AnomalyThreshold` section (``model.section(AnomalyThreshold)``, saved with ``model.save``), so
``aekit detect`` and :func:`detect` apply the same threshold later. The rules work on plain score arrays
too (:func:`threshold_from_scores`, :func:`scores_to_proba`); the scikit-learn outlier detector uses them.

For a time series watched as a stream, :func:`stream_detect` (from :mod:`aekit.apps.stream`) is the causal
option: array (T,) in, scores and flags (T,) out, each point scored from the trailing window ending at it,
the model trained on the series' start and the threshold following tail models of the error and of the
code's distance to the training codes so far.
:class:`AnomalyScorer` (from :mod:`aekit.apps.anomaly_scores`) is the stronger score for images and tables:
reconstruction error plus the code's density under a Gaussian mixture, averaged over several models.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.anomaly import fit_threshold, detect
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(500, 16)).astype(np.float32)
>>> ae = aekit.build("dense", input_shape=(16,), hidden=[32], latent_dim=4, output_activation="linear",
...                  loss="mse", seed=0)
>>> _ = ae.fit(x, epochs=2, batch_size=64, verbose=0, seed=0)
>>> info = fit_threshold(ae, x, contamination=0.05)
>>> info["metric"], info["contamination"]
('mse', 0.05)
>>> res = detect(ae, x)
>>> res.scores.shape, res.labels.dtype.name, bool(0.02 < res.labels.mean() < 0.08)
((500,), 'int64', True)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import erf, sqrt
from typing import ClassVar, Optional

import numpy as np

from aekit.errors import AekitError
from aekit.apps.anomaly_scorer import AnomalyScorer  # noqa: F401  (error + code density over seeds, re-exported here)
from aekit.apps.anomaly_scores import fit_code_gaussian, fit_code_neighbours, mse_knn_scores, mse_maha_scores
from aekit.apps.stream import StreamResult, stream_detect  # noqa: F401  (the causal option, re-exported here)

METRICS = ("auto", "mse", "bce", "blur_mse", "elbo", "mse_knn", "mse_maha")
# the scores with terms fitted on the training data: (fit, which returns the training scores; score)
FITTED_SCORES = {"mse_knn": (fit_code_neighbours, mse_knn_scores),
                 "mse_maha": (fit_code_gaussian, mse_maha_scores)}
_LEVELS = np.linspace(0.0, 1.0, 1001)  # training-score quantiles kept in the model file (0.1 % steps)


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


def resolve_metric(model, metric: str = "auto") -> str:
    """The score metric ``'auto'`` stands for: the one stored by :func:`fit_threshold`, else ``'elbo'`` for
    variational models and ``'mse'`` otherwise."""
    if metric not in METRICS:
        raise AekitError(f"metric={metric!r}; expected one of {', '.join(METRICS)}")
    if metric == "auto":
        stored = _stored(model)
        return stored.metric if stored is not None else ("elbo" if model.variational else "mse")
    return metric


@dataclass
class AnomalyThreshold:
    """The model-file section :func:`fit_threshold` writes: the decision threshold and the statistics of the
    training scores (mean, std, min, max for :func:`predict_proba`; 1001 quantiles so that a later
    ``contamination`` applies without the training data)."""

    SECTION: ClassVar[str] = "anomaly"
    metric: str
    threshold: float
    contamination: float
    n_train: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AnomalyThreshold":
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})

    def brief(self) -> dict:
        """What ``aekit detect`` applies with no option: the score, the threshold and its contamination."""
        return {"metric": self.metric, "threshold": self.threshold, "contamination": self.contamination}

    def describe(self) -> str:
        """One line: the score and the threshold, and the share of the training data it flags."""
        return (f"score {self.metric}, threshold {self.threshold:.6g} (flags {100 * self.contamination:.3g} % "
                f"of the {self.n_train:,} training samples)")


def check_contamination(contamination: float) -> float:
    """The one rule for ``contamination``: a fraction in (0, 0.5] (PyOD's and scikit-learn's)."""
    c = float(contamination)
    if not 0.0 < c <= 0.5:
        raise AekitError(f"contamination={contamination!r}; expected a fraction with 0 < contamination <= 0.5")
    return c


def threshold_from_scores(scores: np.ndarray, metric: str = "mse", contamination: Optional[float] = 0.01,
                          percentile: Optional[float] = None) -> AnomalyThreshold:
    """The threshold and training statistics of ``scores`` (N,) (higher = more anomalous): the
    ``1 - contamination`` quantile (``np.quantile``, linear), or the ``percentile`` (0-100) when given."""
    if percentile is not None:
        if not 0.0 <= float(percentile) <= 100.0:
            raise AekitError(f"percentile={percentile!r}; expected a number in [0, 100]")
        q = float(percentile) / 100.0
    elif contamination is not None:
        q = 1.0 - check_contamination(contamination)
    else:
        raise AekitError("fit_threshold: give contamination= or percentile=")
    s = np.asarray(scores, np.float64)
    return AnomalyThreshold(metric, float(np.quantile(s, q)), round(1.0 - q, 10), int(len(s)), float(s.mean()),
                            float(s.std()), float(s.min()), float(s.max()),
                            [float(v) for v in np.quantile(s, _LEVELS)])


def scores_to_proba(scores: np.ndarray, stats: AnomalyThreshold, method: str = "linear") -> np.ndarray:
    """Outlier probabilities (N, 2), columns [inlier, outlier], of ``scores`` given the training statistics.

    ``'linear'``: min-max scaled by the training scores' range and clipped to [0, 1] (PyOD's default);
    ``'unify'``: ``erf((score - mean) / (std * sqrt(2)))`` clipped at 0 (Kriegel et al., 2011).
    """
    scores = np.asarray(scores, np.float64)
    if method == "linear":
        p = (scores - stats.min) / max(stats.max - stats.min, 1e-12)
    elif method == "unify":
        z = (scores - stats.mean) / (max(stats.std, 1e-12) * sqrt(2.0))
        p = np.array([erf(v) for v in z])
    else:
        raise AekitError(f"method={method!r}; expected 'linear' or 'unify'")
    p = np.clip(p, 0.0, 1.0)
    return np.stack([1.0 - p, p], axis=1)


def anomaly_scores(model, x, metric: str = "auto", batch_size: int = 1024) -> np.ndarray:
    """Per-sample anomaly scores (N,): the reconstruction error (``'mse'``, ``'bce'``, or for pictures
    ``'blur_mse'``, the error of the residual blurred by one pixel), the negative ELBO (``'elbo'``,
    variational models), ``'mse_knn'``: the error plus the code's distance to its nearest training codes
    (and, for flat rows, the row's to its nearest training rows), their logarithms standardised (tables;
    :class:`aekit.apps.anomaly_scores.CodeNeighbours`), or
    ``'mse_maha'``: the error and the code's Mahalanobis distance to the training codes, standardised the
    same way, the larger counting (series windows; :class:`aekit.apps.anomaly_scores.CodeGaussian`).
    ``'auto'``: the metric stored by :func:`fit_threshold`, else ``'elbo'`` for variational models and
    ``'mse'`` otherwise."""
    metric = resolve_metric(model, metric)
    if metric in FITTED_SCORES:
        return FITTED_SCORES[metric][1](model, x, batch_size)
    return model.reconstruction_error(x, metric=metric, batch_size=batch_size)


def fit_threshold(model, x_train, contamination: Optional[float] = 0.01, percentile: Optional[float] = None,
                  metric: str = "auto", batch_size: int = 1024) -> dict:
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
    metric : {'auto', 'mse', 'bce', 'blur_mse', 'elbo', 'mse_knn', 'mse_maha'}
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
    if metric in FITTED_SCORES:  # the terms fitted and the training rows scored in the same pass
        scores = FITTED_SCORES[metric][0](model, x_train, batch_size=batch_size)
    else:
        scores = anomaly_scores(model, x_train, metric, batch_size)
    info = threshold_from_scores(scores, metric, contamination, percentile)
    model.set_section(info)
    return info.to_dict()


def _stored(model) -> Optional[AnomalyThreshold]:
    return model.section(AnomalyThreshold)


def _stored_for(model, metric: str) -> Optional[AnomalyThreshold]:
    """The stored threshold section, refused when it was fitted on another metric's scores (their scales
    differ: an error in squared units against a sum of standardised terms)."""
    info = _stored(model)
    if info is not None and info.metric != metric:
        raise AekitError(f"the model's threshold was fitted on {info.metric!r} scores, not {metric!r}; give a "
                         f"threshold, or fit one on normal data for {metric!r} (fit_threshold(model, x_train, "
                         f"metric={metric!r}), or 'aekit detect --metric {metric} --fit-on TRAIN')")
    return info


def threshold_for(model, contamination: float) -> float:
    """The threshold that flags ``contamination`` of the training data, from the stored quantiles."""
    info = _stored(model)
    if info is None:
        raise AekitError("the model has no fitted anomaly threshold; fit one on normal data (fit_threshold, "
                         "or 'aekit detect --fit-on TRAIN'), or give a threshold")
    return float(np.interp(1.0 - check_contamination(contamination), _LEVELS, info.quantiles))


def detect(model, x, contamination: Optional[float] = None, threshold: Optional[float] = None,
           metric: str = "auto", batch_size: int = 1024) -> DetectionResult:
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
        thr = (threshold_for(model, contamination) if info is not None
               else float(np.quantile(scores, 1.0 - check_contamination(contamination))))
    elif info is not None:
        thr = float(info.threshold)
    else:
        raise AekitError("the model has no fitted anomaly threshold; fit one on normal data (fit_threshold, "
                         "or 'aekit detect --fit-on TRAIN'), or give a contamination or a threshold")
    return DetectionResult(scores, (scores > thr).astype(np.int64), thr, metric)


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
    if method not in ("linear", "unify"):
        raise AekitError(f"method={method!r}; expected 'linear' or 'unify'")
    return scores_to_proba(anomaly_scores(model, x, metric, batch_size), info, method)
