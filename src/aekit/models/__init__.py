"""Built-in families; importing this package registers them."""

from aekit.models import codec, conv, dense, seq2seq  # noqa: F401  (registration side effect)
from aekit.models.base import AEModule, Output

__all__ = ["AEModule", "Output"]
