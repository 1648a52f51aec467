"""The aekit model file: one self-describing file per model, never pickled.

Layout (all integers little-endian)::

    8 bytes   magic b"AEKITMDL"
    4 bytes   format version (uint32), currently 1
    8 bytes   header length H (uint64)
    H bytes   header: UTF-8 JSON (family, model config, training config, history, preprocessing, ...,
              and the sha256 of the payload, so truncation and corruption are detected)
    rest      payload: the weights as a safetensors blob

Checkpoints use the same format with extra tensors (optimizer state, RNG states) under ``__``-prefixed
names and a ``training_state`` entry in the header. Loading rebuilds the model through the registry from
the config in the header; nothing in the file is ever executed or unpickled. Reading opens the file once
and checks every length against the bytes present before reading it. Every aekit file is written by
:func:`atomic_write` (a temporary file in the same folder, then a rename), so a crash never leaves a
half-written file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import struct
import sys
import time
from collections.abc import Callable
from io import BytesIO as _BytesIO
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from aekit.errors import AekitError, FormatError, InputNotFoundError, os_error

MAGIC = b"AEKITMDL"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


TEMP_MARK = ".aekit-tmp-"  # temporary files are ".<target name>.aekit-tmp-<pid>-<random>"


def temp_name(target: str) -> str:
    """The recognisable name of a temporary file for ``target`` (a file name, not a path)."""
    return f".{target}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there; rely on age instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # a live process of another user (or a pid we cannot ask about)
    return True


_TEMP = re.compile(r"\..+" + re.escape(TEMP_MARK) + r"(\d+)-[0-9a-f]+")
_FOLDERS_CLEAN: dict[str, int] = {}  # folder -> its mtime after our last write there, when no stale temp was left


def remove_stale_temps(path: str | os.PathLike, max_age_s: float = 24 * 3600) -> list[Path]:
    """Remove temporary files left in the folder of ``path`` by writes that never finished (a killed process).

    A temporary file of :func:`atomic_write` (of any target in the folder) is stale when the process that
    wrote it is gone, or when it is older than ``max_age_s`` (pids cannot be asked about on Windows or
    across machines sharing a folder). Files of older aekit versions next to ``path``
    (``.<name>.XXXXXXXX.tmp``) are removed after ``max_age_s``. Returns what was removed; files that cannot
    be removed are left alone.
    """
    path = Path(path)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    legacy = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]{8}\.tmp")
    for e in entries:
        m = _TEMP.fullmatch(e.name)
        try:
            if m:
                stale = not _pid_alive(int(m.group(1))) or now - e.stat(follow_symlinks=False).st_mtime > max_age_s
            elif legacy.fullmatch(e.name):
                stale = now - e.stat(follow_symlinks=False).st_mtime > max_age_s
            else:
                continue
        except (ValueError, OSError):
            continue
        if stale:
            try:
                os.unlink(e.path)
                removed.append(Path(e.path))
            except OSError:
                pass
    return removed


def _folder_mtime(folder: Path):
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None], *, what: str = "output") -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename, so ``path`` is never half-written.

    This is aekit's one writer for files that must not be seen half-written (models, checkpoints, arrays,
    pictures, reports, caches). ``data`` is the bytes, or a function that writes to the open binary file
    (e.g. ``lambda f: np.save(f, x)``, so large arrays need no second copy in memory). The temporary file is
    ``.<name>.aekit-tmp-<pid>-<random>`` in the target's folder; it is removed when the write fails, and
    one left behind by a killed process is removed by the next write to the same target or folder
    (:func:`remove_stale_temps`). Folders above ``path`` are created. An ``OSError`` (permissions, a file
    in the way of a folder, a full disk) becomes a :class:`~aekit.errors.FileAccessError` naming ``what``
    and the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a.txt", b"hello")
    >>> p.read_bytes()
    b'hello'
    """
    path = Path(path)
    tmp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        # the folder is listed only when something else changed it since our last write there, so writing
        # many files into one folder (a PNG per picture) does not list it once per file
        folder = str(path.parent)
        if _FOLDERS_CLEAN.get(folder) != _folder_mtime(path.parent):
            remove_stale_temps(path)
        tmp = path.parent / temp_name(path.name)
        # O_EXCL: never follow or reuse a file someone else put there; 0o666 & ~umask like a plain open()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        if len(_FOLDERS_CLEAN) > 1000:
            _FOLDERS_CLEAN.clear()
        _FOLDERS_CLEAN[folder] = _folder_mtime(path.parent)
    except OSError as e:
        raise os_error(e, what) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def payload_fingerprint(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def encode_file(header: dict, tensors: dict[str, torch.Tensor]) -> bytes:
    """The bytes of a model file holding ``header`` and ``tensors``; refuses non-finite float tensors
    (a diverged model is never written)."""
    for k, v in tensors.items():
        if torch.is_floating_point(v) and not bool(torch.isfinite(v).all()):
            raise AekitError(
                f"refusing to write a model whose tensor {k!r} holds NaN or infinite values (training diverged?)"
            )
    payload = st_save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()})
    header = {**header, "payload_sha256": payload_fingerprint(payload), "payload_bytes": len(payload)}
    hb = json.dumps(header, sort_keys=True).encode("utf-8")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(hb)) + hb + payload


