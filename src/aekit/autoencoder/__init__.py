"""The public model object: :class:`Autoencoder`, :func:`build` and :func:`load` (from :mod:`.model`).

Beside it: the model file's content (:mod:`.model_file`), metrics on data (:mod:`.metrics`), the layer table
(:mod:`.summary`) and ONNX export (:mod:`.onnx`).
"""

from aekit.autoencoder.model import Autoencoder, build, load

__all__ = ["Autoencoder", "build", "load"]
