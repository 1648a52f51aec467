"""Helpers shared by the subcommands: output (text or --json), loading models and inputs."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import AekitError


def emit(args, data: dict, text: str | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text`` (unless ``--quiet``)."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif not getattr(args, "quiet", False) and text:
        print(text)


def verbose(args) -> int:
    """The training verbosity that matches the global flags (no progress bar with --quiet or --json)."""
    return 0 if (getattr(args, "quiet", False) or getattr(args, "json", False)) else 1


def load_model(path: str | os.PathLike, args=None):
    """``aekit.load`` with the --device option applied."""
    from ..autoencoder import load
    from ..training.loop import pick_device

    model = load(path)
    device = getattr(args, "device", "auto") if args is not None else "auto"
    return model.to(pick_device(device))


def need_file(path: str, what: str = "input") -> Path:
    p = Path(path)
    if not p.exists():
        raise AekitError(f"{what} {path}: no such file or folder")
    return p
