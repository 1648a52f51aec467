"""Compress to a file: pictures (or any arrays) -> the model's codes -> quantised -> entropy-coded ``.aekz``.

Two kinds of file, told apart by the format version:

- version 1, any autoencoder: the codes, quantised per dimension over the file's own ranges and coded
  with probability tables stored in the file (below);
- version 2, a ``codec`` model (:mod:`aekit.models.codec`): the integer code of its analysis transform,
  coded with the model's own learned tables (:mod:`aekit.apps.learned_codec`), one picture at a time at
  its own size. Header ``{fingerprint, model, family, n, code_size (latent channels), coder: 'model',
  size [H, W] or sizes [[H, W], ...], channels, dtype, layout, names (optional)}``; then ``4 bytes E``,
  ``E bytes`` (escape block + rANS payload, :func:`aekit.core.entropy_coder.encode_with_model`) and the CRC-32.

The version-1 layout (integers little-endian)::

    8 bytes   magic b"AEKZ\\x00\\r\\n\\x1a"
    2 bytes   format version (uint16), 1
    4 bytes   header length H (uint32)
    H bytes   header: UTF-8 JSON {fingerprint (sha256 of the model, ``ae.fingerprint()``), model (path hint),
              family, n, code_size, bits, input_shape, sample_shape, dtype}
    8*D bytes per-dimension quantiser ranges: lo (D float32) then hi (D float32)
    4 bytes   entropy block length E (uint32)
    E bytes   entropy-coded symbols (:mod:`aekit.core.entropy_coder`: per-dimension rANS tables + stream)
    4 bytes   CRC-32 of everything before it

Quantisation: ``q = round((z - lo) / (hi - lo) * (2**bits - 1))`` with lo/hi the per-dimension min/max of
the codes being compressed; dequantisation ``lo + q * (hi - lo) / (2**bits - 1)`` in float32, so
``decompress(compress(z))`` equals ``dequantize(quantize(z))`` bit for bit. Decompression needs the same
model: its fingerprint must match the one in the file.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.codec import compress, decompress
>>> ae = aekit.build("dense", input_shape=(8, 8), hidden=[16], latent_dim=4, seed=0)
>>> x = np.random.default_rng(0).random((20, 8, 8)).astype(np.float32)
>>> blob = compress(ae, x, bits=6)
>>> blob[:4], decompress(blob, ae).shape
(b'AEKZ', (20, 8, 8))
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from io import BytesIO as _BytesIO
from pathlib import Path

import numpy as np
import torch

from aekit.apps import learned_codec
from aekit.core.arrays import infer_layout
from aekit.core.container import atomic_write, read_header
from aekit.core.entropy_coder import decode_symbols, encode_symbols
from aekit.errors import AekitError, FormatError, InputNotFoundError, os_error
from aekit.training.callbacks import Callback

MAGIC = b"AEKZ\x00\r\n\x1a"
VERSION = 1  # quantised codes, per-file ranges and tables (any autoencoder)
MODEL_VERSION = 2  # a codec model's symbols under its own tables
_REQUIRED = {VERSION: ("fingerprint", "n", "code_size", "bits"), MODEL_VERSION: ("fingerprint", "n", "channels")}
MAX_BITS = 12
_PREFIX = struct.Struct("<8sHI")


# --- quantiser ------------------------------------------------------------------------------------------


def _check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise AekitError(f"bits={bits!r}; expected an integer from 1 to {MAX_BITS}")
    return int(bits)


def quantize(codes: np.ndarray, bits: int, lo: np.ndarray | None = None, hi: np.ndarray | None = None):
    """Uniform per-dimension quantiser: (symbols (N, D) int64 in [0, 2**bits), lo (D,), hi (D,) float32)."""
    bits = _check_bits(bits)
    z = np.asarray(codes, np.float32)
    if z.ndim != 2 or len(z) == 0 or not np.isfinite(z).all():
        raise AekitError(f"codes: expected finite codes of shape (N, D), got {z.shape}")
    lo = z.min(0) if lo is None else np.asarray(lo, np.float32)
    hi = z.max(0) if hi is None else np.asarray(hi, np.float32)
    levels = np.float32((1 << bits) - 1)
    span = np.where(hi > lo, hi - lo, np.float32(1)).astype(np.float32)
    q = np.rint((np.clip(z, lo, hi) - lo) / span * levels)
    return q.astype(np.int64), lo.astype(np.float32), hi.astype(np.float32)


def dequantize(q: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int) -> np.ndarray:
    """Codes (N, D) float32 from the symbols of :func:`quantize`."""
    levels = np.float32((1 << _check_bits(bits)) - 1)
    span = np.where(hi > lo, hi - lo, np.float32(0)).astype(np.float32)
    return (lo + np.asarray(q, np.float32) * (span / levels)).astype(np.float32)


# --- the file format ------------------------------------------------------------------------------------


def encode_codes(codes: np.ndarray, bits: int = 8, *, fingerprint: str = "", meta: dict | None = None) -> bytes:
    """The ``.aekz`` bytes of codes (N, D): quantised with ``bits`` bits and rANS-coded.

    ``fingerprint`` identifies the model that made the codes; ``meta`` adds JSON header fields.
    """
    bits = _check_bits(bits)
    q, lo, hi = quantize(codes, bits)
    n, d = q.shape
    header = {**(meta or {}), "fingerprint": fingerprint, "n": n, "code_size": d, "bits": bits}
    ent = encode_symbols(q, bits)
    return _pack(
        VERSION, header, lo.astype("<f4").tobytes() + hi.astype("<f4").tobytes() + struct.pack("<I", len(ent)) + ent
    )


def _pack(version: int, header: dict, body: bytes) -> bytes:
    """prefix + JSON header + body + CRC-32 of all before it."""
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    out = _PREFIX.pack(MAGIC, version, len(hb)) + hb + body
    return out + struct.pack("<I", zlib.crc32(out))


# A file cannot claim more symbols than this many per byte it holds. Symbols of a dimension that is
# constant cost no bits in rANS, so a forged count (2**40 codes in a few hundred bytes, with a valid
# CRC) would otherwise make the decoder allocate without bound; real files stay far below it (a code with
# one live dimension of 32 costs about a bit per sample: 256 symbols per byte).
MAX_SYMBOLS_PER_BYTE = 4096
# The same for the pictures of a codec model (version 2): decoded values per byte of the file. A flat 4K
# picture (8.3 million pixel values) compresses to a few hundred bytes at most; this allows 64K per byte.
MAX_PIXELS_PER_BYTE = 1 << 16


def parse_header(data: bytes, name: str = "input") -> tuple[dict, int]:
    """(header dict with its ``version``, offset after it) of ``.aekz`` bytes: :func:`aekit.core.container.read_header`
    with this format's magic, plus the fields each version needs, each checked; FormatError for a foreign,
    truncated or corrupt file."""
    header, end = read_header(
        _BytesIO(data), len(data), name, magic=MAGIC, prefix=_PREFIX, version=max(_REQUIRED), what="aekit .aekz file"
    )
    version = _PREFIX.unpack_from(data, 0)[1]
    if version not in _REQUIRED:
        raise FormatError(
            f"{name}: .aekz format version {version} is not supported (this aekit reads "
            f"versions {', '.join(map(str, _REQUIRED))})"
        )
    for key in _REQUIRED[version]:
        v = header.get(key)
        ok = (
            isinstance(v, str)
            if key == "fingerprint"
            else (isinstance(v, int) and not isinstance(v, bool) and v >= (0 if key == "n" else 1))
        )
        if not ok:
            raise FormatError(f"{name}: corrupt .aekz file ({key}={v!r} in the header)")
    if version == VERSION and header["bits"] > MAX_BITS:
        raise FormatError(f"{name}: corrupt .aekz file (bits={header['bits']}; at most {MAX_BITS})")
    header["version"] = version
    return header, end


def decode_codes(data: bytes, fingerprint: str | None = None, name: str = "input") -> tuple[np.ndarray, dict]:
    """(dequantised codes (N, D) float32, header) of ``.aekz`` bytes.

    With ``fingerprint``, a file made by another model is refused (AekitError). Truncated or corrupt files
    raise FormatError; every count in the file is checked against the bytes present before decoding.
    """
    header, pos = _checked(data, fingerprint, name)
    if header["version"] != VERSION:
        raise AekitError(f"{name}: holds a codec model's pictures, not codes; decompress it with its model")
    n, d, bits = header["n"], header["code_size"], header["bits"]
    if pos + 8 * d + 4 > len(data) - 4:
        raise FormatError(f"{name}: truncated .aekz file (ranges of {d} code dimensions cut short)")
    if n * d > MAX_SYMBOLS_PER_BYTE * len(data):
        raise FormatError(
            f"{name}: corrupt .aekz file (it claims {n} x {d} codes, more than {len(data)} bytes can hold)"
        )
    lo = np.frombuffer(data, "<f4", d, pos).astype(np.float32)
    hi = np.frombuffer(data, "<f4", d, pos + 4 * d).astype(np.float32)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise FormatError(f"{name}: corrupt .aekz file (non-finite code ranges)")
    pos += 8 * d
    (elen,) = struct.unpack_from("<I", data, pos)
    if pos + 4 + elen != len(data) - 4:
        raise FormatError(f"{name}: truncated .aekz file (entropy-coded block cut short)")
    try:
        q = decode_symbols(data[pos + 4 : pos + 4 + elen], n, d, bits)
    except FormatError as e:
        raise FormatError(f"{name}: {e}") from None
    return dequantize(q, lo, hi, bits), header


def _checked(data: bytes, fingerprint: str | None, name: str) -> tuple[dict, int]:
    """parse_header plus the checksum and the model's fingerprint."""
    header, pos = parse_header(data, name)
    if len(data) < pos + 4 or zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise FormatError(f"{name}: truncated or corrupt .aekz file (checksum mismatch)")
    if fingerprint is not None and header["fingerprint"] != fingerprint:
        raise AekitError(
            f"{name}: was compressed with another model (fingerprint "
            f"{header['fingerprint'][:12]}..., this model is {fingerprint[:12]}...); "
            f"pass the model it was made with"
        )
    return header, pos


