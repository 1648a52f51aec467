"""Reading the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed).

The format: two zero bytes, a type code, the number of dimensions, then one big-endian int32 per
dimension, then the data in C order. MNIST images have magic 0x00000803 (2051: unsigned bytes, 3 dims),
labels 0x00000801 (2049: unsigned bytes, 1 dim).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from aekit.errors import FormatError, InputNotFoundError, os_error

# type code -> big-endian numpy dtype
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049


_CHUNK = 1 << 20  # gzip data is decompressed at most this much at a time


def _read_exact(f, n: int, name: str, what: str, expected_total: str = "") -> bytes:
    """``n`` bytes of ``f``, read in chunks so that memory follows the data actually present (a forged
    length in a small gzip file cannot allocate what it claims)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    if len(buf) < n:
        raise FormatError(f"{name}: truncated IDX file ({what}{expected_total}, file has {len(buf)})")
    return bytes(buf)


def _read_stream(f, name: str, size: int | None) -> np.ndarray:
    """Parse IDX from the binary stream ``f`` (``size``: its length when known, i.e. not gzip)."""
    head = f.read(4)
    if len(head) < 4:
        raise FormatError(f"{name}: not an IDX file (only {len(head)} bytes)")
    magic = int.from_bytes(head, "big")
    zero, code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
    if zero != 0 or code not in DTYPES or ndim == 0:
        raise FormatError(
            f"{name}: not an IDX file (magic number {magic} / 0x{magic:08x}; "
            f"expected e.g. {MAGIC_IMAGES} for images or {MAGIC_LABELS} for labels)"
        )
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise FormatError(f"{name}: truncated IDX file (header needs {header} bytes, file has {4 + len(dims)})")
    shape = tuple(int.from_bytes(dims[4 * i : 4 + 4 * i], "big") for i in range(ndim))
    dtype = DTYPES[code]
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for forged sizes
    if size is not None and size - header < nbytes:
        raise FormatError(f"{name}: truncated IDX file (shape {shape} needs {header + nbytes} bytes, file has {size})")
    if size is not None and size - header > nbytes:
        raise FormatError(
            f"{name}: IDX file has {size - header - nbytes} unexpected bytes after the data (shape {shape})"
        )
    data = _read_exact(f, nbytes, name, f"shape {shape} needs {header + nbytes} bytes")
    if f.read(1):
        raise FormatError(f"{name}: IDX file has unexpected bytes after the data (shape {shape})")
    # frombuffer over bytes is read-only; astype gives a writable, native-endian copy.
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_bytes(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an uncompressed IDX blob; ``name`` is only used in error messages."""
    return _read_stream(io.BytesIO(data), name, len(data))


def read_idx(file: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not (detected from the content, not the name).

    The file is opened once and every size in its header is checked against the bytes present before they
    are read; gzip data is decompressed in chunks, so memory follows the data the file really holds.

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
        If the file is not IDX, has an unknown magic number, or is truncated or corrupt.
    aekit.errors.InputNotFoundError
        If the file does not exist (a ``FileNotFoundError`` too).

    Examples
    --------
    >>> from aekit.datasets import read_idx
    >>> read_idx("t10k-labels-idx1-ubyte.gz").shape        # doctest: +SKIP
    (10000,)
    """
    path = Path(file)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise InputNotFoundError(f"{path}: no such file") from None
    except OSError as e:
        raise os_error(e) from None
    with f:
        try:
            if f.read(2) == b"\x1f\x8b":
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as g:
                    return _read_stream(g, str(path), None)
            f.seek(0)
            return _read_stream(f, str(path), os.fstat(f.fileno()).st_size)
        except (EOFError, zlib.error) as e:
            raise FormatError(f"{path}: truncated or corrupt gzip data ({e})") from None
        except OSError as e:  # gzip.BadGzipFile and read errors
            raise FormatError(f"{path}: truncated or corrupt gzip data ({e.strerror or e})") from None
