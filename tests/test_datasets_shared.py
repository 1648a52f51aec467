"""Optional checks on the real data sets in ../shared/data (or $AEKIT_SHARED_DATA); skipped when absent.

They check counts and formats only; decoding all 12,500 cats is the job of bench/datasets_load.py.
"""

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from aekit.datasets import (
    ImageStream,
    load_images,
    load_mnist,
    load_nab_windows,
    load_reuters,
    load_timeseries,
    nab_labels,
    sliding_windows,
)
from aekit.datasets import mnist as mnist_mod

pytestmark = pytest.mark.shared_data

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA") or Path(__file__).parents[1].parent / "shared" / "data")


def need(sub: str) -> Path:
    p = SHARED / sub
    if not p.exists():
        pytest.skip(f"shared data not found at {p} (set AEKIT_SHARED_DATA to the folder holding {sub}/)")
    return p


@pytest.fixture(autouse=True)
def offline_and_private_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist_mod, "_download", lambda *a, **k: pytest.fail("tests must not download"))
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))


def test_mnist_full():
    (x_tr, y_tr), (x_te, y_te) = load_mnist(need("mnist"))
    assert x_tr.shape == (60000, 28, 28) and x_te.shape == (10000, 28, 28) and x_tr.dtype == np.uint8
    assert np.bincount(y_tr).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_te).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_checksums_in_the_code_match_the_real_files():
    folder = need("mnist")
    for name, want in mnist_mod._SOURCES["digits"]["sha256_raw"].items():
        raw = gzip.decompress((folder / (name + ".gz")).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == want, name


def test_embedded_sample_is_the_official_test_set():
    from aekit.datasets import load_digits_sample

    x, y = load_digits_sample()
    _, (x_te, y_te) = load_mnist(need("mnist"))
    np.testing.assert_array_equal(x, x_te)
    np.testing.assert_array_equal(y, y_te)


def test_cats_subset(tmp_path):
    cats = need("cats/train")
    names = sorted(os.listdir(cats))
    assert len(names) == 12500
    sub = tmp_path / "cats200"
    sub.mkdir()
    for n in names[:200]:
        (sub / n).symlink_to(cats / n)
    s = load_images(sub, size=(48, 48))
    assert s.x.shape == (200, 48, 48, 3) and s.x.dtype == np.uint8 and s.skipped == []
    assert 40 < s.x.mean() < 200
    np.testing.assert_array_equal(load_images(sub, size=(48, 48)).x, s.x)  # from the cache
    stream = ImageStream(sub, size=(48, 48))
    first = next(stream.iter_batches(32))
    np.testing.assert_array_equal(first, s.x[:32])


def test_reuters_counts():
    docs = load_reuters(need("reuters21578"))
    assert len(docs) == 20000
    assert len({d.id for d in docs}) == 20000
    assert {d.lewissplit for d in docs} == {"TRAIN", "TEST", "NOT-USED"}
    assert sum(1 for d in docs if d.body) > 18000
    assert docs[0].title == "BAHIA COCOA REVIEW" and docs[0].topics == ["cocoa"]


def test_nab_series_and_labels():
    nab = need("nab")
    windows = load_nab_windows(nab)
    raw = json.loads((nab / "combined_windows.json").read_text())
    assert set(windows) == set(raw)
    rel = "artificialWithAnomaly/art_daily_jumpsup.csv"
    ts = load_timeseries(nab / rel)
    assert len(ts) == 4032 and ts.timestamps.dtype == np.dtype("datetime64[s]")
    lab = nab_labels(nab, rel, ts.timestamps)
    assert 0 < lab.sum() < len(lab)
    assert sliding_windows(ts, 288, stride=12).shape == ((4032 - 288) // 12 + 1, 288, 1)
    for key in list(windows)[:10]:
        if (nab / key).exists():
            assert len(load_timeseries(nab / key)) > 1000
