"""The bad files of issue 3, one test each: AekitError, one line, naming the file, no inner traceback."""

import gzip

import numpy as np
import pytest

from aekit.datasets import load_array, load_images, load_reuters, load_table, load_timeseries, read_idx, sliding_windows
from aekit.errors import AekitError


def check(exc_info, path, *words):
    e = exc_info.value
    msg = str(e)
    assert isinstance(e, AekitError) and isinstance(e, ValueError)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, msg
    # never a chained traceback from deep inside numpy / PIL / gzip
    assert e.__cause__ is None and (e.__context__ is None or e.__suppress_context__)


def test_truncated_idx(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + (60000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    p.write_bytes(gzip.compress(header + bytes(5000)))
    with pytest.raises(AekitError) as e:
        read_idx(p)
    check(e, p, "truncated")


def test_idx_wrong_magic(tmp_path):
    p = tmp_path / "labels.idx"
    p.write_bytes(b"\x00\x01\x08\x01" + bytes(12))
    with pytest.raises(AekitError) as e:
        read_idx(p)
    check(e, p, "magic number")


def test_empty_image_folder(tmp_path):
    with pytest.raises(AekitError) as e:
        load_images(tmp_path, size=8, cache=False)
    check(e, tmp_path, "empty")


def test_folder_of_only_non_images(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"this is not a jpeg")
    (tmp_path / "b.txt").write_text("nor this")
    with pytest.raises(AekitError) as e:
        load_images(tmp_path, size=8, cache=False)
    check(e, tmp_path, "none of the 2 files is a readable image")


def test_csv_non_numeric_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x,colour\n1,red\n")
    with pytest.raises(AekitError) as e:
        load_table(p)
    check(e, p, "'colour'", "not numeric")


def test_csv_with_nans(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x,y\n1,2\nnan,3\n4,\n")
    with pytest.raises(AekitError) as e:
        load_table(p)
    check(e, p, "'x'", "1 missing values in 3 rows", "impute=")


def test_npz_without_the_key(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, images=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(AekitError) as e:
        load_array(p, key="x")
    check(e, p, "'x'", "images, labels")


def test_series_shorter_than_one_window(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,2\n")
    with pytest.raises(AekitError) as e:
        sliding_windows(load_timeseries(p), length=3)
    check(e, p, "2 points", "length 3")


def test_sgml_without_documents(tmp_path):
    p = tmp_path / "reut2-000.sgm"
    p.write_text('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n<NOTREUTERS></NOTREUTERS>\n')
    with pytest.raises(AekitError) as e:
        load_reuters(tmp_path)
    check(e, p, "no <REUTERS> documents")
