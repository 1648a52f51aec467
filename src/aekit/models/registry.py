"""The family registry: everything aekit knows about a family, declared where the family is registered.

The CLI, the file loader and the estimators build models through :func:`get_family`, and nothing outside
the registry asks for a family's name: a family declares its config class, its builder, the layout of input
it takes (``input_layout``), whether it is variational (its config then has ``beta``, the KL weight), and an
optional pretraining hook run by ``fit`` before end-to-end training (the ``stacked`` family's greedy
layer-wise pretraining). Its loss is derived from those declarations by :meth:`Family.loss_spec`.

A third-party family registers itself the same way the built-in ones do::

    @register_model("my_ae", MyConfig, "one line shown by `aekit models`", input_layout="flat")
    def build_my_ae(cfg: MyConfig) -> AEModule: ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from aekit.errors import AekitError

INPUT_LAYOUTS = ("flat", "image", "sequence")


@dataclass(frozen=True)
class Family:
    """A registered family.

    Attributes
    ----------
    name, config_cls, builder, description
        ``builder(config) -> AEModule``.
    input_layout : {'flat', 'image', 'sequence'}
        What one sample is to the family: a vector of any shape (flattened), a picture (C, H, W), or a
        sequence (T, F). Readers and reports use it to decide how to read and draw data.
    variational : bool
        A Gaussian posterior with a KL term to N(0, I), weighted by the config's ``beta``.
    pretrain : callable or None
        ``pretrain(module, model_config) -> (layer_pairs, epochs)``: the greedy layer-wise pretraining plan
        that ``fit`` runs (:func:`aekit.training.pretrain.greedy_pretrain`) on in-memory data
        before end-to-end training (not when resuming a checkpoint).
    rate_distortion : bool
        A learned codec: the loss is ``lambda * 255^2 * MSE + bits per pixel`` with the config's
        ``rate_lambda``, the rate read from the likelihoods its forward returns.
    """

    name: str
    config_cls: type
    builder: Callable
    description: str
    input_layout: str = "flat"
    variational: bool = False
    pretrain: Callable | None = None
    rate_distortion: bool = False

    def loss_spec(self, cfg):
        """The training objective of a model of this family with config ``cfg``
        (:class:`aekit.models.losses.LossSpec`)."""
        from aekit.models.losses import LossSpec

        return LossSpec(
            cfg.reconstruction_loss,
            self.variational,
            float(cfg.beta) if self.variational else 1.0,
            cfg.sparsity,
            cfg.latent_activation == "sigmoid",
            float(cfg.rate_lambda) if self.rate_distortion else None,
        )


_FAMILIES: dict[str, Family] = {}


def register_model(
    name: str,
    config_cls: type,
    description: str,
    *,
    input_layout: str = "flat",
    variational: bool = False,
    pretrain: Callable | None = None,
    rate_distortion: bool = False,
):
    """Decorator registering ``builder(config) -> AEModule`` under ``name`` (see :class:`Family`)."""
    if input_layout not in INPUT_LAYOUTS:
        raise ValueError(f"family {name!r}: input_layout={input_layout!r}; expected one of {', '.join(INPUT_LAYOUTS)}")
    if variational and "beta" not in {f.name for f in dataclasses.fields(config_cls)}:
        raise ValueError(f"family {name!r}: a variational family's config needs a 'beta' field (the KL weight)")

    def deco(builder):
        if name in _FAMILIES:
            raise ValueError(f"family {name!r} is registered twice")
        _FAMILIES[name] = Family(
            name, config_cls, builder, description, input_layout, variational, pretrain, rate_distortion
        )
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
