"""scikit-learn estimators: any aekit family as a transformer or an outlier detector.

Both estimators pass scikit-learn's own conformance suite (``check_estimator``), work in ``Pipeline`` and
``GridSearchCV``, support ``set_output(transform="pandas")``, and pickle by storing the trained model as
bytes of aekit's own model file (never a pickled torch module).

Parameters shared by both estimators
------------------------------------
family : str, default="dense"
    A registered family (``aekit.list_models()``). Flat-vector families (dense, stacked, vae) take the rows
    as they are; image and sequence families (conv, conv_vae, lstm) need ``input_shape``.
latent_dim : int or None, default=None
    Code size. None: half the number of features, between 1 and 32; with ``input_shape`` set, the
    family's own default (e.g. the last feature map for ``conv``).
hidden : list of int or None, default=None
    Encoder layer sizes of dense families, or the LSTM width of lstm ([64] or [64, 64] for two layers)
    (None: the family's default, e.g. [128, 64] for dense).
input_shape : tuple or None, default=None
    How each row is shaped for the model, e.g. (28, 28) or (1, 28, 28) for flattened MNIST digits, (3, 32,
    32) / (32, 32, 3) for colour images, (T, F) for windows of a series. Its product must equal the number
    of features.
epochs : int, default=50
    Training epochs. batch_size : int, default=64. lr : float or None (the optimizer's default, adam 1e-3).
optimizer : {'adam', 'adamw', 'adadelta', 'rmsprop', 'sgd'}, default='adam'. weight_decay : float, default=0.
noise : float, str, dict or None, default=None
    Denoising training: a float is the gaussian noise factor (std of the added noise, in the scaled
    space); a string such as ``"masking:0.2"`` or ``"salt_pepper:0.1"``, or a dict, is aekit's
    ``corruption`` option.
scale : {'auto', 'standard', 'minmax'} or None, default='auto'
    Internal scaling, fitted on the training data and stored in the model file. 'auto': none when X lies
    in [0, 1] (e.g. pixel intensities), else 'standard'.
loss : {'auto', 'mse', 'bce'}, default='auto'
    'auto': BCE with a sigmoid output when the (scaled) training data lie in [0, 1], otherwise MSE with a
    linear output. 'bce' on data outside [0, 1] is refused.
model_options : dict or None, default=None
    Further options of the family's config (e.g. ``{"batch_norm": True}``, ``{"beta": 4.0}``).
validation_split : float, default=0. patience : int or None (early stopping), default=None.
device : str, default='cpu'
    'cpu', 'cuda', 'mps' or 'auto' (resolved in ``fit``; the result is ``device_``).
random_state : int, RandomState or None, default=None
    Seeds weight initialisation, shuffling and noise: equal seeds give equal models.
verbose : {0, 1, 2}, default=0

Fitted attributes: ``model_`` (the :class:`aekit.Autoencoder`), ``history_`` (per-epoch loss lists),
``n_epochs_``, ``n_features_in_``, ``feature_names_in_`` (pandas input), ``scale_`` and ``loss_`` (what
'auto' resolved to), ``device_``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_array, check_is_fitted

from aekit.apps.anomaly import SCORES, flag, get_score, scores_to_proba, threshold_from_scores
from aekit.errors import AekitError
from aekit.sklearn._utils import DTYPES, AutoencoderBase


class _Metrics(StrOptions):
    """The detector's ``metric`` values: ``'mse'`` (the error, computed here in float64) or a registered score
    with fitted terms (:mod:`aekit.apps.anomaly.scores`), read from the registry when a parameter is checked,
    so that a score registered after this module was imported is taken too."""

    def __init__(self):
        super().__init__(set())

    @property
    def options(self) -> set:
        return {"mse", *(name for name, s in SCORES.items() if s.fitted)}

    @options.setter
    def options(self, value) -> None:  # StrOptions.__init__ sets it; the registry decides instead
        pass


class AutoencoderTransformer(TransformerMixin, AutoencoderBase):
    """An autoencoder as a scikit-learn transformer: ``transform`` gives codes, ``inverse_transform``
    reconstructions. See the module docstring for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.sklearn.estimators import AutoencoderTransformer
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> ae = AutoencoderTransformer(latent_dim=3, hidden=[16], epochs=5, random_state=0).fit(X)
    >>> ae.transform(X).shape, ae.inverse_transform(ae.transform(X)).shape
    ((200, 3), (200, 10))
    >>> ae.get_feature_names_out().tolist()
    ['autoencoder0', 'autoencoder1', 'autoencoder2']
    """

    # __init__ (the shared parameters): AutoencoderBase

    def fit(self, X, y=None):
        """Train the autoencoder on X (n_samples, n_features); ``y`` is ignored. Returns self."""
        self._fit_model(X)
        self._n_features_out = self.model_.code_size
        return self

    def transform(self, X):
        """Codes (n_samples, code_size), in X's float dtype (the posterior mean for variational families)."""
        X = self._validated(X)
        return self._encode(X).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Reconstructions (n_samples, n_features) decoded from codes X (n_samples, code_size)."""
        check_is_fitted(self)
        Z = check_array(X, dtype=DTYPES)
        if Z.shape[1] != self._n_features_out:
            raise AekitError(
                f"inverse_transform: codes have {Z.shape[1]} columns; this model's code size is {self._n_features_out}"
            )
        return self._decode(Z).astype(Z.dtype, copy=False)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (negative reconstruction MSE): higher is better, as GridSearchCV
        expects."""
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Output names ``autoencoder0`` ... ``autoencoder{code_size-1}``."""
        check_is_fitted(self, "_n_features_out")
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"autoencoder{i}" for i in range(self._n_features_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class AutoencoderOutlierDetector(OutlierMixin, AutoencoderBase):
    """Reconstruction-error outlier detection with scikit-learn's conventions and PyOD's attributes.

    scikit-learn conventions (what ``check_estimator`` tests): ``score_samples`` is the negative
    reconstruction error (higher = more normal), ``decision_function = score_samples - offset_`` is
    negative for outliers, ``predict`` returns +1 for inliers and -1 for outliers, and ``offset_`` is set
    so that a fraction ``contamination`` of the training data is flagged.

    PyOD conventions (for users coming from PyOD): ``decision_scores_`` are the training samples' outlier
    scores (the reconstruction MSE: higher = more abnormal), ``threshold_`` is the cut on that scale
    (``-offset_``), ``labels_`` are 0 (inlier) / 1 (outlier), and ``predict_proba`` is PyOD's 'linear'
    method: the outlier score min-max scaled by the training scores, clipped to [0, 1], as columns
    [P(inlier), P(outlier)]. Note that PyOD's own ``decision_function`` is "higher = more abnormal"; here
    it follows scikit-learn, so use ``-score_samples(X)`` (or :meth:`outlier_scores`) for PyOD's scale.

    Parameters
    ----------
    contamination : float in (0, 0.5], default=0.1
        Expected fraction of outliers in the training data; sets ``offset_`` / ``threshold_``.
    metric : {'mse', 'mse_knn', 'mse_maha'}, default='mse'
        The outlier score, as ``aekit detect --metric``. 'mse': the reconstruction error (PyOD's
        AutoEncoder score). 'mse_knn': the error plus the code's mean distance to its 5 nearest training
        codes and the row's to its 5 nearest training rows, the logarithm of each standardised on the
        training data (what ``aekit detect`` uses for tables; stronger on the tabular benchmarks of BENCHMARKS.md, see
        :class:`aekit.apps.anomaly.knn.CodeNeighbours`). 'mse_maha': the error and the code's
        Mahalanobis distance to the training codes, standardised the same way, the larger counting (what
        ``aekit detect`` uses for series windows; :class:`aekit.apps.anomaly.maha.CodeGaussian`).
    Other parameters: see :mod:`aekit.sklearn`.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.sklearn.estimators import AutoencoderOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))   # normal rows: a plane in 6-D
    >>> X[-10:] += rng.normal(0, 3, size=(10, 6))                  # 10 rows pushed off it
    >>> det = AutoencoderOutlierDetector(contamination=0.05, hidden=[16], latent_dim=2, epochs=20,
    ...                                  random_state=0).fit(X)
    >>> det.predict(X[-10:]).tolist().count(-1) >= 8
    True
    """

    _parameter_constraints: dict = {
        **AutoencoderBase._parameter_constraints,
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "metric": [_Metrics()],
    }

    def __init__(
        self,
        family="dense",
        *,
        contamination=0.1,
        metric="mse",
        latent_dim=None,
        hidden=None,
        input_shape=None,
        epochs=50,
        batch_size=64,
        lr=None,
        optimizer="adam",
        weight_decay=0.0,
        noise=None,
        scale="auto",
        loss="auto",
        model_options=None,
        validation_split=0.0,
        patience=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.contamination = contamination
        self.metric = metric
        super().__init__(
            family,
            latent_dim=latent_dim,
            hidden=hidden,
            input_shape=input_shape,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            noise=noise,
            scale=scale,
            loss=loss,
            model_options=model_options,
            validation_split=validation_split,
            patience=patience,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )

    def fit(self, X, y=None):
        """Train on X (mostly normal data), then set the threshold from the training scores. Returns self."""
        X = self._fit_model(X)
        score = get_score(self.metric)
        if score.fitted:
            if len(X) < score.min_train:
                raise ValueError(f"metric={self.metric!r} needs at least {score.min_train} training samples")
            # stored in model_ (and so when pickled); its own training scores are not used: scikit-learn's
            # contract is decision_scores_ == -score_samples(X_train) (equal for mse_knn on rows, which
            # recognises a stored training row and leaves its own match out, as the fit did)
            score.fit(self.model_, self._rows_to_user(X))
        self.decision_scores_ = self._outlier_scores(X)  # (N,) PyOD scale: higher = more abnormal
        # the threshold rule and training statistics of aekit.apps.anomaly, as `aekit detect` uses them
        self.score_stats_ = threshold_from_scores(self.decision_scores_, self.metric, self.contamination)
        self.threshold_ = self.score_stats_.threshold
        self.offset_ = -self.threshold_
        self.labels_ = flag(self.decision_scores_, self.threshold_)  # PyOD's labels: 1 = outlier, as aekit's
        return self

    def score_samples(self, X):
        """Negative outlier score per sample (N,): higher means more normal. 'mse': the mean squared
        reconstruction error in the model's scaled space; 'mse_knn': that error plus the code's and the row's
        kNN distances, their logarithms standardised on the training data (each term's excess over its
        median), summed; 'mse_maha': the larger of the error's and the code's Mahalanobis distance's."""
        X = self._validated(X)
        return (-self._outlier_scores(X)).astype(X.dtype, copy=False)

    def _outlier_scores(self, X: np.ndarray) -> np.ndarray:
        """Outlier scores (N,) of validated rows: float64, higher = more abnormal."""
        score = get_score(self.metric)
        if score.fitted:
            return score.score(self.model_, self._rows_to_user(X))
        # 'mse' (the one plain score allowed): the registry's error, on the float64 CPU copy of the module so
        # that a row's score does not depend on its batch (scikit-learn's subset-invariance checks)
        return self._errors(X)

    def outlier_scores(self, X):
        """PyOD's scale: the outlier score per sample, higher = more abnormal (``-score_samples(X)``)."""
        return -self.score_samples(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers (scikit-learn)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers."""
        # scikit-learn's labels: the one place aekit uses them (everywhere else an anomaly is 1, an inlier 0)
        return np.where(self.decision_function(X) < 0, -1, 1)

    def predict_proba(self, X):
        """(n_samples, 2) [P(inlier), P(outlier)] by PyOD's 'linear' method (min-max of training scores)."""
        return scores_to_proba(-self.score_samples(X), self.score_stats_, "linear")


__all__ = ["AutoencoderTransformer", "AutoencoderOutlierDetector"]
