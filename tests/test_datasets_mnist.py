"""IDX reading, MNIST / Fashion-MNIST loading (never on the network) and the embedded digits."""

import gzip
import hashlib

import numpy as np
import pytest

from aekit.datasets import load_digits_sample, load_mnist, read_idx
from aekit.datasets import mnist as mnist_mod
from aekit.errors import AekitError, FormatError

NAMES = mnist_mod._NAMES


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype("uint8"): 0x08, np.dtype("int16"): 0x0B, np.dtype("float32"): 0x0D}[arr.dtype]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def fake_mnist(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    ]
    return {name: idx_bytes(a) for name, a in zip(NAMES, arrays)}, arrays


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    calls = []

    def offline(url, timeout=60.0):
        calls.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(mnist_mod, "_download", offline)
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    return calls


# --- read_idx -------------------------------------------------------------------------------------------


def test_read_idx_plain_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    for name in ("a", "a.gz"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, a)
        out[0, 0, 0] = 99  # writable


def test_read_idx_other_dtypes_are_native_endian(tmp_path):
    for a in (np.array([-3, 300], dtype=np.int16), np.array([[1.5, -2.25]], dtype=np.float32)):
        (tmp_path / "f").write_bytes(idx_bytes(a))
        out = read_idx(tmp_path / "f")
        assert out.dtype.isnative
        np.testing.assert_array_equal(out, a)


def test_read_idx_truncated(tmp_path):
    blob = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))
    (tmp_path / "t").write_bytes(blob[:-100])
    with pytest.raises(FormatError, match=r"t: truncated IDX file") as e:
        read_idx(tmp_path / "t")
    assert "\n" not in str(e.value) and str(tmp_path / "t") in str(e.value)
    assert e.value.__suppress_context__ or e.value.__context__ is None


def test_read_idx_truncated_header_and_gzip(tmp_path):
    blob = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))
    (tmp_path / "h").write_bytes(blob[:9])
    with pytest.raises(FormatError, match="truncated"):
        read_idx(tmp_path / "h")
    (tmp_path / "g.gz").write_bytes(gzip.compress(blob)[:-30])
    with pytest.raises(FormatError, match=r"g\.gz: truncated or corrupt gzip"):
        read_idx(tmp_path / "g.gz")


def test_read_idx_wrong_magic(tmp_path):
    (tmp_path / "m").write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(FormatError, match=r"m: not an IDX file \(magic number 305419896"):
        read_idx(tmp_path / "m")


def test_read_idx_trailing_bytes_and_missing_file(tmp_path):
    (tmp_path / "x").write_bytes(idx_bytes(np.zeros(4, dtype=np.uint8)) + b"junk")
    with pytest.raises(FormatError, match="unexpected bytes"):
        read_idx(tmp_path / "x")
    with pytest.raises(AekitError, match="no such file"):
        read_idx(tmp_path / "nope")


# --- load_mnist -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_folder(tmp_path, no_network, compress):
    blobs, arrays = fake_mnist()
    for name, blob in blobs.items():
        if compress:
            (tmp_path / (name + ".gz")).write_bytes(gzip.compress(blob))
        else:
            (tmp_path / name).write_bytes(blob)
    (x_tr, y_tr), (x_te, y_te) = load_mnist(tmp_path)
    for got, want in zip((x_tr, y_tr, x_te, y_te), arrays):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8
    assert no_network == []


def test_load_mnist_offline_one_clear_message(tmp_path, no_network):
    with pytest.raises(AekitError) as e:
        load_mnist()
    msg = str(e.value)
    assert "\n" not in msg
    assert str(tmp_path / "cache" / "mnist") in msg  # says where to put the files
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert no_network  # it did try (through the patched downloader), every mirror failed
    with pytest.raises(AekitError, match="Fashion-MNIST: files missing in .*fashion-mnist"):
        load_mnist(kind="fashion")


def test_load_mnist_downloads_verifies_and_caches(tmp_path, monkeypatch):
    blobs, arrays = fake_mnist()
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path))
    src = dict(mnist_mod._SOURCES["digits"], sha256_raw={n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()})
    monkeypatch.setitem(mnist_mod._SOURCES, "digits", src)
    served = []

    def fake_download(url, timeout=60.0):
        served.append(url)
        return gzip.compress(blobs[url.rsplit("/", 1)[1][:-3]])

    monkeypatch.setattr(mnist_mod, "_download", fake_download)
    (x_tr, y_tr), _ = load_mnist()
    np.testing.assert_array_equal(x_tr, arrays[0])
    assert len(served) == 4
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(n + ".gz" for n in NAMES)
    load_mnist()  # second call: from the cache, no download
    assert len(served) == 4


def test_load_mnist_rejects_bad_checksum(tmp_path, monkeypatch):
    blobs, _ = fake_mnist()
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path))
    monkeypatch.setattr(mnist_mod, "_download", lambda url, timeout=60.0: gzip.compress(blobs[NAMES[0]]))
    with pytest.raises(AekitError, match="checksum mismatch"):
        load_mnist()
    assert not list(tmp_path.rglob("*.gz"))  # nothing unverified was saved


def test_load_mnist_fashion_checks_md5_of_gz(tmp_path, monkeypatch):
    blobs, _ = fake_mnist()
    gz = {n: gzip.compress(b) for n, b in blobs.items()}
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path))
    src = dict(mnist_mod._SOURCES["fashion"], md5_gz={n: hashlib.md5(b).hexdigest() for n, b in gz.items()})
    monkeypatch.setitem(mnist_mod._SOURCES, "fashion", src)
    monkeypatch.setattr(mnist_mod, "_download", lambda url, timeout=60.0: gz[url.rsplit("/", 1)[1][:-3]])
    (x, _), _ = load_mnist(kind="fashion")
    assert x.shape == (12, 28, 28) and (tmp_path / "fashion-mnist").is_dir()


def test_load_mnist_images_and_labels_swapped(tmp_path, no_network):
    blobs, _ = fake_mnist()
    blobs["train-images-idx3-ubyte"], blobs["train-labels-idx1-ubyte"] = (
        blobs["train-labels-idx1-ubyte"],
        blobs["train-images-idx3-ubyte"],
    )
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(FormatError, match="train-images-idx3-ubyte: expected uint8 images"):
        load_mnist(tmp_path)


def test_load_mnist_unknown_kind():
    with pytest.raises(AekitError, match="unknown kind 'kmnist'"):
        load_mnist(kind="kmnist")


# --- embedded sample ------------------------------------------------------------------------------------


def test_digits_sample():
    x, y = load_digits_sample()
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(y[0]) == 7 and x.max() == 255


def test_digits_sample_split_is_seeded_and_disjoint():
    (xa, ya), (xb, yb) = load_digits_sample(split=True)
    (xa2, _), _ = load_digits_sample(split=True)
    assert len(xa) == 8000 and len(xb) == 2000 and len(ya) == 8000 and len(yb) == 2000
    np.testing.assert_array_equal(xa, xa2)
    assert len(set(np.unique(yb))) == 10
