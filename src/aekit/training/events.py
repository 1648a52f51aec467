"""The training loop's events: the :class:`Callback` base class that every callback extends.

Kept apart from the callbacks themselves so that modules the loop depends on (the thread policy) can
define a callback without importing the checkpointing and TensorBoard callbacks.
"""

from __future__ import annotations


class Callback:
    """Base class; override the events you need. ``state`` is the loop's :class:`LoopState`."""

    def on_train_begin(self, state) -> None: ...

    def on_epoch_begin(self, state) -> None: ...

    def on_batch_end(self, state, step: int, sums: dict, seen: int) -> None: ...

    def on_epoch_end(self, state, logs: dict) -> None: ...

    def on_train_end(self, state) -> None: ...