# --- training for the codec -----------------------------------------------------------------------------


class QuantizationNoise(Callback):
    """Quantisation-aware training for any family: during training, add uniform noise of one
    quantisation step, U(-step/2, step/2) with step = (batch max - batch min) / (2**bits - 1) per code
    dimension, to the code the decoder sees, so the decoder learns to tolerate ``bits``-bit codes.

    Pass it to :meth:`Autoencoder.fit` in ``callbacks=[QuantizationNoise(6)]``. It hooks the model's code
    head for the duration of ``fit`` only; inference is unchanged.
    """

    def __init__(self, bits: int = 6):
        self.levels = float((1 << _check_bits(bits)) - 1)
        self.handle = None

    def _hook(self, head, inputs, output):
        if not head.training:
            return output
        z, mu, logvar = output  # z: (B, D)
        with torch.no_grad():
            step = (z.amax(0) - z.amin(0)) / self.levels  # (D,)
        noise = (torch.rand(z.shape, device=z.device, dtype=z.dtype) - 0.5) * step
        return z + noise, mu, logvar

    def on_train_begin(self, state) -> None:
        self.handle = state.module.head.register_forward_hook(self._hook)

    def on_train_end(self, state) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


# --- with a model ---------------------------------------------------------------------------------------


def compress(
    model,
    x,
    bits: int = 8,
    model_path: str | os.PathLike | None = None,
    batch_size: int = 1024,
    names: list | None = None,
    refine: int = 0,
) -> bytes:
    """``.aekz`` bytes of ``x`` (N, ...) through ``model``'s encoder. ``model_path`` is stored as a hint for
    decompression. uint8 inputs come back as uint8.

    A ``codec`` model codes with its own learned tables (``bits`` does not apply) and takes pictures of
    any size: an array, or a list of pictures (H, W, C) of different sizes; ``names`` (one per picture)
    are kept in the file for :func:`decompress_file`. ``refine`` (codec models only) spends that many
    optimisation steps per picture searching for a code the same decoder turns into a better rate and
    distortion (:func:`aekit.apps.learned_codec.refine_latents`; slower encoding, same file format).
    """
    hint = str(Path(model_path).resolve()) if model_path else None
    if isinstance(refine, bool) or not isinstance(refine, (int, np.integer)) or refine < 0:
        raise AekitError(f"refine: expected a number of steps >= 0, got {refine!r}")
    if learned_codec.is_codec(model):
        return _compress_learned(model, x, hint, names, int(refine))
    if refine:
        raise AekitError(f"refine: only a 'codec' model's code can be refined (this model is {model.family!r})")
    x = np.asarray(x)
    if x.ndim < 2:
        raise AekitError(f"x: expected a batch of samples (N, ...), got shape {x.shape}")
    if x.ndim > 2 and x.shape[-1] == 1:  # grey pictures (N, H, W, 1) for an (H, W) or flat model
        try:
            infer_layout(x.shape[1:], model.input_shape)
        except AekitError:
            x = x[..., 0]
    infer_layout(x.shape[1:], model.input_shape)  # refuse a wrong shape before encoding
    codes = model.encode(x, batch_size=batch_size)
    meta = {
        "family": model.family,
        "input_shape": list(model.input_shape),
        "sample_shape": list(x.shape[1:]),
        "dtype": "uint8" if x.dtype == np.uint8 else "float32",
        "model": hint,
    }
    return encode_codes(codes, bits, fingerprint=model.fingerprint(), meta=meta)


