"""Data sources by name, for the CLI and for scripts: ``SRC`` strings in, arrays out, and arrays back to files.

``load_source`` resolves what ``aekit train --data SRC`` accepts:

==========================  ====================================================================
``digits``                  the 10,000 MNIST test digits embedded in aekit (8,000 train / 2,000 test)
``mnist`` / ``fashion``     MNIST / Fashion-MNIST via :func:`aekit.datasets.load_mnist` (60k / 10k)
a folder                    pictures (class sub-folders give labels), :func:`aekit.datasets.load_images`
``.npy`` / ``.npz``         :func:`aekit.datasets.load_array` (an ``.npz`` may hold ``x`` and ``y``,
                            or ``x_train``, ``y_train``, ``x_test``, ``y_test``)
``.csv`` (table)            :func:`aekit.datasets.load_table`: one sample per row
``.csv`` (time series)      ``timestamp,value`` via :func:`aekit.datasets.load_timeseries`, cut into
                            windows of ``window`` points (``input_kind="series"`` or ``window=``)
==========================  ====================================================================

``read_input`` reads the INPUT of ``encode``/``reconstruct`` for a given model and ``write_output``
writes arrays as ``.npy``, as one ``.png`` grid, or as a folder of PNGs (atomically).
"""
from __future__ import annotations

import io as _io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import AekitError
from .imageio import grid, image_shape, png_bytes, to_uint8_images
from .io import atomic_write

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
KINDS = ("image", "table", "series")


@dataclass
class Source:
    """Arrays resolved from a SRC string.

    Attributes
    ----------
    x, y : training samples (N, ...) and labels (N,) or None
    x_test, y_test : a held-out split when the source defines one (MNIST, digits, ``.npz`` with x_test)
    kind : 'image' | 'table' | 'series'
    name : the SRC string
    meta : what inference needs later: ``image_shape`` (C, H, W), ``window``/``stride``, ``class_names``,
        ``paths`` (files of a folder, in the order of ``x``)
    """

    x: np.ndarray
    y: Optional[np.ndarray] = None
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    kind: str = "table"
    name: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def eval_split(self) -> tuple:
        """(x, y) to evaluate on: the test split when there is one, else the training samples."""
        return (self.x_test, self.y_test) if self.x_test is not None else (self.x, self.y)


def _image_meta(x: np.ndarray) -> dict:
    """(C, H, W) of image arrays (N, H, W) or (N, H, W, C)."""
    if x.ndim == 3:
        return {"image_shape": [1, int(x.shape[1]), int(x.shape[2])]}
    if x.ndim == 4 and x.shape[-1] in (1, 3, 4):
        return {"image_shape": [int(x.shape[3]), int(x.shape[1]), int(x.shape[2])]}
    if x.ndim == 4 and x.shape[1] in (1, 3, 4):
        return {"image_shape": [int(x.shape[1]), int(x.shape[2]), int(x.shape[3])]}
    return {}


def _size(size) -> tuple:
    if isinstance(size, str):
        parts = size.lower().replace(",", "x").split("x")
        try:
            size = tuple(int(p) for p in parts)
        except ValueError:
            raise AekitError(f"image size {size!r}: expected H x W such as 28x28 or one number") from None
    if isinstance(size, int):
        size = (size, size)
    if len(size) == 1:
        size = (size[0], size[0])
    return tuple(size)


