"""What :meth:`aekit.Autoencoder.fit` does, step by step: the data becomes training and validation sources with
every ``auto`` option decided (:mod:`aekit.training.fit_setup`), the callbacks are assembled (the divergence
guard first, then progress, early stopping, logs, checkpoints, the caller's), pretraining or a PCA start run
where the family or the options ask for them, then the one loop (:func:`aekit.training.loop.fit_loop`).
Kept beside the model object so that ``model.py`` reads as its API.
"""

from __future__ import annotations

from pathlib import Path

from aekit.datasets.description import Parallel
from aekit.errors import DivergenceError
from aekit.models.config import TrainConfig
from aekit.training import distributed
from aekit.training.callbacks import (
    CheckpointSaver,
    CSVLogger,
    DivergenceGuard,
    EarlyStopping,
    ProgressBar,
    TensorBoard,
)
from aekit.training.checkpoint import restore_checkpoint
from aekit.training.defaults import print_fit_info, samples_of
from aekit.training.fit_setup import decide_init, fit_sources
from aekit.training.loop import History, new_state
from aekit.training.loop import fit_loop as _fit_loop
from aekit.training.pca_init import KeepInitIfBetter, pca_init
from aekit.training.pretrain import greedy_pretrain
from aekit.training.threads import thread_scope


def run_fit(ae, x, y, validation_data, cfg: TrainConfig, callbacks: list | None) -> History:
    """Train ``ae`` (an :class:`aekit.Autoencoder`; not imported here, which imports this module) on ``x``
    with the training options ``cfg`` as given (those left at ``auto`` are decided here); returns the
    history. :meth:`aekit.Autoencoder.fit` documents the arguments."""
    from aekit.datasets import TimeSeries

    series = isinstance(x, TimeSeries) or ae.data.kind == "series"
    source, val_source, x_train, cfg = fit_sources(
        ae, samples_of(x, ae.input_shape), y, validation_data, cfg, series=series
    )
    assert cfg.batch_size is not None and cfg.epochs is not None  # fit_sources decided them
    spec = ae.loss_spec
    resumed = cfg.resume and cfg.checkpoint is not None and Path(cfg.checkpoint).exists()  # resume needs one
    init = decide_init(ae, cfg.init, x_train) if not resumed else None
    # the thread policy (training/threads.py) for the whole fit; the caller's setting comes back after
    with thread_scope(cfg.threads) as threads:
        state = new_state(ae.module, cfg, spec)
        ae.sections.parallel = Parallel(state.world.size, cfg.batch_size, cfg.batch_size // state.world.size)
        cbs = [DivergenceGuard(), threads]  # the guard first: finite weights are back before anything saves
        talk = bool(cfg.verbose) and distributed.is_main()
        if talk:
            print_fit_info(ae.fit_info)
        if cfg.verbose:
            cbs.append(ProgressBar(cfg.verbose))
        if cfg.patience:
            monitor = "val_loss" if val_source is not None else "loss"
            cbs.append(EarlyStopping(monitor, cfg.patience, cfg.min_delta, cfg.restore_best_weights, verbose=int(talk)))
        if cfg.log_dir:
            cbs.append(TensorBoard(cfg.log_dir))
        if cfg.csv_log:
            cbs.append(CSVLogger(cfg.csv_log))
        if cfg.checkpoint:
            ae.train_config = cfg
            cbs.append(CheckpointSaver(cfg.checkpoint, ae.header))
        cbs.extend(callbacks or [])
        if resumed:
            restore_checkpoint(cfg.checkpoint, state)
            if state.epoch >= cfg.epochs:
                ae.fit_info["resume"] = (
                    f"the checkpoint has {state.epoch} epochs done, not fewer than "
                    f"epochs={cfg.epochs}; nothing to train (set more epochs)"
                )
                if talk:
                    print_fit_info({"resume": ae.fit_info["resume"]})
        elif ae.family_info.pretrain is not None and x_train is not None:
            pairs, pretrain_epochs = ae.family_info.pretrain(ae.module, ae.config)
            if pretrain_epochs:
                greedy_pretrain(pairs, ae.module.output_activation, x_train, spec, cfg, pretrain_epochs)
        if init == "pca":
            pca_init(ae.module, x_train)
            cbs.append(KeepInitIfBetter(source, cfg.batch_size))
        ae.history = _fit_loop(state, source, val_source=val_source, corruption=ae.config.corruption, callbacks=cbs)
    ae.train_config, ae.device = cfg, state.device
    ae.fit_info.update(epochs_run=len(ae.history.epoch), stopped=state.stop_reason)
    ae.module.eval()
    if state.diverged:
        raise DivergenceError(state.diverged)
    return ae.history


__all__ = ["run_fit"]
