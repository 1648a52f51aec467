"""MNIST and Fashion-MNIST from the official IDX files, plus the 10,000 digits shipped inside aekit.

Provenance and licence of the embedded sample (``aekit/datasets/data/``): the files are the official
MNIST test set ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (gzip-compressed), by
Y. LeCun, C. Cortes and C. J. C. Burges, distributed under the Creative Commons Attribution-Share Alike
3.0 licence (CC BY-SA 3.0). See ``data/README.txt``.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.request
import zlib
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np

from aekit.core.container import atomic_write
from aekit.datasets._cache import cache_dir
from aekit.datasets.idx import read_idx, read_idx_bytes
from aekit.datasets.splits import train_test_split
from aekit.errors import AekitError, FormatError

_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

_SOURCES: dict[str, dict[str, Any]] = {
    "digits": {
        "folder": "mnist",
        "title": "MNIST",
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        # sha256 of the *uncompressed* files: mirrors re-compress, so the .gz bytes differ between them.
        "sha256_raw": {
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    },
    "fashion": {
        "folder": "fashion-mnist",
        "title": "Fashion-MNIST",
        "mirrors": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        # We know no published sha256 of the uncompressed Fashion-MNIST files, so the download is checked
        # against the MD5 of the .gz files published in Zalando's README (the same list torchvision uses;
        # both mirrors serve those exact bytes), and then the IDX structure is checked as for any file.
        "md5_gz": {
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
}

#: Class names of Fashion-MNIST labels 0..9.
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _download(url: str, timeout: float = 60.0) -> bytes:
    """Fetch one URL. Module-level so tests can replace it (tests never touch the network)."""
    req = urllib.request.Request(url, headers={"User-Agent": "aekit"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _verify(src: dict, name: str, blob: bytes, url: str) -> None:
    """Raise FormatError unless a downloaded .gz blob has the published checksum."""
    if "md5_gz" in src:
        got = hashlib.md5(blob, usedforsecurity=False).hexdigest()
        want = src["md5_gz"][name]
    else:
        try:
            raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        except (EOFError, OSError, zlib.error) as e:
            raise FormatError(f"{url}: corrupt gzip data ({e})") from None
        got, want = hashlib.sha256(raw).hexdigest(), src["sha256_raw"][name]
    if got != want:
        raise FormatError(f"{url}: checksum mismatch (got {got}, expected {want}); file not saved")


def _fetch_missing(src: dict, folder: Path, missing: list[str]) -> None:
    failures = []
    for name in missing:
        for base in src["mirrors"]:
            url = base + name + ".gz"
            try:
                blob = _download(url)
                _verify(src, name, blob, url)
            except Exception as e:  # noqa: BLE001 - any network, HTTP or checksum failure: try the next mirror
                failures.append(str(e) if isinstance(e, FormatError) else f"{url}: {e}")
                continue
            try:
                atomic_write(folder / (name + ".gz"), blob, what="cache file")
            except OSError as e:
                raise AekitError(
                    f"{src['title']}: downloaded {name}.gz but cannot write it to {folder} "
                    f"({e.strerror or e}); pass path= to a writable folder or set AEKIT_DATA"
                ) from None
            break
        else:
            files = ", ".join(n + ".gz" for n in missing)
            raise AekitError(
                f"{src['title']}: files missing in {folder} and the download failed ({failures[-1]}); "
                f"put {files} there (gzip or not), or pass path= to a folder that has them"
            ) from None


def load_mnist(path=None, kind: str = "digits"):
    """Load MNIST (``kind="digits"``) or Fashion-MNIST (``kind="fashion"``).

    Files are looked up in ``path`` or, when it is None, in ``<cache>/mnist`` (``<cache>/fashion-mnist``)
    where ``<cache>`` is ``$AEKIT_DATA`` or the user cache directory (``~/.cache/aekit`` on Linux).
    Each of the four official files may be plain or ``.gz``. Missing files are downloaded once from the
    public mirrors, checked against the published checksums and saved there.

    Parameters
    ----------
    path : path-like, optional
        Folder holding ``train-images-idx3-ubyte[.gz]`` etc.
    kind : {"digits", "fashion"}

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Raises
    ------
    aekit.errors.AekitError
        Unknown ``kind``; files missing and not downloadable (one message saying where to put them);
        a file that is not the expected IDX images/labels file.

    Examples
    --------
    >>> from aekit.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()      # doctest: +SKIP
    >>> x_train.shape, x_train.dtype                               # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    if kind not in _SOURCES:
        raise AekitError(f"load_mnist: unknown kind {kind!r}; expected 'digits' or 'fashion'")
    src = _SOURCES[kind]
    folder = Path(path).expanduser() if path is not None else cache_dir() / src["folder"]
    missing = [n for n in _NAMES if _find(folder, n) is None]
    if missing:
        _fetch_missing(src, folder, missing)
    arrays = [read_idx(cast(Path, _find(folder, n))) for n in _NAMES]  # _fetch_missing fetched each or raised
    return _check_pair(arrays[0], arrays[1], folder, "train"), _check_pair(arrays[2], arrays[3], folder, "t10k")


def _check_pair(x: np.ndarray, y: np.ndarray, where, prefix: str):
    if x.ndim != 3 or x.dtype != np.uint8:
        raise FormatError(
            f"{where}/{prefix}-images-idx3-ubyte: expected uint8 images (magic 2051, N x rows x cols), "
            f"found {x.dtype} array of shape {x.shape}"
        )
    if y.ndim != 1 or y.dtype != np.uint8:
        raise FormatError(
            f"{where}/{prefix}-labels-idx1-ubyte: expected uint8 labels (magic 2049, N), "
            f"found {y.dtype} array of shape {y.shape}"
        )
    if len(x) != len(y):
        raise FormatError(f"{where}: {prefix} has {len(x)} images but {len(y)} labels")
    return x, y


def load_digits_sample(split: bool = False, seed: int = 0):
    """The 10,000 MNIST test digits shipped inside aekit: no download, no files needed.

    Parameters
    ----------
    split : bool
        False: return ``(x, y)``. True: return ``(x_train, y_train), (x_test, y_test)`` with 8,000 training
        and 2,000 test digits, drawn by :func:`train_test_split` with ``test_size=0.2`` and ``seed``
        (a random split, because the official file is ordered by writer group).
    seed : int
        Seed of the split (only used with ``split=True``).

    Returns
    -------
    x : uint8 array (10000, 28, 28); y : uint8 array (10000,)

    Examples
    --------
    >>> from aekit.datasets import load_digits_sample
    >>> x, y = load_digits_sample()
    >>> x.shape, int(y[0])
    ((10000, 28, 28), 7)
    >>> (xtr, ytr), (xte, yte) = load_digits_sample(split=True)
    >>> len(xtr), len(xte)
    (8000, 2000)
    """
    data = resources.files(__package__) / "data"
    x = read_idx_bytes(gzip.decompress((data / "t10k-images-idx3-ubyte.gz").read_bytes()), "embedded sample")
    y = read_idx_bytes(gzip.decompress((data / "t10k-labels-idx1-ubyte.gz").read_bytes()), "embedded sample")
    x, y = _check_pair(x, y, "aekit/datasets/data", "t10k")
    if not split:
        return x, y
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=seed)
    return (x_train, y_train), (x_test, y_test)