def write_file(path: str | os.PathLike, header: dict, tensors: dict[str, torch.Tensor]) -> Path:
    return atomic_write(path, encode_file(header, tensors))


def read_header(
    f: BinaryIO,
    size: int,
    name,
    *,
    magic: bytes = MAGIC,
    prefix: struct.Struct = _PREFIX,
    version: int = FORMAT_VERSION,
    what: str = "aekit model file",
) -> tuple[dict, int]:
    """The JSON header of an open aekit file and the offset after it: ``magic``, a version, a header length
    and that many bytes of UTF-8 JSON (the layout of model files and ``.aekz`` files).

    ``size`` is the number of bytes the file holds; the header length is checked against it before
    anything is allocated. ``name`` and ``what`` go into the :class:`~aekit.errors.FormatError` messages.
    The file is read from its current position (the start).
    """
    raw = f.read(prefix.size)
    label = magic.split(b"\x00")[0].decode("ascii", "replace")
    if len(raw) < prefix.size or not raw.startswith(magic):
        raise FormatError(f"{name}: not an {what} (no {label} magic bytes)")
    _, ver, hlen = prefix.unpack(raw)
    if not 1 <= ver <= version:
        raise FormatError(
            f"{name}: {what} format version {ver} is not supported (this aekit reads version {version}); upgrade aekit"
        )
    if hlen > size - prefix.size:
        raise FormatError(
            f"{name}: truncated {what} (header of {hlen} bytes, the file holds "
            f"{max(size - prefix.size, 0)} after its prefix)"
        )
    raw = f.read(hlen)
    if len(raw) < hlen:
        raise FormatError(f"{name}: truncated {what} (header cut short)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FormatError(f"{name}: corrupt {what} (unreadable header)") from None
    if not isinstance(header, dict):
        raise FormatError(f"{name}: corrupt {what} (header is not an object)")
    return header, prefix.size + hlen


def _decode(f: BinaryIO, size: int, name) -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) read front to back from ``f`` holding ``size`` bytes; every length is checked
    against the bytes present before it is read."""
    header, offset = read_header(f, size, name)
    present = size - offset
    expected = header.get("payload_bytes", present)
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise FormatError(f"{name}: corrupt aekit model file (payload_bytes={expected!r})")
    if present < expected:
        raise FormatError(f"{name}: truncated aekit model file ({present} of {expected} weight bytes)")
    if present > expected:
        raise FormatError(f"{name}: corrupt aekit model file ({present - expected} bytes after the weights)")
    payload = f.read(expected)
    if len(payload) != expected:  # the file shrank while we read it
        raise FormatError(f"{name}: truncated aekit model file ({len(payload)} of {expected} weight bytes)")
    if payload_fingerprint(payload) != header.get("payload_sha256"):
        raise FormatError(f"{name}: corrupt aekit model file (weights checksum mismatch)")
    try:
        tensors = st_load(payload)
    except (SafetensorError, ValueError, RuntimeError, TypeError, OverflowError) as e:
        raise FormatError(f"{name}: corrupt aekit model file (weights unreadable: {e})") from None
    return header, tensors


def decode_file(data: bytes, name="input") -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) of the bytes of a model file (what :func:`encode_file` wrote); ``name`` is used in
    errors. Clear errors for foreign, truncated or corrupt data."""
    return _decode(_BytesIO(data), len(data), name)


def read_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) of a model file; clear errors for missing, foreign, truncated or corrupt files.

    The file is opened once and read front to back, so a reader never mixes the header of one version of the
    file with the weights of another when another process replaces it meanwhile.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise InputNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a folder, expected an aekit model file") from None
    except OSError as e:
        raise os_error(e) from None
    with f:
        return _decode(f, os.fstat(f.fileno()).st_size, path)
