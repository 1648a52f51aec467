"""The model file's content: what :meth:`aekit.Autoencoder.save` puts in the header and the payload, and how
:func:`aekit.load` rebuilds a model from them through the registry, checking that the stored scaler and
weights fit the stored config before anything is allocated. The container format (magic bytes, version,
JSON header, safetensors payload, checksum) is :mod:`aekit.core.container`.
"""

from __future__ import annotations

import datetime

import numpy as np
import torch

from aekit.datasets.description import Sections
from aekit.datasets.preprocessing import Scaler
from aekit.errors import AekitError, FormatError
from aekit.models.config import TrainConfig, from_dict, to_dict
from aekit.models.registry import get_family
from aekit.training.loop import History

FILE_KIND = "aekit-model"
EXTRA_PREFIX = "__extra__."  # payload names of Autoencoder.extra_tensors


def model_header(ae) -> dict:
    """A model's file header: kind, aekit version, family, config, training config, history, the typed
    sections, parameter count and creation time."""
    from aekit.core.version import __version__

    return {
        "kind": FILE_KIND,
        "aekit_version": __version__,
        "family": ae.family,
        "config": to_dict(ae.config),
        "train_config": to_dict(ae.train_config) if ae.train_config else None,
        "history": ae.history.to_dict(),
        **ae.sections.to_dict(),
        "n_params": ae.n_params(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def model_tensors(ae) -> dict[str, torch.Tensor]:
    """The payload: the module's weights and the application's extra tensors under ``__extra__.``."""
    extra = {f"{EXTRA_PREFIX}{k}": torch.as_tensor(v) for k, v in ae.extra_tensors.items()}
    return {**ae.module.state_dict(), **extra}


def model_from_file(cls, header: dict, tensors: dict, name):
    """Rebuild a model (an instance of ``cls``, :class:`aekit.Autoencoder`) through the registry from a file's
    header and tensors; nothing is unpickled or executed."""
    if header.get("kind") != FILE_KIND or not isinstance(header.get("family"), str):
        raise FormatError(f"{name}: an aekit file, but not a model file")
    try:
        family = get_family(header["family"])
        cfg = from_dict(family.config_cls, header["config"])
        train_cfg = from_dict(TrainConfig, header["train_config"]) if header.get("train_config") else None
        sections = Sections.from_header(header)
        history = History.from_dict(header.get("history"))
        if sections.preprocessing.scaler is not None:
            _check_scaler(sections.preprocessing.scaler, cfg.input_shape)
    except (AekitError, TypeError, ValueError, AttributeError, KeyError) as e:
        raise FormatError(f"{name}: cannot rebuild the model ({e})") from None
    weights = {k: v for k, v in tensors.items() if not k.startswith("__")}
    _check_weights(family, cfg, weights, name)  # before building: a forged config cannot allocate much
    module = family.builder(cfg)
    try:
        module.load_state_dict(weights)
    except RuntimeError as e:
        raise FormatError(
            f"{name}: weights do not match the {header['family']!r} config ({str(e).splitlines()[0]})"
        ) from None
    module.eval()
    return cls(
        family,
        cfg,
        module,
        train_config=train_cfg,
        history=history,
        sections=sections,
        extra_tensors={k[len(EXTRA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)},
    )


def _check_scaler(scaler: Scaler, input_shape: tuple) -> None:
    """The stored scaler must apply to one sample of the model's input shape."""
    assert scaler.offset_ is not None  # a scaler read from a file is fitted
    try:
        ok = np.broadcast_shapes(scaler.offset_.shape, tuple(input_shape)) == tuple(input_shape)
    except ValueError:
        ok = False
    if not ok:
        raise AekitError(f"the scaler's shape {scaler.offset_.shape} does not fit the input shape {tuple(input_shape)}")


def _check_weights(family, cfg, weights: dict, path) -> None:
    """The file's tensors must be exactly the ones the config's module has, with the same shapes. The module
    is built on the meta device (no memory) to find out, so a header whose config asks for a huge model
    is refused before anything that size is allocated."""
    try:
        with torch.device("meta"):
            want = {k: tuple(v.shape) for k, v in family.builder(cfg).state_dict().items()}
    except (AekitError, RuntimeError, ValueError, TypeError, OverflowError) as e:
        raise FormatError(f"{path}: cannot rebuild the model ({str(e).splitlines()[0] if str(e) else e})") from None
    have = {k: tuple(v.shape) for k, v in weights.items()}
    if want == have:
        return
    missing, unexpected = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    what = (
        f"missing {missing[0]!r}"
        if missing
        else f"unexpected {unexpected[0]!r}"
        if unexpected
        else f"{wrong[0]!r} has shape {have[wrong[0]]}, the config needs {want[wrong[0]]}"
    )
    raise FormatError(f"{path}: weights do not match the {family.name!r} config ({what})")


__all__ = ["FILE_KIND", "EXTRA_PREFIX", "model_header", "model_tensors", "model_from_file"]
