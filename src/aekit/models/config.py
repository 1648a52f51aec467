"""Configuration dataclasses, defined once and read by the Python API, the CLI, the estimators and the file.

Every family has a config dataclass that extends :class:`ModelConfig`; training has :class:`TrainConfig`.
Configs turn into plain JSON dicts (:func:`to_dict`) and back (:func:`from_dict`), which is how they are
stored in model files and how the CLI's ``--set key=value`` options are applied (values given as strings
are parsed with the field's type, so no option is defined twice).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from aekit.errors import AekitError

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


# --- declared constraints: each field states its rule once, check_fields applies them all ----------------


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    choices: Optional[Callable | tuple] = None,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    items: bool = False,
    integer: bool = False,
    check: Optional[Callable] = None,
):
    """A config field with its constraint declared next to it (checked by :func:`check_fields`).

    ``choices``: the allowed values (or a function returning them); ``low``/``high``: bounds of a number,
    closed unless ``low_open``/``high_open``; ``integer``: a whole number; ``items``: the rule applies to each
    element of a list; ``check(owner, name, value)``: any other rule. ``None`` passes where the field's type is
    Optional.
    """
    meta = {
        "choices": choices,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "items": items,
        "integer": integer,
        "check": check,
        "constrained": True,
    }
    return field(default=default, default_factory=default_factory, metadata=meta)


@functools.cache
def _rule(cls, name: str) -> Optional[dict]:
    """The constraint of field ``name``: declared once, where the field is first declared with
    :func:`option`, and inherited by a family config that only changes its default."""
    for klass in cls.__mro__:
        f = getattr(klass, "__dataclass_fields__", {}).get(name)
        if f is not None and f.metadata.get("constrained"):
            return f.metadata
    return None


@functools.cache
def _optional_fields(cls) -> frozenset:
    hints = typing.get_type_hints(cls)
    return frozenset(n for n, t in hints.items() if type(None) in typing.get_args(t))


def _bound_text(m: dict) -> str:
    parts = []
    if m["low"] is not None:
        parts.append(f"{'>' if m['low_open'] else '>='} {m['low']:g}")
    if m["high"] is not None:
        parts.append(f"{'<' if m['high_open'] else '<='} {m['high']:g}")
    return " and ".join(parts)


def _check_item(owner: str, name: str, value: Any, m: dict) -> Any:
    choices = m["choices"]() if callable(m["choices"]) else m["choices"]
    if choices is not None:
        if value not in choices:
            raise AekitError(f"{owner}: {name}={value!r} is not valid; expected one of {', '.join(map(str, choices))}")
        return value
    if m["low"] is None and m["high"] is None and not m["integer"]:
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    whole = number and float(value).is_integer()
    ok = number and (whole or not m["integer"])
    if ok and m["low"] is not None:
        ok = value > m["low"] if m["low_open"] else value >= m["low"]
    if ok and m["high"] is not None:
        ok = value < m["high"] if m["high_open"] else value <= m["high"]
    if not ok:
        what = "a whole number" if m["integer"] else "a number"
        raise AekitError(f"{owner}: {name}={value!r} is not valid; expected {what} {_bound_text(m)}".rstrip())
    return int(value) if m["integer"] else value


def check_fields(cfg, owner: Optional[str] = None) -> None:
    """Check (and normalise: whole numbers to int, tuples of items to lists) every constrained field of
    ``cfg`` by the rule its :func:`option` declares; the one place config values are validated."""
    owner = owner or type(cfg).__name__
    # the ignores: a class is hashable; mypy reads the __hash__ of type(cfg) as object's unbound method
    optional = _optional_fields(type(cfg))  # type: ignore[arg-type]
    for f in fields(cfg):
        m = _rule(type(cfg), f.name)  # type: ignore[arg-type]  # (as above)
        if m is None:
            continue
        value = getattr(cfg, f.name)
        if value is None:
            if f.name in optional:
                continue
            raise AekitError(f"{owner}: {f.name}=None is not valid; a value is required")
        if m["items"]:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise AekitError(f"{owner}: {f.name}={value!r} is not valid; expected a list")
            value = [_check_item(owner, f.name, v, m) for v in value]
        else:
            value = _check_item(owner, f.name, value, m)
        if m["check"] is not None:
            m["check"](owner, f.name, value)
        setattr(cfg, f.name, value)


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


def to_dict(cfg) -> dict:
    """A JSON-ready dict of a config (nested configs become dicts, tuples lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def field_types(cls) -> dict[str, Any]:
    """{field name: declared type} of a config class (a copy: callers may change it)."""
    return dict(_field_types(cls))


@functools.cache
def _field_types(cls) -> dict[str, Any]:
    # typing.get_type_hints evaluates every annotation string each call (~0.6 ms a class); fit reads a
    # config from a dict on every call, so the answer is computed once per class
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
    if value == "auto" and name == "latent_dim":
        return value
    typ = types[name]
    args = typing.get_args(typ)
    if value.strip().lower() in ("none", "null") and type(None) in args:
        return None
    if name in _NESTED:
        return value
    base = next((a for a in args if a is not type(None)), typ) if args else typ
    if base is dict:  # e.g. optimizer_options={"betas": [0.9, 0.99]} as JSON on a command line
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise AekitError(f"{name}: cannot read {value!r} as a JSON object") from None
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
        raise AekitError(
            f"unknown option {unknown[0]!r} for {owner or cls.__name__}; valid options: {', '.join(sorted(names))}"
        )
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
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        )
        out.append((f.name, getattr(f.type, "__name__", str(f.type)), default))
    return out


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
    "optimizer_classes",
    "scheduler_classes",
]
