"""Model files written by aekit before the layered layout (main at 3302a52) still load and give the same outputs.

The files in ``tests/data`` were written once by that version, with the outputs it gave on fixed inputs
(``legacy_outputs.npz``): a dense table model with a fitted anomaly threshold and a convolutional picture model.
"""

from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit.apps.anomaly import detect

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA / "legacy_outputs.npz") as f:
        return dict(f)


def test_legacy_table_model_gives_the_same_outputs(expected):
    ae = aekit.load(DATA / "legacy_dense.aekit")
    x = expected["table_x"]
    np.testing.assert_allclose(ae.encode(x), expected["table_z"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ae.reconstruct(x), expected["table_xhat"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ae.reconstruction_error(x), expected["table_err"], rtol=1e-5, atol=1e-7)
    res = detect(ae, x)
    np.testing.assert_allclose(res.scores, expected["table_scores"], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(res.labels, expected["table_labels"])


def test_legacy_picture_model_gives_the_same_outputs(expected):
    ae = aekit.load(DATA / "legacy_conv.aekit")
    x = expected["img_x"]
    np.testing.assert_allclose(ae.encode(x), expected["img_z"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ae.reconstruct(x), expected["img_xhat"], rtol=1e-5, atol=1e-6)
