"""Reading data for a model: any SRC the one reader accepts (:func:`aekit.datasets.reader.read_source`),
read the way the model was trained (its data description: kind, columns, window and stride, picture
shape and colour).

``load_source`` and ``Source`` are re-exported from :mod:`aekit.datasets.reader`, where ``--data`` is
resolved; writing outputs by extension is :mod:`aekit.cli.outputs`; picture helpers are :mod:`aekit.core.pictures`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from aekit.core.pictures import image_shape
from aekit.datasets.description import DataDescription
from aekit.datasets.reader import IMAGE_SUFFIXES, Source, read_source

load_source = read_source  # the name scripts and runs use


def model_description(model) -> DataDescription:
    """How ``model``'s training data was read, as :func:`aekit.datasets.reader.read_source` takes it
    (``like=``): the model's data description (``model.data``), completed from its input shape for a
    model trained in Python on picture arrays (which knows no picture shape).

    Examples
    --------
    >>> import aekit
    >>> model_description(aekit.build("dense", input_shape=(28, 28), hidden=[8], latent_dim=2)).image_shape
    (1, 28, 28)
    """
    shp = image_shape(model)
    if shp is not None and not model.data.image_shape:
        return dataclasses.replace(model.data, kind="image", image_shape=shp)
    return model.data


def read_for_model(src, model, **options) -> Source:
    """Read ``src`` (anything :func:`aekit.datasets.reader.read_source` accepts) the way ``model`` was
    trained; options given explicitly (``key``, ``columns``, ``window``...) win."""
    return read_source(
        src,
        like=model_description(model) if model is not None else None,
        **{k: v for k, v in options.items() if v is not None},
    )


class Input(NamedTuple):
    """What :func:`read_input` read besides the samples."""

    paths: list | None  # the pictures' paths, in the order of the samples (pictures only)
    images: bool  # whether the samples are pictures
    source: Source | None = None  # the Source read (None for pictures at their own sizes)


def read_input(path, model=None, *, key: str | None = None, native_size: bool = False) -> tuple:
    """``(x, Input)``: the samples of ``path`` read for ``model`` (the test split of a named set), and
    what else was read (:class:`Input`: the pictures' paths, whether they are pictures, the Source).
    With ``native_size`` pictures keep their own sizes and ``x`` is a list of uint8 (H, W, C) arrays
    (a codec model codes any size)."""
    from pathlib import Path

    p = Path(path).expanduser()
    if native_size and (p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES):
        return _native_pictures(p, path, model)
    src = read_for_model(path, model, key=key)
    x, _ = src.eval_split
    return np.asanyarray(x), Input(src.paths, src.kind == "image", src)


def _native_pictures(p, path, model) -> tuple:
    from aekit.datasets.decode import UnreadablePicture, decode_image
    from aekit.datasets.images import list_files
    from aekit.errors import AekitError

    shp = image_shape(model) if model is not None else None
    color = "gray" if (shp is None or shp[0] == 1) else "rgb"
    files = [p / rel for rel, _, _ in list_files(p, f"input {path}")] if p.is_dir() else [p]
    pics, names = [], []
    for f in files:
        try:
            pics.append(decode_image(f, None, color))
        except UnreadablePicture as e:
            if not p.is_dir():
                raise AekitError(f"input {path}: not a readable picture ({e.reason})") from None
            continue  # a folder's non-picture files are skipped, as load_images does
        names.append(str(f.relative_to(p)) if p.is_dir() else f.name)
    if not pics:
        raise AekitError(f"input {path}: no readable picture")
    return pics, Input(names, True)


def load_for_model(src, model, *, limit: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(x, y)`` of ``src`` read the way ``model`` was trained, taking the source's test split when it
    has one."""
    x, y = read_for_model(src, model).eval_split
    return (x[:limit], None if y is None else y[:limit]) if limit else (x, y)


__all__ = ["Source", "Input", "load_source", "read_for_model", "read_input", "load_for_model", "model_description"]
