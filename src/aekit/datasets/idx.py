"""Reading the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed).

The format: two zero bytes, a type code, the number of dimensions, then one big-endian int32 per
dimension, then the data in C order. MNIST images have magic 0x00000803 (2051: unsigned bytes, 3 dims),
labels 0x00000801 (2049: unsigned bytes, 1 dim).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import FormatError

# type code -> big-endian numpy dtype
DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049


def read_idx_bytes(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an uncompressed IDX blob; ``name`` is only used in error messages."""
    if len(data) < 4:
        raise FormatError(f"{name}: not an IDX file (only {len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in DTYPES or ndim == 0:
        raise FormatError(f"{name}: not an IDX file (magic number {magic} / 0x{magic:08x}; "
                          f"expected e.g. {MAGIC_IMAGES} for images or {MAGIC_LABELS} for labels)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FormatError(f"{name}: truncated IDX file (header needs {header} bytes, file has {len(data)})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise FormatError(f"{name}: truncated IDX file (shape {shape} needs {expected} bytes, "
                          f"file has {len(data)})")
    if len(data) > expected:
        raise FormatError(f"{name}: IDX file has {len(data) - expected} unexpected bytes after the data "
                          f"(shape {shape})")
    # frombuffer over bytes is read-only; astype gives a writable, native-endian copy.
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(file: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not (detected from the content, not the name).

    Parameters
    ----------
    file : path-like
        An IDX file such as ``train-images-idx3-ubyte`` or ``t10k-labels-idx1-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        The array with the shape and dtype stored in the header (native byte order, writable).

    Raises
    ------
    aekit.errors.FormatError
        If the file is missing, not IDX, has an unknown magic number, or is truncated.

    Examples
    --------
    >>> from aekit.datasets import read_idx
    >>> read_idx("t10k-labels-idx1-ubyte.gz").shape        # doctest: +SKIP
    (10000,)
    """
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise FormatError(f"{path}: truncated or corrupt gzip data ({e})") from None
    return read_idx_bytes(raw, str(path))
