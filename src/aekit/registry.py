"""The family registry: names map to (config class, builder). The CLI, the file loader and the estimators
all build models through :func:`get_family`, never through if/elif chains.

A third-party family registers itself the same way the built-in ones do::

    @register_model("my_ae", MyConfig, "one line shown by `aekit models`")
    def build_my_ae(cfg: MyConfig) -> AEModule: ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import AekitError


@dataclass(frozen=True)
class Family:
    name: str
    config_cls: type
    builder: Callable
    description: str

    @property
    def variational(self) -> bool:
        return bool(getattr(self.config_cls, "variational", False))


_FAMILIES: dict[str, Family] = {}


def register_model(name: str, config_cls: type, description: str):
    """Decorator registering ``builder(config) -> AEModule`` under ``name``."""

    def deco(builder):
        if name in _FAMILIES:
            raise ValueError(f"family {name!r} is registered twice")
        _FAMILIES[name] = Family(name, config_cls, builder, description)
        return builder

    return deco


def get_family(name: str) -> Family:
    try:
        return _FAMILIES[name]
    except (KeyError, TypeError):
        raise AekitError(f"unknown family {name!r}; registered families: {', '.join(sorted(_FAMILIES))}") from None


def list_models() -> list[str]:
    """The registered family names, sorted."""
    return sorted(_FAMILIES)


def describe_models() -> dict[str, str]:
    """Family name -> one-line description."""
    return {n: _FAMILIES[n].description for n in list_models()}
