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
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..arrays import batches
from ..config import TrainConfig, from_dict
from ..errors import AekitError
from ..training.loop import make_optimizer, pick_device


def extract_features(model, x, batch_size: int = 1024) -> np.ndarray:
    """The codes (N, code_size) of ``x`` (the posterior mean for variational models): features for any
    classifier, e.g. ``LogisticRegression().fit(extract_features(ae, x), y)``."""
    return model.encode(x, batch_size=batch_size)


class _EncoderSoftmax(nn.Module):
    """(B, *input_shape) -> encoder -> code head -> (B, code) -> linear -> (B, n_classes) logits."""

    def __init__(self, encoder: nn.Module, head: nn.Module, code_size: int, n_classes: int, dropout: float):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(code_size, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, mu, _ = self.head(self.encoder(x))
        return self.out(self.drop(mu if mu is not None else z))  # the posterior mean for variational heads


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
        arr, _ = self._model._prepare(x)  # the autoencoder's layout conversion and scaler
        device = next(self.module.parameters()).device
        self.module.eval()
        out = []
        with torch.inference_mode():
            for sl in batches(len(arr), batch_size):
                out.append(self.module(torch.from_numpy(arr[sl]).to(device)).float().cpu().numpy())
        return np.concatenate(out)

    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (N, n_classes), columns ordered as ``classes_``."""
        return torch.softmax(torch.from_numpy(self._logits(x, batch_size)), dim=1).numpy()

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Predicted labels (N,)."""
        return self.classes_[self._logits(x, batch_size).argmax(1)]

    def score(self, x, y) -> float:
        """Accuracy on ``(x, y)``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))


def finetune_classifier(model, x, y, *, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
                        weight_decay: float = 0.0, dropout: float = 0.0, freeze_encoder: bool = False,
                        validation_data: Optional[tuple] = None, seed: Optional[int] = None,
                        device: str = "auto") -> EncoderClassifier:
    """Fine-tune a copy of ``model``'s encoder and code head with a softmax layer on labelled data.

    The autoencoder itself is not changed. Training minimises cross-entropy with Adam(W); this is a small
    supervised routine on purpose (the core loop trains reconstruction objectives): one shuffled pass per
    epoch over tensors sliced by a permutation, no callbacks.

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
    arr, _ = model._prepare(x)
    if y.ndim != 1 or len(y) != len(arr):
        raise AekitError(f"y: expected one label per sample ({len(arr)},), got shape {y.shape}")
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise AekitError(f"y: found {len(classes)} class; a classifier needs at least 2")
    if epochs < 0 or batch_size < 1:
        raise AekitError(f"epochs={epochs!r}, batch_size={batch_size!r}; expected epochs >= 0 and batch_size >= 1")
    gen = torch.Generator().manual_seed(seed if seed is not None else int(torch.seed() % 2**31))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        module = _EncoderSoftmax(copy.deepcopy(model.module.encoder), copy.deepcopy(model.module.head),
                                 model.code_size, len(classes), dropout)
    dev = pick_device(device)
    module.to(dev)
    if freeze_encoder:
        for p in (*module.encoder.parameters(), *module.head.parameters()):
            p.requires_grad_(False)
    cfg = from_dict(TrainConfig, {"optimizer": "adamw" if weight_decay else "adam", "lr": lr,
                                  "weight_decay": weight_decay}, owner="finetune_classifier")
    opt = make_optimizer([p for p in module.parameters() if p.requires_grad], cfg)
    xt, yt = torch.from_numpy(arr), torch.from_numpy(y_idx.astype(np.int64))
    history: dict = {"loss": []}
    clf = EncoderClassifier(model, module, classes, history)
    for _ in range(epochs):
        module.train()
        if freeze_encoder:  # keep batch-norm statistics and dropout of the frozen part fixed
            module.encoder.eval(), module.head.eval()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for sl in batches(len(xt), batch_size):
            idx = order[sl]
            if len(idx) == 1 and len(xt) > 1:
                continue  # a batch of one breaks batch norm
            logits = module(xt[idx].to(dev))  # (B, n_classes)
            loss = nn.functional.cross_entropy(logits, yt[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history["loss"].append(total / len(xt))
        if validation_data is not None:
            history.setdefault("val_accuracy", []).append(clf.score(*validation_data))
    module.eval()
    return clf
