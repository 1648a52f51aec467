"""Export a trained :class:`aekit.Autoencoder` to ONNX, so it can run without Python (onnxruntime, C++,
the browser, ...).

Three parts can be exported:

- ``"encoder"``: input ``x`` (N, *input_shape) float32 -> output ``z`` (N, code_size); variational models
  export the posterior mean (what :meth:`Autoencoder.encode` returns).
- ``"decoder"``: input ``z`` (N, code_size) -> output ``x_hat`` (N, *input_shape).
- ``"full"``: input ``x`` -> output ``x_hat`` (the reconstruction; for variational models the decoder of
  the posterior mean, i.e. deterministic, as :meth:`Autoencoder.reconstruct`).

The batch dimension is dynamic. When the model was trained with ``scale=`` the fitted scaler is baked
into the graph (inputs are scaled, reconstructions unscaled), so the ONNX model takes and returns the
same numbers as the Python API. Inputs must be float32 in the model's layout (N, *input_shape); uint8
images must be divided by 255 first. The legacy TorchScript exporter (``dynamo=False``) is used: it
handles every family, LSTMs included, with no extra dependency beyond ``onnx``. The command line
equivalent is ``aekit export MODEL -o model.onnx --part encoder``.
"""

from __future__ import annotations

import copy
import io as _io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from aekit.core.container import atomic_write
from aekit.errors import AekitError
from aekit.models.base import AEModule

PARTS = ("encoder", "decoder", "full")
DEFAULT_OPSET = 17  # supported by every onnxruntime >= 1.14 and by torch's legacy exporter


class _Affine(nn.Module):
    """``(x - offset) / scale`` (or the inverse): the model's fitted :class:`aekit.datasets.preprocessing.Scaler`."""

    offset: torch.Tensor  # buffers
    scale: torch.Tensor

    def __init__(self, offset: torch.Tensor, scale: torch.Tensor, inverse: bool):
        super().__init__()
        self.register_buffer("offset", offset)
        self.register_buffer("scale", scale)
        self.inverse = inverse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset if self.inverse else (x - self.offset) / self.scale


class _Part(nn.Module):
    """One exportable part of an AEModule, scaler included; always in evaluation mode."""

    def __init__(self, module: AEModule, part: str, scaler: tuple[torch.Tensor, torch.Tensor] | None):
        super().__init__()
        self.module, self.part = module, part
        self.pre = _Affine(*scaler, inverse=False) if scaler else nn.Identity()
        self.post = _Affine(*scaler, inverse=True) if scaler else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.part == "decoder":  # x is the code (N, code_size)
            return self.post(self.module.decode(x))
        z = self.module.encode(self.pre(x))[0]  # (N, code_size); the mean for a Gaussian head in eval
        if self.part == "encoder":
            return z
        return self.post(self.module.decode(z))  # (N, *input_shape)


def _scaler_tensors(model) -> tuple[torch.Tensor, torch.Tensor] | None:
    s = model.scaler
    if s is None:
        return None
    return (torch.from_numpy(s.offset_.copy()).float(), torch.from_numpy(s.scale_.copy()).float())


def to_onnx_bytes(model, part: str = "full", *, opset: int = DEFAULT_OPSET) -> bytes:
    """The ONNX bytes of ``part`` ('encoder', 'decoder' or 'full') of ``model``; see :func:`export_onnx`."""
    if part not in PARTS:
        raise AekitError(f"part={part!r} is not valid; expected one of {', '.join(PARTS)}")
    try:
        import onnx  # noqa: F401  (the legacy exporter serialises through it)
    except ImportError:
        raise AekitError("ONNX export needs the 'onnx' package; install aekit[onnx]") from None
    if not isinstance(opset, int) or isinstance(opset, bool) or not 9 <= opset <= 21:
        raise AekitError(f"opset={opset!r} is not valid; expected an integer from 9 to 21")
    module = copy.deepcopy(model.module).to("cpu").eval()  # never move or retrain the user's model
    wrapper = _Part(module, part, _scaler_tensors(model)).eval()
    if part == "decoder":
        example = torch.zeros(2, model.code_size)  # (N, code_size)
        in_name, out_name = "z", "x_hat"
    else:
        example = torch.zeros(2, *model.input_shape)  # (N, *input_shape)
        in_name, out_name = "x", ("z" if part == "encoder" else "x_hat")
    buf = _io.BytesIO()
    with warnings.catch_warnings():
        # the LSTM exporter warns that batch_first LSTMs with dynamic batch need care; they are handled
        warnings.simplefilter("ignore")
        # the legacy exporter (dynamo=False) writes to a file object; the annotation names only paths
        torch.onnx.export(
            wrapper,
            (example,),
            buf,  # type: ignore[arg-type]
            dynamo=False,
            opset_version=opset,
            input_names=[in_name],
            output_names=[out_name],
            dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}},
            do_constant_folding=True,
        )
    return buf.getvalue()


def export_onnx(model, path: str | os.PathLike, part: str = "full", *, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``part`` of ``model`` as an ONNX file at ``path`` (atomically) and return the path.

    Parameters
    ----------
    model : aekit.Autoencoder
        Any family (dense, stacked, vae, conv, conv_vae, lstm).
    path : path-like
        The ``.onnx`` file to write; its folder is created if needed.
    part : {'full', 'encoder', 'decoder'}
        Input ``x`` -> reconstruction ``x_hat``; ``x`` -> code ``z``; or ``z`` -> ``x_hat``.
    opset : int
        ONNX opset version (default 17).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import aekit, numpy as np, onnxruntime as ort, tempfile, os
    >>> ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=4, seed=0)
    >>> p = ae.export_onnx(os.path.join(tempfile.mkdtemp(), "enc.onnx"), part="encoder")
    >>> sess = ort.InferenceSession(str(p))
    >>> sess.run(None, {"x": np.zeros((5, 16), np.float32)})[0].shape
    (5, 4)
    """
    data = to_onnx_bytes(model, part, opset=opset)
    return atomic_write(path, data)


__all__ = ["export_onnx", "to_onnx_bytes", "PARTS", "DEFAULT_OPSET"]
