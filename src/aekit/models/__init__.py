"""Built-in families; importing this package registers them."""
from . import codec, conv, dense, seq2seq  # noqa: F401  (registration side effect)
from .base import AEModule, Output

__all__ = ["AEModule", "Output"]
