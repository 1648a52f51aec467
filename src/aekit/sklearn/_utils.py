"""The machinery shared by the scikit-learn estimators of :mod:`aekit.sklearn`.

Kept apart so that ``aekit/sklearn.py`` reads as the public API: this module turns the estimators'
parameters into an :func:`aekit.build` call and an :meth:`aekit.Autoencoder.fit` call, maps flat feature
rows to the model's layout and back, and pickles the fitted model as bytes of aekit's own model file.
"""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,  # scikit-learn >= 1.6 (pyproject requires it)
)

from aekit.autoencoder.model import Autoencoder, build
from aekit.core.arrays import finite_range, infer_layout
from aekit.errors import AekitError
from aekit.models.config import OPTIMIZERS
from aekit.models.losses import reconstruction
from aekit.models.registry import get_family
from aekit.training.defaults import decide_data
from aekit.training.inference import map_batches
from aekit.training.loop import pick_device
from aekit.training.threads import requested_threads, thread_scope

DTYPES = [np.float64, np.float32]  # float32 stays float32 (the model's precision); anything else -> float64
_SET_BY_PARAMETERS = ("input_shape", "latent_dim", "hidden", "output_activation", "loss", "corruption")
_MODEL_STATE = "_aekit_model_file"
_SMALL = 500_000  # values in X below which one CPU thread is faster than several (thread start-up dominates)


def cpu_threads_for(X: np.ndarray):
    """The thread policy (:func:`aekit.training.threads.thread_scope`) with one thread for small arrays.

    scikit-learn users fit many small models (cross-validation, grid search); on small data the
    intra-op thread pool costs more than it gains, and on a busy machine it can cost 10-50x. Larger
    arrays get the automatic policy; ``AEKIT_NUM_THREADS`` wins for both. The caller's setting is restored.
    """
    return thread_scope(1 if X.size < _SMALL and requested_threads() is None else None)


