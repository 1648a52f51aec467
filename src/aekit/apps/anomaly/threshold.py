"""The one threshold rule of aekit's anomaly detectors, on plain score arrays (higher = more anomalous).

The threshold is the ``(1 - contamination)`` quantile of the training scores (``np.quantile``, linear), or
a given percentile of them, contamination in (0, 0.5] (PyOD's ``threshold_``); a sample is an anomaly (label
1) when its score is above the threshold, an inlier (label 0) otherwise. :class:`AnomalyThreshold` keeps the
threshold with the training scores' statistics (the model-file section ``'anomaly'``), so that a later
contamination applies without the training data (:meth:`AnomalyThreshold.at`) and scores turn into outlier
probabilities (:func:`scores_to_proba`). :func:`aekit.apps.anomaly.detection.fit_threshold` and the
scikit-learn outlier detector both use it.

Examples
--------
>>> import numpy as np
>>> from aekit.apps.anomaly.threshold import flag, threshold_from_scores
>>> train = np.arange(101.0)                                   # training scores 0 .. 100
>>> t = threshold_from_scores(train, contamination=0.05)
>>> t.threshold, t.contamination, flag(np.array([50.0, 95.0, 96.0]), t.threshold).tolist()
(95.0, 0.05, [0, 0, 1])
>>> round(t.at(0.1), 6)                                        # another contamination, from the quantiles
90.0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import erf, sqrt
from typing import ClassVar

import numpy as np

from aekit.errors import AekitError

LEVELS = np.linspace(0.0, 1.0, 1001)  # training-score quantiles kept in the model file (0.1 % steps)
PROBA_METHODS = ("linear", "unify")


@dataclass
class AnomalyThreshold:
    """The model-file section :func:`aekit.apps.anomaly.detection.fit_threshold` writes: the decision threshold
    and the statistics of the training scores (mean, std, min, max for :func:`scores_to_proba`; 1001
    quantiles so that a later ``contamination`` applies without the training data)."""

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
    def from_dict(cls, d: dict) -> AnomalyThreshold:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})

    def brief(self) -> dict:
        """What ``aekit detect`` applies with no option: the score, the threshold and its contamination."""
        return {"metric": self.metric, "threshold": self.threshold, "contamination": self.contamination}

    def describe(self) -> str:
        """One line: the score and the threshold, and the share of the training data it flags."""
        return (
            f"score {self.metric}, threshold {self.threshold:.6g} (flags {100 * self.contamination:.3g} % "
            f"of the {self.n_train:,} training samples)"
        )

    def at(self, contamination: float) -> float:
        """The threshold that flags ``contamination`` of the training data, from the stored quantiles."""
        return float(np.interp(1.0 - check_contamination(contamination), LEVELS, self.quantiles))


def check_contamination(contamination: float) -> float:
    """The one rule for ``contamination``: a fraction in (0, 0.5] (PyOD's and scikit-learn's)."""
    c = float(contamination)
    if not 0.0 < c <= 0.5:
        raise AekitError(f"contamination={contamination!r}; expected a fraction with 0 < contamination <= 0.5")
    return c


def quantile_threshold(scores: np.ndarray, level: float) -> float:
    """The threshold at quantile ``level`` of ``scores`` (``np.quantile``, linear, in the scores' own
    dtype): ``level = 1 - contamination`` flags about that fraction of them."""
    return float(np.quantile(scores, level))


def flag(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Labels (N,) int64: 1 where the score is above ``threshold`` (an anomaly), 0 elsewhere."""
    return (np.asarray(scores) > threshold).astype(np.int64)


def threshold_from_scores(
    scores: np.ndarray, metric: str = "mse", contamination: float | None = 0.01, percentile: float | None = None
) -> AnomalyThreshold:
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
    return AnomalyThreshold(
        metric,
        quantile_threshold(s, q),
        round(1.0 - q, 10),
        int(len(s)),
        float(s.mean()),
        float(s.std()),
        float(s.min()),
        float(s.max()),
        [float(v) for v in np.quantile(s, LEVELS)],
    )


def check_proba_method(method: str) -> str:
    """``method`` if :func:`scores_to_proba` knows it ('linear' or 'unify'), else an :class:`AekitError`."""
    if method not in PROBA_METHODS:
        raise AekitError(f"method={method!r}; expected 'linear' or 'unify'")
    return method


def scores_to_proba(scores: np.ndarray, stats: AnomalyThreshold, method: str = "linear") -> np.ndarray:
    """Outlier probabilities (N, 2), columns [inlier, outlier], of ``scores`` given the training statistics.

    ``'linear'``: min-max scaled by the training scores' range and clipped to [0, 1] (PyOD's default);
    ``'unify'``: ``erf((score - mean) / (std * sqrt(2)))`` clipped at 0 (Kriegel et al., 2011).
    """
    scores = np.asarray(scores, np.float64)
    if check_proba_method(method) == "linear":
        p = (scores - stats.min) / max(stats.max - stats.min, 1e-12)
    else:
        z = (scores - stats.mean) / (max(stats.std, 1e-12) * sqrt(2.0))
        p = np.array([erf(v) for v in z])
    p = np.clip(p, 0.0, 1.0)
    return np.stack([1.0 - p, p], axis=1)
