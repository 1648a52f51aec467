"""Time series (NAB-style ``timestamp,value`` CSV) to sliding windows, and window scores back to points.

A typical anomaly-detection pipeline::

    ts = load_timeseries("nab/realTraffic/speed_6005.csv")
    n_train = len(ts.values) // 2
    scaler = fit_scaler(ts.values[:n_train], "standard")      # z-normalise with training statistics
    z = scaler.transform(ts.values)
    windows = sliding_windows(z, length=64, name=ts.path)      # (n, 64, 1) float32
    ...                                                         # one reconstruction error per window
    point_scores = window_scores_to_points(errors, len(z), 64, 1)
    labels = nab_labels("nab", "realTraffic/speed_6005.csv", ts.timestamps)
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aekit.errors import AekitError, FormatError


@dataclass
class TimeSeries:
    """What :func:`load_timeseries` returns; unpacks as ``timestamps, values``.

    Attributes
    ----------
    timestamps : numpy.ndarray of datetime64[s]
    values : numpy.ndarray of float64
        (T,) for one value column, (T, F) for several.
    path : str
        The file, for error messages (``sliding_windows(ts, ...)`` uses it).
    columns : list of str or None
        The value columns' names, in the order of ``values``' last axis.
    file_rows : numpy.ndarray of int64 or None
        When the file's rows were out of time order (and so sorted): each point's row in the file (0 = the
        first data row); None when the file was in time order. :func:`to_file_order` puts per-point
        results back in the file's order.
    """

    timestamps: np.ndarray
    values: np.ndarray
    path: str = ""
    columns: list | None = None
    file_rows: np.ndarray | None = None

    def __iter__(self):
        return iter((self.timestamps, self.values))

    def __len__(self):
        return len(self.values)


TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "ds")  # names of a time column (any case)


def load_timeseries(path, columns=None) -> TimeSeries:
    """Read a time-series CSV with a header line: a time column and one or more value columns.

    The time column is the one named ``timestamp`` (or ``time``, ``date``, ``datetime``, ``ds``; any case),
    else the first of exactly two columns. The values are ``columns`` when given (names), else the column
    named ``value`` (the NAB format), else every other column: one gives ``values`` (T,), several
    (T, F) in the file's order, their names in ``columns``. Timestamps are ISO dates and times, or whole
    Unix seconds (9 digits or more); rows out of time order are sorted, with a warning, and ``file_rows``
    keeps each point's row in the file.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(p, "w").write("timestamp,value\\n2015-01-01 00:00:00,1.5\\n2015-01-01 00:05:00,2\\n")
    >>> t, v = load_timeseries(p)
    >>> str(t[1]), v.tolist()
    ('2015-01-01T00:05:00', [1.5, 2.0])
    >>> _ = open(p, "w").write("time,cpu,mem\\n2015-01-01 00:00:00,0.5,30\\n2015-01-01 00:05:00,0.7,31\\n")
    >>> ts = load_timeseries(p)
    >>> ts.values.shape, ts.columns
    ((2, 2), ['cpu', 'mem'])
    """
    path = Path(path).expanduser()
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except FileNotFoundError:
        raise AekitError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error, OSError) as e:
        raise FormatError(f"{path}: cannot read as CSV ({e})") from None
    if not rows:
        raise AekitError(f"{path}: the file is empty")
    names = [c.strip() for c in rows[0]]
    head = [c.lower() for c in names]
    it = next((head.index(n) for n in TIME_COLUMNS if n in head), 0 if len(head) == 2 else None)
    if it is None:
        raise AekitError(
            f"{path}: expected a header with 'timestamp' and 'value' columns (or a time column "
            f"named {', '.join(TIME_COLUMNS[1:])} beside value columns), found {rows[0]}"
        )
    if columns:
        lookup = {n: i for i, n in enumerate(names)} | {n: i for i, n in enumerate(head) if n not in names}
        iv: list[Any] = [lookup.get(str(c), lookup.get(str(c).lower())) for c in columns]  # exact name, else any case
        if None in iv:
            raise AekitError(f"{path}: no column {columns[iv.index(None)]!r}; available: {', '.join(names)}")
    elif "value" in head:
        iv = [head.index("value")]
    else:
        iv = [i for i in range(len(head)) if i != it]
    if it in iv:
        raise AekitError(f"{path}: {names[it]!r} is the time column; name value columns beside it")
    if not iv:
        raise AekitError(f"{path}: no value column besides the time column {names[it]!r}")
    data = rows[1:]
    if not data:
        raise AekitError(f"{path}: no data rows after the header")
    width = len(head)
    for i, r in enumerate(data):
        if len(r) != width:
            raise FormatError(f"{path}: data row {i + 1} has {len(r)} fields, expected {width}")
    cells = np.array(data, dtype=str)
    stamps = np.char.strip(cells[:, it])
    try:
        if np.char.isdigit(stamps).all() and np.char.str_len(stamps).min() >= 9:  # Unix seconds
            t = stamps.astype(np.int64).astype("datetime64[s]")
        else:
            t = stamps.astype("datetime64[s]")
    except ValueError:
        i = _first_bad(cells[:, it], lambda s: np.datetime64(s.strip(), "s"))
        raise AekitError(f"{path}: data row {i + 1}: {str(cells[i, it])!r} is not a timestamp") from None
    hint = "" if columns or len(iv) == 1 else " (choose the value columns with columns= / --columns)"
    where = (lambda j: "") if len(iv) == 1 else (lambda j: f" in column {names[j]!r}{hint}")
    out = []
    for j in iv:
        try:
            v = np.char.strip(cells[:, j]).astype(np.float64)
        except ValueError:
            i = _first_bad(cells[:, j], float)
            raise AekitError(f"{path}: data row {i + 1}: {str(cells[i, j])!r} is not a number{where(j)}") from None
        if not np.isfinite(v).all():
            i = int(np.flatnonzero(~np.isfinite(v))[0])
            raise AekitError(f"{path}: data row {i + 1}: missing or infinite value {str(cells[i, j])!r}{where(j)}")
        out.append(v)
    v = out[0] if len(out) == 1 else np.stack(out, axis=1)  # (T,) or (T, F)
    order = None
    if len(t) > 1 and (np.diff(t) < np.timedelta64(0, "s")).any():
        order = np.argsort(t, kind="stable").astype(np.int64)
        t, v = t[order], v[order]
        warnings.warn(f"{path}: the timestamps are not in increasing order; the rows were sorted by time", stacklevel=2)
    return TimeSeries(timestamps=t, values=v, path=str(path), columns=[names[j] for j in iv], file_rows=order)


def to_file_order(points, file_rows):
    """Per-point results (T, ...) of a series read in time order, put back in the order of its file's rows
    (``file_rows``: :attr:`TimeSeries.file_rows`; None: the file was in time order, ``points`` as they are).

    >>> to_file_order(np.array([10, 20, 30]), np.array([2, 0, 1])).tolist()  # point 0 was the file's row 2
    [20, 30, 10]
    """
    if file_rows is None:
        return points
    out = np.empty_like(np.asarray(points))
    out[np.asarray(file_rows)] = points
    return out


def _first_bad(cells, parse) -> int:
    for i, c in enumerate(cells):
        try:
            parse(str(c))
        except ValueError:
            return i
    return 0


def sliding_windows(values, length: int, stride: int = 1, name=None) -> np.ndarray:
    """Cut a series into overlapping windows.

    Parameters
    ----------
    values : array-like (T,) or (T, F), or TimeSeries
        The (already normalised) series.
    length, stride : int
        Window length and step; window ``i`` covers points ``[i*stride, i*stride + length)``.
        Trailing points that do not fill a window are left out (see :func:`window_scores_to_points`).
    name : str, optional
        The series' file, named in errors (taken from a TimeSeries automatically).

    Returns
    -------
    numpy.ndarray
        float32 (n_windows, length, F) with F = 1 for a 1-D series; n_windows = (T - length) // stride + 1.

    Examples
    --------
    >>> sliding_windows(np.arange(5.0), length=3, stride=2)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    """
    if isinstance(values, TimeSeries):
        name = name or values.path
        values = values.values
    where = f"{name}: " if name else "sliding_windows: "
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise AekitError(f"{where}expected a series of shape (T,) or (T, F), got {v.shape}")
    length, stride = int(length), int(stride)
    if length < 1 or stride < 1:
        raise AekitError(f"{where}window length and stride must be >= 1 (got length={length}, stride={stride})")
    if len(v) < length:
        raise AekitError(f"{where}the series has {len(v)} points, shorter than one window of length {length}")
    w = np.lib.stride_tricks.sliding_window_view(v, length, axis=0)[::stride]  # (n, F, length)
    return np.ascontiguousarray(w.transpose(0, 2, 1))


def n_windows(n_points: int, length: int, stride: int = 1) -> int:
    """How many windows :func:`sliding_windows` cuts from ``n_points`` points."""
    return 0 if n_points < length else (n_points - length) // stride + 1


def window_scores_to_points(scores, n_points: int, length: int, stride: int = 1, reduce: str = "mean"):
    """Spread window scores back over the points they cover.

    Parameters
    ----------
    scores : array-like (n_windows,) or (n_windows, length)
        One score per window (e.g. its reconstruction error), or one per position in each window.
    n_points, length, stride : int
        The series length and the windowing used by :func:`sliding_windows`.
    reduce : {"mean", "max"}
        How the scores of the windows overlapping a point are combined.

    Returns
    -------
    numpy.ndarray
        float64 (n_points,). Trailing points covered by no window get the last window's score.

    Examples
    --------
    >>> window_scores_to_points([1.0, 3.0], n_points=4, length=3, stride=1).tolist()
    [1.0, 2.0, 2.0, 3.0]
    >>> window_scores_to_points([1.0, 3.0], n_points=4, length=3, reduce="max").tolist()
    [1.0, 3.0, 3.0, 3.0]
    """
    if reduce not in ("mean", "max"):
        raise AekitError(f"window_scores_to_points: reduce must be 'mean' or 'max', got {reduce!r}")
    s = np.asarray(scores, dtype=np.float64)
    n = n_windows(n_points, length, stride)
    if s.ndim == 2 and s.shape[1] == 1 and length != 1:
        s = s[:, 0]
    if s.ndim not in (1, 2) or len(s) != n or (s.ndim == 2 and s.shape[1] != length):
        raise AekitError(
            f"window_scores_to_points: expected {n} scores (or {n} x {length}) for {n_points} points, "
            f"window length {length} and stride {stride}; got shape {s.shape}"
        )
    per = np.broadcast_to(s[:, None], (n, length)) if s.ndim == 1 else s
    idx = (np.arange(n) * stride)[:, None] + np.arange(length)[None, :]
    out = np.zeros(n_points)
    covered = np.zeros(n_points, dtype=bool)
    covered[idx.ravel()] = True
    if reduce == "mean":
        np.add.at(out, idx.ravel(), per.ravel())
        counts = np.bincount(idx.ravel(), minlength=n_points)
        out[covered] /= counts[covered]
    else:
        out[:] = -np.inf
        np.maximum.at(out, idx.ravel(), per.ravel())
    last = idx[-1, -1]
    out[last + 1 :] = per[-1, -1] if s.ndim == 2 else s[-1]
    return out


def flagged_ranges(flags, timestamps=None) -> list:
    """The runs of consecutive flagged points as ``[(start, end), ...]`` (inclusive), as timestamps
    (strings) when ``timestamps`` are given, else as point indices.

    >>> flagged_ranges([0, 1, 1, 0, 1])
    [(1, 2), (4, 4)]
    """
    f = np.asarray(flags, dtype=bool)
    edges = np.diff(np.concatenate([[False], f, [False]]).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    if timestamps is None:
        return [(int(a), int(b)) for a, b in zip(starts, ends)]
    return [(str(timestamps[a]), str(timestamps[b])) for a, b in zip(starts, ends)]


def point_flags(window_scores, n_points: int, length: int, stride: int, threshold: float) -> tuple:
    """``(scores, flags)`` per point (n_points,): the highest score of the windows covering each point, and
    whether it is above ``threshold`` (the window threshold: a point is flagged when a window holding it
    is, so the flagged ranges are the union of the flagged windows)."""
    scores = window_scores_to_points(window_scores, n_points, length, stride, reduce="max")
    return scores, (scores > threshold).astype(np.int64)


def load_nab_windows(root) -> dict:
    """Read NAB's ``combined_windows.json``: ``{"folder/file.csv": [(start, end), ...]}`` as datetime64[s].

    ``root`` is the NAB folder (holding the JSON) or the JSON file itself.

    Examples
    --------
    >>> windows = load_nab_windows("nab")                                  # doctest: +SKIP
    >>> windows["realKnownCause/nyc_taxi.csv"][0]                          # doctest: +SKIP
    (np.datetime64('2014-10-30T15:30:00'), np.datetime64('2014-11-03T22:30:00'))
    """
    p = Path(root).expanduser()
    if p.is_dir():
        p = p / "combined_windows.json"
    try:
        raw = json.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise AekitError(f"{p}: no such file (expected NAB's combined_windows.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{p}: not a valid JSON file ({e})") from None
    if not isinstance(raw, dict):
        raise FormatError(f"{p}: expected an object mapping series to windows")
    out = {}
    try:
        for key, wins in raw.items():
            out[key.replace("\\", "/")] = [
                (np.datetime64(a.strip().replace(" ", "T"), "s"), np.datetime64(b.strip().replace(" ", "T"), "s"))
                for a, b in wins
            ]
    except (TypeError, ValueError, AttributeError) as e:
        raise FormatError(f"{p}: malformed window list for {key!r} ({e})") from None
    return out


def nab_labels(root, relpath, timestamps) -> np.ndarray:
    """0/1 label per point: 1 inside one of the series' labelled anomaly windows (ends included).

    Parameters
    ----------
    root : path-like
        The NAB folder (or its ``combined_windows.json``).
    relpath : str
        The series as keyed in the JSON, e.g. ``"realTraffic/speed_6005.csv"``.
    timestamps : array of datetime64
        The series' timestamps (``load_timeseries(...).timestamps``).

    Returns
    -------
    numpy.ndarray of uint8 (len(timestamps),)

    Examples
    --------
    >>> ts = load_timeseries("nab/realTraffic/speed_6005.csv")             # doctest: +SKIP
    >>> int(nab_labels("nab", "realTraffic/speed_6005.csv", ts.timestamps).sum())   # doctest: +SKIP
    239
    """
    windows = load_nab_windows(root)
    key = str(relpath).replace("\\", "/")
    if key not in windows:
        raise AekitError(f"{root}: no series {key!r} in combined_windows.json ({len(windows)} series known)")
    t = np.asarray(timestamps).astype("datetime64[s]")
    lab = np.zeros(len(t), dtype=np.uint8)
    for a, b in windows[key]:
        lab[(t >= a) & (t <= b)] = 1
    return lab
