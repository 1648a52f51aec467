"""The registry of anomaly scores: every score a model can be judged by, by name.

A score is an object with ``score(model, x, batch_size) -> (N,)`` (higher = more anomalous) and ``fit(model,
x_train, batch_size) -> (N,)``: a score with terms fitted on normal data (``fitted = True``) stores them in
the model there and returns the training rows' scores; the others just score the training rows. Every
consumer looks a name up here (:func:`get_score`): :func:`aekit.apps.anomaly.fit_threshold`,
:func:`aekit.apps.anomaly.detect`, ``aekit detect --metric``, the score ``aekit train`` stores for a kind
of data (:func:`default_score`) and the scikit-learn outlier detector's ``metric``. Registering a new score
is one call (or a class decorator), :func:`register_score`.

The scores registered here: the reconstruction errors ``'mse'``, ``'bce'``, ``'blur_mse'`` (pictures) and
``'elbo'`` (the negative ELBO of a variational model), computed by the model itself
(:meth:`aekit.Autoencoder.reconstruction_error`); and the fitted ``'mse_knn'`` (tables' default,
:mod:`.knn`) and ``'mse_maha'`` (series windows' default, :mod:`.maha`).

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.anomaly.scores import Score, get_score, register_score, unregister_score
>>> @register_score
... class MaxError(Score):
...     '''The largest squared error over the sample's values.'''
...     name = "max_error"
...     def score(self, model, x, batch_size=1024):
...         x = np.asarray(x, np.float32)
...         return ((model.reconstruct(x) - x) ** 2).reshape(len(x), -1).max(1)
>>> x = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32)
>>> ae = aekit.build("dense", input_shape=(6,), hidden=[8], latent_dim=2, seed=0)
>>> _ = ae.fit(x, epochs=1, verbose=0, seed=0)
>>> get_score("max_error").score(ae, x[:3]).shape, get_score("mse_knn").fitted
((3,), True)
>>> unregister_score("max_error")
"""

from __future__ import annotations

import numpy as np

from aekit.apps.anomaly.knn import fit_code_neighbours, mse_knn_scores
from aekit.apps.anomaly.maha import fit_code_gaussian, mse_maha_scores
from aekit.apps.anomaly.marginal import fit_marginal_tails, mse_tails_scores
from aekit.errors import AekitError

# the score a model without a stored one is judged by: variational models have their own likelihood
PLAIN_DEFAULT, VARIATIONAL_DEFAULT = "mse", "elbo"


class Score:
    """An anomaly score (higher = more anomalous). Subclasses set ``name`` and define :meth:`score`; a score
    with terms fitted on normal data also defines :meth:`fit` and sets ``fitted = True``.

    Attributes
    ----------
    name : str
        What ``metric=`` and ``aekit detect --metric`` call it, and what the model file stores.
    fitted : bool
        Whether :meth:`fit` stores terms in the model that :meth:`score` needs.
    min_train : int
        The fewest training samples :meth:`fit` takes.
    data_kinds : tuple of str
        The kinds of data (``'table'``, ``'series'``, ...) ``aekit train`` stores this score for.
    """

    name: str = ""
    fitted: bool = False
    min_train: int = 1
    data_kinds: tuple = ()

    def fit(self, model, x_train, batch_size: int = 1024) -> np.ndarray:
        """Fit what the score keeps in ``model`` on normal data ``x_train``; the training scores (N,)."""
        return self.score(model, x_train, batch_size)

    def score(self, model, x, batch_size: int = 1024) -> np.ndarray:
        """The scores (N,) of ``x`` (N, ...)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ReconstructionScore(Score):
    """A per-sample reconstruction score the model computes itself (:meth:`aekit.Autoencoder.reconstruction_error`):
    ``'mse'``, ``'bce'``, ``'blur_mse'`` or ``'elbo'``."""

    def __init__(self, name: str):
        self.name = name

    def score(self, model, x, batch_size: int = 1024) -> np.ndarray:
        return model.reconstruction_error(x, metric=self.name, batch_size=batch_size)


SCORES: dict[str, Score] = {}


def register_score(score):
    """Make ``score`` known by its ``name`` to every consumer; returns it. ``score``: a :class:`Score`, or a
    :class:`Score` subclass (then registered as ``score()``, so this works as a class decorator). A name
    already registered is refused (:func:`unregister_score` first)."""
    obj = score() if isinstance(score, type) else score
    if not isinstance(obj, Score) or not obj.name:
        raise AekitError(f"register_score: {score!r} is not a Score with a name")
    if obj.name == "auto" or obj.name in SCORES:
        raise AekitError(f"register_score: the score name {obj.name!r} is taken")
    SCORES[obj.name] = obj
    return score


def unregister_score(name: str) -> None:
    """Forget the score ``name`` (a test's or an experiment's)."""
    SCORES.pop(name, None)


def score_names() -> tuple:
    """The registered scores' names, in registration order."""
    return tuple(SCORES)


