"""The machinery of aekit's config dataclasses, generic over them: a field declares its rule once
(:func:`option`), :func:`check_fields` applies the rules, and configs go to plain JSON dicts (:func:`to_dict`)
and back (:func:`from_dict`), parsing values typed on a command line with the field's declared type
(:func:`parse_value`). The configs themselves are :mod:`aekit.models.config`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import field, fields
from typing import Any

from aekit.errors import AekitError

# option name -> the config class of a nested option (sparsity, corruption); aekit.models.config fills it
NESTED: dict[str, type] = {}

# --- declared constraints: each field states its rule once, check_fields applies them all ----------------


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    choices: Callable | tuple | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    items: bool = False,
    integer: bool = False,
    check: Callable | None = None,
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
def _rule(cls, name: str) -> dict | None:
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


def check_fields(cfg, owner: str | None = None) -> None:
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
    if name in NESTED:
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
            if head not in NESTED:
                raise AekitError(f"unknown option {key!r}: only {', '.join(NESTED)} take dotted keys")
            nested = d.get(head) or {}
            nested[rest] = parse_value(NESTED[head], rest, value)
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
    "NESTED",
    "option",
    "check_fields",
    "to_dict",
    "field_types",
    "parse_value",
    "from_dict",
    "apply_overrides",
    "field_help",
]
