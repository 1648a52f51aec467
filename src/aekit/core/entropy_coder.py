"""A static rANS entropy coder for quantised codes: one frequency table per code dimension.

Symbols are small integers ``q[n, d]`` in ``[0, 2**bits)``. Each dimension ``d`` has its own probability
model, built from the data and stored with the stream (see :func:`pack_tables`), either exactly (the
normalised histogram, ``'table'``) or as a discretised Gaussian with 2 numbers per dimension (``'gauss'``,
cheaper for a few pictures); :func:`encode_symbols` picks whichever gives the smaller total.

The coder is Giesen's byte-wise rANS (32-bit state, frequencies summing to ``2**SCALE``), in pure Python:
about a million symbols a second each way.

Examples
--------
>>> import numpy as np
>>> q = np.random.default_rng(0).integers(0, 4, size=(100, 3))
>>> blob = encode_symbols(q, bits=2)
>>> bool((decode_symbols(blob, 100, 3, bits=2) == q).all())
True
"""

from __future__ import annotations

import bisect
import math
import struct
import zlib

import numpy as np

from aekit.core.varint import read_varint, write_varint
from aekit.errors import FormatError

SCALE = 16
M = 1 << SCALE
_L = 1 << 23  # lower bound of the normalised state
MODELS = ("table", "gauss")


def normalise(counts: np.ndarray) -> np.ndarray:
    """Integer frequencies summing to ``M``, >= 1 wherever ``counts`` > 0 (0 elsewhere). counts (S,)."""
    counts = np.asarray(counts, np.float64)
    nz = counts > 0
    if not nz.any() or not np.isfinite(counts).all():
        raise ValueError("frequencies need at least one positive count and finite values")
    f = np.zeros(len(counts), np.int64)
    f[nz] = np.maximum(1, np.floor(counts[nz] * M / counts.sum()))
    # give or take the difference from the largest entries, never dropping a present symbol below 1
    diff = M - int(f.sum())
    order = np.argsort(-f)
    i = 0
    while diff != 0:
        j = order[i % len(order)]
        step = 1 if diff > 0 else -1
        if f[j] + step >= 1 and nz[j]:
            f[j] += step
            diff -= step
        i += 1
    return f


def _gauss_counts(mu: float, sigma: float, n_sym: int) -> np.ndarray:
    """Probability mass of each integer bin of N(mu, sigma) on [0, n_sym), plus a floor so every symbol
    stays codable."""
    edges = (np.arange(n_sym + 1, dtype=np.float64) - 0.5 - mu) / (max(sigma, 1e-3) * math.sqrt(2))
    cdf = 0.5 * (1 + np.array([math.erf(e) for e in edges]))
    p = np.diff(cdf)
    return np.maximum(p, 0) + 1.0 / M


def build_tables(q: np.ndarray, bits: int, model: str):
    """(freqs (D, S) int64, parameters) of a probability model of the symbols q (N, D)."""
    n_sym = 1 << bits
    d = q.shape[1]
    if model == "table":
        counts = np.stack([np.bincount(q[:, j], minlength=n_sym) for j in range(d)])  # (D, S)
        return np.stack([normalise(c) for c in counts]), counts
    mu = q.mean(0).astype(np.float32)
    sigma = q.std(0).astype(np.float32)
    params = np.stack([mu, sigma], 1)  # (D, 2) float32, what the file stores
    return np.stack([normalise(_gauss_counts(float(m), float(s), n_sym)) for m, s in params]), params


def pack_tables(model: str, params: np.ndarray, bits: int) -> bytes:
    """The stored form of a probability model: 'table' = per dimension the first used symbol, the count
    of symbols and their histogram counts as varints (zlib-packed); 'gauss' = (D, 2) float32 (mu, sigma)."""
    if model == "gauss":
        return np.ascontiguousarray(params, "<f4").tobytes()
    out = bytearray()
    for c in params:  # c: (S,) counts of one dimension
        used = np.flatnonzero(c)
        lo, hi = (int(used[0]), int(used[-1])) if len(used) else (0, -1)
        out += struct.pack("<HH", lo, hi - lo + 1)
        for v in c[lo : hi + 1]:
            out += write_varint(int(v))
    return zlib.compress(bytes(out), 9)


