"""Detect anomalies: score samples by how badly an autoencoder reconstructs them.

The model is trained on normal data only. A sample's anomaly score is its reconstruction error (MSE or BCE
per sample, or the negative ELBO for a variational model); for tables, ``aekit train`` stores ``'mse_tails'``,
the error plus how far the row's values lie in their columns' tails and how rare their histogram bins are
(``'mse_knn'``, the error plus the code's and the row's distances to the nearest training codes and rows, is
the other table score), and for the
windows of a series ``'mse_maha'``, the error or the code's Mahalanobis distance to the training codes (see
:func:`anomaly_scores`). As in PyOD,
a threshold is taken from the scores of the training data: the ``(1 - contamination)`` quantile (or a
given percentile), contamination in (0, 0.5]. :func:`fit_threshold` stores it in the model as an
:class:`AnomalyThreshold` section (``model.section(AnomalyThreshold)``, saved with ``model.save``), so
``aekit detect`` and :func:`detect` apply the same threshold later. The rules work on plain score arrays
too (:func:`threshold_from_scores`, :func:`scores_to_proba`); the scikit-learn outlier detector uses them.

For a time series watched as a stream, :func:`stream_detect` is the causal option: array (T,) in, scores
and flags (T,) out, each point scored from the trailing window ending at it, the model trained on the
series' start and the threshold following tail models of the error and of the code's distance to the
training codes so far. :class:`AnomalyScorer` is the stronger score for images and tables: reconstruction
error plus the code's density under a Gaussian mixture, averaged over several models.

The modules, each importing only those listed before it:

- :mod:`.terms`: a sample's error and code in one pass, kNN distances, robust standardisation;
- :mod:`.knn`, :mod:`.maha`, :mod:`.marginal`: the fitted scores ``'mse_knn'``, ``'mse_maha'`` and
  ``'mse_tails'`` and their model-file sections;
- :mod:`.scores`: the registry of scores by name (:func:`register_score`, :func:`get_score`), the only
  place a score name is looked up;
- :mod:`.threshold`: :class:`AnomalyThreshold` and the threshold rule on plain score arrays;
- :mod:`.detection`: :func:`fit_threshold`, :func:`anomaly_scores`, :func:`detect`, :func:`predict`,
  :func:`predict_proba`;
- :mod:`.scorer`: :class:`AnomalyScorer`;
- :mod:`.tail`, :mod:`.stream`: the streaming detector (:func:`stream_detect`).

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

from aekit.apps.anomaly.detection import (
    DetectionResult,
    anomaly_scores,
    detect,
    fit_threshold,
    metric_names,
    predict,
    predict_proba,
    resolve_metric,
    threshold_for,
)
from aekit.apps.anomaly.knn import CodeNeighbours, fit_code_neighbours, mse_knn_scores
from aekit.apps.anomaly.maha import CodeGaussian, fit_code_gaussian, mse_maha_scores
from aekit.apps.anomaly.marginal import MarginalTails, fit_marginal_tails, mse_tails_scores
from aekit.apps.anomaly.scorer import AnomalyScorer
from aekit.apps.anomaly.scores import (
    SCORES,
    ReconstructionScore,
    Score,
    default_score,
    get_score,
    register_score,
    score_names,
    unregister_score,
)
from aekit.apps.anomaly.stream import StreamResult, stream_detect
from aekit.apps.anomaly.terms import errors_and_codes, knn_distance
from aekit.apps.anomaly.threshold import (
    AnomalyThreshold,
    check_contamination,
    flag,
    scores_to_proba,
    threshold_from_scores,
)

__all__ = [
    "AnomalyScorer",
    "AnomalyThreshold",
    "CodeGaussian",
    "CodeNeighbours",
    "MarginalTails",
    "fit_marginal_tails",
    "mse_tails_scores",
    "DetectionResult",
    "ReconstructionScore",
    "SCORES",
    "Score",
    "StreamResult",
    "anomaly_scores",
    "check_contamination",
    "default_score",
    "detect",
    "errors_and_codes",
    "fit_code_gaussian",
    "fit_code_neighbours",
    "fit_threshold",
    "flag",
    "get_score",
    "knn_distance",
    "metric_names",
    "mse_knn_scores",
    "mse_maha_scores",
    "predict",
    "predict_proba",
    "register_score",
    "resolve_metric",
    "score_names",
    "scores_to_proba",
    "stream_detect",
    "threshold_for",
    "threshold_from_scores",
    "unregister_score",
]
