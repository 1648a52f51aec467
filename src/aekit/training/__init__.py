"""The one training loop (``loop.fit_loop``) and the callbacks that extend it."""
from .callbacks import Callback, EarlyStopping, ProgressBar, TensorBoard
from .loop import ArraySource, History, LoopState, fit_loop

__all__ = ["Callback", "EarlyStopping", "ProgressBar", "TensorBoard", "ArraySource", "History", "LoopState",
           "fit_loop"]