def unpack_tables(model: str, blob: bytes, d: int, bits: int, n: int | None = None) -> np.ndarray:
    """Frequencies (D, S) from :func:`pack_tables`' bytes; FormatError if they do not parse. With ``n``,
    each dimension's stored histogram must count exactly ``n`` symbols."""
    n_sym = 1 << bits
    try:
        if model == "gauss":
            params = np.frombuffer(blob, "<f4").reshape(d, 2)
            if not np.isfinite(params).all():
                raise ValueError("non-finite parameters")
            return np.stack([normalise(_gauss_counts(float(m), float(s), n_sym)) for m, s in params])
        # at most 4 bytes of range and a 10-byte varint per symbol per dimension: a zlib bomb stops here
        limit = d * (4 + 10 * n_sym)
        z = zlib.decompressobj()
        raw, pos = z.decompress(blob, limit), 0
        if z.unconsumed_tail:
            raise ValueError("tables larger than any file of this shape needs")
        freqs = np.zeros((d, n_sym), np.int64)
        for j in range(d):
            lo, k = struct.unpack_from("<HH", raw, pos)
            pos += 4
            if lo + k > n_sym:
                raise ValueError(f"symbols {lo}..{lo + k - 1} of dimension {j} exceed {n_sym}")
            counts = np.zeros(n_sym, np.int64)
            for s in range(lo, lo + k):
                counts[s], pos = read_varint(raw, pos)
            if n is not None and int(counts.sum()) != n:
                raise ValueError(f"dimension {j} counts {int(counts.sum())} symbols, the file {n}")
            freqs[j] = normalise(counts) if counts.any() else 0
        return freqs
    except (ValueError, IndexError, OverflowError, struct.error, zlib.error):
        raise FormatError("corrupt .aekz file (unreadable probability tables)") from None


def cost_bits(q: np.ndarray, freqs: np.ndarray) -> float:
    """Ideal code length of q (N, D) under freqs (D, S), in bits."""
    p = freqs[np.arange(q.shape[1])[None, :], q] / M  # (N, D)
    return float(-np.log2(np.maximum(p, 1e-300)).sum())


