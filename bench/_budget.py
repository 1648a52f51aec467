"""Training callbacks shared by the embed benches: a decaying learning rate and a wall-time budget."""
from __future__ import annotations

import time

from aekit.training.callbacks import Callback


class DecayLR(Callback):
    """lr = lr0 * gamma ** epoch (set at each epoch's start)."""

    def __init__(self, lr0: float, gamma: float):
        self.lr0, self.gamma = lr0, gamma

    def on_epoch_begin(self, state) -> None:
        for g in state.optimizer.param_groups:
            g["lr"] = self.lr0 * self.gamma ** state.epoch


class TimeBudget(Callback):
    """Stop after the epoch during which ``seconds`` of wall time (from construction) ran out."""

    def __init__(self, seconds: float):
        self.seconds, self.t0 = seconds, time.perf_counter()

    def on_epoch_end(self, state, logs) -> None:
        if time.perf_counter() - self.t0 > self.seconds:
            state.stop = True