def load_source(src, *, input_kind: Optional[str] = None, image_size=(28, 28), color: str = "gray",
                window: Optional[int] = None, stride: Optional[int] = None, key: Optional[str] = None,
                limit: Optional[int] = None) -> Source:
    """Resolve ``src`` (see the module docstring) into a :class:`Source`.

    Parameters
    ----------
    src : str or path-like
    input_kind : {None, 'image', 'table', 'series'}
        How to read a ``.csv`` (default: 'series' when ``window`` is given, else 'table').
    image_size, color : size (H, W) or 'HxW' and 'gray'|'rgb' for a folder of pictures
    window, stride : window length (default 64) and step (default window // 4) for a time series
    key : the array inside an ``.npz`` (default: ``x`` / ``x_train`` / the only one)
    limit : keep at most this many training samples (the first ones)

    Examples
    --------
    >>> from aekit.sources import load_source
    >>> s = load_source("digits")
    >>> s.x.shape, s.x_test.shape, s.kind
    ((8000, 28, 28), (2000, 28, 28), 'image')
    """
    from . import datasets

    if input_kind is not None and input_kind not in KINDS:
        raise AekitError(f"input kind {input_kind!r}: expected one of {', '.join(KINDS)}")
    window, stride = _count("window", window), _count("stride", stride)
    name = str(src)
    low = name.lower()
    if low == "digits":
        (x, y), (xt, yt) = datasets.load_digits_sample(split=True)
        out = Source(x, y, xt, yt, "image", name, _image_meta(x))
    elif low in ("mnist", "fashion"):
        (x, y), (xt, yt) = datasets.load_mnist(kind="digits" if low == "mnist" else "fashion")
        out = Source(x, y, xt, yt, "image", name, _image_meta(x))
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise AekitError(f"data {name}: no such file or folder; expected digits, mnist, fashion, a folder "
                             f"of images, or a .npy/.npz/.csv file")
        if path.is_dir():
            hw = _size(image_size)
            s = datasets.load_images(path, size=hw, color=color, fit="crop")
            meta = {**_image_meta(s.x), "paths": list(s.paths), "class_names": list(s.class_names),
                    "color": color}
            out = Source(s.x, s.y, kind="image", name=name, meta=meta)
        elif path.suffix.lower() in (".npy", ".npz"):
            out = _load_arrays(path, key, input_kind)
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            if input_kind == "series" or (input_kind is None and window is not None):
                out = _load_series(path, 64 if window is None else int(window), stride)
            else:
                t = datasets.load_table(path)
                out = Source(np.asarray(t.x, np.float32), kind="table", name=name, meta={"columns": t.columns})
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            raise AekitError(f"data {name}: a single picture; put training pictures in a folder and pass the folder")
        else:
            raise AekitError(f"data {name}: unsupported file type {path.suffix!r}; expected .npy, .npz or .csv")
    if limit:
        out.x = out.x[:limit]
        out.y = out.y[:limit] if out.y is not None else None
    return out


def _count(opt: str, val) -> Optional[int]:
    """None, or an integer >= 1 given as a number or a string (``--set window=64``)."""
    if val is None:
        return None
    try:
        v = int(str(val).strip())
    except ValueError:
        v = 0
    if isinstance(val, bool) or v < 1 or (isinstance(val, float) and v != val):
        raise AekitError(f"{opt}={val!r}: expected an integer >= 1")
    return v


def _load_arrays(path: Path, key, input_kind) -> Source:
    from .datasets import load_array
    from .datasets.arrays import npz_keys

    name = str(path)
    if path.suffix.lower() == ".npz" and key is None:
        keys = npz_keys(path)
        get = lambda k: np.asanyarray(load_array(path, key=k)) if k in keys else None  # noqa: E731
        if "x_train" in keys:
            x, y, xt, yt = get("x_train"), get("y_train"), get("x_test"), get("y_test")
        elif "x" in keys:
            x, y, xt, yt = get("x"), get("y"), None, None
        else:
            x, y, xt, yt = np.asanyarray(load_array(path)), None, None, None
    else:
        x, y, xt, yt = np.asanyarray(load_array(path, key=key)), None, None, None
    # asanyarray keeps a memory map (files larger than half the free memory): fit reads it batch by batch
    if x.ndim < 2:
        raise AekitError(f"data {name}: expected samples (N, ...), got an array of shape {x.shape}")
    for lab, what in ((y, "y"), (yt, "y_test")):
        if lab is not None and (lab.ndim != 1 or len(lab) != len(x if what == "y" else xt)):
            raise AekitError(f"data {name}: {what} must hold one label per sample; got shape {lab.shape}")
    meta = _image_meta(x) if input_kind in (None, "image") else {}
    kind = "image" if meta and input_kind != "table" else (input_kind or ("series" if x.ndim == 3 else "table"))
    return Source(x, y, xt, yt, kind, name, meta if kind == "image" else {})