def _compress_learned(model, x, hint: str | None, names: list | None, refine: int = 0) -> bytes:
    channels = model.input_shape[0]
    pics, how = learned_codec.as_pictures(x, channels)
    sizes = [list(p.shape[1:]) for p in pics]
    header = {
        "fingerprint": model.fingerprint(),
        "model": hint,
        "family": model.family,
        "n": len(pics),
        "code_size": int(model.module.head.channels),
        "channels": channels,
        "coder": "model",
        **how,
    }
    if len({tuple(s) for s in sizes}) == 1:
        header["size"] = sizes[0]
    else:
        header["sizes"] = sizes
    if names is not None:
        if len(names) != len(pics):
            raise AekitError(f"names: {len(names)} names for {len(pics)} pictures")
        header["names"] = [str(n) for n in names]
    body = learned_codec.encode_pictures(model, pics, refine=refine)
    return _pack(MODEL_VERSION, header, struct.pack("<I", len(body)) + body)


def _decompress_learned(data: bytes, header: dict, pos: int, model, name: str):
    n = int(header["n"])
    if n > MAX_SYMBOLS_PER_BYTE * len(data):  # before the list of sizes below is made
        raise FormatError(f"{name}: corrupt .aekz file (it claims {n} pictures, more than {len(data)} bytes can hold)")
    sizes = header.get("sizes") or [header.get("size")] * n
    try:
        sizes = [(int(h), int(w)) for h, w in sizes]
        (blen,) = struct.unpack_from("<I", data, pos)
    except (TypeError, ValueError, struct.error):
        raise FormatError(f"{name}: corrupt .aekz file (picture sizes or block length unreadable)") from None
    if any(not 0 < v <= 1 << 16 for hw in sizes for v in hw) or int(header["channels"]) != model.input_shape[0]:
        raise FormatError(f"{name}: corrupt .aekz file (picture sizes or channels do not fit the model)")
    if len(sizes) != n or pos + 4 + blen != len(data) - 4:
        raise FormatError(f"{name}: truncated .aekz file (entropy-coded block cut short)")
    pixels = sum(h * w for h, w in sizes) * int(header["channels"])
    if any(h < 1 or w < 1 for h, w in sizes) or pixels > MAX_PIXELS_PER_BYTE * len(data):
        raise FormatError(
            f"{name}: corrupt .aekz file (picture sizes {sizes[:3]}... are not ones {len(data)} bytes can hold)"
        )
    try:
        pics = learned_codec.decode_pictures(model, data[pos + 4 : pos + 4 + blen], sizes)
    except FormatError as e:
        raise FormatError(f"{name}: {e}") from None
    return learned_codec.restore(pics, header.get("dtype", "uint8"), header.get("layout", "channels_last"))


