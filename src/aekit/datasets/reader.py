"""One reader for every command that reads data: a SRC string in, a :class:`Source` out.

``read_source`` resolves what ``aekit train --data SRC`` and every other data-reading command accept:

==========================  ====================================================================
``digits``                  the 10,000 MNIST test digits embedded in aekit (8,000 train / 2,000 test)
``mnist`` / ``fashion``     MNIST / Fashion-MNIST via :func:`aekit.datasets.load_mnist` (60k / 10k)
a folder                    pictures (class sub-folders give labels), :func:`aekit.datasets.load_images`,
                            at the folder's own size and colour unless told (longer side at most 64)
a picture file              one picture (``.png``, ``.jpg``, ...)
``.npy`` / ``.npz``         :func:`aekit.datasets.load_array` (an ``.npz`` may hold ``x`` and ``y``,
                            or ``x_train``, ``y_train``, ``x_test``, ``y_test``)
``.csv``/``.parquet`` table :func:`aekit.datasets.load_table`: one sample per row (``columns`` to pick)
``.csv`` time series        a CSV whose first column holds timestamps (or ``window=`` given):
                            :func:`aekit.datasets.load_timeseries` (one value column or several),
                            cut into windows of ``window`` points (default: n/20 in [8, 64]) every
                            ``stride`` (default window/4)
==========================  ====================================================================

Every reader describes what it read in one :class:`aekit.datasets.description.DataDescription` (kind,
columns, window and stride, picture shape and colour, class names, the SRC string): the
``Source.description`` a model keeps as ``model.data`` and writes in its file. ``read_source(src,
like=description)`` reads new data the same way (:func:`aekit.datasets.sources.read_for_model` passes
the model's), so ``aekit detect model.aekit new.csv`` needs none of those options again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aekit.datasets.description import DataDescription
from aekit.errors import AekitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq"}
KINDS = ("image", "table", "series")  # the data kinds read_source reads (of DataDescription's, all but text)
NAMED = ("digits", "mnist", "fashion")


@dataclass
class Source:
    """Arrays resolved from a SRC string.

    Attributes
    ----------
    x, y : samples (N, ...) and labels (N,) or None
    x_test, y_test : a held-out split when the source defines one (MNIST, digits, ``.npz`` with x_test)
    description : DataDescription
        How the data was read (kind, picture shape and colour, class names, columns, window and stride,
        the SRC string as ``source``): what a model trained on it keeps (``model.data``).
    paths : the pictures' paths, in the order of ``x`` (pictures only)
    timestamps, values : a series' points: each one's time, and its values (T,) or (T, F) (series only)
    file_rows : a series whose file was out of time order: each point's row in the file (see
        :func:`aekit.datasets.timeseries.to_file_order`); None otherwise

    Examples
    --------
    >>> import numpy as np
    >>> s = Source(np.zeros((3, 4)), description=DataDescription(kind="table", source="t.csv"))
    >>> s.kind, s.name, s.row_ids()
    ('table', 't.csv', ('index', [0, 1, 2]))
    """

    x: np.ndarray
    y: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    description: DataDescription = field(default_factory=lambda: DataDescription(kind="table"))
    paths: list | None = None
    timestamps: np.ndarray | None = None
    values: np.ndarray | None = None
    file_rows: np.ndarray | None = None

    @property
    def kind(self) -> str | None:
        """The data kind: 'image', 'table' or 'series' (``description.kind``)."""
        return self.description.kind

    @property
    def name(self) -> str:
        """The SRC string (``description.source``)."""
        return self.description.source or ""

    @property
    def eval_split(self) -> tuple:
        """(x, y) to evaluate on: the test split when there is one, else the samples."""
        return (self.x_test, self.y_test) if self.x_test is not None else (self.x, self.y)

    @property
    def split_name(self) -> str:
        """Which samples :attr:`eval_split` holds, in words (what a report says it evaluated)."""
        return "the test split" if self.x_test is not None else "all samples of the source"

    def row_ids(self) -> tuple[str, list]:
        """(column name, one id per sample of :attr:`eval_split`) for outputs: picture paths, the
        timestamp where each window starts, or the row number."""
        n = len(self.eval_split[0])
        if self.paths and self.x_test is None:
            return "path", list(self.paths)[:n]
        if self.timestamps is not None and self.description.stride:
            ts, stride = self.timestamps, self.description.stride
            return "timestamp", [str(ts[i * stride]) for i in range(n)]
        return "index", list(range(n))


def _image_shape(x: np.ndarray) -> tuple | None:
    """(C, H, W) of image arrays (N, H, W), (N, H, W, C) or (N, C, H, W); None for other shapes."""
    if x.ndim == 3:
        return 1, int(x.shape[1]), int(x.shape[2])
    if x.ndim == 4 and x.shape[-1] in (1, 3, 4):
        return int(x.shape[3]), int(x.shape[1]), int(x.shape[2])
    if x.ndim == 4 and x.shape[1] in (1, 3, 4):
        return int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
    return None


def parse_size(size) -> tuple:
    """(H, W) from 'HxW', one number, or a pair."""
    if isinstance(size, str):
        parts = size.lower().replace(",", "x").split("x")
        try:
            size = tuple(int(p) for p in parts)
        except ValueError:
            raise AekitError(f"image size {size!r}: expected H x W such as 28x28 or one number") from None
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    if len(size) == 1:
        size = (size[0], size[0])
    return tuple(int(s) for s in size)


def parse_columns(columns) -> list | None:
    """``'a,b,c'`` or a list -> a list of names (digits stay strings: load_table matches names first)."""
    if columns is None or isinstance(columns, (list, tuple)):
        return None if columns is None else list(columns)
    return [c.strip() for c in str(columns).split(",") if c.strip()]


def looks_like_series(path: Path) -> bool:
    """A CSV whose header names a time column, or whose first cell of the first data row is a date (a cell
    with a leading sign is a number: numpy would read ``-3`` as the year -3)."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        return False
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for _, r in zip(range(2), csv.reader(f))]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    if len(rows) < 2 or not rows[0] or not rows[1]:
        return False
    if rows[0][0].strip().lower() in ("timestamp", "time", "date", "datetime", "ds"):
        return True
    cell = rows[1][0].strip()
    if cell[:1] in ("-", "+"):  # a signed number (numpy reads '-3' as the year -3), never a date here
        return False
    try:
        np.datetime64(cell, "s")
        return "-" in cell or ":" in cell
    except ValueError:
        return False


