"""Writing a command's output, chosen by the extension of ``-o``: the one place that maps paths to formats.

==========  ==============================================================================
``.npy``    the array (``.npz``: compressed, under ``x``)
``.csv``    one row per sample: its id (row ``index``, the window's ``timestamp`` or the picture's
            ``path``) then the values, flattened
``.json``   ``{"<id>": [...], "values": [[...], ...]}`` (or the records of a table)
``.png``    one grid of pictures (only for pictures)
a folder    one PNG per sample, named after the input pictures (only for pictures)
==========  ==============================================================================

Anything else is refused with one line; an output is never written in another format than its name says.
Every file is written atomically. :func:`read_array` reads the array formats back (``aekit decode`` takes
the codes ``aekit encode`` wrote, in any of them).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from aekit.core.container import atomic_write
from aekit.core.pictures import grid, png_bytes, to_uint8_images
from aekit.errors import AekitError

ARRAY_SUFFIXES = (".npy", ".npz", ".csv", ".json")
ID_COLUMNS = ("index", "timestamp", "path")  # the id column write_output puts first in a .csv
PICTURE_SUFFIXES = (".png",)


def need_suffix(out, suffixes: tuple, what: str, flag: str = "-o") -> None:
    """Refuse an output named for another format (``flag out``) before any work is done.

    >>> need_suffix("model.onnx", (".onnx",), "the ONNX model")
    >>> need_suffix("model.txt", (".onnx",), "the ONNX model")
    Traceback (most recent call last):
    ...
    aekit.errors.AekitError: -o model.txt: expected a .onnx file for the ONNX model
    """
    if Path(out).suffix.lower() not in suffixes:
        raise AekitError(f"{flag} {out}: expected a {' or '.join(suffixes)} file for {what}")


def _csv_bytes(header: list, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def numbers(values) -> list:
    """The cells of any output (CSV or JSON), the one place numbers are formatted: ``values`` (an array or
    a list, any shape) as a (nested) list of Python values. Integers (and bools) stay ``int``; a float
    becomes the ``float`` whose repr is the shortest decimal that reads back as the same value at its own
    precision (every digit of a float64; a float32's own shortest form: 0.1, not 0.10000000149011612),
    never a negative zero; anything else (a timestamp, a path) its text.

    >>> numbers(np.array([0.1, -0.0, 1.2345678], dtype=np.float32)), numbers([0.12345678901234566, 2])
    ([0.1, 0.0, 1.2345678], [0.12345678901234566, 2.0])
    >>> numbers(np.array([[3, 255]], dtype=np.uint8)), numbers(np.array([True, False])), numbers(["a", 1])
    ([[3, 255]], [1, 0], ['a', '1'])
    """
    a = np.asarray(values)
    if a.dtype.kind in "biu":
        return a.astype(np.int64).tolist()
    if a.dtype.kind == "f":
        a = a + 0.0  # -0.0 becomes 0.0
        if a.dtype.itemsize < 8:  # numpy's text of a float32 (float16): the shortest that reads back as it
            a = a.astype(str).astype(np.float64)
        return a.astype(np.float64).tolist()
    return np.vectorize(str, otypes=[object])(a).tolist() if a.size else a.tolist()


def write_output(
    out,
    arr: np.ndarray,
    *,
    images: bool = False,
    image_shape_: tuple | None = None,
    names: list | None = None,
    ids: tuple | None = None,
    columns: list | None = None,
    what: str = "outputs",
) -> Path:
    """Write ``arr`` (N, ...) to ``out`` in the format its extension names (see the module docstring).

    ``images``/``image_shape_`` say the samples are pictures (allowing ``.png`` and folders); ``names``
    are the input pictures' paths (folder outputs keep them); ``ids`` is ``(column name, one id per
    sample)`` for ``.csv``/``.json``; ``what`` names the outputs in errors ("codes", "reconstructions").
    """
    p = Path(out).expanduser()
    suf = p.suffix.lower()
    pictures = images or image_shape_ is not None
    if isinstance(arr, list):  # pictures of different sizes (a codec model's): only a folder holds them
        if len({np.shape(a) for a in arr}) != 1:
            if suf:
                raise AekitError(f"output {out}: the pictures differ in size; write them to a folder instead")
            return _picture_folder(p, [to_uint8_images(a[None])[0] for a in arr], names)
        arr = np.stack(arr)
    arr = np.asarray(arr)
    id_name, id_values = ids if ids else ("index", list(range(len(arr))))
    if suf == ".npy":
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return atomic_write(p, buf.getvalue())
    if suf == ".npz":
        buf = io.BytesIO()
        np.savez_compressed(buf, x=arr)
        return atomic_write(p, buf.getvalue())
    if suf == ".csv":
        flat = arr.reshape(len(arr), -1)
        names_ = list(columns) if columns and len(columns) == flat.shape[1] else [f"v{j}" for j in range(flat.shape[1])]
        header = [id_name] + names_
        return atomic_write(p, _csv_bytes(header, ([i, *r] for i, r in zip(id_values, numbers(flat)))))
    if suf == ".json":
        doc = {
            id_name: [str(i) if not isinstance(i, int) else i for i in id_values],
            "shape": list(arr.shape),
            "values": numbers(arr.reshape(len(arr), -1)),
        }
        return atomic_write(p, json.dumps(doc).encode())
    if not pictures and (suf in PICTURE_SUFFIXES or not suf):
        kind = "a picture" if suf else "a folder of pictures"
        raise AekitError(
            f"output {out}: {what} of shape {tuple(arr.shape)} are not pictures, so not written as "
            f"{kind}; name a .npy, .npz, .csv or .json file"
        )
    if suf == ".png":
        return atomic_write(p, png_bytes(grid(to_uint8_images(arr, image_shape_))))
    if suf:
        raise AekitError(
            f"output {out}: unsupported type {suf!r}; expected .npy, .npz, .csv, .json"
            + (", .png or a folder" if pictures else "")
        )
    return _picture_folder(p, to_uint8_images(arr, image_shape_), names)


def _picture_folder(p: Path, imgs, names) -> Path:
    """One PNG per picture in folder ``p``, named after ``names`` (the input pictures) when given."""
    p.mkdir(parents=True, exist_ok=True)
    width = len(str(len(imgs)))
    for i, im in enumerate(imgs):
        stem = Path(names[i]).with_suffix("").name if names and i < len(names) else f"{i:0{width}d}"
        atomic_write(p / f"{stem}.png", png_bytes(im))
    return p


def write_records(out, columns: dict, *, extra: dict | None = None, what: str = "results") -> Path:
    """Write equal-length ``columns`` (name -> values) as ``.csv`` (one row each) or ``.json`` (a list of
    records, with ``extra`` facts beside it); any other extension is refused."""
    p = Path(out).expanduser()
    suf = p.suffix.lower()
    names = list(columns)
    n = len(columns[names[0]]) if names else 0

    cells = {k: numbers(columns[k]) for k in names}
    if suf == ".csv":
        return atomic_write(p, _csv_bytes(names, ([cells[k][i] for k in names] for i in range(n))))
    if suf == ".json":
        doc = {**(extra or {}), "rows": [{k: cells[k][i] for k in names} for i in range(n)]}
        return atomic_write(p, json.dumps(doc, default=str).encode())
    raise AekitError(f"output {out}: {what} are a table; name a .csv or .json file (got {suf or 'no extension'!r})")


def read_array(path, what: str = "codes") -> np.ndarray:
    """Read an array (N, ...) from a ``.npy``/``.npz`` file, or from the ``.csv``/``.json`` that
    :func:`write_output` writes (its id column or key is dropped; a ``.csv`` without one is all values).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "codes.csv")
    >>> read_array(write_output(p, np.array([[1.5, 2.0], [3.0, 4.0]]))).tolist()
    [[1.5, 2.0], [3.0, 4.0]]
    """
    from aekit.datasets import load_array, load_table

    p = Path(path).expanduser()
    suf = p.suffix.lower()
    if suf in (".npy", ".npz"):
        return load_array(p)
    if suf == ".csv":
        with open(p, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
        keep = header[1:] if header and header[0] in ID_COLUMNS else None
        if keep == []:
            raise AekitError(f"{path}: only an id column {header[0]!r}; expected {what} in the columns after it")
        return load_table(p, columns=keep).x
    if suf == ".json":
        try:
            doc = json.loads(p.read_bytes())
            values = np.asarray(doc["values"], dtype=np.float32)
            return values.reshape(doc.get("shape") or values.shape)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise AekitError(
                f"{path}: not the .json that aekit writes for {what} (a 'values' list of rows "
                f"and their 'shape'): {type(e).__name__}: {e}"
            ) from None
    raise AekitError(
        f"{path}: unsupported file type {suf or '(none)'!r} for {what}; expected .npy, .npz, .csv or .json"
    )
