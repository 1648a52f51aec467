"""Data-aware defaults: what the training data decides when the user did not say.

One implementation, used by :meth:`aekit.Autoencoder.fit` (and so by ``aekit train``) and by the
scikit-learn estimators. Every rule is applied once, at fit, and what it decided is stored in the model
file (the scaler and the concrete loss/output), so inference uses the same choice again.

The rules
---------
Loss, output and scaling (:func:`decide_data`), for options left at ``"auto"``:

* pictures (a per-sample shape (H, W), (C, H, W) or (H, W, C), or any uint8 array, which counts as
  x / 255) with values in [0, 1]: no scaling, cross-entropy with a sigmoid output;
* pictures with values in [0, 255]: scaled by 255 (``scale='pixel'``), then cross-entropy with a sigmoid
  output;
* anything else, rows of features (tables) and series windows whatever their range: per-feature standard
  scaling (zero mean, unit variance on the training data), mean
  squared error with a linear output. Standard rather than min-max because new data often leaves the
  training range (a min-max model would then see values outside what it was trained on, and an outlier
  in the training data would squeeze every other value together), and because an MSE in standard units
  reads as a share of each feature's variance, the scale PCA is compared on. A table whose values all lie
  in [0, 1] (min-max scaled, as ADBench and many pipelines deliver them) is still a table: with the
  picture rule its columns kept their spread, so one wide column outweighed the others, and cross-entropy
  on a sigmoid treated each as a probability; on ADBench's 21 shared sets (seed 0) the table rule's
  models scored by ``'mse_knn'`` were at mean AUROC 0.692 against 0.689 with the picture rule, and with
  the tables' score since (``'mse_tails'``) at 0.740;
* an explicit ``loss='bce'`` or ``output_activation='sigmoid'`` on rows in [0, 1] (flattened pictures, say)
  leaves them unscaled, as asked; on data that the scaling leaves outside [0, 1] it is refused with one
  line (cross-entropy and a sigmoid cannot fit such targets; ``scale='minmax'`` makes them fit).

Hidden units (:func:`hidden_activation`), for ``activation='auto'``: relu with a sigmoid output (data in
[0, 1]), elu with a linear one (standardised data).

Linear path (:func:`linear_path`), for dense models with ``linear_path='auto'``: on for standardised data
with a linear output (tables, series), with ``init='auto'`` starting it from the PCA of the training data:
the model starts as exactly PCA with as many components as its code and training adds what PCA misses
(on the tables and series of bench/owndata.py a plain deep model reconstructed held-out data worse than PCA
at the same code size on all six; see BENCHMARKS.md for the figures with the linear path). Off for data in
[0, 1] with a sigmoid output, where the plain stack is the tutorials' model.

Code size (:func:`default_latent`): a quarter of the input width, rounded up, at least 1, at most 32,
always smaller than the input (784 pixels -> 32, a 30-column table -> 8, 64-step windows -> 16).

Training length (:func:`plan_training`), for options left at ``None``:

* batch size: N/64 rounded to a power of two, between 16 and 256 (200 samples -> 16, 60,000 -> 256);
* validation: 10% of the samples (at least 50 samples needed) are held out when the epochs are automatic;
* epochs: enough for a budget of 6,000 optimiser steps and 192,000 samples seen, between 2 and 1,000, with
  early stopping on the validation loss (patience a tenth of the epochs, 5 to 100) that restores the best
  weights. The sample budget matters only for sets small enough for batches of 16 (under about 1,450
  samples): a step of 16 samples carries less than one of 256, and 240 colour photos were still improving
  at 6,000 steps (held-out MSE 0.0084-0.0088, PCA 0.0086; 0.0080 after 550-860 epochs, bench/owndata.py).
  The patience is long for such sets because their validation loss, on a few dozen samples, is noisy:
  with at most 20 epochs the photos stopped after 359-371 of 858 epochs at 0.0082-0.0087. A model that
  starts as PCA (the linear path, :func:`linear_path`) keeps 5 to 20: it only adds a correction to a
  strong start, and a long search on a validation set of ten rows picks noise (with up to 100, wine and
  the ec2 series lost to PCA's held-out error in 2 and 3 of 3 runs).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from aekit.errors import AekitError
from aekit.models.config import default_latent  # the code size is a model option's default

STEP_BUDGET = 6000
SAMPLE_BUDGET = 192_000  # samples seen: 12,000 steps of 16, fewer than 6,000 steps from batches of 32 up
EPOCHS_RANGE = (2, 1000)
BATCH_RANGE = (16, 256)
PCA_START_SHARE, PCA_START_EPOCHS = 0.25, 20  # the budget of a model that starts as PCA (auto_epochs)
AUTO_VALIDATION = 0.1
MIN_SAMPLES_FOR_VALIDATION = 50


def is_picture_shape(sample_shape) -> bool:
    """Whether a per-sample shape reads as a picture: (H, W), (C, H, W) or (H, W, C), sides >= 8."""
    s = tuple(int(d) for d in sample_shape)
    if len(s) == 2:
        return min(s) >= 8
    if len(s) == 3:
        return (s[0] in (1, 3, 4) and min(s[1:]) >= 8) or (s[2] in (1, 3, 4) and min(s[:2]) >= 8)
    return False


@dataclass
class DataDecision:
    """What :func:`decide_data` chose, and why."""

    scale: str | None  # None | 'minmax' | 'standard' | 'pixel'
    loss: str  # 'bce' | 'mse'
    output_activation: str  # 'sigmoid' | 'linear'
    value_range: tuple  # (min, max) of the training data as given (uint8 already / 255)
    auto: list = field(default_factory=list)  # which of scale, loss, output_activation the data decided
    reason: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["value_range"] = [float(v) for v in self.value_range]
        return d


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def decide_data(
    value_range,
    sample_shape,
    *,
    scale="auto",
    loss: str = "auto",
    output_activation: str = "auto",
    owner: str = "fit",
    pixels: bool = False,
) -> DataDecision:
    """Decide scaling, loss and output activation from the training data's value range and shape.

    ``scale``, ``loss`` and ``output_activation`` are the user's options; only those left at ``"auto"``
    are decided (``scale=None`` or ``'none'`` means no scaling). ``pixels``: the data came as uint8 (already
    divided by 255), pictures whatever their shape. See the module docstring for the rules.

    >>> decide_data((0.0, 1.0), (28, 28)).loss
    'bce'
    >>> decide_data((0.0, 1.0), (30,)).scale, decide_data((0.0, 1.0), (784,), pixels=True).loss  # a table; pixels
    ('standard', 'bce')
    >>> d = decide_data((-3.0, 420.0), (30,)); (d.scale, d.loss, d.output_activation)
    ('standard', 'mse', 'linear')
    >>> decide_data((0.0, 255.0), (28, 28)).scale
    'pixel'
    """
    lo, hi = float(value_range[0]), float(value_range[1])
    picture = bool(pixels) or is_picture_shape(sample_shape)
    in_unit = lo >= 0.0 and hi <= 1.0
    if scale == "none":
        scale = None
    auto = [k for k, v in (("scale", scale), ("loss", loss), ("output_activation", output_activation)) if v == "auto"]
    if scale == "auto":
        if picture and in_unit:
            scale, reason = None, "pictures with values in [0, 1]"
        elif in_unit and (loss == "bce" or output_activation == "sigmoid"):  # asked for: data fit it as given
            scale, reason = None, "values in [0, 1] with cross-entropy or a sigmoid asked for"
        elif picture and lo >= 0.0 and hi <= 255.0:
            scale, reason = "pixel", "pictures with values in [0, 255]"
        else:
            what = "pictures" if picture else "rows of features"
            scale, reason = "standard", f"{what} with values in [{_fmt(lo)}, {_fmt(hi)}]"
    else:
        reason = f"scale={scale}" if scale else "scale=none"
    unit_after = scale in ("minmax", "pixel") or (scale is None and in_unit)
    # cross-entropy's rule: pictures in [0, 1], or data the user asked to map into [0, 1]
    unit_rule = unit_after and (picture or scale in ("minmax", "pixel"))
    if loss == "auto":
        if output_activation in ("sigmoid", "linear"):
            loss = "bce" if output_activation == "sigmoid" else "mse"
        else:
            loss = "bce" if unit_rule else "mse"  # a table's columns are not probabilities
    if output_activation == "auto":
        output_activation = "sigmoid" if (loss == "bce" or unit_rule) else "linear"
    if (loss == "bce" or output_activation == "sigmoid") and not unit_after:
        what = "loss='bce'" if loss == "bce" else "output_activation='sigmoid'"
        how = f"scale={scale!r}" if scale else "no scaling"
        raise AekitError(
            f"{owner}: {what} needs data in [0, 1], but with {how} the training data span "
            f"[{_fmt(lo)}, {_fmt(hi)}]; use scale='minmax' or loss='mse' (or leave both at auto)"
        )
    return DataDecision(scale, loss, output_activation, (lo, hi), auto, reason)


def hidden_activation(d: DataDecision) -> str:
    """The hidden units' activation for ``activation='auto'``: relu for data in [0, 1] with a sigmoid output
    (the Keras tutorials' setting), elu for standardised data, half of which is negative: relu would pass
    none of it through a first-layer unit at init and leaves dead units on small data (elu reconstructed
    held-out data better on every table and series of bench/owndata.py)."""
    return "relu" if d.output_activation == "sigmoid" else "elu"


def linear_path(d: DataDecision, hidden) -> str:
    """``linear_path`` for ``'auto'``: ``'on'`` with a linear output and hidden layers to go beside, else ``'off'``.

    >>> linear_path(decide_data((-3.0, 420.0), (30,)), [128, 64]), linear_path(decide_data((0, 1), (28, 28)), [128])
    ('on', 'off')
    """
    return "on" if d.output_activation == "linear" and list(hidden or []) else "off"


@dataclass
class TrainingPlan:
    """Batch size, epochs, validation split and early stopping decided by :func:`plan_training`."""

    batch_size: int
    epochs: int
    validation_split: float
    patience: int | None
    auto: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def auto_batch_size(n: int) -> int:
    """N/64 rounded to a power of two, in [16, 256] (and never more than N).

    >>> auto_batch_size(200), auto_batch_size(8000), auto_batch_size(60000)
    (16, 128, 256)
    """
    b = 2 ** round(math.log2(max(n, 1) / 64)) if n > 0 else BATCH_RANGE[0]
    return int(max(1, min(n, max(BATCH_RANGE[0], min(BATCH_RANGE[1], b)))))


def auto_patience(epochs: int, starts_as_pca: bool = False) -> int:
    """Early stopping's patience for automatic epochs: a tenth of them, 5 to 100 (5 to 20 for a model that
    starts as PCA; see the module docstring).

    >>> auto_patience(858), auto_patience(858, starts_as_pca=True), auto_patience(29)
    (85, 20, 5)
    """
    return int(max(5, min(20 if starts_as_pca else 100, epochs // 10)))


def plan_training(
    n: int,
    *,
    epochs: int | None,
    batch_size: int | None,
    validation_split: float | None,
    patience: int | None,
    has_validation: bool,
) -> TrainingPlan:
    """Fill in the training options left at ``None`` for ``n`` samples (see the module docstring).

    >>> p = plan_training(200, epochs=None, batch_size=None, validation_split=None, patience=None,
    ...                   has_validation=False)
    >>> p.batch_size, p.validation_split, p.epochs, p.patience
    (16, 0.1, 1000, 100)
    """
    auto = [
        k
        for k, v in (("epochs", epochs), ("batch_size", batch_size), ("validation_split", validation_split))
        if v is None
    ]
    if validation_split is None:
        validation_split = (
            AUTO_VALIDATION if epochs is None and not has_validation and n >= MIN_SAMPLES_FOR_VALIDATION else 0.0
        )
    n_train = n - (max(1, int(round(n * validation_split))) if validation_split else 0)
    if batch_size is None:
        batch_size = auto_batch_size(n_train)
    if epochs is None:
        epochs = auto_epochs(n_train, batch_size)
        if patience is None:
            patience = auto_patience(epochs)
            auto.append("patience")
    return TrainingPlan(int(batch_size), int(epochs), float(validation_split), patience, auto)


def auto_epochs(n_train: int, batch_size: int, starts_as_pca: bool = False) -> int:
    """Epochs for the budget of ``STEP_BUDGET`` steps and ``SAMPLE_BUDGET`` samples, between 2 and 1,000; for
    a model that starts as PCA (the linear path), which only adds a correction to a strong start, a quarter
    of that budget and at most ``PCA_START_EPOCHS``. Why: on ADBench's 21 shared tables (seed 0; the only
    figures looked at) the full budget took 183 s against PyOD AutoEncoder's 179 s, and the tables'
    detector (``'mse_tails'``) scored a mean AUROC of 0.736 with it, 0.742 with 10 or 20 epochs, 0.736 with
    40: training longer on contaminated rows learns their anomalies too.

    >>> auto_epochs(7000, 128), auto_epochs(7000, 128, starts_as_pca=True), auto_epochs(200, 16)
    (110, 20, 924)
    """
    steps = max(1, -(-n_train // batch_size))
    share = PCA_START_SHARE if starts_as_pca else 1.0
    budget = share * max(STEP_BUDGET, SAMPLE_BUDGET / batch_size)
    epochs = math.ceil(budget / steps)
    if starts_as_pca:
        epochs = min(epochs, PCA_START_EPOCHS)
    return int(min(EPOCHS_RANGE[1], max(EPOCHS_RANGE[0], epochs)))


def fit_facts(
    d: DataDecision,
    plan: TrainingPlan,
    n_train: int,
    n_val: int,
    input_shape,
    code_size: int,
    has_val: bool,
    activation: str | None = None,
) -> dict:
    """The facts of one fit, as printed before the first epoch and carried by ``aekit train --json``."""
    steps = max(1, -(-n_train // plan.batch_size))
    monitor = "val_loss" if has_val else "loss"
    return {
        "samples": n_train + n_val,
        "train": n_train,
        "validation": n_val,
        "shape": list(input_shape),
        "value_range": [float(v) for v in d.value_range],
        "scaling": d.scale or "none",
        "loss": d.loss,
        "output_activation": d.output_activation,
        "activation": activation,
        "code_size": int(code_size),
        "batch_size": plan.batch_size,
        "steps_per_epoch": steps,
        "epochs": plan.epochs,
        "early_stopping": {"monitor": monitor, "patience": plan.patience} if plan.patience else None,
        "decided_from_data": d.auto + plan.auto,
        "reason": d.reason,
    }


def format_fit_info(info: dict) -> str:
    """The two-line summary printed before the first epoch."""
    if set(info) == {"resume"}:
        return f"resume: {info['resume']}"
    lo, hi = info["value_range"]
    val = f" + {info['validation']} validation" if info["validation"] else ""
    stop = info.get("early_stopping")
    stop_s = f", early stopping on {stop['monitor']} (patience {stop['patience']})" if stop else ""
    return (
        f"data: {info['samples']} samples ({info['train']} train{val}) of shape {tuple(info['shape'])}, "
        f"values in [{_fmt(lo)}, {_fmt(hi)}]\n"
        f"decided: scaling {info['scaling']}, loss {info['loss']} with a {info['output_activation']} output"
        + (f" ({info['activation']} hidden units)" if info.get("activation") else "")
        + (", started from PCA" if info.get("init") == "pca" else "")
        + ", "
        f"code size {info['code_size']}, batch size {info['batch_size']} ({info['steps_per_epoch']} steps/epoch), "
        f"up to {info['epochs']} epochs{stop_s}"
    )


def print_fit_info(info: dict, stream=None) -> None:
    import sys

    stream = stream or sys.stderr
    stream.write(format_fit_info(info) + "\n")
    stream.flush()


def samples_of(x, input_shape):
    """What the loaders of :mod:`aekit.datasets` return, as samples: an ``ImageSet``'s or a ``Table``'s
    ``x``; a ``TimeSeries`` cut into windows of the model's length (stride a quarter of it). Anything else
    is returned as it is."""
    from aekit.datasets import ImageSet, Table, TimeSeries, sliding_windows

    if isinstance(x, (ImageSet, Table)):
        return x.x
    if isinstance(x, TimeSeries):
        length = int(input_shape[0])
        return sliding_windows(x, length, max(1, length // 4))
    return x


__all__ = [
    "hidden_activation",
    "linear_path",
    "fit_facts",
    "format_fit_info",
    "print_fit_info",
    "samples_of",
    "decide_data",
    "DataDecision",
    "default_latent",
    "plan_training",
    "TrainingPlan",
    "auto_batch_size",
    "is_picture_shape",
    "auto_epochs",
]
