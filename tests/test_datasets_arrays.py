"""load_array (.npy/.npz, memory maps, no pickles) and load_table (CSV/TSV/Parquet, missing values)."""

import sys

import numpy as np
import pytest

from aekit.datasets import Table, load_array, load_table
from aekit.datasets import arrays as arrays_mod
from aekit.errors import AekitError


def one_clean_line(exc) -> bool:
    """One line, and no chained traceback from numpy/PIL internals shown under it."""
    return "\n" not in str(exc) and exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


# --- load_array -----------------------------------------------------------------------------------------


def test_npy_plain_and_mmap(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "a.npy", a)
    out = load_array(tmp_path / "a.npy")
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, a)
    m = load_array(tmp_path / "a.npy", mmap=True)
    assert isinstance(m, np.memmap) and not m.flags.writeable
    np.testing.assert_array_equal(m, a)


def test_npy_maps_automatically_when_larger_than_ram(tmp_path, monkeypatch):
    np.save(tmp_path / "a.npy", np.zeros((100, 10)))
    monkeypatch.setattr(arrays_mod, "available_memory", lambda: 1000)
    assert isinstance(load_array(tmp_path / "a.npy"), np.memmap)
    assert not isinstance(load_array(tmp_path / "a.npy", mmap=False), np.memmap)


def test_npz_keys(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((3, 2)), y=np.arange(3))
    np.testing.assert_array_equal(load_array(tmp_path / "d.npz", key="y"), np.arange(3))
    with pytest.raises(AekitError, match=r"d.npz: no array named 'z'; available: x, y") as e:
        load_array(tmp_path / "d.npz", key="z")
    assert one_clean_line(e.value)
    with pytest.raises(AekitError, match=r"holds several arrays \(x, y\); pass key="):
        load_array(tmp_path / "d.npz")
    np.savez_compressed(tmp_path / "one.npz", only=np.eye(2))
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), np.eye(2))


def test_npz_member_memory_map(tmp_path):
    a = np.arange(20, dtype=np.int16).reshape(5, 4)
    np.savez(tmp_path / "s.npz", a=a, b=np.zeros(3))
    m = load_array(tmp_path / "s.npz", key="a", mmap=True)
    assert isinstance(m, np.memmap)
    np.testing.assert_array_equal(m, a)
    np.savez_compressed(tmp_path / "c.npz", a=a)  # compressed members cannot be mapped: read whole
    np.testing.assert_array_equal(load_array(tmp_path / "c.npz", mmap=True), a)


