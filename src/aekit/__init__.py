"""aekit: the autoencoder toolkit.

>>> import aekit
>>> "conv" in aekit.list_models()
True
"""
from . import models as _models  # noqa: F401  (registers the built-in families)
from .autoencoder import Autoencoder, build, load
from .config import CorruptionConfig, SparsityConfig, TrainConfig
from .errors import AekitError, FormatError
from .registry import describe_models, list_models, register_model
from .training.loop import History

__version__ = "0.1.0"

__all__ = ["Autoencoder", "build", "load", "list_models", "describe_models", "register_model", "History",
           "TrainConfig", "SparsityConfig", "CorruptionConfig", "AekitError", "FormatError", "__version__"]
