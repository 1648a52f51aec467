"""Callbacks: named hooks into the training loop (see ``loop.py`` for the events)."""

from __future__ import annotations

import math
import sys
import time

import torch

from aekit.training.events import Callback
from aekit.training.tensorboard import EventWriter


def _fmt(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())


class StateSnapshot:
    """A copy of a module's state (and an optimizer's tensors and settings), taken into buffers that are
    allocated once and then overwritten: one ``copy_`` per tensor instead of ``copy.deepcopy`` of the
    state dicts, which is Python work of about a millisecond an epoch on a small model (a noticeable
    share of an epoch of a few steps, where the callbacks that snapshot every epoch run)."""

    def __init__(self):
        self.saved: list = []
        self.n_module = 0
        self.groups: list = []

    @staticmethod
    def _tensors(module, optimizer) -> tuple[list, list]:
        mod = list(module.state_dict().values())  # detached views of the parameters and buffers
        opt = (
            []
            if optimizer is None
            else [
                v
                for g in optimizer.param_groups
                for p in g["params"]
                for v in optimizer.state.get(p, {}).values()
                if torch.is_tensor(v)
            ]
        )
        return mod, opt

    def take(self, module, optimizer=None) -> None:
        mod, opt = self._tensors(module, optimizer)
        cur = mod + opt
        with torch.no_grad():
            if len(cur) != len(self.saved) or any(
                a.shape != b.shape or a.dtype != b.dtype for a, b in zip(cur, self.saved)
            ):
                self.saved = [t.detach().clone() for t in cur]  # first time, or the optimizer's state appeared
            else:
                for a, b in zip(self.saved, cur):
                    a.copy_(b)
        self.n_module = len(mod)
        self.groups = (
            [] if optimizer is None else [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
        )

    def restore(self, module, optimizer=None) -> None:
        mod, opt = self._tensors(module, optimizer)
        saved_opt = self.saved[self.n_module :]
        with torch.no_grad():
            for a, b in zip(mod, self.saved[: self.n_module]):
                a.copy_(b)
            if optimizer is None:
                return
            if len(opt) == len(saved_opt):
                for a, b in zip(opt, saved_opt):
                    a.copy_(b)
            else:  # taken before the optimizer's first step: back to a fresh optimizer state
                optimizer.state.clear()
        for g, kept in zip(optimizer.param_groups, self.groups):
            g.update(kept)


class ProgressBar(Callback):
    """A Keras-style progress bar on stderr (verbose=1), or one line per epoch (verbose=2 or no TTY)."""

    def __init__(self, verbose: int = 1, stream=None, interval: float = 0.2):
        self.verbose, self.stream, self.interval = verbose, stream or sys.stderr, interval
        self.tty = verbose == 1 and hasattr(self.stream, "isatty") and self.stream.isatty()

    def on_epoch_begin(self, state) -> None:
        self.t0 = self.last = time.perf_counter()

    def on_batch_end(self, state, step, sums, seen) -> None:
        now = time.perf_counter()
        if not self.tty or now - self.last < self.interval or not state.world.is_main:
            return
        self.last = now
        total = state.steps_per_epoch
        done = int(30 * (step + 1) / max(total, 1))
        bar = "=" * max(done - 1, 0) + (">" if done < 30 else "=") + "." * (30 - done)
        loss = float(sums["loss"]) / max(seen, 1)
        self.stream.write(
            f"\rEpoch {state.epoch + 1}/{state.cfg.epochs} {step + 1}/{total} [{bar}] "
            f"- {now - self.t0:.0f}s - loss: {loss:.4g}"
        )
        self.stream.flush()

    def on_epoch_end(self, state, logs) -> None:
        if not state.world.is_main:  # one progress line per run, not one per process
            return
        dt = time.perf_counter() - self.t0
        lead = "\r" if self.tty else ""
        self.stream.write(
            f"{lead}Epoch {state.epoch}/{state.cfg.epochs} - {dt:.1f}s - {_fmt(logs)}\x1b[K\n"
            if self.tty
            else f"Epoch {state.epoch}/{state.cfg.epochs} - {dt:.1f}s - {_fmt(logs)}\n"
        )
        self.stream.flush()


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights`` the best epoch's weights are put back at the end of training. Why it stopped
    is ``state.stop_reason`` (and printed on stderr with ``verbose``)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        verbose: int = 0,
        stream=None,
    ):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore, self.verbose, self.stream = restore_best_weights, verbose, stream
        self.best, self.best_epoch, self.wait = float("inf"), -1, 0
        self.best_weights: StateSnapshot | None = None  # the best epoch's module state, once there is one
        self.stopped_epoch = None

    def on_epoch_end(self, state, logs) -> None:
        value = logs.get(self.monitor, logs.get("loss"))
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore:
                self.best_weights = self.best_weights or StateSnapshot()
                self.best_weights.take(state.module)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop, self.stopped_epoch = True, state.epoch

    def on_train_end(self, state) -> None:
        restored = self.restore and self.best_weights is not None and self.best_epoch != state.epoch
        if restored:
            assert self.best_weights is not None  # restored says so
            self.best_weights.restore(state.module)
        if self.stopped_epoch is None or state.diverged:
            return
        state.stop_reason = (
            f"early stopping after epoch {self.stopped_epoch}: {self.monitor} did not improve "
            f"for {self.patience} epochs; best {self.monitor} {self.best:.4g} at epoch "
            f"{self.best_epoch}" + (" (its weights restored)" if restored else "")
        )
        if self.verbose:
            stream = self.stream or sys.stderr
            stream.write(state.stop_reason + "\n")
            stream.flush()