def test_never_unpickles(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(AekitError, match=r"o.npy: holds Python objects"):
        load_array(tmp_path / "o.npy")
    np.savez(tmp_path / "o.npz", obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(AekitError, match=r"holds Python objects"):
        load_array(tmp_path / "o.npz", key="obj")


def test_truncated_and_bogus_files(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((100, 10)))
    blob = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(blob[:-80])
    with pytest.raises(AekitError, match=r"t.npy: truncated"):
        load_array(tmp_path / "t.npy")
    (tmp_path / "b.npy").write_text("hello")
    with pytest.raises(AekitError, match=r"b.npy: not a valid NumPy file"):
        load_array(tmp_path / "b.npy")
    (tmp_path / "b.npz").write_text("hello")
    with pytest.raises(AekitError, match=r"b.npz: not a valid .npz file"):
        load_array(tmp_path / "b.npz")
    with pytest.raises(AekitError, match="expected .npy or .npz"):
        load_array(tmp_path / "x.csv")
    with pytest.raises(AekitError, match="no such file"):
        load_array(tmp_path / "missing.npy")


# --- load_table -----------------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text)
    return path


def test_csv_basic(tmp_path):
    t = load_table(write(tmp_path / "t.csv", "a,b\n1,2.5\n3,-4e2\n"))
    assert isinstance(t, Table) and t.columns == ["a", "b"] and t.fill_values == {}
    assert t.x.dtype == np.float32 and t.x.tolist() == [[1.0, 2.5], [3.0, -400.0]]
    assert np.asarray(t) is t.x


def test_csv_no_header_columns_and_tsv(tmp_path):
    t = load_table(write(tmp_path / "n.csv", "1,2,3\n4,5,6\n"), header=False, columns=[2, 0])
    assert t.columns == ["2", "0"] and t.x.tolist() == [[3, 1], [6, 4]]
    t = load_table(write(tmp_path / "t.tsv", "p\tq\n1\t2\n"), columns="q")
    assert t.x.tolist() == [[2.0]]
    with pytest.raises(AekitError, match=r"no column 'zz'; available: p, q"):
        load_table(tmp_path / "t.tsv", columns=["zz"])


@pytest.mark.parametrize(
    "text, kw, clean",
    [
        ("a,b,c\n1,2,3\n4.5,-6e2, 7\n", {}, True),
        ("a,b,c\r\n1,2,3\r\n\r\n4,5,6\r\n", {"columns": ["c", "a"]}, True),  # CRLF, a blank line, reordered
        ("1\t2\n3\t4\n", {"header": False, "delimiter": "\t", "columns": [1]}, True),
        ("a,b\n1,2\n3\n", {}, False),  # ragged: the careful path's error
        ('a,b\n"1",2\n', {}, False),  # quoted: the careful path
        ("a,b\n1,NA\n3,4\n", {"impute": "mean"}, False),  # missing: the careful path
        ("a,b\n1,inf\n", {}, False),  # infinite: the careful path's error
    ],
)
def test_clean_csv_fast_path_reads_as_the_careful_path(tmp_path, monkeypatch, text, kw, clean):
    import aekit.datasets.tables as tables

    p = tmp_path / "t.csv"
    p.write_bytes(text.encode())
    text = tables._read_text(p)
    assert (tables._read_clean_csv(text, kw.get("header", True), kw.get("delimiter", ",")) is not None) == clean

    def read():
        try:
            t = load_table(p, **kw)
            return t.columns, t.x.tolist(), t.fill_values
        except AekitError as e:
            return str(e)

    fast = read()
    monkeypatch.setattr(tables, "_read_clean_csv", lambda *a: None)  # the per-cell path only
    assert fast == read()


def test_csv_non_numeric_column(tmp_path):
    p = write(tmp_path / "species.csv", "len,kind,width\n1.0,setosa,2\n2.0,virginica,3\n")
    with pytest.raises(AekitError) as e:
        load_table(p)
    msg = str(e.value)
    assert "species.csv" in msg and "column 'kind' is not numeric" in msg and "line 2" in msg
    assert one_clean_line(e.value)
    assert load_table(p, columns=["len", "width"]).x.shape == (2, 2)  # unselected text column is fine


def test_csv_missing_values_refused(tmp_path):
    p = write(tmp_path / "gaps.csv", "a,b\n1,2\n,4\nNaN,6\n7,NA\n")
    with pytest.raises(AekitError) as e:
        load_table(p)
    msg = str(e.value)
    assert "gaps.csv" in msg and "column 'a' has 2 missing values in 4 rows" in msg
    assert "first at line 3" in msg and "1 more columns" in msg and "impute=" in msg


@pytest.mark.parametrize("how,a_fill,b_fill", [("mean", 4.0, 4.0), ("median", 4.0, 4.0), ("zero", 0.0, 0.0)])
def test_csv_imputation_uses_this_table(tmp_path, how, a_fill, b_fill):
    p = write(tmp_path / "gaps.csv", "a,b\n1,2\n,4\nnan,6\n7,\n")
    t = load_table(p, impute=how)
    assert not np.isnan(t.x).any()
    assert t.x[1, 0] == a_fill and t.x[3, 1] == b_fill
    assert t.fill_values == {"a": a_fill, "b": b_fill}
    p2 = write(tmp_path / "skew.csv", "a\n1\n2\n9\n\n?\n")
    assert load_table(p2, impute="median").x[-1, 0] == 2.0


def test_csv_errors(tmp_path):
    with pytest.raises(AekitError, match=r"ragged.csv: line 3 has 3 fields, expected 2"):
        load_table(write(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5\n"))
    with pytest.raises(AekitError, match="empty.csv: the file is empty"):
        load_table(write(tmp_path / "empty.csv", ""))
    with pytest.raises(AekitError, match="no data rows"):
        load_table(write(tmp_path / "head.csv", "a,b\n"))
    with pytest.raises(AekitError, match="infinite value"):
        load_table(write(tmp_path / "inf.csv", "a\ninf\n"))
    with pytest.raises(AekitError, match="no values at all"):
        load_table(write(tmp_path / "void.csv", "a,b\n,1\n,2\n"), impute="mean")
    with pytest.raises(AekitError, match="impute must be"):
        load_table(tmp_path / "inf.csv", impute="mode")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AekitError, match="not a UTF-8 text file"):
        load_table(tmp_path / "bin.csv")
    with pytest.raises(AekitError, match="no such file"):
        load_table(tmp_path / "nope.csv")


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(
        AekitError, match=r"t.parquet: reading Parquet needs pyarrow; install it with: pip install pyarrow"
    ):
        load_table(tmp_path / "t.parquet")


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"a": [1, 2, None], "b": [0.5, 1.5, 2.5], "s": ["x", "y", "z"]})
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(AekitError, match=r"column 's' is not numeric"):
        load_table(tmp_path / "t.parquet")
    with pytest.raises(AekitError, match=r"column 'a' has 1 missing values in 3 rows \(first at row 3\)"):
        load_table(tmp_path / "t.parquet", columns=["a", "b"])
    t = load_table(tmp_path / "t.parquet", columns=["a", "b"], impute="mean")
    assert t.x.tolist() == [[1.0, 0.5], [2.0, 1.5], [1.5, 2.5]]