def decompress(data: bytes, model, name: str = "input", batch_size: int = 1024):
    """The reconstructions (N, ...) in the layout and dtype the compressed array had (for a codec model
    whose pictures differ in size, a list of pictures)."""
    header, pos = _checked(data, model.fingerprint(), name)
    if header["version"] == MODEL_VERSION:
        return _decompress_learned(data, header, pos, model, name)
    codes, header = decode_codes(data, model.fingerprint(), name)
    out = model.decode(codes, batch_size=batch_size)  # (N, *input_shape)
    try:
        shape = tuple(int(v) for v in (header.get("sample_shape") or model.input_shape))
    except (TypeError, ValueError):
        raise FormatError(f"{name}: corrupt .aekz file (sample_shape={header.get('sample_shape')!r})") from None
    out = infer_layout(shape, model.input_shape).restore(out)
    if header.get("dtype") == "uint8":
        out = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
    return out


def compress_file(
    model,
    x,
    path: str | os.PathLike,
    bits: int = 8,
    model_path: str | os.PathLike | None = None,
    names: list | None = None,
    psnr: bool = True,
    refine: int = 0,
) -> dict:
    """Write ``x`` compressed to ``path`` (atomically); returns a summary: bytes, bytes per sample, and for
    pictures bits per pixel and (with ``psnr``, decoding the file once) the round trip's PSNR overall and
    per channel."""
    blob = compress(model, x, bits, model_path, names=names, refine=refine)
    atomic_write(path, blob)
    learned = learned_codec.is_codec(model)
    samples = list(x) if isinstance(x, (list, tuple)) else np.asarray(x)
    n = len(samples)
    raw = sum(int(np.asarray(s).nbytes) for s in samples)
    info = {
        "output": str(path),
        "n": n,
        "bits": None if learned else int(bits),
        "refine": int(refine),
        "code_size": model.code_size,
        "bytes": len(blob),
        "bytes_per_sample": len(blob) / n,
        "ratio": raw / len(blob),
    }
    if learned or len(model.input_shape) == 3:  # pictures: bits per pixel, and how good the round trip is
        pixels = (
            learned_codec.pixel_count(samples, model.input_shape[0])
            if learned
            else n * int(np.prod(model.input_shape[1:]))
        )
        info["bpp"] = 8 * len(blob) / pixels
        if psnr:
            info.update(learned_codec.psnr_report(samples, decompress(blob, model)))
    return info


