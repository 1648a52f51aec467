"""Helpers shared by the subcommands: output (text or --json), loading models and inputs."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from aekit.datasets.tables import IMPUTE
from aekit.errors import InputNotFoundError

IMPUTE_CHOICES = tuple(v for v in IMPUTE if v)  # --impute: how a table's missing values are filled


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


def model_path(path: str | os.PathLike) -> Path:
    """A model file, or the ``model.aekit`` of a run folder that ``aekit train`` wrote."""
    p = Path(path)
    return p / "model.aekit" if p.is_dir() and (p / "model.aekit").is_file() else p


def load_model(path: str | os.PathLike, args=None):
    """``aekit.load`` (a model file or a run folder) with the --device option applied."""
    from aekit.autoencoder.model import load
    from aekit.training.loop import pick_device

    model = load(model_path(path))
    device = getattr(args, "device", "auto") if args is not None else "auto"
    return model.to(pick_device(device))


def need_file(path: str, what: str = "input") -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{what} {path}: no such file or folder")
    return p


# --- argparse types: option values are checked where they are parsed (a bad one is a usage error, exit 2) ---


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (sizes, counts, --window, --stride, --batch-size, --epochs)."""
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} is not valid; expected an integer >= 1")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0 (--lr)."""
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not valid; expected a number > 0")
    return v


def finite_float(text: str) -> float:
    """Any finite number (--threshold)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text} is not valid; expected a finite number")
    return v


def int_range(lo: int, hi: int):
    """An argparse type for an integer in [lo, hi]."""

    def parse(text: str) -> int:
        v = _int(text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is not valid; expected an integer from {lo} to {hi}")
        return v

    return parse


def float_range(lo: float, hi: float, closed: bool = False, hi_closed: bool = False):
    """An argparse type for a number in the open interval (lo, hi); [lo, hi] with ``closed``, (lo, hi]
    with ``hi_closed``."""

    def parse(text: str) -> float:
        v = finite_float(text)
        lo_ok = lo <= v if closed else lo < v
        hi_ok = v <= hi if (closed or hi_closed) else v < hi
        if not (lo_ok and hi_ok):
            raise argparse.ArgumentTypeError(
                f"{text} is not valid; expected {lo} {'<=' if closed else '<'} value "
                f"{'<=' if closed or hi_closed else '<'} {hi}"
            )
        return v

    return parse


INPUT_HELP = (
    "the data: digits/mnist/fashion (their test split), .npy/.npz, a CSV/Parquet table, a time-series "
    "CSV, a picture or a folder of pictures; read the way MODEL was trained"
)


def add_input_options(p, positional: str | None = "input") -> None:
    """The input options every data-reading command shares; they override what the model remembers."""
    if positional:
        p.add_argument(positional, metavar="INPUT", help=INPUT_HELP)
    g = p.add_argument_group("reading the input (default: as the model was trained)")
    g.add_argument("--key", default=None, help="the array inside an .npz input")
    g.add_argument("--columns", default=None, metavar="A,B,...", help="table columns, or a series' value columns")
    g.add_argument(
        "--impute",
        choices=IMPUTE_CHOICES,
        default=None,
        help="fill a table's missing values with each column's mean, median or 0",
    )
    g.add_argument("--window", type=positive_int, default=None, help="time-series window length")
    g.add_argument("--stride", type=positive_int, default=None, help="time-series window step")


def read_for(args, model, src: str | None = None):
    """The :class:`aekit.datasets.reader.Source` of the command's input, read for ``model``."""
    from aekit.datasets.sources import read_for_model

    src = src if src is not None else args.input
    need_source(src)
    return read_for_model(
        src,
        model,
        key=getattr(args, "key", None),
        columns=getattr(args, "columns", None),
        impute=getattr(args, "impute", None),
        window=getattr(args, "window", None),
        stride=getattr(args, "stride", None),
    )


def need_source(src: str) -> None:
    """A SRC is a named set or an existing path."""
    from aekit.datasets.reader import NAMED

    if str(src).lower() not in NAMED:
        need_file(src, "input")