def default_window(n_points: int) -> int:
    """The default window length for a series of ``n_points``: n/20 in [8, 64] (never above n)."""
    return int(min(n_points, max(8, min(64, n_points // 20))))


def read_source(
    src,
    *,
    like: DataDescription | None = None,
    kind: str | None = None,
    image_size=None,
    color: str | None = None,
    window: int | None = None,
    stride: int | None = None,
    columns=None,
    key: str | None = None,
    limit: int | None = None,
    impute: str | None = None,
) -> Source:
    """Resolve ``src`` (see the module docstring) into a :class:`Source`.

    Parameters
    ----------
    src : str or path-like
    like : DataDescription, optional
        How a model's training data was read (``model.data``: kind, columns, window, stride,
        image_shape, color, impute): read the data the same way. Options given explicitly win over it.
    kind : {None, 'image', 'table', 'series'}
        The data kind: how to read a ``.csv`` (default: 'series' when ``window`` is given or the first
        column holds timestamps, else 'table') or an array file (default: 'image' when its shape is a
        picture's).
    image_size, color : size (H, W) or 'HxW' and 'gray'|'rgb' for pictures; None: from the folder
    window, stride : window length and step for a time series
    columns : the table columns to use ('a,b' or a list), default all; for a series its value columns
        (default: the one named ``value``, else every column but the time)
    impute : {None, 'mean', 'median', 'zero'}
        Fill a table's missing values with each column's mean, median or 0 (of the file read); None
        refuses a table with missing values, naming the column.
    key : the array inside an ``.npz`` (default: ``x`` / ``x_train`` / the only one)
    limit : keep at most this many samples (the first ones)

    Examples
    --------
    >>> from aekit.datasets.reader import read_source
    >>> s = read_source("digits")
    >>> s.x.shape, s.x_test.shape, s.kind
    ((8000, 28, 28), (2000, 28, 28), 'image')
    >>> s.description.image_shape, s.description.color, s.description.source
    ((1, 28, 28), 'gray', 'digits')
    """
    from aekit.datasets import load_digits_sample, load_mnist, load_table

    like = like if like is not None else DataDescription()
    kind = kind or (like.kind if like.kind in KINDS else None)
    shp = like.image_shape  # (C, H, W) of a model's pictures
    image_size = image_size or (list(shp[1:]) if shp else None)
    color = color or like.color or (("gray" if shp[0] == 1 else "rgb") if shp else None)
    window = window if window is not None else like.window
    stride = stride if stride is not None else like.stride
    columns = parse_columns(columns) or like.columns
    impute = impute or like.impute
    if kind is not None and kind not in KINDS:
        raise AekitError(f"data kind {kind!r}: expected one of {', '.join(KINDS)}")
    window, stride = _count("window", window), _count("stride", stride)
    name = str(src)
    low = name.lower()
    if low == "digits":
        (x, y), (xt, yt) = load_digits_sample(split=True)
        out = Source(x, y, xt, yt, DataDescription("image", name, image_shape=_image_shape(x), color="gray"))
    elif low in ("mnist", "fashion"):
        (x, y), (xt, yt) = load_mnist(kind="digits" if low == "mnist" else "fashion")
        out = Source(x, y, xt, yt, DataDescription("image", name, image_shape=_image_shape(x), color="gray"))
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise AekitError(
                f"data {name}: no such file or folder; expected digits, mnist, fashion, a folder "
                f"of pictures, a picture, or a .npy/.npz/.csv/.parquet file"
            )
        suf = path.suffix.lower()
        if path.is_dir() or suf in IMAGE_SUFFIXES:
            out = _load_pictures(path, image_size, color)
        elif suf in (".npy", ".npz"):
            out = _load_arrays(path, key, kind)
        elif suf in TABLE_SUFFIXES:
            if kind == "series" or (kind is None and (window or looks_like_series(path))):
                out = _load_series(path, window, stride, columns)
            else:
                t = load_table(path, columns=columns, impute=impute)
                out = Source(
                    np.asarray(t.x, np.float32),
                    description=DataDescription("table", name, columns=list(t.columns), impute=impute),
                )
        else:
            raise AekitError(
                f"data {name}: unsupported file type {suf!r}; expected .npy, .npz, .csv, .parquet, "
                f"a picture or a folder of pictures"
            )
    if limit:
        out.x = out.x[:limit]
        out.y = out.y[:limit] if out.y is not None else None
    return out


def _count(opt: str, val) -> int | None:
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


def _load_pictures(path: Path, image_size, color) -> Source:
    from aekit.datasets.decode import UnreadablePicture, decode_image
    from aekit.datasets.images import folder_picture_format, load_images

    if path.is_dir() and (image_size is None or color is None):
        found_hw, found_color = folder_picture_format(path)
        image_size, color = image_size or found_hw, color or found_color
    if path.is_dir():
        s = load_images(path, size=parse_size(image_size), color=color, fit="crop")
        # no class names (None, not []) for a folder without class sub-folders: the header has none either
        d = DataDescription(
            "image", str(path), image_shape=_image_shape(s.x), color=color, class_names=list(s.class_names) or None
        )
        return Source(s.x, s.y, description=d, paths=list(s.paths))
    color = color or "rgb"
    try:
        a = decode_image(path, parse_size(image_size) if image_size else _picture_size(path), color)
    except UnreadablePicture as e:
        raise AekitError(f"data {path}: not a readable picture ({e.reason})") from None
    d = DataDescription("image", str(path), image_shape=_image_shape(a[None]), color=color)
    return Source(a[None], description=d, paths=[path.name])


def _picture_size(path: Path) -> tuple:
    from aekit.datasets.decode import open_picture

    with open_picture(path) as im:
        return im.height, im.width


def _load_arrays(path: Path, key, kind) -> Source:
    from aekit.datasets.arrays import load_array, npz_keys

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
    assert x is not None  # 'x_train' or 'x' is among the keys, or the file's one array was read
    if x.ndim < 2:
        raise AekitError(f"data {name}: expected samples (N, ...), got an array of shape {x.shape}")
    if len(x) == 0:
        raise AekitError(f"data {name}: the array holds no samples (shape {x.shape})")
    for lab, what in ((y, "y"), (yt, "y_test")):
        ref = x if what == "y" else xt
        if lab is not None and (lab.ndim != 1 or ref is None or len(lab) != len(ref)):
            raise AekitError(f"data {name}: {what} must hold one label per sample; got shape {lab.shape}")
    shape = _image_shape(x) if kind in (None, "image") else None
    kind = "image" if shape else (kind or ("series" if x.ndim == 3 else "table"))
    return Source(x, y, xt, yt, DataDescription(kind, name, image_shape=shape))


def _load_series(path: Path, window: int | None, stride: int | None, columns=None) -> Source:
    from aekit.datasets.timeseries import load_timeseries, sliding_windows

    ts = load_timeseries(path, columns)
    window = int(window or default_window(len(ts)))
    stride = int(stride or max(1, window // 4))
    w = sliding_windows(ts, window, stride)  # (N, window, F): the lstm family's (timesteps, features)
    # named or several columns: the model remembers them (one 'value' it need not)
    names = list(ts.columns or []) if columns or ts.values.ndim == 2 else None
    d = DataDescription("series", str(path), columns=names, window=window, stride=stride)
    return Source(
        w, description=d, timestamps=ts.timestamps, values=np.asarray(ts.values, np.float64), file_rows=ts.file_rows
    )


__all__ = [
    "Source",
    "read_source",
    "parse_size",
    "parse_columns",
    "looks_like_series",
    "default_window",
    "IMAGE_SUFFIXES",
]
