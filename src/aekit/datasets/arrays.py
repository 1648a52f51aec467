"""NumPy files (``.npy``, ``.npz``) to arrays, memory-mapped when they are large; never unpickles."""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aekit.errors import AekitError, FormatError

_BAD_NUMPY = (ValueError, OSError, EOFError, zipfile.BadZipFile, struct.error, KeyError)


@dataclass(frozen=True)
class ArrayLayout:
    """Where the raw data of an uncompressed array lies in a file (for memory maps and direct reads)."""

    path: Path
    offset: int
    dtype: np.dtype
    shape: tuple
    fortran_order: bool


def available_memory() -> int | None:
    """Bytes of RAM available now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _read_npy_header(f, name: str):
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise FormatError(f"{name}: holds Python objects, which aekit never unpickles; save a numeric array")
    if dtype.kind == "c":
        raise FormatError(f"{name}: holds complex numbers ({dtype}); expected a real array (uint8 or float)")
    return shape, fortran, dtype


def npz_keys(path) -> list[str]:
    """Array names stored in an ``.npz`` file."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except FileNotFoundError:
        raise AekitError(f"{path}: no such file") from None
    except _BAD_NUMPY as e:
        raise FormatError(f"{path}: not a valid .npz file ({e})") from None


def _pick_key(path, key, keys) -> str:
    if key is None:
        if len(keys) == 1:
            return keys[0]
        raise AekitError(f"{path}: holds several arrays ({', '.join(keys)}); pass key= to choose one")
    if key not in keys:
        raise AekitError(f"{path}: no array named {key!r}; available: {', '.join(keys) or '(none)'}")
    return key


def array_layout(path, key=None) -> ArrayLayout | None:
    """Layout of a ``.npy`` file or of an uncompressed ``.npz`` member; None for a compressed member."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            key = _pick_key(path, key, npz_keys(path))
            with zipfile.ZipFile(path) as zf:
                info = zf.getinfo(key + ".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                return None
            with open(path, "rb") as f:
                f.seek(info.header_offset)
                local = f.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise FormatError(f"{path}: corrupt zip entry for {key!r}")
                # The local header's name/extra lengths can differ from the central directory's.
                n, m = struct.unpack("<HH", local[26:30])
                f.seek(info.header_offset + 30 + n + m)
                shape, fortran, dtype = _read_npy_header(f, f"{path}[{key}]")
                offset = f.tell()
        else:
            with open(path, "rb") as f:
                shape, fortran, dtype = _read_npy_header(f, str(path))
                offset = f.tell()
    except FileNotFoundError:
        raise AekitError(f"{path}: no such file") from None
    except AekitError:
        raise
    except _BAD_NUMPY as e:
        raise FormatError(f"{path}: not a valid NumPy file ({e})") from None
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if path.stat().st_size < need:
        raise FormatError(
            f"{path}: truncated (shape {shape} {dtype} needs {need} bytes, file has {path.stat().st_size})"
        )
    return ArrayLayout(path, offset, dtype, tuple(shape), fortran)


def _memmap(layout: ArrayLayout) -> np.ndarray:
    if 0 in layout.shape:
        return np.empty(layout.shape, layout.dtype)
    return np.memmap(
        layout.path,
        dtype=layout.dtype,
        mode="r",
        offset=layout.offset,
        shape=layout.shape,
        order="F" if layout.fortran_order else "C",
    )


def load_array(path, key=None, mmap=None) -> np.ndarray:
    """Load an array from ``.npy`` or ``.npz`` without ever unpickling.

    Parameters
    ----------
    path : path-like
        A ``.npy`` file, or an ``.npz`` archive (``np.savez`` / ``np.savez_compressed``).
    key : str, optional
        The array to take from an ``.npz``; optional when it holds only one.
    mmap : bool, optional
        True: memory-map read-only (``mmap_mode="r"``): pages are read from disk on access, so arrays
        larger than RAM work. None (default): memory-map when the array is larger than half the available
        RAM. Members of ``np.savez_compressed`` archives cannot be mapped and are always read whole.

    Returns
    -------
    numpy.ndarray (or a read-only numpy.memmap)

    Raises
    ------
    aekit.errors.AekitError
        Missing file, unsupported extension, unknown or ambiguous ``key`` (the message lists the keys),
        object arrays, truncated or corrupt files.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz"); np.savez(p, x=np.ones((3, 2)), y=np.arange(3))
    >>> load_array(p, key="x").shape
    (3, 2)
    >>> load_array(p, key="z")
    Traceback (most recent call last):
    ...
    aekit.errors.AekitError: ...d.npz: no array named 'z'; available: x, y
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise AekitError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected .npy or .npz "
            f"(CSV and Parquet tables: load_table)"
        )
    if not path.is_file():
        raise AekitError(f"{path}: no such file")
    layout = array_layout(path, key)  # validates header, key and size before any large read
    if layout is not None:
        nbytes = int(np.prod(layout.shape, dtype=np.int64)) * layout.dtype.itemsize
        if mmap is None:
            avail = available_memory()
            mmap = avail is not None and nbytes > avail // 2
        if mmap:
            try:
                return _memmap(layout)
            except _BAD_NUMPY as e:
                raise FormatError(f"{path}: cannot memory-map ({e})") from None
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as z:
            return z[_pick_key(path, key, list(z.keys()))]
    except AekitError:
        raise
    except _BAD_NUMPY as e:
        raise FormatError(f"{path}: not a valid NumPy file ({str(e).splitlines()[0]})") from None
