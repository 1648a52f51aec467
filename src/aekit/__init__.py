"""aekit: the autoencoder toolkit.

>>> import aekit
>>> "conv" in aekit.list_models()
True
"""

import os as _os
import sys as _sys

if "torch" not in _sys.modules and not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(_os.environ):
    # How torch's OpenMP threads wait between operations, read once when torch loads its OpenMP runtime (so
    # only settable here, and the user's own setting wins). Spinning forever (OMP_WAIT_POLICY=ACTIVE) burns
    # the cores other programs need; sleeping at once (PASSIVE) pays a futex wake-up per operation, which made
    # small models 2-3x slower at 2 threads than at 1 (dense 784-32-784: 2.2 ms/step against 0.9; LSTM
    # 50x50: 46 against 14). A short bounded spin (about 0.1-0.5 ms) keeps a thread awake across the gap
    # between two operations of a training step and lets it sleep when the step ends. Under load the thread
    # policy (aekit.training.threads) drops to the free cores, where the spin never waits on a lost core.
    _os.environ["GOMP_SPINCOUNT"] = "10000"

from aekit import models as _models  # noqa: F401  (registers the built-in families)
from aekit.autoencoder.model import Autoencoder, build, load
from aekit.core.version import __version__
from aekit.errors import AekitError, FormatError
from aekit.models.config import CorruptionConfig, SparsityConfig, TrainConfig
from aekit.models.registry import describe_models, list_models, register_model
from aekit.training.loop import History

__all__ = [
    "Autoencoder",
    "build",
    "load",
    "list_models",
    "describe_models",
    "register_model",
    "History",
    "TrainConfig",
    "SparsityConfig",
    "CorruptionConfig",
    "AekitError",
    "FormatError",
    "__version__",
]
