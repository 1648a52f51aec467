"""User mistakes get one clear AekitError; bad files are refused, never unpickled."""

import re
import struct

import numpy as np
import pytest

import aekit
from aekit import AekitError, FormatError


def test_unknown_family():
    with pytest.raises(AekitError, match="unknown family 'nope'.*dense"):
        aekit.build("nope", input_shape=(4,))


def test_unknown_option_lists_valid_ones():
    with pytest.raises(AekitError, match="unknown option 'latent'.*latent_dim"):
        aekit.build("dense", input_shape=(4,), latent=3)
    with pytest.raises(AekitError, match="unknown option 'epoch'"):
        aekit.build("dense", input_shape=(4,)).fit(np.zeros((4, 4)), epoch=3)


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"activation": "swishy"}, "activation"),
        ({"corruption": "gaussian:-1"}, "amount"),
        ({"sparsity": "kx"}, "kind"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_option_values(kw, msg):
    with pytest.raises(AekitError, match=msg):
        aekit.build("dense", input_shape=(4,), **kw)


def test_wrong_input_shape_names_expected_layouts():
    ae = aekit.build("conv", input_shape=(1, 28, 28))
    with pytest.raises(AekitError, match=r"does not fit.*\(N, 1, 28, 28\) or \(N, 28, 28, 1\) or \(N, 28, 28\)"):
        ae.encode(np.zeros((2, 27, 28)))
    with pytest.raises(AekitError, match="batch of samples"):
        ae.encode(np.zeros(784))
    with pytest.raises(AekitError, match="NaN"):
        aekit.build("dense", input_shape=(3,)).fit(np.array([[0, np.nan, 1.0]] * 4), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "x, given",
    [
        (iter([np.zeros((3, 6))]), "list_iterator"),
        ({"x": 1}, "dict"),
        (None, "NoneType"),
        ("rows.npy", "str (a path: read it first"),
    ],
)
def test_fit_on_something_that_is_not_samples_names_what_it_got(x, given):
    # these became a 0-d array and the error spoke of "an array of shape ()", which the user never made
    ae = aekit.build("dense", input_shape=(6,), seed=0)
    with pytest.raises(AekitError, match=r"x: expected samples \(N, \.\.\.\).*got a " + re.escape(given)):
        ae.fit(x, epochs=1, verbose=0)
    with pytest.raises(AekitError, match=r"got an array of shape \(6,\)"):  # one sample without its batch axis
        ae.encode(np.zeros(6))


def test_sample_needs_variational():
    with pytest.raises(AekitError, match="variational"):
        aekit.build("dense", input_shape=(4,)).sample(3)


def test_load_refuses_foreign_truncated_and_future_files(tmp_path):
    foreign = tmp_path / "x.pkl"
    foreign.write_bytes(b"\x80\x04\x95 definitely a pickle")
    with pytest.raises(FormatError, match="not an aekit model file"):
        aekit.load(foreign)
    with pytest.raises(FileNotFoundError, match="no such file") as err:  # an AekitError too (exit 2)
        aekit.load(tmp_path / "missing.aekit")
    assert isinstance(err.value, AekitError)
    good = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2).save(tmp_path / "m.aekit")
    data = good.read_bytes()
    (tmp_path / "cut.aekit").write_bytes(data[:-10])
    with pytest.raises(FormatError, match="truncated"):
        aekit.load(tmp_path / "cut.aekit")
    (tmp_path / "cut2.aekit").write_bytes(data[:30])
    with pytest.raises(FormatError, match="truncated|corrupt"):
        aekit.load(tmp_path / "cut2.aekit")
    future = bytearray(data)
    future[8:12] = struct.pack("<I", 99)
    (tmp_path / "v99.aekit").write_bytes(bytes(future))
    with pytest.raises(FormatError, match="version 99 is not supported"):
        aekit.load(tmp_path / "v99.aekit")
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    (tmp_path / "flip.aekit").write_bytes(bytes(flipped))
    with pytest.raises(FormatError, match="checksum"):
        aekit.load(tmp_path / "flip.aekit")


def test_save_is_atomic(tmp_path, monkeypatch):
    ae = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2)
    path = ae.save(tmp_path / "m.aekit")
    before = path.read_bytes()
    import aekit.core.container as io

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "fsync", boom)
    with pytest.raises(OSError):
        ae.save(path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["m.aekit"]  # no temporary left behind


def test_resume_needs_checkpoint():
    with pytest.raises(AekitError, match="resume=True needs checkpoint"):
        aekit.build("dense", input_shape=(4,)).fit(np.zeros((4, 4)), resume=True)


def test_saved_files_get_normal_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2).save(tmp_path / "m.aekit")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("split", [None, 0.25])
def test_fit_refuses_non_finite_values_in_the_training_or_the_held_out_part(bad, split):
    # fit scans the values once (the range decides the loss): NaN in either part of the split is refused
    x = np.random.default_rng(0).random((40, 4)).astype(np.float32)
    for row in (0, 39):  # 39 falls in the validation part when split=0.25
        xb = x.copy()
        xb[row, 2] = bad
        ae = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
        with pytest.raises(AekitError, match="x: the array contains NaN or infinite values"):
            ae.fit(xb, epochs=1, verbose=0, validation_split=split)


def test_finite_range_of_read_only_and_strided_arrays_warns_nothing():
    import warnings

    from aekit.core.arrays import finite_range

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    ro = x.copy()
    ro.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on a view of a read-only array
        assert finite_range(ro) == (0.0, 11.0)
        assert finite_range(x[::-1]) == (0.0, 11.0)  # negative strides: numpy's path
        assert finite_range(x.astype(np.float64).T) == (0.0, 11.0)
        assert finite_range(np.zeros((0, 4), np.float32)) == (0.0, 0.0)