def read_file_header(path: str | os.PathLike) -> dict:
    """The JSON header of an ``.aekz`` file (fingerprint, model hint, n, bits, ...)."""
    return parse_header(_read(path), str(path))[0]


def _read(path) -> bytes:
    try:
        return Path(path).read_bytes()  # one read: the header and the codes come from the same version
    except FileNotFoundError:
        raise InputNotFoundError(f"{path}: no such .aekz file") from None
    except OSError as e:
        raise os_error(e, ".aekz file") from None


def locate_model(path: str | os.PathLike, model=None, header: dict | None = None):
    """The Autoencoder to decompress ``path`` with: ``model`` (an Autoencoder or a model file), else the
    model path stored in the file (or in its already-read ``header``); an AekitError names the path when
    it cannot be found."""
    from aekit.autoencoder.model import load

    if model is None:
        hint = (header if header is not None else read_file_header(path)).get("model")
        if not isinstance(hint, str) or not hint or not Path(hint).is_file():
            raise AekitError(
                f"{path}: needs the model it was compressed with; the stored path "
                f"{hint or '(none)'} does not exist, pass --model MODEL"
            )
        model = hint
    if isinstance(model, (str, os.PathLike)):
        if not Path(model).is_file():
            raise InputNotFoundError(f"model {model}: no such file")
        model = load(model)
    return model


def decompress_file(path: str | os.PathLike, model=None) -> tuple:
    """(reconstructions, header) of an ``.aekz`` file. ``model`` is an Autoencoder or a model path; when
    None, the model path stored in the file is used (see :func:`locate_model`). The file is read once."""
    data = _read(path)
    header, _ = parse_header(data, str(path))
    model = locate_model(path, model, header)
    return decompress(data, model, str(path)), header


__all__ = [
    "MAGIC",
    "VERSION",
    "MODEL_VERSION",
    "QuantizationNoise",
    "quantize",
    "dequantize",
    "encode_codes",
    "decode_codes",
    "parse_header",
    "compress",
    "decompress",
    "compress_file",
    "decompress_file",
    "read_file_header",
    "locate_model",
]
