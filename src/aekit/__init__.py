"""aekit: the autoencoder toolkit.

>>> import aekit
>>> "conv" in aekit.list_models()
True
"""
import os as _os
import sys as _sys

if "torch" not in _sys.modules:
    # OpenMP threads that wait for each other by spinning burn the cores other programs need and, when one
    # of them loses its core, stall every operation (an epoch 10-30x slower on a busy machine). The wait
    # policy is read once, when torch loads its OpenMP runtime, so it can only be chosen here; the user's
    # own OMP_WAIT_POLICY wins. See aekit.training.threads for the thread count.
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import models as _models  # noqa: F401  (registers the built-in families)
from .autoencoder import Autoencoder, build, load
from .config import CorruptionConfig, SparsityConfig, TrainConfig
from .errors import AekitError, FormatError
from .registry import describe_models, list_models, register_model
from .training.loop import History

__version__ = "0.1.0"

__all__ = ["Autoencoder", "build", "load", "list_models", "describe_models", "register_model", "History",
           "TrainConfig", "SparsityConfig", "CorruptionConfig", "AekitError", "FormatError", "__version__"]
