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
the config in the header; nothing in the file is ever executed or unpickled. Writes go to a temporary file
in the same folder that is then renamed, so a crash never leaves a half-written file.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .errors import FormatError

MAGIC = b"AEKITMDL"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would (0666 & ~umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def payload_fingerprint(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def encode_file(header: dict, tensors: dict[str, torch.Tensor]) -> bytes:
    """The bytes of a model file holding ``header`` and ``tensors``."""
    payload = st_save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()})
    header = {**header, "payload_sha256": payload_fingerprint(payload), "payload_bytes": len(payload)}
    hb = json.dumps(header, sort_keys=True).encode("utf-8")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(hb)) + hb + payload


def write_file(path: str | os.PathLike, header: dict, tensors: dict[str, torch.Tensor]) -> Path:
    return atomic_write(path, encode_file(header, tensors))


def _check_prefix(prefix: bytes, name) -> int:
    """The header length H of a file that starts with ``prefix``; FormatError for a foreign file."""
    if len(prefix) < _PREFIX.size or not prefix.startswith(MAGIC):
        raise FormatError(f"{name}: not an aekit model file (no AEKITMDL magic bytes)")
    _, version, hlen = _PREFIX.unpack(prefix[:_PREFIX.size])
    if version > FORMAT_VERSION or version < 1:
        raise FormatError(f"{name}: aekit model file format version {version} is not supported "
                          f"(this aekit reads version {FORMAT_VERSION}); upgrade aekit")
    return hlen


def _parse_header(raw: bytes, hlen: int, name) -> dict:
    if len(raw) < hlen:
        raise FormatError(f"{name}: truncated aekit model file (header cut short)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FormatError(f"{name}: corrupt aekit model file (unreadable header)") from None
    if not isinstance(header, dict):
        raise FormatError(f"{name}: corrupt aekit model file (header is not an object)")
    return header


def read_header(path: str | os.PathLike) -> tuple[dict, int]:
    """The JSON header of a model file and the offset of its payload, without reading the weights."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            hlen = _check_prefix(f.read(_PREFIX.size), path)
            raw = f.read(hlen)
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a folder, expected an aekit model file") from None
    return _parse_header(raw, hlen, path), _PREFIX.size + hlen


def decode_file(data: bytes, name="input") -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) of the bytes of a model file (what :func:`encode_file` wrote); ``name`` is used in
    errors. Clear errors for foreign, truncated or corrupt data."""
    hlen = _check_prefix(data[:_PREFIX.size], name)
    offset = _PREFIX.size + hlen
    header = _parse_header(data[_PREFIX.size:offset], hlen, name)
    payload = data[offset:]
    if len(payload) != header.get("payload_bytes", len(payload)):
        raise FormatError(f"{name}: truncated aekit model file ({len(payload)} of "
                          f"{header.get('payload_bytes')} weight bytes)")
    if payload_fingerprint(payload) != header.get("payload_sha256"):
        raise FormatError(f"{name}: corrupt aekit model file (weights checksum mismatch)")
    try:
        tensors = st_load(payload)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise FormatError(f"{name}: corrupt aekit model file (weights unreadable: {e})") from None
    return header, tensors


def read_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) of a model file, read in one pass from one open file (a concurrent atomic
    replace cannot mix two versions); clear errors for foreign, truncated or corrupt files."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a folder, expected an aekit model file") from None
    return decode_file(data, path)
