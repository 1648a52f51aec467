"""Numeric tables (CSV, TSV, Parquet) to float32 arrays, refusing or imputing missing values.

Scaling is not done here: fit an :class:`aekit.datasets.preprocessing.Scaler` on the training rows
(:func:`aekit.datasets.fit_scaler`); the core stores it in the model file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aekit.errors import AekitError, FormatError

#: Cell texts read as missing values (compared lower-cased, after stripping blanks).
MISSING = ("", "na", "nan", "n/a", "null", "none", "?", "-")
IMPUTE = (None, "mean", "median", "zero")


@dataclass
class Table:
    """What :func:`load_table` returns.

    Attributes
    ----------
    x : numpy.ndarray
        float32 (rows, columns).
    columns : list of str
        Column names (``"0"``, ``"1"``... without a header).
    fill_values : dict
        Column name -> value used for its missing cells (only columns that had some; empty otherwise).

    ``np.asarray(table)`` gives ``table.x``.
    """

    x: np.ndarray
    columns: list
    fill_values: dict = field(default_factory=dict)

    def __array__(self, dtype=None, copy=None):
        return self.x if dtype is None else self.x.astype(dtype)


def _select(path, names, columns):
    """Column indices for ``columns`` (names or indices, or None for all)."""
    if columns is None:
        return list(range(len(names)))
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    idx = []
    for c in columns:
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not -len(names) <= c < len(names):
                raise AekitError(f"{path}: column index {c} out of range ({len(names)} columns)")
            idx.append(int(c) % len(names))
        elif c in names:
            idx.append(names.index(c))
        else:
            raise AekitError(f"{path}: no column {c!r}; available: {', '.join(names)}")
    return idx


def _read_text(path: Path) -> str:
    """The whole CSV as text (BOM dropped, line ends kept as they are), read once for both parsers below."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return f.read()
    except FileNotFoundError:
        raise AekitError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not a UTF-8 text file (byte {e.start}); is it really a CSV?") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot read as CSV ({e})") from None


def _read_csv(path: Path, text: str, header: bool, delimiter: str):
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows, lines = [], []
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise FormatError(f"{path}: cannot read as CSV ({e})") from None
    if not rows:
        raise AekitError(f"{path}: the file is empty")
    if header:
        names, rows, lines = [c.strip() for c in rows[0]], rows[1:], lines[1:]
    else:
        names = [str(j) for j in range(len(rows[0]))]
    width = len(names)
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise FormatError(f"{path}: line {line} has {len(row)} fields, expected {width}")
    if not rows:
        raise AekitError(f"{path}: no data rows after the header")
    return names, np.array(rows, dtype=str), np.array(lines)


def _read_clean_csv(text: str, header: bool, delimiter: str):
    """``(names, x (rows, columns) float64)`` for a clean numeric CSV (every cell a finite number, no
    quotes, every line as wide as the header), parsed by numpy in one call; else None, and the per-cell
    :func:`_read_csv` reads the text (its errors name the column and line, and it handles missing values).
    200,000 rows of 30 columns: 1.1 s instead of 4.5 s."""
    if '"' in text:
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 1 + bool(header):
        return None
    names = [c.strip() for c in lines[0].split(delimiter)] if header else None
    body = lines[1:] if header else lines
    width = len(names) if names is not None else body[0].count(delimiter) + 1
    if any(ln.count(delimiter) != width - 1 for ln in body):
        return None
    try:
        x = np.array(delimiter.join(body).split(delimiter), dtype=np.float64).reshape(len(body), width)
    except ValueError:
        return None
    if not np.isfinite(x).all():
        return None
    return (names or [str(j) for j in range(width)]), x


def _to_numbers(path, name, cells, lines):
    """Parse one column of strings; NaN marks missing cells."""
    text = np.char.strip(cells)
    missing = np.isin(np.char.lower(text), MISSING)
    values = np.full(len(text), np.nan)
    try:
        values[~missing] = text[~missing].astype(np.float64)
    except ValueError:
        for i in np.flatnonzero(~missing):
            try:
                float(text[i])
            except ValueError:
                raise AekitError(
                    f"{path}: column {name!r} is not numeric (line {lines[i]}: {str(text[i])[:40]!r}); "
                    f"choose numeric columns with columns= (--columns A,B on the command line)"
                ) from None
    bad = ~np.isfinite(values) & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AekitError(f"{path}: column {name!r} has an infinite value at line {lines[i]}")
    return values


