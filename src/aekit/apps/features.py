"""Features for a classifier: an autoencoder's codes as inputs to a classifier, or its encoder fine-tuned.

Pretrain an autoencoder without labels on all the data you have, then either

* :func:`extract_features` -> codes (N, code_size) for any scikit-learn classifier (a linear probe), or
* :func:`finetune_classifier` -> the encoder and code head with a softmax layer on top, trained end to end
  on the (few) labelled samples: an :class:`EncoderClassifier` with ``predict``, ``predict_proba`` and
  ``score`` like a scikit-learn classifier.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.features import extract_features, finetune_classifier
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 200)
>>> x = (rng.normal(size=(200, 10)) + 2.0 * y[:, None]).astype(np.float32)
>>> ae = aekit.build("dense", input_shape=(10,), hidden=[16], latent_dim=4, output_activation="linear",
...                  loss="mse", seed=0)
>>> _ = ae.fit(x, epochs=2, batch_size=32, verbose=0, seed=0)
>>> extract_features(ae, x).shape
(200, 4)
>>> clf = finetune_classifier(ae, x, y, epochs=20, batch_size=32, seed=0)
>>> bool(clf.score(x, y) > 0.9), clf.predict_proba(x[:3]).shape
(True, (3, 2))
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from aekit.errors import AekitError
from aekit.models.config import TrainConfig, from_dict
from aekit.training.batches import ArraySource
from aekit.training.callbacks import Callback
from aekit.training.loop import fit_loop, fresh_seed, new_state


def extract_features(model, x, batch_size: int = 1024) -> np.ndarray:
    """The codes (N, code_size) of ``x`` (the posterior mean for variational models): features for any
    classifier, e.g. ``LogisticRegression().fit(extract_features(ae, x), y)``."""
    return model.encode(x, batch_size=batch_size)


class _EncoderSoftmax(nn.Module):
    """(B, *input_shape) -> encoder -> code head -> (B, code) -> linear -> (B, n_classes) logits."""

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module,
        code_size: int,
        n_classes: int,
        dropout: float,
        freeze_encoder: bool = False,
    ):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(code_size, n_classes)
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            for p in (*encoder.parameters(), *head.parameters()):
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_encoder:  # keep batch-norm statistics and dropout of the frozen part fixed
            self.encoder.eval(), self.head.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, mu, _ = self.head(self.encoder(x))
        return self.out(self.drop(mu if mu is not None else z))  # the posterior mean for variational heads


class _ValAccuracy(Callback):
    """Logs the classifier's accuracy on held-out data as ``val_accuracy`` after every epoch."""

    def __init__(self, clf: EncoderClassifier, validation_data: tuple):
        self.clf, self.validation_data = clf, validation_data

    def on_epoch_end(self, state, logs) -> None:
        acc = self.clf.score(*self.validation_data)
        state.module.train()  # score() switched the module to evaluation mode
        state.history.history.setdefault("val_accuracy", []).append(acc)


class EncoderClassifier:
    """A fine-tuned copy of an autoencoder's encoder with a softmax layer (made by :func:`finetune_classifier`).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of ``predict_proba``'s columns.
    module : torch.nn.Module
        The classifier network (encoder, code head, dropout, linear layer).
    history : dict
        Per-epoch ``loss`` (and ``val_accuracy`` when validation data was given).
    """

    def __init__(self, model, module: nn.Module, classes: np.ndarray, history: dict):
        self._model, self.module, self.classes_, self.history = model, module, classes, history

    def _logits(self, x, batch_size: int = 1024) -> np.ndarray:
        arr = self._model.prepare(x)  # the autoencoder's layout conversion and scaler
        return self._model.predict_batches(arr, lambda m, b: m(b), batch_size, module=self.module)

    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (N, n_classes), columns ordered as ``classes_``."""
        return torch.softmax(torch.from_numpy(self._logits(x, batch_size)), dim=1).numpy()

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Predicted labels (N,)."""
        return self.classes_[self._logits(x, batch_size).argmax(1)]

    def score(self, x, y) -> float:
        """Accuracy on ``(x, y)``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))


def finetune_classifier(
    model,
    x,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    dropout: float = 0.0,
    freeze_encoder: bool = False,
    validation_data: tuple | None = None,
    seed: int | None = None,
    device: str = "auto",
) -> EncoderClassifier:
    """Fine-tune a copy of ``model``'s encoder and code head with a softmax layer on labelled data.

    The autoencoder itself is not changed. Training minimises cross-entropy with Adam(W) through aekit's one
    training loop (``fit_loop`` with a cross-entropy ``loss_fn``), so shuffling, batching and seeding are
    the same as for any model.

    Parameters
    ----------
    model : aekit.Autoencoder
        A (pretrained) autoencoder; its scaler and input layouts are reused.
    x : array (N, ...); y : array (N,) of labels (any hashable values; ``classes_`` keeps them sorted).
    epochs, batch_size, lr, weight_decay : training options (AdamW when weight_decay > 0, else Adam).
    dropout : float
        Dropout on the code before the softmax layer.
    freeze_encoder : bool
        Train only the softmax layer (a linear probe on the codes).
    validation_data : (x_val, y_val), optional
        Accuracy on it is logged per epoch in ``history['val_accuracy']``.
    seed : int, optional
    device : str

    Returns
    -------
    EncoderClassifier
    """
    y = np.asarray(y)
    arr = model.prepare(x)
    if y.ndim != 1 or len(y) != len(arr):
        raise AekitError(f"y: expected one label per sample ({len(arr)},), got shape {y.shape}")
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise AekitError(f"y: found {len(classes)} class; a classifier needs at least 2")
    seed = seed if seed is not None else fresh_seed()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = _EncoderSoftmax(
            copy.deepcopy(model.module.encoder),
            copy.deepcopy(model.module.head),
            model.code_size,
            len(classes),
            dropout,
            freeze_encoder,
        )
    cfg = from_dict(
        TrainConfig,
        {
            "optimizer": "adamw" if weight_decay else "adam",
            "lr": lr,
            "epochs": epochs,
            "batch_size": batch_size,
            "weight_decay": weight_decay,
            "seed": seed,
            "device": device,
            "verbose": 0,
        },
        owner="finetune_classifier",
    )
    # the one training loop, with cross-entropy on labels in place of the reconstruction objective
    state = new_state(module, cfg, lambda m, xb, yb: (nn.functional.cross_entropy(m(xb), yb), {}))
    source = ArraySource(torch.from_numpy(arr), torch.from_numpy(y_idx.astype(np.int64)))
    history: dict = {}
    clf = EncoderClassifier(model, module, classes, history)
    callbacks = [] if validation_data is None else [_ValAccuracy(clf, validation_data)]
    history.update(fit_loop(state, source, callbacks=callbacks).history)
    history.setdefault("loss", [])
    module.eval()
    return clf
