"""What :meth:`aekit.Autoencoder.fit` does before the first epoch: the data it was given becomes training and
validation sources, and every option left at ``auto`` is decided (:mod:`aekit.training.defaults`): scaling, loss and
output, hidden activation and linear path (the module is rebuilt with them), batch size, epochs, the
validation split, and the weights' start (``init``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from aekit.core.arrays import Layout, finite_range, to_model
from aekit.datasets.preprocessing import Scaler
from aekit.errors import AekitError
from aekit.models.config import TrainConfig
from aekit.training import distributed
from aekit.training.batches import ArraySource, StreamSource, is_stream
from aekit.training.defaults import (
    auto_epochs,
    auto_patience,
    decide_data,
    fit_facts,
    hidden_activation,
    linear_path,
    plan_training,
)


def decide_init(ae, init: str | None, x_train) -> str | None:
    """The start the weights take: ``init='auto'`` is 'pca' for a model with a linear path (the default for
    standardised data) trained on data in memory with at least as many samples as code units."""
    if init == "auto":
        ok = getattr(ae.config, "linear_path", None) == "on" and x_train is not None and len(x_train) >= ae.code_size
        init = "pca" if ok else None
        if init:
            ae.fit_info.setdefault("decided_from_data", []).append("init")
    elif init == "pca" and x_train is None:
        raise AekitError("fit: init='pca' needs in-memory training data, not a stream")
    ae.fit_info["init"] = init or "random"
    return init


def fit_sources(ae, x, y, validation_data, cfg: TrainConfig, series: bool = False):
    """Training and validation sources and the training options with every 'auto' decided; fits the
    scaler on the training part only (``series``: x holds windows of a time series)."""
    if isinstance(x, np.memmap) and y is None:  # read batch by batch: never copied into memory
        split = cfg.validation_split or 0.0  # automatic validation is for in-memory data
        x, validation_data = _memmap_streams(x, validation_data, split)
    # windows of a series: one statistic per channel, shared over the time steps (a step is no separate
    # feature: per-step statistics would weigh each step by how many spikes happened to fall on it)
    shared = (0,) if series and len(ae.input_shape) == 2 else ()
    if is_stream(x):
        return _stream_sources(ae, x, validation_data, cfg, shared)
    xa, layout = to_model(x, ae.input_shape, "x", check_finite=False)  # checked below, with the range
    ya = to_model(y, ae.input_shape, "y")[0] if y is not None else None
    if ya is not None and len(ya) != len(xa):
        raise AekitError(f"y: {len(ya)} samples but x has {len(xa)}")
    plan = plan_training(
        len(xa),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        validation_split=cfg.validation_split,
        patience=cfg.patience,
        has_validation=validation_data is not None,
    )
    val, n_val = validation_data, 0
    if val is None and plan.validation_split:
        cut = _split_at(len(xa), plan.validation_split)  # raises when no training sample would be left
        n_val = len(xa) - cut
        val = (xa[cut:], ya[cut:] if ya is not None else xa[cut:])
        xa, ya = xa[:cut], (ya[:cut] if ya is not None else None)
    # one scan of the values: the training part's range decides the loss, and NaN anywhere is refused
    x_range = finite_range(xa, "x")
    if n_val:
        finite_range(val[0], "x")
    cfg = _decide(ae, cfg, x_range, layout, len(xa), n_val, val is not None, plan=plan)
    ae.sections.preprocessing.scaler = Scaler(cfg.scale).fit(xa, shared) if cfg.scale else None
    xa, ya = ae.scale(xa), (ae.scale(ya) if ya is not None else None)
    xt = torch.from_numpy(xa)
    source = ArraySource(xt, torch.from_numpy(ya) if ya is not None else None)
    val_source = array_source(ae, val, "validation_data") if val is not None else None
    return source, val_source, xt, cfg


def _stream_sources(ae, x, validation_data, cfg: TrainConfig, shared: tuple = ()):
    """Sources of a stream; 'auto' options are decided from its first batch, and a scaler is fitted in one
    streaming pass over ``x`` (``shared``: as in :meth:`aekit.datasets.preprocessing.Scaler.fit`)."""
    first = next(iter(x.iter_batches(min(len(x), 1024), shuffle=False, seed=0)))
    xa0, layout = to_model(np.asarray(first), ae.input_shape, "x", check_finite=False)  # checked with the range
    cfg = _decide(ae, cfg, finite_range(xa0, "x"), layout, len(x), 0, validation_data is not None)
    scaler = None
    if cfg.scale:
        chunks = (to_model(np.asarray(b), ae.input_shape, "x")[0] for b in x.iter_batches(8192))
        scaler = Scaler(cfg.scale).fit_batches(chunks, shared)
    ae.sections.preprocessing.scaler = scaler
    transform = ae.scale if scaler is not None else None
    val = None
    if validation_data is not None:
        val = (
            StreamSource(validation_data, ae.input_shape, transform)
            if is_stream(validation_data)
            else array_source(ae, validation_data, "validation_data")
        )
    return StreamSource(x, ae.input_shape, transform), val, None, cfg


def _decide(
    ae,
    cfg: TrainConfig,
    x_range: tuple,
    layout: Layout,
    n_train: int,
    n_val: int,
    has_val: bool,
    plan=None,
) -> TrainConfig:
    """Apply :mod:`aekit.training.defaults` to the options left at auto: the config's loss and output activation
    become concrete (the module's output follows), and :attr:`Autoencoder.fit_info` records every decision."""
    redo = ae.preprocessing.decided or []  # what an earlier fit decided is decided again
    opt = {k: ("auto" if k in redo else getattr(ae.config, k)) for k in ("loss", "output_activation")}
    d = decide_data(x_range, layout.sample_shape, scale=cfg.scale, owner="fit", pixels=layout.pixels, **opt)
    ae.config.loss, ae.config.output_activation = d.loss, d.output_activation
    ae.module.output_activation = d.output_activation
    changes = {}
    act = getattr(ae.config, "activation", None)
    if act is not None and (act == "auto" or "activation" in redo):
        d.auto.append("activation")
        changes["activation"] = hidden_activation(d)
    path = getattr(ae.config, "linear_path", None)
    if path is not None and (path == "auto" or "linear_path" in redo):
        d.auto.append("linear_path")
        changes["linear_path"] = linear_path(d, ae.config.hidden)
    _reconfigure(ae, changes, cfg.seed)
    ae.sections.preprocessing.decided = d.auto
    if plan is None:
        plan = plan_training(
            n_train,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            validation_split=0.0,
            patience=cfg.patience,
            has_validation=has_val,
        )
    if getattr(ae.config, "linear_path", None) == "on" and cfg.init != "none":  # starts as PCA: a shorter budget
        if "epochs" in plan.auto:
            plan = dataclasses.replace(plan, epochs=auto_epochs(n_train, plan.batch_size, starts_as_pca=True))
        if "patience" in plan.auto:
            plan = dataclasses.replace(plan, patience=auto_patience(plan.epochs, starts_as_pca=True))
    world = distributed.env_world().size
    batch = plan.batch_size if cfg.batch_size is not None else -(-plan.batch_size // world) * world
    cfg = dataclasses.replace(
        cfg,
        scale=d.scale,
        epochs=plan.epochs,
        batch_size=batch,
        validation_split=plan.validation_split,
        patience=plan.patience,
    )
    ae.fit_info = fit_facts(
        d,
        dataclasses.replace(plan, batch_size=batch),
        n_train,
        n_val,
        ae.input_shape,
        ae.code_size,
        has_val,
        getattr(ae.config, "activation", None),
    )
    return cfg


def _reconfigure(ae, changes: dict, seed: int | None) -> None:
    """Architecture options decided at fit (hidden activation, linear path): rebuild the module with them,
    so the saved config rebuilds the same module. Every weight whose name and shape are unchanged is kept
    (activations have none); new layers start from a fresh draw, seeded by ``seed`` when given."""
    changes = {k: v for k, v in changes.items() if getattr(ae.config, k) != v}
    if not changes:
        return
    for k, v in changes.items():
        setattr(ae.config, k, v)
    with torch.random.fork_rng(devices=[]):  # the caller's generator must not move
        if seed is not None:
            torch.manual_seed(seed)
        module = ae.family_info.builder(ae.config)
    old = ae.module.state_dict()
    new = module.state_dict()
    module.load_state_dict({k: (old[k] if k in old and old[k].shape == v.shape else v) for k, v in new.items()})
    module.output_activation = ae.module.output_activation
    ae.module = module.to(ae.device)


def array_source(ae, val, name: str) -> ArraySource:
    if isinstance(val, tuple) and len(val) == 2:
        return ArraySource(torch.from_numpy(ae.prepare(val[0], name)), torch.from_numpy(ae.prepare(val[1], name)))
    return ArraySource(torch.from_numpy(ae.prepare(val, name)))


def _split_at(n: int, validation_split: float) -> int:
    """Where the validation part (the last rows, as in Keras) of ``n`` samples starts; an AekitError when
    it would leave no training sample."""
    cut = n - max(1, int(round(n * validation_split)))
    if cut < 1:
        raise AekitError(
            f"validation_split={validation_split} leaves no training sample of {n}; use a "
            f"smaller split or pass validation_data"
        )
    return cut


def _memmap_streams(x: np.memmap, validation_data, validation_split: float):
    """A memory-mapped training array (and its validation part) as streams: read batch by batch."""
    from aekit.datasets.streams import ArrayStream

    if validation_data is None and validation_split:
        cut = _split_at(len(x), validation_split)
        return ArrayStream(x[:cut]), ArrayStream(x[cut:])
    if isinstance(validation_data, np.memmap):
        validation_data = ArrayStream(validation_data)
    return ArrayStream(x), validation_data


__all__ = ["fit_sources", "decide_init", "array_source"]