def _read_parquet(path: Path, columns):
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise AekitError(f"{path}: reading Parquet needs pyarrow; install it with: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise AekitError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as e:
        raise FormatError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    names = [str(n) for n in table.column_names]
    if not names or table.num_rows == 0:
        raise AekitError(f"{path}: the table is empty")
    idx = _select(path, names, columns)
    cols = []
    for j in idx:
        col = table.column(j)
        t = col.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)):
            raise AekitError(
                f"{path}: column {names[j]!r} is not numeric ({t}); choose numeric columns with columns= "
                f"(--columns A,B on the command line)"
            )
        cols.append(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False))
    x = np.stack(cols, axis=1)
    lines = np.arange(1, len(x) + 1)  # Parquet has rows, not lines
    return [names[j] for j in idx], x, lines, "row"


def load_table(path, impute=None, header: bool = True, columns=None, delimiter=None) -> Table:
    """Load a numeric table from CSV/TSV (or Parquet, with pyarrow installed).

    Parameters
    ----------
    path : path-like
        ``.csv`` (``,``), ``.tsv``/``.tab`` (tab), or ``.parquet``/``.pq``.
    impute : {None, "mean", "median", "zero"}
        None refuses missing cells (empty, ``NA``, ``NaN``, ``null``, ``?``...) with an error; otherwise
        they are filled per column with that statistic of *this* table's non-missing values (load the
        training table with imputation and reuse ``fill_values`` for other tables if needed).
    header : bool
        First line holds column names (CSV only; Parquet always has names).
    columns : list of str or int, optional
        Columns to keep, by name or index; the others are not checked (e.g. a text label column).
    delimiter : str, optional
        CSV field separator (default from the extension).

    Returns
    -------
    Table
        ``x`` float32 (rows, columns), ``columns``, ``fill_values``; ``np.asarray(table)`` is ``x``.

    Raises
    ------
    aekit.errors.AekitError
        A non-numeric column (names the column, the line and the file), missing values without
        ``impute`` (names the column and how many rows), ragged lines, an empty file, Parquet without pyarrow.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write("a,b,name\\n1,2,x\\n3,,y\\n")
    >>> load_table(p, columns=["a", "b"], impute="mean").x.tolist()
    [[1.0, 2.0], [3.0, 2.0]]
    """
    if impute not in IMPUTE:
        raise AekitError(f"load_table: impute must be None, 'mean', 'median' or 'zero', got {impute!r}")
    path = Path(path).expanduser()
    if path.suffix.lower() in (".parquet", ".pq"):
        names, x, lines, unit = _read_parquet(path, columns)
    else:
        delimiter = delimiter or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
        text, unit = _read_text(path), "line"
        if (clean := _read_clean_csv(text, header, delimiter)) is not None:
            all_names, x_all = clean
            idx = _select(path, all_names, columns)
            names, x, lines = [all_names[j] for j in idx], np.ascontiguousarray(x_all[:, idx]), None
        else:
            all_names, cells, lines = _read_csv(path, text, header, delimiter)
            idx = _select(path, all_names, columns)
            names = [all_names[j] for j in idx]
            x = np.stack([_to_numbers(path, all_names[j], cells[:, j], lines) for j in idx], axis=1)
    missing = np.isnan(x)
    fill = {}
    if missing.any():
        cols = np.flatnonzero(missing.any(axis=0))
        if impute is None:
            j = int(cols[0])
            k = int(missing[:, j].sum())
            more = f" (and {len(cols) - 1} more columns with missing values)" if len(cols) > 1 else ""
            raise AekitError(
                f"{path}: column {names[j]!r} has {k} missing values in {len(x)} rows "
                f"(first at {unit} {lines[np.argmax(missing[:, j])]}){more}; "
                f"pass impute='mean', 'median' or 'zero' (--impute on the command line) to fill them"
            )
        for j in cols.tolist():
            present = x[~missing[:, j], j]
            if impute != "zero" and present.size == 0:
                raise AekitError(f"{path}: column {names[j]!r} has no values at all; cannot impute its {impute}")
            v = 0.0 if impute == "zero" else float(np.mean(present) if impute == "mean" else np.median(present))
            x[missing[:, j], j] = v
            fill[names[j]] = v
    return Table(x=x.astype(np.float32), columns=names, fill_values=fill)
