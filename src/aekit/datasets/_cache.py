"""Where aekit keeps downloaded and decoded data, and how it writes there safely.

The cache directory is, in order of preference: ``$AEKIT_DATA``; ``$XDG_CACHE_HOME/aekit``;
``%LOCALAPPDATA%\\aekit\\Cache`` on Windows; ``~/Library/Caches/aekit`` on macOS; ``~/.cache/aekit``.
Everything in it can be deleted at any time: it is rebuilt on the next load. Files are written with
:func:`aekit.core.container.atomic_write`, so a reader never sees a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from aekit.core.container import atomic_write


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


def atomic_write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj).encode("utf-8"), what="cache file")


def digest(obj) -> str:
    """A stable sha256 of a JSON-serialisable object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()
