"""Unsigned LEB128 varints (protocol buffers' encoding), shared by the binary formats that need them: the
TensorBoard event writer and the probability tables of the .aekz entropy coder."""

from __future__ import annotations


def write_varint(n: int) -> bytes:
    """``n >= 0`` as 7-bit groups, low first, the high bit set on every byte but the last."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the varint at ``buf[pos]``; IndexError if ``buf`` ends inside it."""
    shift = n = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos
