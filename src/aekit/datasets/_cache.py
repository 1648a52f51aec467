"""Where aekit keeps downloaded and decoded data, and how it writes there safely.

The cache directory is, in order of preference: ``$AEKIT_DATA``; ``$XDG_CACHE_HOME/aekit``;
``%LOCALAPPDATA%\\aekit\\Cache`` on Windows; ``~/Library/Caches/aekit`` on macOS; ``~/.cache/aekit``.
Everything in it can be deleted at any time: it is rebuilt on the next load.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """The root cache directory (not created here).

    Examples
    --------
    >>> images_cache = cache_dir() / "images"   # where load_images keeps decoded folders
    """
    env = os.environ.get("AEKIT_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "aekit"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "aekit" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "aekit"
    return Path.home() / ".cache" / "aekit"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader never sees a half-written file (temp file + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".aekit.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` through a temp file in the same directory, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".aekit.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj).encode("utf-8"))


def digest(obj) -> str:
    """A stable sha256 of a JSON-serialisable object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _unlink_quietly(p) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass
