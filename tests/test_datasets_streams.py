"""Streams (the contract with the training loop), bounded memory, and train/test splits."""

import warnings

import numpy as np
import pytest
from PIL import Image

from aekit.datasets import ArrayStream, ImageStream, fit_scaler, train_test_split
from aekit.datasets.preprocessing import Scaler
from aekit.errors import AekitError


def check_contract(stream, batch_size):
    """len, sample_shape and iter_batches as the core relies on them."""
    n = len(stream)
    batches = list(stream.iter_batches(batch_size))
    assert sum(len(b) for b in batches) == n
    for b in batches:
        assert isinstance(b, np.ndarray) and b.shape[1:] == tuple(stream.sample_shape)
        assert b.dtype in (np.uint8, np.float32) and 0 < len(b) <= batch_size
    return np.concatenate(batches)


# --- ArrayStream ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["npy", "npz", "npz_compressed", "array", "memmap"])
def test_array_stream_sources(tmp_path, kind):
    a = np.arange(70 * 3, dtype=np.float64).reshape(70, 3)
    if kind == "npy":
        np.save(tmp_path / "a.npy", a)
        s = ArrayStream(tmp_path / "a.npy")
    elif kind == "npz":
        np.savez(tmp_path / "a.npz", x=a, other=np.zeros(2))
        s = ArrayStream(tmp_path / "a.npz", key="x")
    elif kind == "npz_compressed":
        np.savez_compressed(tmp_path / "a.npz", x=a)
        with pytest.warns(UserWarning, match="cannot be streamed"):
            s = ArrayStream(tmp_path / "a.npz")
    elif kind == "array":
        s = ArrayStream(a)
    else:
        np.save(tmp_path / "a.npy", a)
        s = ArrayStream(np.load(tmp_path / "a.npy", mmap_mode="r"))
    assert len(s) == 70 and s.sample_shape == (3,)
    out = check_contract(s, 16)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, a.astype(np.float32))
    shuffled = np.concatenate(list(s.iter_batches(16, shuffle=True, seed=5)))
    np.testing.assert_array_equal(shuffled, a[np.random.default_rng(5).permutation(70)].astype(np.float32))


def test_array_stream_shuffle_is_a_seeded_permutation(tmp_path):
    a = np.arange(50, dtype=np.uint8).repeat(4).reshape(50, 2, 2)
    np.save(tmp_path / "u.npy", a)
    s = ArrayStream(tmp_path / "u.npy")
    assert s.sample_shape == (2, 2)
    first = np.concatenate(list(s.iter_batches(7, shuffle=True, seed=3)))
    again = np.concatenate(list(s.iter_batches(7, shuffle=True, seed=3)))
    other = np.concatenate(list(s.iter_batches(7, shuffle=True, seed=4)))
    assert first.dtype == np.uint8  # uint8 stays uint8: the core scales it
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert sorted(first[:, 0, 0].tolist()) == list(range(50))  # each row exactly once
    assert not np.array_equal(first[:, 0, 0], np.arange(50))
    expect = a[np.random.default_rng(3).permutation(50)]  # the documented order
    np.testing.assert_array_equal(first, expect)


def test_array_stream_fortran_and_errors(tmp_path):
    a = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3))
    np.save(tmp_path / "f.npy", a)
    np.testing.assert_array_equal(np.concatenate(list(ArrayStream(tmp_path / "f.npy").iter_batches(3))), a)
    np.save(tmp_path / "v.npy", np.arange(5))
    with pytest.raises(AekitError, match=r"v.npy: expected samples x features"):
        ArrayStream(tmp_path / "v.npy")
    np.savez(tmp_path / "k.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    with pytest.raises(AekitError, match=r"k.npz: no array named 'c'; available: a, b"):
        ArrayStream(tmp_path / "k.npz", key="c")
    with pytest.raises(AekitError, match="no such file"):
        ArrayStream(tmp_path / "none.npy")
    with pytest.raises(AekitError, match="batch_size must be >= 1"):
        next(ArrayStream(np.ones((3, 2))).iter_batches(0))


# --- ImageStream ----------------------------------------------------------------------------------------


def make_pictures(root, n, size=(8, 8), seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / f"{i:04d}.png")
    return root


def test_image_stream_matches_load_images(tmp_path, monkeypatch):
    from aekit.datasets import load_images

    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    root = make_pictures(tmp_path / "p", 23, size=(10, 14))
    s = ImageStream(root, size=(6, 6), color="gray")
    assert len(s) == 23 and s.sample_shape == (6, 6, 1)
    out = check_contract(s, 5)
    np.testing.assert_array_equal(out, load_images(root, size=(6, 6), color="gray").x)
    shuffled = np.concatenate(list(s.iter_batches(5, shuffle=True, seed=0)))
    np.testing.assert_array_equal(shuffled, out[np.random.default_rng(0).permutation(23)])


def test_image_stream_labels_and_bad_files(tmp_path):
    make_pictures(tmp_path / "p" / "a", 3)
    make_pictures(tmp_path / "p" / "b", 2, seed=1)
    (tmp_path / "p" / "b" / "readme.txt").write_text("hi")
    with pytest.warns(UserWarning, match=r"skipped 1 of 6 files"):
        s = ImageStream(tmp_path / "p", size=4)
    assert len(s) == 5 and s.class_names == ["a", "b"] and s.y.tolist() == [0, 0, 0, 1, 1]
    with pytest.raises(AekitError, match=r"readme.txt: not a readable image"):
        ImageStream(tmp_path / "p", size=4, strict=True)


def test_image_stream_damaged_file_found_while_streaming(tmp_path):
    root = make_pictures(tmp_path / "p", 6)
    blob = (root / "0002.png").read_bytes()
    (root / "0002.png").write_bytes(blob[:60])  # header fine, pixels missing
    s = ImageStream(root, size=4, workers=1)
    assert len(s) == 6
    with pytest.warns(UserWarning, match=r"0002.png: not a readable image"):
        out = np.concatenate(list(s.iter_batches(4)))
    assert len(out) == 5 and len(s) == 5
    with pytest.raises(AekitError, match="0002.png"):
        list(ImageStream(root, size=4, strict=True).iter_batches(4))


def test_image_stream_errors(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(AekitError, match="the folder is empty"):
        ImageStream(tmp_path / "e", size=4)
    (tmp_path / "e" / "a.txt").write_text("x")
    with pytest.raises(AekitError, match="none of the 1 files is a readable image"):
        ImageStream(tmp_path / "e", size=4)


def test_image_stream_stopping_early_is_clean(tmp_path, monkeypatch):
    import threading

    import aekit.datasets.streams as streams

    decoded = []
    real = streams.try_decode
    monkeypatch.setattr(streams, "try_decode", lambda path, *a: decoded.append(path) or real(path, *a))
    s = ImageStream(make_pictures(tmp_path / "p", 30), size=4, workers=2)
    threads = threading.active_count()
    it = s.iter_batches(2)
    assert next(it).shape == (2, 4, 4, 3)
    it.close()  # the consumer breaks out of its loop: pending decodes are cancelled, the workers joined
    assert threading.active_count() == threads
    seen = len(decoded)
    assert seen <= 2 * (2 + 2)  # at most the batches already in flight (workers + 1, plus one being read)
    assert len(decoded) == seen < 30  # nothing decodes after close()


# --- splits ---------------------------------------------------------------------------------------------


def test_train_test_split():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, seed=0)
    assert len(x_tr) == 7 and len(x_te) == 3
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)  # rows stay paired
    assert sorted(np.r_[y_tr, y_te].tolist()) == list(range(10))
    again = train_test_split(x, y, test_size=0.3, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    assert train_test_split(y, test_size=4, shuffle=False)[1].tolist() == [6, 7, 8, 9]
    assert len(train_test_split([1, 2, 3, 4], test_size=1, seed=np.random.default_rng(1))[1]) == 1


def test_train_test_split_errors():
    with pytest.raises(AekitError, match="different lengths"):
        train_test_split(np.ones(3), np.ones(4))
    with pytest.raises(AekitError, match=r"test_size=1.5"):
        train_test_split(np.ones(4), test_size=1.5)
    with pytest.raises(AekitError, match=r"test_size=4 must be between 1 and 3"):
        train_test_split(np.ones(4), test_size=4)
    with pytest.raises(AekitError, match="leaves an empty part"):
        train_test_split(np.ones(2), test_size=0.1)
    with pytest.raises(AekitError, match="at least one array"):
        train_test_split()


def test_fit_scaler_sees_only_training_data():
    x = np.r_[np.zeros((8, 2)), np.full((2, 2), 50.0)]
    x_tr, x_te = train_test_split(x, test_size=2, shuffle=False)
    s = fit_scaler(x_tr, "minmax")
    assert isinstance(s, Scaler) and s.kind == "minmax"
    assert s.offset_.tolist() == [0.0, 0.0]  # the 50s of the test part are not in the statistics
    assert s.transform(x_te).max() == 50.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AekitError, match="x_train is empty"):
            fit_scaler(np.zeros((0, 2)))


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_streamed_scaler_shares_statistics_over_time_steps_like_fit(kind):
    # windows (N, steps, channels) of a series: one statistic per channel whether read at once or in chunks
    w = np.random.default_rng(0).normal([0.0, 5.0], [1.0, 3.0], size=(37, 16, 2))
    whole = Scaler(kind).fit(w, shared=(0,))
    chunks = Scaler(kind).fit_batches([w[:10], w[10:11], w[11:]], shared=(0,))
    assert whole.offset_.shape == chunks.offset_.shape == (1, 2)
    np.testing.assert_allclose(chunks.offset_, whole.offset_, rtol=1e-5)
    np.testing.assert_allclose(chunks.scale_, whole.scale_, rtol=1e-5)
    per_step = Scaler(kind).fit_batches([w[:10], w[10:]])
    assert per_step.offset_.shape == (16, 2)  # without shared: a statistic per step, as before