def get_score(name: str) -> Score:
    """The registered score ``name``; an :class:`AekitError` lists the others."""
    try:
        return SCORES[name]
    except (KeyError, TypeError):
        raise AekitError(f"metric={name!r}; expected one of {', '.join(SCORES)}") from None


def default_score(model, kind: str | None = None, n_train: int = 0) -> str:
    """The score of a model that stores none: for data of ``kind`` (``model.data.kind``), the first
    registered score made for it (``data_kinds``) that ``n_train`` samples can fit, unless the model is
    variational; else ``'elbo'`` for variational models and ``'mse'`` otherwise."""
    if not model.variational and kind is not None:
        for s in SCORES.values():
            if kind in s.data_kinds and n_train >= s.min_train:
                return s.name
    return VARIATIONAL_DEFAULT if model.variational else PLAIN_DEFAULT


for _name in ("mse", "bce", "blur_mse", "elbo"):
    register_score(ReconstructionScore(_name))


@register_score
class MarginalTailsScore(Score):
    """``'mse_tails'``: the error plus how far the row's values lie in their columns' tails and how rare their
    histogram bins are; see :mod:`aekit.apps.anomaly.marginal`. Registered first for tables, so it is
    their default."""

    name, fitted, min_train, data_kinds = "mse_tails", True, 2, ("table",)

    def fit(self, model, x_train, batch_size: int = 1024) -> np.ndarray:
        return fit_marginal_tails(model, x_train, batch_size=batch_size)

    def score(self, model, x, batch_size: int = 1024) -> np.ndarray:
        return mse_tails_scores(model, x, batch_size)


@register_score
class CodeNeighboursScore(Score):
    """``'mse_knn'``: the error plus the code's (and, for tables, the row's) distance to the nearest training
    codes (rows); see :class:`aekit.apps.anomaly.knn.CodeNeighbours`."""

    name, fitted, min_train, data_kinds = "mse_knn", True, 2, ("table",)

    def fit(self, model, x_train, batch_size: int = 1024) -> np.ndarray:
        return fit_code_neighbours(model, x_train, batch_size=batch_size)

    def score(self, model, x, batch_size: int = 1024) -> np.ndarray:
        return mse_knn_scores(model, x, batch_size)


@register_score
class CodeGaussianScore(Score):
    """``'mse_maha'``: the error or the code's Mahalanobis distance to the training codes, the more unusual;
    see :class:`aekit.apps.anomaly.maha.CodeGaussian`."""

    name, fitted, min_train, data_kinds = "mse_maha", True, 2, ("series",)

    def fit(self, model, x_train, batch_size: int = 1024) -> np.ndarray:
        return fit_code_gaussian(model, x_train, batch_size=batch_size)

    def score(self, model, x, batch_size: int = 1024) -> np.ndarray:
        return mse_maha_scores(model, x, batch_size)
