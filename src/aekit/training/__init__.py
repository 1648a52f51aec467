"""The one training loop (``loop.fit_loop``) and the callbacks that extend it."""

from aekit.training.batches import ArraySource
from aekit.training.callbacks import Callback, EarlyStopping, LearningRateScheduler, ProgressBar, TensorBoard, TimeLimit
from aekit.training.loop import History, LoopState, fit_loop

__all__ = [
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "ProgressBar",
    "TensorBoard",
    "TimeLimit",
    "ArraySource",
    "History",
    "LoopState",
    "fit_loop",
]