def _load_series(path: Path, window: int, stride: Optional[int]) -> Source:
    from .datasets import load_timeseries, sliding_windows

    ts = load_timeseries(path)
    stride = max(1, window // 4) if stride is None else int(stride)
    values = np.asarray(ts.values, np.float64)
    w = sliding_windows(ts, window, stride)  # (N, window, F): the lstm family's (timesteps, features)
    return Source(w, kind="series", name=str(path),
                  meta={"window": int(window), "stride": int(stride), "n_points": int(len(values))})


# --- model inputs / outputs -------------------------------------------------------------------------------

def read_input(path, model=None, *, key: Optional[str] = None, native_size: bool = False) -> tuple:
    """Read the INPUT of ``encode``/``reconstruct``: a ``.npy``/``.npz``, a folder of pictures or one
    picture (resized to the model's image size). Returns ``(x, meta)`` with ``meta['paths']`` for pictures.
    With ``native_size`` pictures keep their own sizes and ``x`` is a list of uint8 (H, W, C) arrays.
    """
    from .datasets import load_array, load_images
    from .datasets.images import decode_image, list_files

    p = Path(path).expanduser()
    if not p.exists():
        raise AekitError(f"input {path}: no such file or folder")
    shp = image_shape(model) if model is not None else None
    color = "gray" if (shp is None or shp[0] == 1) else "rgb"
    size = (shp[1], shp[2]) if shp else (28, 28)
    if native_size and (p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES):
        files = [p / rel for rel, _, _ in list_files(p, f"input {path}")] if p.is_dir() else [p]
        pics, names = [], []
        for f in files:
            try:
                pics.append(decode_image(f, None, color))
            except Exception as e:  # noqa: BLE001 - Pillow raises many kinds for a bad file
                if not p.is_dir():
                    raise AekitError(f"input {path}: not a readable picture ({e})") from None
                continue  # a folder's non-picture files are skipped, as load_images does
            names.append(str(f.relative_to(p)) if p.is_dir() else f.name)
        if not pics:
            raise AekitError(f"input {path}: no readable picture")
        return pics, {"paths": names, "images": True}
    if p.is_dir():
        s = load_images(p, size=size, color=color, cache=False, workers=1, labels=None)
        return s.x, {"paths": list(s.paths), "images": True}
    suf = p.suffix.lower()
    if suf in IMAGE_SUFFIXES:
        try:
            a = decode_image(p, size, color)
        except Exception as e:  # noqa: BLE001 - Pillow raises many kinds for a bad file
            raise AekitError(f"input {path}: not a readable picture ({e})") from None
        return a[None], {"paths": [p.name], "images": True}
    if suf in (".npy", ".npz"):
        return np.asarray(load_array(p, key=key)), {"images": False}
    raise AekitError(f"input {path}: unsupported type {suf!r}; expected .npy, .npz, a picture or a folder of them")


def write_output(out, arr: np.ndarray, *, images: bool = False, image_shape_: Optional[tuple] = None,
                 names: Optional[list] = None) -> Path:
    """Write ``arr`` to ``out``: ``.npy`` (the array), ``.png`` (one grid of pictures) or a folder (one PNG
    per sample, named after ``names`` when given). Every file is written atomically.
    """
    p = Path(out).expanduser()
    suf = p.suffix.lower()
    if isinstance(arr, list):  # pictures of different sizes (a codec model's): only a folder holds them
        if len({np.shape(a) for a in arr}) == 1:
            arr = np.stack(arr)
        elif suf and suf not in (".d",):
            raise AekitError(f"output {out}: the pictures differ in size; write them to a folder instead")
    if suf == ".npy":
        buf = _io.BytesIO()
        np.save(buf, np.asarray(arr), allow_pickle=False)
        return atomic_write(p, buf.getvalue())
    if suf == ".npz":
        buf = _io.BytesIO()
        np.savez_compressed(buf, x=np.asarray(arr))
        return atomic_write(p, buf.getvalue())
    if suf == ".png":
        return atomic_write(p, png_bytes(grid(to_uint8_images(arr, image_shape_))))
    if suf and suf not in (".d",):
        raise AekitError(f"output {out}: unsupported type {suf!r}; expected .npy, .npz, .png or a folder")
    imgs = [to_uint8_images(a[None])[0] for a in arr] if isinstance(arr, list) else to_uint8_images(arr, image_shape_)
    p.mkdir(parents=True, exist_ok=True)
    width = len(str(len(imgs)))
    for i, im in enumerate(imgs):
        stem = Path(names[i]).with_suffix("").name if names and i < len(names) else f"{i:0{width}d}"
        atomic_write(p / f"{stem}.png", png_bytes(im))
    return p


def load_for_model(src, model, *, limit: Optional[int] = None) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """``(x, y)`` of ``src`` read the way ``model`` was trained (picture size and colour, series window),
    taking the source's test split when it has one."""
    shp = image_shape(model)
    kw: dict = {}
    if shp is not None:
        kw.update(image_size=(shp[1], shp[2]), color="gray" if shp[0] == 1 else "rgb")
    if model.data.window:
        kw.update(input_kind="series", window=model.data.window, stride=model.data.stride)
    x, y = load_source(src, **kw).eval_split
    return (x[:limit], None if y is None else y[:limit]) if limit else (x, y)
