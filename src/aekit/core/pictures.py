"""Pictures: the one set of helpers that finds a model's picture shape and turns arrays into pictures, grids
and PNG bytes. The report, ``aekit generate``/``decode``/``denoise`` and the apps all use these.

One axis order throughout: :func:`image_shape` is (C, H, W) and pictures out are (N, H, W, C).

Examples
--------
>>> import numpy as np
>>> grid(to_uint8_images(np.zeros((4, 1, 8, 8)))).shape
(22, 22, 1)
>>> png_bytes(np.zeros((8, 8, 1), np.uint8))[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io as _io
import math

import numpy as np

from aekit.errors import AekitError


def image_shape(model, guess_flat: bool = False) -> tuple | None:
    """(C, H, W) when the model's inputs are pictures, else None.

    In order: the picture shape recorded in the model's data description (``aekit train`` records it);
    (C, H, W) input of an image family or with C in 1, 3, 4; (H, W, C) input of a dense family; (H, W)
    input (one channel); with ``guess_flat`` a flat (D,) input whose D is a square (784 -> 28x28) or three
    squares (RGB, flattened (C, H, W)). Sequence families never take pictures.
    """
    if model.data.image_shape:
        return tuple(model.data.image_shape)
    s = tuple(model.input_shape)
    layout = model.family_info.input_layout
    if layout == "sequence" or model.data.kind in ("table", "series"):
        return None  # tables and windows of a series are drawn as lines, never as pictures
    if len(s) == 3:
        if layout == "image" or s[0] in (1, 3, 4):
            return s
        if s[-1] in (1, 3, 4):
            return (s[2], s[0], s[1])
        return None
    if len(s) == 2:
        return (1, *s) if min(s) >= 8 else None  # (64, 1) is a window of a series, not a picture
    if len(s) == 1 and guess_flat:
        for c in (1, 3):
            side = math.isqrt(s[0] // c)
            if side * side * c == s[0]:
                return (c, side, side)
    return None


def to_pictures(model, out: np.ndarray) -> np.ndarray:
    """Model-layout outputs (N, *input_shape) -> float32 pictures (N, H, W, C) (flat inputs guessed square)."""
    shp = image_shape(model, guess_flat=True)
    if shp is None:
        raise AekitError(
            f"input_shape {tuple(model.input_shape)} is not a picture; expected (C, H, W), (H, W) or a square (D,)"
        )
    c, h, w = shp
    out = np.asarray(out, np.float32)
    if tuple(model.input_shape) == (h, w, c) and (h, w, c) != shp:  # a dense model on channels-last pictures
        return np.ascontiguousarray(out.reshape(len(out), h, w, c))
    return np.ascontiguousarray(np.moveaxis(out.reshape(len(out), c, h, w), 1, -1))


def to_uint8_images(a: np.ndarray, image_shape_: tuple | None = None) -> np.ndarray:
    """Float images in [0, 1] (N, C, H, W), (N, H, W, C), (N, H, W) or flat (N, C*H*W) with ``image_shape_``
    (C, H, W) -> uint8 (N, H, W, C)."""
    a = np.asarray(a)
    if image_shape_ is not None and a.ndim == 2:
        a = a.reshape(len(a), *image_shape_)
    if a.ndim == 3:
        a = a[..., None]
    elif a.ndim == 4 and a.shape[1] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 1, -1)
    if a.ndim != 4:
        raise AekitError(f"cannot write arrays of shape {a.shape} as pictures; write a .npy instead")
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    return a


def png_bytes(img: np.ndarray) -> bytes:
    """PNG file bytes of one uint8 picture (H, W, C) with C = 1, 3 or 4."""
    from PIL import Image

    im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
    buf = _io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def grid(imgs: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 pictures (N, H, W, C) into one picture, ``cols`` per row (default about square)."""
    n, h, w, c = imgs.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i, im in enumerate(imgs):
        r, k = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = im
    return out


__all__ = ["image_shape", "to_pictures", "to_uint8_images", "png_bytes", "grid"]