def rans_encode(q: np.ndarray, freqs: np.ndarray) -> bytes:
    """rANS-encode symbols q (N, D) (row-major order) with per-dimension frequencies (D, S)."""
    d = q.shape[1]
    f_l = freqs.tolist()
    c_l = (np.cumsum(freqs, 1) - freqs).tolist()  # start of each symbol's slot range
    flat = q.reshape(-1).tolist()
    x, out = _L, bytearray()
    for i in range(len(flat) - 1, -1, -1):  # rANS is last-in first-out: encode backwards
        s, j = flat[i], i % d
        f = f_l[j][s]
        if f == 0:
            raise ValueError(f"symbol {s} of dimension {j} has zero frequency")
        x_max = ((_L >> SCALE) << 8) * f
        while x >= x_max:
            out.append(x & 0xFF)
            x >>= 8
        x = ((x // f) << SCALE) + (x % f) + c_l[j][s]
    out += x.to_bytes(4, "little")
    out.reverse()
    return bytes(out)


def rans_decode(data: bytes, n: int, d: int, freqs: np.ndarray) -> np.ndarray:
    """Symbols (n, d) from :func:`rans_encode`'s bytes; FormatError when the stream is cut short or bad."""
    f_l = freqs.tolist()
    cum = np.cumsum(freqs, 1)
    c_l = (cum - freqs).tolist()
    ends = cum.tolist()  # slot < ends[s] finds the symbol by bisection
    if len(data) < 4:
        raise FormatError("corrupt .aekz file (entropy-coded stream too short)")
    x, pos, n_data = int.from_bytes(data[:4], "big"), 4, len(data)
    out = [0] * (n * d)
    mask = M - 1
    for i in range(n * d):
        j = i % d
        slot = x & mask
        s = bisect.bisect_right(ends[j], slot)
        f = f_l[j][s] if s < len(f_l[j]) else 0
        if f == 0:
            raise FormatError("corrupt .aekz file (invalid entropy-coded symbol)")
        out[i] = s
        x = f * (x >> SCALE) + slot - c_l[j][s]
        while x < _L:
            if pos >= n_data:
                raise FormatError("corrupt .aekz file (entropy-coded stream cut short)")
            x = (x << 8) | data[pos]
            pos += 1
    if x != _L or pos != n_data:
        raise FormatError("corrupt .aekz file (entropy-coded stream does not end cleanly)")
    return np.asarray(out, np.int64).reshape(n, d)


def encode_symbols(q: np.ndarray, bits: int, model: str = "auto") -> bytes:
    """Self-contained stream of symbols q (N, D) in [0, 2**bits): a model byte, the packed tables, the rANS
    payload. ``model`` 'auto' picks the smaller of 'table' and 'gauss'."""
    q = np.asarray(q, np.int64)
    if q.ndim != 2 or (q.size and (q.min() < 0 or q.max() >= (1 << bits))):
        raise ValueError(f"symbols must be a 2-D array of integers in [0, {1 << bits})")
    best = None
    for name in MODELS if model == "auto" else (model,):
        freqs, params = build_tables(q, bits, name)
        packed = pack_tables(name, params, bits)
        cost = len(packed) * 8 + cost_bits(q, freqs)
        if best is None or cost < best[0]:
            best = (cost, name, freqs, packed)
    assert best is not None  # at least one model was tried
    _, name, freqs, packed = best
    payload = rans_encode(q, freqs)
    return struct.pack("<BI", MODELS.index(name), len(packed)) + packed + payload


def decode_symbols(data: bytes, n: int, d: int, bits: int) -> np.ndarray:
    """Inverse of :func:`encode_symbols` (n, d) int64."""
    if len(data) < 5:
        raise FormatError("corrupt .aekz file (entropy-coded block too short)")
    kind, tlen = struct.unpack_from("<BI", data, 0)
    if kind >= len(MODELS) or 5 + tlen > len(data):
        raise FormatError("corrupt .aekz file (bad entropy-coder header)")
    freqs = unpack_tables(MODELS[kind], data[5 : 5 + tlen], d, bits, n)
    return rans_decode(data[5 + tlen :], n, d, freqs)


# --- coding with a model's own tables (learned codecs) ----------------------------------------------------


def model_freqs(pmf: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Coder frequencies (C, S + 1) from a model's per-channel probabilities ``pmf`` (C, S) (0 past a
    channel's range) and escape probabilities ``tail`` (C,): column S is the escape symbol. Every symbol
    of a channel's range, and its escape, keep a frequency >= 1, so anything stays codable."""
    in_range = np.zeros(pmf.shape, bool)
    for j, row in enumerate(pmf):
        used = np.flatnonzero(row)
        in_range[j, : used[-1] + 1 if len(used) else 1] = True
    counts = np.where(in_range, np.maximum(pmf, 1e-12), 0.0)
    counts = np.concatenate([counts, np.maximum(tail, 1e-12)[:, None]], 1)  # (C, S + 1)
    return np.stack([normalise(c) for c in counts])


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def encode_with_model(q: np.ndarray, lo: np.ndarray, freqs: np.ndarray) -> bytes:
    """Symbols q (R, C) (any integers) coded with fixed per-channel tables (no tables in the stream):
    ``q[:, c] - lo[c]`` where the table has it, else the escape symbol and the value itself as a zigzag
    varint in a side block. Layout: escape-block length (uint32), escape block, rANS payload."""
    q = np.asarray(q, np.int64)
    esc = freqs.shape[1] - 1
    idx = q - lo[None, :]  # (R, C)
    width = (freqs[:, :esc] > 0).sum(1)  # symbols in each channel's range
    out = (idx < 0) | (idx >= width[None, :])
    side = b"".join(write_varint(_zigzag(int(v))) for v in q[out])  # row-major, as the decoder meets them
    idx = np.where(out, esc, idx)
    return struct.pack("<I", len(side)) + side + rans_encode(idx, freqs)


def decode_with_model(data: bytes, rows: int, lo: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_with_model`: symbols (rows, C) int64; FormatError when the block is bad."""
    if len(data) < 4:
        raise FormatError("corrupt .aekz file (entropy-coded block too short)")
    (slen,) = struct.unpack_from("<I", data, 0)
    if 4 + slen > len(data):
        raise FormatError("corrupt .aekz file (escape block cut short)")
    side = data[4 : 4 + slen]
    idx = rans_decode(data[4 + slen :], rows, len(lo), freqs)
    esc = freqs.shape[1] - 1
    q = idx + lo[None, :]
    pos = 0
    try:
        for r, c in zip(*np.nonzero(idx == esc)):
            z, pos = read_varint(side, pos)
            q[r, c] = z // 2 if z % 2 == 0 else -(z + 1) // 2
    except IndexError:
        raise FormatError("corrupt .aekz file (escape block cut short)") from None
    if pos != len(side):
        raise FormatError("corrupt .aekz file (escape block does not match the stream)")
    return q


__all__ = [
    "encode_with_model",
    "decode_with_model",
    "model_freqs",
    "encode_symbols",
    "decode_symbols",
    "rans_encode",
    "rans_decode",
    "normalise",
    "build_tables",
    "cost_bits",
    "SCALE",
    "M",
]
