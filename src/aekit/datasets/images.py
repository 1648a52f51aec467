"""Folders of pictures (JPEG, PNG, BMP, WebP, ... any size) to one uint8 array, decoded in parallel and cached.

The decoded array of a folder is cached in ``<cache>/images/`` (see :func:`aekit.datasets._cache.cache_dir`),
never inside the user's folder, under a key that hashes every file's relative path, size and mtime
together with the load options: editing, adding or removing a picture, or changing ``size``, ``color``,
``fit`` or ``labels``, decodes again.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aekit.core.container import atomic_write
from aekit.datasets._cache import atomic_write_json, cache_dir, digest
from aekit.datasets.decode import UnreadablePicture, decode_all, default_workers, open_picture, report_skipped
from aekit.errors import AekitError, InputNotFoundError

COLORS = ("rgb", "gray")
FITS = ("crop", "pad", "stretch")
_JUNK = {"thumbs.db", "desktop.ini"}
_CACHE_VERSION = 1


@dataclass
class ImageSet:
    """What :func:`load_images` returns.

    Attributes
    ----------
    x : numpy.ndarray
        uint8 pictures, shape (N, H, W, C) with C = 3 (``color="rgb"``) or 1 (``"gray"``).
    y : numpy.ndarray or None
        int64 class index per picture (index into ``class_names``), or None when unlabelled.
    class_names : list of str
        Sub-folder names, sorted; empty when unlabelled.
    paths : list of str
        Path of each picture relative to the folder, in the order of ``x``.
    skipped : list of str
        Relative paths of files that were not readable pictures.

    ``x, y = load_images(...)`` works: iterating an ImageSet yields ``x`` then ``y``.
    """

    x: np.ndarray
    y: np.ndarray | None
    class_names: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def __iter__(self):
        return iter((self.x, self.y))


def _natural_key(rel: str):
    # "cat.2.jpg" before "cat.10.jpg"
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", rel)]


def check_image_options(size, color, fit, where: str):
    """Validate the shared options of load_images / ImageStream; returns (H, W)."""
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise AekitError(f"{where}: size must be (height, width) or one int, got {size!r}") from None
    if h <= 0 or w <= 0:
        raise AekitError(f"{where}: size must be positive, got {size!r}")
    if color not in COLORS:
        raise AekitError(f"{where}: color must be one of {', '.join(COLORS)}, got {color!r}")
    if fit not in FITS:
        raise AekitError(f"{where}: fit must be one of {', '.join(FITS)}, got {fit!r}")
    return h, w


def list_files(folder, where: str = "load_images"):
    """Every non-hidden file under ``folder`` (recursively, following links), naturally sorted.

    Each real folder is entered once and each real file listed once (compared by device and inode), so a
    link back to a parent folder, or two links to the same picture, read nothing twice; when a file is
    reached both directly and through a link, the direct path is the one listed.

    Returns a list of ``(relative_posix_path, size, mtime_ns)``.
    """
    root = Path(folder).expanduser()
    if not root.exists():
        raise InputNotFoundError(f"{where}: {root}: no such folder")
    if not root.is_dir():
        raise AekitError(f"{where}: {root}: not a folder")
    found = []  # (through a link?, relative path, size, mtime_ns, inode key)
    seen_dirs = {_inode(root.stat())}
    stack, linked = [(root, "", False)], []
    while True:
        while stack:  # real folders first; linked ones after, so a direct path wins over a link
            d, prefix, via_link = stack.pop()
            try:
                with os.scandir(d) as entries:  # iterated lazily: no list of DirEntry objects for huge folders
                    for e in entries:
                        if e.name.startswith(".") or e.name.lower() in _JUNK:
                            continue
                        try:
                            if e.is_dir():
                                key = _inode(e.stat())  # follows the link: the real folder
                                if e.is_symlink() or via_link:
                                    linked.append((Path(e.path), prefix + e.name + "/", key))
                                elif key not in seen_dirs:
                                    seen_dirs.add(key)
                                    stack.append((Path(e.path), prefix + e.name + "/", False))
                            elif e.is_file():
                                st = e.stat()
                                found.append(
                                    (
                                        via_link or e.is_symlink(),
                                        prefix + e.name,
                                        st.st_size,
                                        st.st_mtime_ns,
                                        _inode(st),
                                    )
                                )
                        except OSError:  # a dangling link or a link loop: not a file we can read
                            continue
            except OSError as e:
                raise AekitError(f"{where}: {d}: cannot list folder ({e.strerror or e})") from None
        for path, pre, key in sorted(linked, key=lambda t: _natural_key(t[1])):
            if key not in seen_dirs:  # each real folder once, whatever links lead to it
                seen_dirs.add(key)
                stack.append((path, pre, True))
        if not stack:
            break
        linked = []
    found.sort(key=lambda t: (t[0], _natural_key(t[1])))
    out, seen_files = [], set()
    for _, rel, size, mtime, key in found:
        if key not in seen_files:
            seen_files.add(key)
            out.append((rel, size, mtime))
    if not out:
        raise AekitError(f"{where}: {root}: the folder is empty (no files)")
    out.sort(key=lambda t: _natural_key(t[0]))
    return out


def _inode(st: os.stat_result) -> tuple:
    # st_ino is 0 on file systems without inodes (some Windows shares): then no file counts as seen twice
    return (st.st_dev, st.st_ino) if st.st_ino else (st.st_dev, object())


def folder_labels(rels, labels, root, where: str):
    """Class indices from first-level sub-folder names: returns (y or None, class_names)."""
    if labels not in ("auto", "folders", None):
        raise AekitError(f"{where}: labels must be 'auto', 'folders' or None, got {labels!r}")
    if labels is None:
        return None, []
    in_sub = ["/" in r for r in rels]
    if not all(in_sub):
        if labels == "folders":
            loose = rels[in_sub.index(False)]
            raise AekitError(f"{where}: {root}: labels='folders' but {loose} is not inside a class sub-folder")
        return None, []
    tops = [r.split("/", 1)[0] for r in rels]
    names = sorted(set(tops))
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[t] for t in tops], dtype=np.int64), names


def _cache_paths(key: str):
    d = cache_dir() / "images"
    return d / f"{key}.npy", d / f"{key}.json"


def _read_cache(key: str):
    npy, meta = _cache_paths(key)
    try:
        info = json.loads(meta.read_text("utf-8"))
        x = np.load(npy, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if info.get("version") != _CACHE_VERSION or list(x.shape) != info.get("shape"):
        return None
    return x, info


def _write_cache(key: str, x, info) -> None:
    npy, meta = _cache_paths(key)
    try:
        atomic_write(npy, lambda f: np.save(f, x, allow_pickle=False), what="cache file")
        atomic_write_json(meta, info)  # written last: its presence means the .npy is complete
    except OSError as e:
        warnings.warn(
            f"load_images: cannot write the cache in {npy.parent} ({e.strerror or e}); "
            f"set AEKIT_DATA to a writable folder or pass cache=False",
            stacklevel=3,
        )


PICTURE_SIDE_CAP = 64  # the longer side of a size taken from a folder; the default photos train in seconds


def folder_picture_format(folder, cap: int = PICTURE_SIDE_CAP, sample: int = 64) -> tuple:
    """``((H, W), color)`` a folder's pictures are best read at: the median size of up to ``sample``
    pictures (headers only), shrunk to a longer side of at most ``cap`` (aspect kept, sides a multiple of 4),
    and 'rgb' when any of them is in colour (an RGB picture whose channels all agree counts as gray).

    >>> folder_picture_format("photos/")          # doctest: +SKIP
    ((48, 64), 'rgb')
    """
    root = Path(folder).expanduser()
    rels = [f[0] for f in list_files(root, "folder_picture_format")]
    step = max(1, len(rels) // sample)
    sizes, colour = [], False
    for rel in rels[::step][:sample]:
        try:
            with open_picture(root / rel) as im:
                sizes.append((im.height, im.width))
                if not colour and im.mode not in ("1", "L", "LA", "I", "I;16", "F"):
                    small = np.asarray(im.convert("RGB").resize((16, 16)), np.int16)
                    colour = bool(np.abs(small - small.mean(axis=2, keepdims=True)).max() > 2)
        except UnreadablePicture:
            continue  # not a picture (or a decompression bomb): load_images skips it with a warning
    if not sizes:
        raise AekitError(f"load_images: {root}: none of the sampled files is a readable picture")
    h, w = (float(np.median([s[i] for s in sizes])) for i in (0, 1))
    shrink = min(1.0, cap / max(h, w))
    h, w = (max(4, int(round(v * shrink / 4)) * 4) for v in (h, w))
    return (h, w), ("rgb" if colour else "gray")


def load_images(
    folder,
    size=(64, 64),
    color: str = "rgb",
    fit: str = "crop",
    strict: bool = False,
    cache: bool = True,
    workers=None,
    labels="auto",
) -> ImageSet:
    """Load every picture in a folder (recursively) as one uint8 array.

    Parameters
    ----------
    folder : path-like
        A folder of pictures, or of class sub-folders of pictures (``cats/``, ``dogs/``). Any format
        Pillow reads (JPEG, PNG, BMP, WebP, GIF, TIFF...) and any size; hidden files are ignored.
    size : (int, int) or int
        Output (height, width).
    color : {"rgb", "gray"}
        3 channels or 1; transparency is composited on black.
    fit : {"crop", "pad", "stretch"}
        Keep the aspect ratio and cut the centre (crop) or add black borders (pad), or distort (stretch).
    strict : bool
        False: files that are not readable pictures are skipped with one warning (listed in
        ``ImageSet.skipped``). True: the first one is an error.
    cache : bool
        Reuse / store the decoded array in the aekit cache directory (``$AEKIT_DATA/images``).
    workers : int, optional
        Parallel decoders (default: the number of cores, at most 8): forked processes on Linux,
        threads elsewhere; 1 decodes in this process.
    labels : {"auto", "folders", None}
        "auto": class labels from first-level sub-folder names when every picture is in one;
        "folders": the same but required; None: no labels.

    Returns
    -------
    ImageSet
        ``x`` uint8 (N, H, W, C), ``y`` int64 (N,) or None, ``class_names``, ``paths``, ``skipped``;
        it unpacks as ``x, y``. Pictures are in natural file-name order.

    Raises
    ------
    aekit.errors.AekitError
        Missing or empty folder, no readable picture at all, a bad file with ``strict=True``, bad options.

    Examples
    --------
    >>> from aekit.datasets import load_images
    >>> cats = load_images("cats/train", size=(48, 48))          # doctest: +SKIP
    >>> cats.x.shape                                             # doctest: +SKIP
    (12500, 48, 48, 3)
    >>> x, y = load_images("flowers/", size=64, color="gray")    # doctest: +SKIP
    """
    where = "load_images"
    hw = check_image_options(size, color, fit, where)
    root = Path(folder).expanduser()
    files = list_files(root, where)
    rels = [f[0] for f in files]
    y_all, class_names = folder_labels(rels, labels, root, where)
    key = digest({"v": _CACHE_VERSION, "files": files, "size": hw, "color": color, "fit": fit, "labels": labels})
    hit = _read_cache(key) if cache else None
    if hit is not None:
        x, info = hit
        bad = [tuple(b) for b in info["skipped"]]
        if len(bad) == len(rels):  # cannot happen for a cache we wrote, but never return an empty set
            hit = None
    if hit is None:
        x, ok, bad = decode_all(root, rels, hw, color, fit, default_workers(workers))
        if len(bad) == len(rels):
            rel, reason = bad[0]
            raise AekitError(
                f"{where}: {root}: none of the {len(rels)} files is a readable image (e.g. {rel}: {reason})"
            )
        if cache:
            _write_cache(
                key,
                x,
                {
                    "version": _CACHE_VERSION,
                    "folder": str(root),
                    "shape": list(x.shape),
                    "skipped": [list(b) for b in bad],
                },
            )
    report_skipped(root, bad, len(rels), strict, where)
    skipped = {b[0] for b in bad}
    keep = [i for i, r in enumerate(rels) if r not in skipped]
    y = None if y_all is None else y_all[keep]
    return ImageSet(x=x, y=y, class_names=class_names, paths=[rels[i] for i in keep], skipped=[b[0] for b in bad])
