"""Configuration dataclasses, defined once and read by the Python API, the CLI, the estimators and the file.

Every family has a config dataclass that extends :class:`ModelConfig`; training has :class:`TrainConfig`.
Configs turn into plain JSON dicts (:func:`to_dict`) and back (:func:`from_dict`), which is how they are
stored in model files and how the CLI's ``--set key=value`` options are applied (values given as strings
are parsed with the field's type, so no option is defined twice).
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from .errors import AekitError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "selu", "linear")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
LOSSES = ("auto", "bce", "mse")
CORRUPTIONS = ("gaussian", "masking", "salt_pepper")
SPARSITIES = ("l1", "kl")
OPTIMIZERS = ("adam", "adamw", "adadelta", "rmsprop", "sgd")


def _check_choice(owner: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected one of {', '.join(map(str, choices))}")


def _check_positive(owner: str, name: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected a number {bound}")


@dataclass
class SparsityConfig:
    """A sparsity penalty on the code, reported as the ``sparsity`` loss term.

    ``kind="l1"``: ``weight * mean_batch(sum_j |z_j|)`` (Keras' ``activity_regularizer=l1(weight)``).
    ``kind="kl"``: ``weight * sum_j KL(rho || rho_hat_j)`` with ``rho_hat_j`` the batch mean of code unit j
    squashed to (0, 1) by a sigmoid (unless the code already is sigmoid-activated).
    """

    kind: str = "l1"
    weight: float = 1e-4
    rho: float = 0.05

    def __post_init__(self):
        _check_choice("sparsity", "kind", self.kind, SPARSITIES)
        _check_positive("sparsity", "weight", self.weight, allow_zero=True)
        if not 0 < self.rho < 1:
            raise AekitError(f"sparsity: rho={self.rho!r} is not valid; expected 0 < rho < 1")


@dataclass
class CorruptionConfig:
    """Input corruption applied during training only (a denoising autoencoder).

    ``gaussian``: add ``amount * N(0, 1)`` noise (the tutorials' noise factor); ``masking``: zero a fraction
    ``amount`` of the inputs; ``salt_pepper``: set a fraction ``amount`` to the data's min or max.
    With ``clip`` the result is clipped to the clean batch's value range, as the tutorials clip to [0, 1].
    """

    kind: str = "gaussian"
    amount: float = 0.5
    clip: bool = True

    def __post_init__(self):
        _check_choice("corruption", "kind", self.kind, CORRUPTIONS)
        _check_positive("corruption", "amount", self.amount, allow_zero=True)
        if self.kind != "gaussian" and self.amount > 1:
            raise AekitError(f"corruption: amount={self.amount!r} is a fraction for {self.kind}; expected <= 1")


_NESTED = {"sparsity": SparsityConfig, "corruption": CorruptionConfig}


def _coerce_nested(name: str, value: Any):
    """Accept a dataclass, a dict, a bare kind name ('kl'), or 'kind:amount' ('gaussian:0.3')."""
    cls = _NESTED[name]
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


@dataclass
class ModelConfig:
    """Options shared by every family. Family configs add their own fields after these."""

    input_shape: tuple = ()
    latent_dim: Optional[int] = 32
    output_activation: str = "sigmoid"
    loss: str = "auto"
    sparsity: Optional[SparsityConfig] = None
    corruption: Optional[CorruptionConfig] = None

    def __post_init__(self):
        owner = type(self).__name__
        self.input_shape = tuple(int(d) for d in self.input_shape)
        if not self.input_shape or any(d <= 0 for d in self.input_shape):
            raise AekitError(f"{owner}: input_shape={self.input_shape!r} is not valid; expected positive sizes")
        if self.latent_dim is not None:
            _check_positive(owner, "latent_dim", self.latent_dim)
            self.latent_dim = int(self.latent_dim)
        _check_choice(owner, "output_activation", self.output_activation, OUTPUT_ACTIVATIONS)
        _check_choice(owner, "loss", self.loss, LOSSES)
        self.sparsity = _coerce_nested("sparsity", self.sparsity)
        self.corruption = _coerce_nested("corruption", self.corruption)

    @property
    def reconstruction_loss(self) -> str:
        """'bce' (from logits) for sigmoid outputs, 'mse' for linear ones, unless set explicitly."""
        if self.loss != "auto":
            return self.loss
        return "bce" if self.output_activation == "sigmoid" else "mse"


@dataclass
class TrainConfig:
    """Options of :meth:`aekit.Autoencoder.fit` (``**training_options``) and of ``aekit train --set``."""

    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adam"
    lr: Optional[float] = None  # None: the optimizer's usual default (adam 1e-3, adadelta 1.0, sgd 1e-2)
    momentum: float = 0.9  # sgd and rmsprop
    weight_decay: float = 0.0
    clip_grad_norm: Optional[float] = None
    shuffle: bool = True
    validation_split: float = 0.0  # fraction of x held out (the last rows, as Keras does) when no validation_data
    scale: Optional[str] = None  # None, 'minmax' or 'standard': fitted on the training data, stored in the file
    seed: Optional[int] = None
    device: str = "auto"  # 'auto' picks cuda, then mps, then cpu
    amp: bool = False  # bfloat16 autocast on CUDA
    patience: Optional[int] = None  # early stopping on val_loss (loss without validation data)
    min_delta: float = 0.0
    restore_best_weights: bool = True
    checkpoint: Optional[str] = None  # path written at the end of every epoch
    resume: bool = False  # continue from `checkpoint` when it exists
    log_dir: Optional[str] = None  # TensorBoard event files
    verbose: int = 1  # 0 silent, 1 progress bar, 2 one line per epoch

    def __post_init__(self):
        _check_positive("training", "epochs", self.epochs, allow_zero=True)
        _check_positive("training", "batch_size", self.batch_size)
        _check_choice("training", "optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None:
            _check_positive("training", "lr", self.lr)
        _check_positive("training", "weight_decay", self.weight_decay, allow_zero=True)
        if self.clip_grad_norm is not None:
            _check_positive("training", "clip_grad_norm", self.clip_grad_norm)
        if not 0 <= self.validation_split < 1:
            raise AekitError(f"training: validation_split={self.validation_split!r}; expected 0 <= value < 1")
        if self.scale is not None:
            _check_choice("training", "scale", self.scale, ("minmax", "standard"))
        if self.patience is not None:
            _check_positive("training", "patience", self.patience)
        if self.resume and not self.checkpoint:
            raise AekitError("training: resume=True needs checkpoint=PATH")
        _check_choice("training", "verbose", self.verbose, (0, 1, 2))
        self.epochs, self.batch_size = int(self.epochs), int(self.batch_size)


# --- dict / JSON round trip --------------------------------------------------------------------------------

def to_dict(cfg) -> dict:
    """A JSON-ready dict of a config (nested configs become dicts, tuples lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _parse_scalar(text: str, typ, name: str):
    try:
        if typ is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return typ(text)
    except ValueError:
        raise AekitError(f"{name}: cannot read {text!r} as {typ.__name__}") from None


def parse_value(cls, name: str, value: Any) -> Any:
    """Parse one option given as a string (CLI ``--set name=value``) with the field's declared type."""
    types = field_types(cls)
    if name not in types:
        raise AekitError(f"unknown option {name!r} for {cls.__name__}; valid options: {', '.join(types)}")
    if not isinstance(value, str):
        return value
    typ = types[name]
    args = typing.get_args(typ)
    if value.strip().lower() in ("none", "null") and type(None) in args:
        return None
    if name in _NESTED:
        return value
    base = next((a for a in args if a is not type(None)), typ) if args else typ
    origin = typing.get_origin(base)
    if origin in (list, tuple) or base in (list, tuple):
        inner = (typing.get_args(base) or (int,))[0]
        inner = int if inner is Ellipsis else inner
        items = [s for s in value.replace("[", "").replace("]", "").replace("x", ",").split(",") if s.strip()]
        return [_parse_scalar(s.strip(), inner, name) for s in items]
    if base in (int, float, bool, str):
        return _parse_scalar(value, base, name)
    return value


def from_dict(cls, d: dict, owner: str | None = None):
    """Build config ``cls`` from a dict, refusing unknown keys with the list of valid ones."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise AekitError(f"unknown option {unknown[0]!r} for {owner or cls.__name__}; "
                         f"valid options: {', '.join(sorted(names))}")
    kwargs = {k: parse_value(cls, k, v) for k, v in d.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a value of the wrong type reaching a comparison in __post_init__
        raise AekitError(f"{owner or cls.__name__}: {e}") from None


def apply_overrides(cfg, overrides: dict):
    """A copy of ``cfg`` with ``overrides`` applied; nested keys use dots (``corruption.amount=0.3``)."""
    d = dataclasses.asdict(cfg)
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if rest:
            if head not in _NESTED:
                raise AekitError(f"unknown option {key!r}: only {', '.join(_NESTED)} take dotted keys")
            nested = d.get(head) or {}
            nested[rest] = parse_value(_NESTED[head], rest, value)
            d[head] = nested
        else:
            d[key] = value
    return from_dict(type(cfg), d)


def field_help(cls) -> list[tuple[str, str, Any]]:
    """(name, type name, default) for each option: what ``aekit train FAMILY --help`` lists."""
    out = []
    for f in fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append((f.name, getattr(f.type, "__name__", str(f.type)), default))
    return out


__all__ = ["ModelConfig", "TrainConfig", "SparsityConfig", "CorruptionConfig", "to_dict", "from_dict",
           "parse_value", "apply_overrides", "field_help", "field"]
