"""Configuration dataclasses, defined once and read by the Python API, the CLI, the estimators and the file.

Every family has a config dataclass that extends :class:`ModelConfig`; training has :class:`TrainConfig`.
Configs turn into plain JSON dicts (:func:`to_dict`) and back (:func:`from_dict`), which is how they are
stored in model files and how the CLI's ``--set key=value`` options are applied (values given as strings
are parsed with the field's type, so no option is defined twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from aekit.errors import AekitError

# the option machinery, re-exported: a config and the functions that read and write it are used together
from aekit.models.options import (  # noqa: F401
    NESTED,
    _parse_scalar,
    apply_overrides,
    check_fields,
    field_help,
    field_types,
    from_dict,
    option,
    parse_value,
    to_dict,
)

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "selu", "linear")
OUTPUT_ACTIVATIONS = ("auto", "sigmoid", "linear")
SCALES = ("auto", "none", "minmax", "standard", "pixel")
HIDDEN_ACTIVATIONS = ("auto", *ACTIVATIONS)  # 'auto': relu for data in [0, 1], elu otherwise (aekit.training.defaults)
LOSSES = ("auto", "bce", "mse")
CORRUPTIONS = ("gaussian", "masking", "salt_pepper")
SPARSITIES = ("l1", "kl")


LATENT_MAX = 32


def default_latent(input_shape) -> int:
    """The default code size for an input of ``input_shape``: ceil(width / 4) in [1, 32], below the width.

    >>> default_latent((784,)), default_latent((30,)), default_latent((64, 1)), default_latent((3,))
    (32, 8, 16, 1)
    """
    d = int(math.prod(input_shape))
    return int(max(1, min(LATENT_MAX, math.ceil(d / 4), d - 1)))


def _torch_names(base) -> dict[str, type]:
    """Lower-case name -> class of the public subclasses of ``base`` in its torch module."""
    import inspect

    import torch

    module = torch.optim if base is torch.optim.Optimizer else torch.optim.lr_scheduler
    return {
        n.lower(): c
        for n, c in vars(module).items()
        if inspect.isclass(c) and issubclass(c, base) and c is not base and not n.startswith("_")
    }


def optimizer_classes() -> dict[str, type]:
    """The optimizers of ``torch.optim`` by lower-case name ('adam', 'adamw', 'sgd', 'rmsprop', ...), less
    those the loop cannot drive (L-BFGS needs a closure, SparseAdam sparse gradients)."""
    import torch

    return {n: c for n, c in _torch_names(torch.optim.Optimizer).items() if n not in ("lbfgs", "sparseadam")}


def scheduler_classes() -> dict[str, type]:
    """Every learning-rate scheduler of ``torch.optim.lr_scheduler`` by lower-case name ('steplr', ...)."""
    import torch

    return {
        n: c
        for n, c in _torch_names(torch.optim.lr_scheduler.LRScheduler).items()
        if n not in ("lrscheduler", "chainedscheduler", "sequentiallr")
    }  # these take other schedulers


OPTIMIZERS = tuple(sorted(optimizer_classes()))


@dataclass
class SparsityConfig:
    """A sparsity penalty on the code, reported as the ``sparsity`` loss term.

    ``kind="l1"``: ``weight * mean_batch(sum_j |z_j|)`` (Keras' ``activity_regularizer=l1(weight)``).
    ``kind="kl"``: ``weight * sum_j KL(rho || rho_hat_j)`` with ``rho_hat_j`` the batch mean of code unit j
    squashed to (0, 1) by a sigmoid (unless the code already is sigmoid-activated).
    """

    kind: str = option("l1", choices=SPARSITIES)
    weight: float = option(1e-4, low=0)
    rho: float = option(0.05, low=0, high=1, low_open=True, high_open=True)

    def __post_init__(self):
        check_fields(self, "sparsity")


@dataclass
class CorruptionConfig:
    """Input corruption applied during training only (a denoising autoencoder).

    ``gaussian``: add ``amount * N(0, 1)`` noise (the tutorials' noise factor); ``masking``: zero a fraction
    ``amount`` of the inputs; ``salt_pepper``: set a fraction ``amount`` to the data's min or max.
    With ``clip`` the result is clipped to the clean batch's value range, as the tutorials clip to [0, 1].
    """

    kind: str = option("gaussian", choices=CORRUPTIONS)
    amount: float = option(0.5, low=0)
    clip: bool = True

    def __post_init__(self):
        check_fields(self, "corruption")
        if self.kind != "gaussian" and self.amount > 1:
            raise AekitError(f"corruption: amount={self.amount!r} is a fraction for {self.kind}; expected <= 1")


NESTED.update(sparsity=SparsityConfig, corruption=CorruptionConfig)


def _coerce_nested(name: str, value: Any):
    """Accept a dataclass, a dict, a bare kind name ('kl'), or 'kind:amount' ('gaussian:0.3')."""
    cls = NESTED[name]
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, str):
        if value.lower() in ("", "none", "null"):
            return None
        kind, _, num = value.partition(":")
        d: dict = {"kind": kind}
        if num:
            d["amount" if cls is CorruptionConfig else "weight"] = _parse_scalar(num, float, f"{name}")
        return from_dict(cls, d, owner=name)
    if isinstance(value, dict):
        return from_dict(cls, value, owner=name)
    raise AekitError(f"{name}: expected None, a kind name, a dict or {cls.__name__}; got {type(value).__name__}")


def _positive_sizes(owner: str, name: str, value) -> None:
    if not value or any(int(d) <= 0 for d in value):
        raise AekitError(f"{owner}: {name}={tuple(value)!r} is not valid; expected positive sizes")


@dataclass
class ModelConfig:
    """Options shared by every family. Family configs add their own fields after these.

    Every constrained field declares its rule with :func:`option`; ``__post_init__`` runs
    :func:`check_fields` once for the whole class (a family's own fields included), then the family's
    ``normalize()`` for rules that involve several fields or reshape a value.
    """

    input_shape: tuple = ()
    latent_dim: Optional[int] = option("auto", low=1, integer=True)  # 'auto': default_latent
    latent_activation: Optional[str] = option(None, choices=ACTIVATIONS)  # None: a linear code
    output_activation: str = option("auto", choices=OUTPUT_ACTIVATIONS)  # 'auto': decided from the data at fit
    loss: str = option("auto", choices=LOSSES)
    sparsity: Optional[SparsityConfig] = None
    corruption: Optional[CorruptionConfig] = None

    def __post_init__(self):
        owner = type(self).__name__
        try:
            self.input_shape = tuple(int(d) for d in self.input_shape)
        except (TypeError, ValueError):
            raise AekitError(
                f"{owner}: input_shape={self.input_shape!r} is not valid; expected positive sizes"
            ) from None
        _positive_sizes(owner, "input_shape", self.input_shape)
        if self.latent_dim == "auto":  # ceil(input width / 4) in [1, 32], below the width
            self.latent_dim = default_latent(self.input_shape)
        self.sparsity = _coerce_nested("sparsity", self.sparsity)
        self.corruption = _coerce_nested("corruption", self.corruption)
        check_fields(self, owner)
        self.normalize()

    def normalize(self) -> None:
        """Family rules beyond single fields (e.g. reshape input_shape); override in a family config."""

    @property
    def reconstruction_loss(self) -> str:
        """'bce' (from logits) for sigmoid outputs, 'mse' for linear ones, unless set explicitly. Before
        :meth:`aekit.Autoencoder.fit` decides an 'auto' output, the model behaves as a sigmoid one."""
        if self.loss != "auto":
            return self.loss
        return "mse" if self.output_activation == "linear" else "bce"


def _check_optimizer_options(owner: str, name: str, value) -> None:
    if not isinstance(value, dict):
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected a dict of keyword arguments")


@dataclass
class TrainConfig:
    """Options of :meth:`aekit.Autoencoder.fit` (``**training_options``) and of ``aekit train --set``."""

    # None: ~6,000 steps (12,000 for small sets), early stopping (aekit.training.defaults)
    epochs: Optional[int] = option(None, low=0, integer=True)
    batch_size: Optional[int] = option(None, low=1, integer=True)  # None: N/64 as a power of two in [16, 256]
    optimizer: str = option("adam", choices=lambda: OPTIMIZERS)  # any torch.optim optimizer, lower case
    lr: Optional[float] = option(None, low=0, low_open=True)  # None: the optimizer's usual default
    momentum: float = option(0.9, low=0, high=1, high_open=True)  # optimizers that take one (sgd, rmsprop)
    weight_decay: float = option(0.0, low=0)
    optimizer_options: dict = option(default_factory=dict, check=_check_optimizer_options)  # e.g. betas
    scheduler: Optional[str] = option(None, choices=lambda: tuple(sorted(scheduler_classes())))  # per epoch
    scheduler_options: dict = option(default_factory=dict, check=_check_optimizer_options)  # e.g. step_size
    clip_grad_norm: Optional[float] = option(None, low=0, low_open=True)
    shuffle: bool = True
    # the last rows, as Keras does; None: 0.1 when the epochs are automatic and there is no validation_data
    validation_split: Optional[float] = option(None, low=0, high=1, high_open=True)
    # 'auto' (from the data: aekit.training.defaults), None/'none', 'minmax', 'standard' or 'pixel' (x / 255); stored
    scale: Optional[str] = option("auto", choices=SCALES)
    seed: Optional[int] = None
    device: str = "auto"  # 'auto' picks cuda, then mps, then cpu
    amp: bool = False  # mixed precision: bfloat16 on CPUs with AVX512-BF16/AMX and on recent GPUs, else float16+scaler
    threads: Optional[int] = option(None, low=1, integer=True)  # CPU threads; None: AEKIT_NUM_THREADS or auto
    channels_last: Optional[bool] = None  # NHWC memory for 2-D convolutions; None: on for conv models (CPU, CUDA)
    compile: bool = False  # torch.compile the training step (pays a compile time once per fit)
    patience: Optional[int] = option(None, low=1, integer=True)  # early stopping on val_loss (else loss)
    min_delta: float = option(0.0, low=0)
    restore_best_weights: bool = True
    checkpoint: Optional[str] = None  # path written at the end of every epoch
    resume: bool = False  # continue from `checkpoint` when it exists
    log_dir: Optional[str] = None  # TensorBoard event files
    csv_log: Optional[str] = None  # the history as CSV, rewritten after every epoch
    verbose: int = option(1, choices=(0, 1, 2))  # 0 silent, 1 progress bar, 2 one line per epoch
    sync_batch_norm: bool = False  # under torchrun on GPUs: BatchNorm statistics over the global batch
    # dense models: 'pca' starts them from the PCA of the data (training/pca_init.py); 'auto': 'pca' for a model
    # with a linear path (aekit.training.defaults) trained on data in memory, else none
    init: Optional[str] = option("auto", choices=("auto", "pca", "none"))

    def __post_init__(self):
        check_fields(self, "training")
        self.scale = None if self.scale == "none" else self.scale
        self.init = None if self.init == "none" else self.init
        if self.resume and not self.checkpoint:
            raise AekitError("training: resume=True needs checkpoint=PATH")


# --- dict / JSON round trip --------------------------------------------------------------------------------


__all__ = [
    "ModelConfig",
    "TrainConfig",
    "SparsityConfig",
    "CorruptionConfig",
    "to_dict",
    "from_dict",
    "parse_value",
    "apply_overrides",
    "field_help",
    "field",
    "option",
    "check_fields",
    "field_types",
    "optimizer_classes",
    "scheduler_classes",
]
