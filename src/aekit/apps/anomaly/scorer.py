"""Stronger anomaly scores from autoencoders: reconstruction error plus the code's density, over seeds.

The plain score (:func:`aekit.apps.anomaly.detection.anomaly_scores`) is the reconstruction error. Two additions
from the literature help on images and tables:

- **the code's density** (as in DAGMM, Zong et al., 2018, and LSA, Abati et al., 2019): a normal sample is
  reconstructed well *and* its code lies where the training codes lie; a Gaussian mixture fitted on the
  training codes gives the code's negative log-likelihood;
- **an ensemble over seeds** (as in RandNet, Chen et al., 2017): the scores of several autoencoders trained
  from different initialisations are averaged, which removes the luck of one initialisation.

Each term is standardised with the training scores' median and interquartile range (so the terms have
the same weight whatever their units) and the terms and models are averaged.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.anomaly.scorer import AnomalyScorer
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(400, 8)).astype(np.float32)
>>> models = [aekit.build("dense", input_shape=(8,), hidden=[16], latent_dim=2, output_activation="linear",
...                       loss="mse", seed=s) for s in range(2)]
>>> for m in models:
...     _ = m.fit(x, epochs=2, batch_size=64, verbose=0, seed=0)
>>> scorer = AnomalyScorer(models, density="gmm").fit(x)
>>> s = scorer.score(np.r_[x[:5], 8 + x[:5]])
>>> s.shape, bool(s[5:].min() > s[:5].max())
((10,), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from aekit.apps.anomaly.detection import anomaly_scores
from aekit.apps.anomaly.terms import _robust
from aekit.errors import AekitError

if TYPE_CHECKING:
    from aekit.autoencoder.model import Autoencoder

DENSITIES = (None, "gmm", "gaussian")


class AnomalyScorer:
    """Scores from autoencoders trained on normal data: reconstruction error (+ code density), averaged.

    Parameters
    ----------
    models : sequence of aekit.Autoencoder
        One or more models trained on normal data (e.g. the same architecture, different seeds).
    density : {None, 'gmm', 'gaussian'}, default 'gmm'
        Add the negative log-likelihood of the code under a Gaussian mixture ('gmm', ``n_components``
        full-covariance components) or one Gaussian ('gaussian') fitted on the training codes.
    n_components : int, default 4
    weight : float, default 1.0
        Weight of the density term against the reconstruction term (both standardised).
    metric : str, default 'auto'
        The reconstruction score (see :func:`aekit.apps.anomaly.detection.anomaly_scores`).
    seed : int, default 0
        Seed of the mixture's fit.

    Attributes
    ----------
    stats_ : list of dict
        Per model: the training medians and IQRs of each term and the fitted mixture.
    """

    def __init__(
        self,
        models: Autoencoder | Sequence[Autoencoder],
        density: str | None = "gmm",
        n_components: int = 4,
        weight: float = 1.0,
        metric: str = "auto",
        seed: int = 0,
    ):
        self.models: list[Autoencoder] = (
            list(models) if isinstance(models, (list, tuple)) else [cast("Autoencoder", models)]
        )
        self.density = density
        self.n_components = n_components
        self.weight = weight
        self.metric = metric
        self.seed = seed

    def _terms(self, model, x, mix) -> list[np.ndarray]:
        terms = [anomaly_scores(model, x, self.metric).astype(np.float64)]
        if mix is not None:
            terms.append(-mix.score_samples(model.encode(x).astype(np.float64)))
        return terms

    def fit(self, x_train) -> AnomalyScorer:
        """Fit the code densities and the standardisation on normal data ``x_train``; returns self."""
        from sklearn.mixture import GaussianMixture

        if self.density not in DENSITIES:
            raise AekitError(f"density={self.density!r}; expected one of {DENSITIES}")
        if not self.models:
            raise AekitError("AnomalyScorer needs at least one trained model")
        self.stats_: list[dict[str, Any]] = []
        for i, m in enumerate(self.models):
            mix = None
            if self.density is not None:
                k = 1 if self.density == "gaussian" else int(self.n_components)
                codes = m.encode(x_train).astype(np.float64)  # (N, latent)
                mix = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=self.seed + i)
                mix.fit(codes)
            self.stats_.append({"mixture": mix, "scale": [_robust(t) for t in self._terms(m, x_train, mix)]})
        return self

    def score(self, x) -> np.ndarray:
        """Anomaly scores (N,), higher = more anomalous."""
        if not hasattr(self, "stats_"):
            raise AekitError("AnomalyScorer: call fit(x_train) before score(x)")
        total = 0.0
        for m, st in zip(self.models, self.stats_):
            terms = self._terms(m, x, st["mixture"])
            w = [1.0] + [float(self.weight)] * (len(terms) - 1)
            total = total + sum(wi * (t - med) / iqr for wi, t, (med, iqr) in zip(w, terms, st["scale"]))
        return np.asarray(total / len(self.models), dtype=np.float64)