class DivergenceGuard(Callback):
    """Stop training when it diverges, keeping the last finite weights.

    After each epoch: when a logged loss is NaN or infinite, or the training loss exceeds ``factor`` times
    the first epoch's (and ``min_loss``), the weights and optimizer state of the last good epoch (or of the
    start) are put back, training stops, and ``state.diverged`` holds one line naming the epoch and a hint.
    Put it before any callback that saves (checkpoints), so that nothing non-finite is written.
    """

    def __init__(self, factor: float = 1000.0, min_loss: float = 1e-3):
        self.factor, self.min_loss = factor, min_loss
        self.first = None
        self.good_epoch = 0  # the last finite epoch, whose module and optimizer state self.good holds
        self.good = StateSnapshot()

    def _snapshot(self, state) -> None:
        self.good.take(state.module, state.optimizer)
        self.good_epoch = state.epoch

    def on_train_begin(self, state) -> None:
        self._snapshot(state)
        done = state.history.history.get("loss") or []
        self.first = done[0] if done else None

    def on_epoch_end(self, state, logs) -> None:
        loss = logs.get("loss", 0.0)
        bad = next((k for k, v in logs.items() if not math.isfinite(v)), None)
        if bad is None and self.first is not None and loss > self.factor * max(abs(self.first), self.min_loss):
            bad = "loss"
            what = f"loss {loss:.4g} exploded from {self.first:.4g} in the first epoch"
        else:
            what = f"{bad} is {logs.get(bad)}" if bad else ""
        if bad is None:
            if self.first is None:
                self.first = loss
            self._snapshot(state)
            return
        epoch = self.good_epoch
        self.good.restore(state.module, state.optimizer)
        state.stop = True
        kept = f"the weights of epoch {epoch}" if epoch else "the initial weights"
        state.diverged = (
            f"training diverged in epoch {state.epoch}: {what}; kept {kept}. Try a lower lr "
            f"(now {state.optimizer.param_groups[0]['lr']:.3g}), clip_grad_norm=1, or scaling the "
            f"data (scale='standard')"
        )


class TimeLimit(Callback):
    """Stop at the end of the first epoch that ends more than ``seconds`` after training began, or after this
    callback was made with ``from_creation=True`` (to count work before the loop, e.g. greedy pretraining).

    A wall-clock budget: what benchmarks and time-boxed jobs use instead of a fixed number of epochs.
    """

    def __init__(self, seconds: float, from_creation: bool = False):
        self.seconds = seconds
        self.t0 = time.perf_counter() if from_creation else None

    def on_train_begin(self, state) -> None:
        if self.t0 is None:
            self.t0 = time.perf_counter()

    def on_epoch_end(self, state, logs) -> None:
        assert self.t0 is not None  # set by on_train_begin at the latest
        if time.perf_counter() - self.t0 > self.seconds:
            state.stop = True


class LearningRateScheduler(Callback):
    """Keras' ``LearningRateScheduler``: at each epoch's start, ``lr = schedule(epoch, lr)`` (0-based epoch).

    >>> decay = LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.9 ** epoch)
    """

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, state) -> None:
        lr = float(self.schedule(state.epoch, state.optimizer.param_groups[0]["lr"]))
        for group in state.optimizer.param_groups:
            group["lr"] = lr


class TensorBoard(Callback):
    """Per-epoch scalars (every history key) as TensorBoard event files in ``log_dir`` (rank 0 writes them
    when training runs in several processes)."""

    def __init__(self, log_dir: str):
        self.log_dir = log_dir
        self.writer: EventWriter | None = None

    def on_train_begin(self, state) -> None:
        if state.world.is_main:
            self.writer = EventWriter(self.log_dir)

    def on_epoch_end(self, state, logs) -> None:
        if self.writer is None:
            return
        for k, v in logs.items():
            self.writer.add_scalar(f"epoch_{k}", v, state.epoch)
        self.writer.flush()

    def on_train_end(self, state) -> None:
        if self.writer is not None:
            self.writer.close()


class CSVLogger(Callback):
    """Keras' ``CSVLogger``: the history as CSV (``epoch`` 1-based, then one column per log key), rewritten
    atomically at the start and after every epoch, so a killed run keeps the history of its finished epochs
    (and a resumed one the history of both parts)."""

    def __init__(self, path: str):
        self.path = path

    def _write(self, state) -> None:
        from aekit.core.container import atomic_write

        if state.world.is_main:  # under torchrun rank 0 writes the file
            atomic_write(self.path, state.history.to_csv())

    def on_train_begin(self, state) -> None:
        self._write(state)

    def on_epoch_end(self, state, logs) -> None:
        self._write(state)


class CheckpointSaver(Callback):
    """Writes a resumable checkpoint (see ``checkpoint.py``) at the end of every epoch; in a data-parallel
    run rank 0 writes it and the others wait at a barrier, so all go on only once it is on disk."""

    def __init__(self, path: str, make_header):
        self.path, self.make_header = path, make_header

    def on_epoch_end(self, state, logs) -> None:
        from aekit.training.checkpoint import save_checkpoint
        from aekit.training.distributed import barrier

        if state.world.is_main:
            save_checkpoint(self.path, state, self.make_header())
        barrier(state.world)
