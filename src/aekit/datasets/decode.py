"""Decoding pictures: one file to a (H, W, C) uint8 array at a size and colour (:func:`decode_image`), and
many files in parallel (a process pool for big folders, threads for small ones), skipping unreadable ones.

Every reader opens a picture through :func:`open_picture`, the one place that decides whether a file is a
readable picture: whatever Pillow raises for a file (not a picture, truncated, or so large it could be a
decompression bomb) becomes :class:`UnreadablePicture`. A reader of one file refuses it; a reader of a
folder skips it with one warning (:func:`report_skipped`).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from aekit.errors import AekitError, FormatError, first_line

_CHUNK = 256  # files per task of the worker pool; folders under two chunks are decoded in-process
_RESAMPLE = Image.Resampling.BICUBIC  # antialiased in Pillow; LANCZOS costs 1.6x for no visible gain at these sizes


class UnreadablePicture(FormatError):
    """A file that is not a readable picture; ``reason`` is Pillow's complaint in one line.

    Examples
    --------
    >>> str(UnreadablePicture("a.png", "cannot identify image file"))
    'a.png: not a readable picture (cannot identify image file)'
    """

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: not a readable picture ({reason})")
        self.path, self.reason = path, reason

    def __reduce__(self):  # rebuilt from both arguments (a worker process may raise it)
        return type(self), (self.path, self.reason)


@contextlib.contextmanager
def open_picture(path):
    """``PIL.Image.open(path)`` as a context manager; anything that goes wrong while the file is open
    (opening, decoding) raises :class:`UnreadablePicture`.

    Pillow raises many kinds for a bad file (OSError, SyntaxError, ValueError, struct.error, and
    ``DecompressionBombError``, which is none of those, for a picture of more than twice
    ``Image.MAX_IMAGE_PIXELS`` pixels), so every kind is caught here, once.

    Examples
    --------
    >>> import io
    >>> with open_picture(io.BytesIO(b"not a picture")) as im:
    ...     pass
    Traceback (most recent call last):
    ...
    aekit.datasets.decode.UnreadablePicture: <_io.BytesIO object at ...>: not a readable picture (...)
    """
    try:
        with Image.open(path) as im:
            yield im
    except UnreadablePicture:
        raise
    except Exception as e:  # noqa: BLE001 - see above: Pillow's kinds of failure have no common base
        raise UnreadablePicture(path, first_line(e)) from None


def _to_mode(im: Image.Image, color: str) -> Image.Image:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greys: Pillow's convert("L") would clip, so rescale to 0..255 ourselves.
        a = np.asarray(im, dtype=np.float64)
        a = a / 257.0 if a.max(initial=0) > 255 else a
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels go on black, not on whatever colour the file stores under alpha = 0.
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    target = "RGB" if color == "rgb" else "L"
    return im if im.mode == target else im.convert(target)


def _fit(im: Image.Image, w: int, h: int, fit: str) -> Image.Image:
    iw, ih = im.size
    if fit == "stretch" or iw * h == ih * w:
        return im if (iw, ih) == (w, h) else im.resize((w, h), _RESAMPLE)
    if fit == "crop":
        # Resize only the centred box with the target's aspect ratio: one C call, no intermediate image.
        box: tuple[float, float, float, float]
        if iw * h > ih * w:
            bw = ih * w / h
            box = ((iw - bw) / 2, 0, (iw + bw) / 2, ih)
        else:
            bh = iw * h / w
            box = (0, (ih - bh) / 2, iw, (ih + bh) / 2)
        return im.resize((w, h), _RESAMPLE, box=box)
    s = min(w / iw, h / ih)
    rw, rh = max(1, round(iw * s)), max(1, round(ih * s))
    canvas = Image.new(im.mode, (w, h), 0)
    canvas.paste(im.resize((rw, rh), _RESAMPLE), ((w - rw) // 2, (h - rh) // 2))
    return canvas


def decode_image(path, size, color: str = "rgb", fit: str = "crop") -> np.ndarray:
    """Decode one picture to uint8 (H, W, C); raises :class:`UnreadablePicture` for a bad file.

    ``fit="crop"`` scales to cover (H, W) and cuts the centre, ``"pad"`` scales to fit inside and pads
    with black, ``"stretch"`` ignores the aspect ratio. ``size=None`` keeps the picture's own size.
    EXIF orientation is applied.
    """
    with open_picture(path) as im:
        orientation = im.getexif().get(0x0112, 1) if im.format in ("JPEG", "WEBP", "TIFF", "PNG") else 1
        h, w = size if size is not None else im.size[::-1]
        tw, th = (h, w) if orientation in (5, 6, 7, 8) else (w, h)  # target in the file's orientation
        if size is None:
            h, w = th, tw  # the picture's own size, once the orientation is applied
        elif im.format == "JPEG":
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly (several times faster): ask for the smallest
            # scale that is still at least as large as what the resize below needs.
            iw, ih = im.size
            if fit == "stretch":
                need = (tw, th)
            else:
                s = max(tw / iw, th / ih) if fit == "crop" else min(tw / iw, th / ih)
                need = (math.ceil(iw * s), math.ceil(ih * s))
            im.draft("RGB" if color == "rgb" else "L", need)
        im.load()
        if orientation != 1:
            im = ImageOps.exif_transpose(im)
        im = _to_mode(im, color)
        im = _fit(im, w, h, fit)
        a = np.asarray(im, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def try_decode(path, size, color, fit):
    """(array, None) or (None, one-line reason) — never raises for a bad file."""
    try:
        return decode_image(path, size, color, fit), None
    except UnreadablePicture as e:
        return None, e.reason


def default_workers(workers) -> int:
    if workers is None:
        try:
            cores = len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
        except AttributeError:
            cores = os.cpu_count() or 1
        return max(1, min(8, cores))
    if int(workers) < 1:
        raise AekitError(f"workers must be >= 1, got {workers!r}")
    return int(workers)


def report_skipped(root, bad, total, strict: bool, where: str):
    """Warn about (or, when strict, refuse) files that are not readable pictures. ``bad``: [(rel, reason)]."""
    if not bad:
        return
    rel, reason = bad[0]
    if strict:
        raise AekitError(f"{where}: {Path(root) / rel}: not a readable image ({reason})")
    warnings.warn(
        f"{where}: skipped {len(bad)} of {total} files in {root} that are not readable images (e.g. {rel}: {reason})",
        stacklevel=3,
    )


def _decode_chunk(root: Path, rels, size, color, fit):
    """Decode some files; returns (stacked arrays of the good ones, good mask, [(rel, reason)])."""
    h, w = size
    out = np.empty((len(rels), h, w, 3 if color == "rgb" else 1), dtype=np.uint8)
    ok = np.ones(len(rels), dtype=bool)
    bad = []
    for i, rel in enumerate(rels):
        a, reason = try_decode(root / rel, size, color, fit)
        if a is None:
            ok[i] = False
            bad.append((rel, reason))
        else:
            out[i] = a
    return (out if ok.all() else out[ok]), ok, bad


def _pool(workers: int):
    """Forked worker processes on Linux (as PyTorch's DataLoader does), else threads.

    Decoding a small JPEG is half Python (Pillow parses the markers in Python), so threads hardly scale;
    processes do. Spawned processes would need the user's script to have a ``__main__`` guard, and fork
    is unsafe on macOS, so elsewhere we fall back to threads.
    """
    if sys.platform.startswith("linux"):
        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
    return ThreadPoolExecutor(max_workers=workers)


def decode_all(root: Path, rels, size, color, fit, workers):
    h, w = size
    chunk = _CHUNK
    if workers == 1 or len(rels) < 2 * chunk:
        return _decode_chunk(root, rels, size, color, fit)
    out = np.empty((len(rels), h, w, 3 if color == "rgb" else 1), dtype=np.uint8)
    ok = np.ones(len(rels), dtype=bool)
    bad = []
    starts = range(0, len(rels), chunk)
    with warnings.catch_warnings():
        # Python >= 3.12 warns that fork() in a multi-threaded process may deadlock; our children only run
        # Pillow and numpy code and never touch the parent's threads or locks.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        with _pool(workers) as pool:
            futures = [pool.submit(_decode_chunk, root, rels[s : s + chunk], size, color, fit) for s in starts]
            for s, fut in zip(starts, futures):
                arr, good, errs = fut.result()
                idx = np.arange(s, min(s + chunk, len(rels)))
                ok[idx] = good
                out[idx[good]] = arr
                bad += errs
    return (out if ok.all() else out[ok]), ok, bad