class AutoencoderBase(BaseEstimator):
    """Parameters, fitting, layout mapping and pickling common to the transformer and the detector."""

    _parameter_constraints: dict = {
        "family": [str],
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "hidden": [list, tuple, None],
        "input_shape": [tuple, list, None],
        "epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left"), str, dict, None],
        "scale": [StrOptions({"auto", "standard", "minmax", "pixel"}), None],
        "loss": [StrOptions({"auto", "mse", "bce"})],
        "model_options": [dict, None],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }

    def __init__(
        self,
        family="dense",
        *,
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
        self.family = family
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.input_shape = input_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.noise = noise
        self.scale = scale
        self.loss = loss
        self.model_options = model_options
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # --- fitting -----------------------------------------------------------------------------------------
    def _seed(self):
        """An int seed for aekit (build and fit) from ``random_state``; None stays None (fresh randomness)."""
        if self.random_state is None:
            return None
        if isinstance(self.random_state, Integral):
            return int(self.random_state) % (2**31 - 1)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _sample_shape(self, n_features: int) -> tuple:
        name = type(self).__name__
        if self.input_shape is None:
            return (n_features,)
        try:
            shape = tuple(int(d) for d in self.input_shape)
        except (TypeError, ValueError):
            raise AekitError(f"{name}: input_shape={self.input_shape!r}; expected a tuple of positive sizes") from None
        if not shape or any(d <= 0 for d in shape) or math.prod(shape) != n_features:
            raise AekitError(
                f"{name}: input_shape={shape} holds {math.prod(shape)} values per sample but X has "
                f"{n_features} features; expected a shape whose product is {n_features}"
            )
        return shape

    def _resolve_scale_loss(self, X: np.ndarray) -> tuple:
        """(scale, loss) from the data, by aekit's one set of rules (:func:`aekit.training.defaults.decide_data`)."""
        d = decide_data(
            finite_range(X, "X"),
            self._sample_shape(X.shape[1]),
            scale=self.scale,
            loss=self.loss,
            owner=type(self).__name__,
        )
        return d.scale, d.loss

    def _model_options(self, n_features: int, loss: str) -> dict:
        extra = dict(self.model_options or {})
        clash = sorted(set(extra) & set(_SET_BY_PARAMETERS))
        if clash:
            raise AekitError(
                f"{type(self).__name__}: model_options={{{clash[0]!r}: ...}} is set by the "
                f"estimator's own parameters; pass it as a parameter instead"
            )
        latent = self.latent_dim  # None: the family's default (aekit.training.defaults.default_latent for dense)
        opts = {**extra, "output_activation": "sigmoid" if loss == "bce" else "linear", "loss": loss}
        if latent is not None:
            opts["latent_dim"] = int(latent)
        if self.hidden is not None:
            opts["hidden"] = list(self.hidden)
        if self.noise is not None:
            # a number is the gaussian noise factor; a string 'masking:0.2' or a dict is aekit's corruption
            is_num = isinstance(self.noise, Real) and not isinstance(self.noise, bool)
            opts["corruption"] = {"kind": "gaussian", "amount": float(self.noise)} if is_num else self.noise
        return opts

    def _fit_model(self, X) -> np.ndarray:
        """Validate, build and train ``model_``; returns the validated X."""
        self._validate_params()
        X = validate_data(self, X, dtype=DTYPES)
        get_family(self.family)  # an unknown family: AekitError listing the registered ones
        shape = self._sample_shape(X.shape[1])
        scale, loss = self._resolve_scale_loss(X)
        self.scale_, self.loss_ = scale, loss
        self.device_ = str(pick_device(self.device)) if self.device == "auto" else self._check_device()
        seed = self._seed()
        try:
            model = build(self.family, input_shape=shape, seed=seed, **self._model_options(X.shape[1], loss))
        except AekitError as e:
            needs_shape = self.input_shape is None and "input_shape" in str(e)
            hint = " (image and sequence families need input_shape=)" if needs_shape else ""
            raise AekitError(f"{type(self).__name__}: family={self.family!r}: {e}{hint}") from None
        with cpu_threads_for(X):
            model.fit(
                self._rows_to_user(X),
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                optimizer=self.optimizer,
                weight_decay=self.weight_decay,
                validation_split=self.validation_split,
                patience=self.patience,
                scale=scale,
                seed=seed,
                device=self.device_,
                verbose=self.verbose,
            )
        self.model_ = model
        self._make_module64()
        self.history_ = {k: list(v) for k, v in model.history.history.items()}
        self.n_epochs_ = len(model.history.epoch)
        return X

    def _check_device(self) -> str:
        name = type(self).__name__
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise AekitError(
                f"{name}: device={self.device!r}; expected 'cpu', 'cuda', 'cuda:1', 'mps' or 'auto'"
            ) from None
        mps = getattr(torch.backends, "mps", None)
        if (device.type == "cuda" and not torch.cuda.is_available()) or (
            device.type == "mps" and not (mps is not None and mps.is_available())
        ):
            raise AekitError(f"{name}: device={self.device!r} is not available on this machine; use 'cpu' or 'auto'")
        return str(device)

    # --- layout ------------------------------------------------------------------------------------------
    def _user_shape(self) -> tuple:
        return self._sample_shape(self.n_features_in_)

    def _rows_to_user(self, X: np.ndarray) -> np.ndarray:
        """(N, F) rows -> (N, *input_shape) in the user's declared layout; aekit maps that to the model's."""
        return np.ascontiguousarray(X, dtype=np.float32).reshape(len(X), *self._sample_shape(X.shape[1]))

    def _model_to_rows(self, y: np.ndarray) -> np.ndarray:
        """Model-layout outputs (N, *model.input_shape) -> flat rows (N, F) in the user's feature order."""
        layout = infer_layout(self._user_shape(), self.model_.input_shape)
        return layout.restore(y).reshape(len(y), -1)

    def _validated(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=DTYPES, reset=False)

    # --- inference: float64 on CPU, so a row's result does not depend on the batch it came in ----------
    def _make_module64(self) -> None:
        """A float64 CPU copy of the trained module for inference (float32 GEMMs round differently for
        different batch sizes, which scikit-learn's subset-invariance checks catch at 1e-7)."""
        on_cpu = torch.device(self.device_).type == "cpu"
        self._module64 = copy.deepcopy(self.model_.module).to("cpu").double().eval() if on_cpu else None

    def _run(self, arr: np.ndarray, fn) -> np.ndarray:
        """``fn(module, batch)`` over ``arr`` (N, ...) in batches, without gradients; float64 result."""
        if self._module64 is None:  # a GPU model: float32 on its device
            module, dtype, device = self.model_.module.eval(), torch.float32, self.model_.device
        else:
            module, dtype, device = self._module64, torch.float64, torch.device("cpu")
        with cpu_threads_for(arr):
            out = map_batches(module, arr, fn, batch_size=4096, device=device, dtype=dtype)
        return out.astype(np.float64, copy=False)

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """Validated rows (N, F) -> the model's scaled input (N, *model.input_shape), float32."""
        return self.model_.prepare(self._rows_to_user(X), "X")

    def _encode(self, X: np.ndarray) -> np.ndarray:
        return self._run(self._scaled(X), lambda m, b: m.encode(b)[0])  # (N, code_size)

    def _decode(self, Z: np.ndarray) -> np.ndarray:
        y = self._run(Z, lambda m, b: m.decode(b))  # (N, *model.input_shape), scaled space
        return self._model_to_rows(self.model_.unscale(y).astype(np.float64))

    def _errors(self, X: np.ndarray) -> np.ndarray:
        """Per-sample mean squared reconstruction error (N,), in the model's (scaled) space."""
        return self._run(self._scaled(X), lambda m, b: reconstruction(m(b), b, "mse", "mean"))

    def score_samples(self, X):
        """Negative mean squared reconstruction error per sample (N,): higher means more normal.

        The error is measured in the model's internal scaled space (see ``scale``), so that features with
        large units do not dominate it.
        """
        X = self._validated(X)
        return (-self._errors(X)).astype(X.dtype, copy=False)

    # --- pickling: the model travels as aekit model-file bytes, never as a pickled torch module ----------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        state.pop("_module64", None)  # rebuilt from model_ on unpickling
        model = state.pop("model_", None)
        if model is not None:
            state[_MODEL_STATE] = model.to_bytes()
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop(_MODEL_STATE, None)
        super().__setstate__(state)
        if data is not None:
            model = Autoencoder.from_bytes(data, "pickled estimator")  # checked; nothing is unpickled
            device = getattr(self, "device_", "cpu")
            if device.startswith("cuda") and not torch.cuda.is_available():
                device = self.device_ = "cpu"
            self.model_ = model.to(device)
            self._make_module64()
