"""A minimal TensorBoard event-file writer (scalars only), so aekit needs neither TensorFlow nor the
tensorboard package to be monitored in TensorBoard.

An event file is a sequence of TFRecords: uint64 length, masked CRC-32C of the length, the bytes of an
``Event`` protocol buffer, masked CRC-32C of the bytes. Only the few protobuf fields we need are encoded.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

from aekit.core.varint import read_varint, write_varint


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _field(num: int, wire: int, payload: bytes) -> bytes:
    return write_varint((num << 3) | wire) + payload


def _bytes_field(num: int, data: bytes) -> bytes:
    return _field(num, 2, write_varint(len(data)) + data)


def _event(
    wall_time: float, step: int, *, file_version: str | None = None, tag: str | None = None, value: float | None = None
) -> bytes:
    # Event: 1 wall_time (double), 2 step (int64), 3 file_version (string), 5 summary (Summary)
    msg = _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, write_varint(step))
    if file_version is not None:
        msg += _bytes_field(3, file_version.encode())
    if tag is not None:
        # Summary.value (1) -> Value: 1 tag (string), 2 simple_value (float)
        val = _bytes_field(1, tag.encode()) + _field(2, 5, struct.pack("<f", value))
        msg += _bytes_field(5, _bytes_field(1, val))
    return msg


def _record(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", _masked(head)) + data + struct.pack("<I", _masked(data))


class EventWriter:
    """Appends scalar events to ``log_dir/events.out.tfevents.<time>.<host>``."""

    def __init__(self, log_dir: str | os.PathLike):
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self.path = Path(log_dir) / name
        self._f = open(self.path, "ab")
        self._f.write(_record(_event(time.time(), 0, file_version="brain.Event:2")))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self._f.write(_record(_event(time.time(), int(step), tag=tag, value=float(value))))

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_scalars(path: str | os.PathLike) -> list[tuple[str, int, float]]:
    """(tag, step, value) of every scalar in an event file, checking each record's CRCs."""
    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        (hcrc,) = struct.unpack_from("<I", data, pos + 8)
        if hcrc != _masked(data[pos : pos + 8]):
            raise ValueError(f"{path}: bad length CRC at byte {pos}")
        body = data[pos + 12 : pos + 12 + n]
        (dcrc,) = struct.unpack_from("<I", data, pos + 12 + n)
        if dcrc != _masked(body):
            raise ValueError(f"{path}: bad data CRC at byte {pos}")
        pos += 16 + n
        step, tag, value = _parse_event(body)
        if tag is not None:
            out.append((tag, step, value))
    return out


def _fields(b: bytes):
    i = 0
    v: int | bytes
    while i < len(b):
        key, i = read_varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(b, i)
        elif wire == 1:
            v, i = b[i : i + 8], i + 8
        elif wire == 5:
            v, i = b[i : i + 4], i + 4
        else:
            n, i = read_varint(b, i)
            v, i = b[i : i + n], i + n
        yield num, v


def _parse_event(body: bytes):
    step, tag, value = 0, None, None
    for num, v in _fields(body):
        if num == 2:
            step = v
        elif num == 5:
            for _, val in _fields(v):
                for vn, vv in _fields(val):
                    if vn == 1:
                        tag = vv.decode()
                    elif vn == 2:
                        (value,) = struct.unpack("<f", vv)
    return step, tag, value
