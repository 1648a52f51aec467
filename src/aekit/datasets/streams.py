"""Streams: data sets read batch by batch, so memory does not grow with their size.

The contract with the training loop (``aekit.training``): a stream has

* ``len(stream)``: the number of samples;
* ``stream.sample_shape``: the shape of one sample as yielded, e.g. ``(H, W, C)`` or ``(F,)``;
* ``stream.iter_batches(batch_size, *, shuffle=False, seed=None)``: yields numpy arrays of shape
  ``(b, *sample_shape)`` and dtype uint8 (pictures; the core scales them to [0, 1]) or float32.

Shuffling permutes indices only; each batch reads just its own items.

Examples
--------
>>> from aekit.datasets import ImageStream
>>> stream = ImageStream("cats/train", size=(48, 48))                   # doctest: +SKIP
>>> for batch in stream.iter_batches(128, shuffle=True, seed=0):        # doctest: +SKIP
...     batch.shape          # (128, 48, 48, 3) uint8, the last one shorter
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from aekit.core.arrays import index_batches
from aekit.datasets.arrays import ArrayLayout, array_layout, load_array
from aekit.datasets.decode import UnreadablePicture, default_workers, open_picture, report_skipped, try_decode
from aekit.datasets.images import check_image_options, folder_labels, list_files
from aekit.errors import AekitError


def _prefetched(fn, index_lists, workers: int):
    """Yield ``fn(idx)`` for each batch in order, computing up to ``workers`` batches ahead in threads."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        try:
            for idx in index_lists:
                pending.append(pool.submit(fn, idx))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:  # the consumer stopped early: do not decode batches nobody will read
                f.cancel()


class ImageStream:
    """The pictures of a folder, decoded batch by batch (bounded memory).

    Parameters
    ----------
    folder, size, color, fit, strict, labels
        As in :func:`aekit.datasets.load_images`.
    workers : int, optional
        Batches decoded ahead in background threads (default: the number of cores, at most 8);
        memory holds at most ``workers + 1`` batches.
    verify : bool
        Open every file's header now (cheap) so that non-pictures are skipped before training starts and
        ``len()`` is exact. Files that are damaged after a valid header are found while streaming: they
        are skipped with a warning (that batch is shorter) or, with ``strict=True``, raise.

    Attributes
    ----------
    sample_shape : tuple
        ``(H, W, C)``.
    paths : list of str
        Relative paths of the streamed files.
    y, class_names
        Labels from sub-folder names as in :class:`aekit.datasets.ImageSet` (y aligned with ``paths``).

    Examples
    --------
    >>> s = ImageStream("photos/", size=32, color="gray")               # doctest: +SKIP
    >>> len(s), s.sample_shape                                           # doctest: +SKIP
    (5000, (32, 32, 1))
    """

    def __init__(
        self,
        folder,
        size=(64, 64),
        color: str = "rgb",
        fit: str = "crop",
        strict: bool = False,
        labels="auto",
        workers=None,
        verify: bool = True,
    ):
        where = "ImageStream"
        self.size = check_image_options(size, color, fit, where)
        self.color, self.fit, self.strict = color, fit, strict
        self.root = Path(folder).expanduser()
        self.workers = default_workers(workers)
        rels = [f[0] for f in list_files(self.root, where)]
        y, self.class_names = folder_labels(rels, labels, self.root, where)
        if verify:
            bad = []
            for r in rels:
                try:
                    with open_picture(self.root / r):
                        pass
                except UnreadablePicture as e:
                    bad.append((r, e.reason))
            if len(bad) == len(rels):
                rel, reason = bad[0]
                raise AekitError(
                    f"{where}: {self.root}: none of the {len(rels)} files is a readable image (e.g. {rel}: {reason})"
                )
            report_skipped(self.root, bad, len(rels), strict, where)
            skipped = {b[0] for b in bad}
            keep = [i for i, r in enumerate(rels) if r not in skipped]
            rels = [rels[i] for i in keep]
            y = None if y is None else y[keep]
        self.paths, self.y = rels, y
        self.sample_shape = (*self.size, 3 if color == "rgb" else 1)
        self._bad: set = set()

    def __len__(self) -> int:
        return len(self.paths) - len(self._bad)

    def __repr__(self) -> str:
        return f"ImageStream({str(self.root)!r}, {len(self)} pictures, sample_shape={self.sample_shape})"

    def _decode_batch(self, idx) -> np.ndarray:
        out = np.empty((len(idx), *self.sample_shape), dtype=np.uint8)
        k = 0
        for i in idx:
            rel = self.paths[i]
            if rel in self._bad:
                continue
            a, reason = try_decode(self.root / rel, self.size, self.color, self.fit)
            if a is None:
                if self.strict:
                    raise AekitError(f"ImageStream: {self.root / rel}: not a readable image ({reason})")
                self._bad.add(rel)
                warnings.warn(f"ImageStream: skipped {self.root / rel}: not a readable image ({reason})", stacklevel=2)
                continue
            out[k] = a
            k += 1
        return out[:k]

    def iter_batches(self, batch_size: int, *, shuffle: bool = False, seed=None, shard=None):
        """Yield uint8 batches ``(b, H, W, C)``; ``shuffle`` permutes the file order with ``seed``;
        ``shard=(rank, world_size)`` yields (and decodes) only this rank's part of each batch."""
        idx = index_batches(len(self.paths), batch_size, shuffle, seed, shard)
        for batch in _prefetched(self._decode_batch, idx, self.workers):
            if len(batch):
                yield batch


class ArrayStream:
    """Rows of a ``.npy`` / ``.npz`` file (or of an array / memmap) read batch by batch.

    For a ``.npy`` file, an uncompressed ``.npz`` member or a C-ordered memory map of one
    (``np.load(path, mmap_mode="r")``), each batch is read straight from the file (not through a memory
    map, whose pages would stay counted in the process's memory). A ``np.savez_compressed``
    member cannot be read in pieces: it is loaded whole, with a warning.

    Parameters
    ----------
    source : path-like or numpy.ndarray
        File, or an array already in memory or memory-mapped; axis 0 indexes samples.
    key : str, optional
        The array of an ``.npz`` (optional when it holds one).

    Attributes
    ----------
    sample_shape : tuple
        ``source.shape[1:]``.

    Batches are uint8 when the data is uint8, float32 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> s = ArrayStream(np.arange(12, dtype=np.float64).reshape(6, 2))
    >>> len(s), s.sample_shape
    (6, (2,))
    >>> [b.shape for b in s.iter_batches(4)]
    [(4, 2), (2, 2)]
    """

    def __init__(self, source, key=None):
        self._array = None
        self._layout = None
        if isinstance(source, np.ndarray):
            self._array, self.name = source, "array"
            shape, dtype = source.shape, source.dtype
            # a memory map is read through its file: the map's pages would count in the process's memory
            # (whole page-cache folios per touched row), exact reads only hold the batch
            self._layout = _memmap_layout(source)
            if self._layout is not None:
                self._array, self.name = None, str(self._layout.path)
        else:
            path = Path(source).expanduser()
            self.name = str(path)
            if path.suffix.lower() not in (".npy", ".npz"):
                raise AekitError(f"{path}: ArrayStream reads .npy or .npz files, not {path.suffix or 'this file'}")
            if not path.is_file():
                raise AekitError(f"{path}: no such file")
            layout = array_layout(path, key)
            if layout is None:
                warnings.warn(
                    f"{path}: compressed .npz members cannot be streamed; reading {key or 'it'} whole "
                    f"(save with np.save or np.savez to stream it)",
                    stacklevel=2,
                )
                self._array = load_array(path, key)
                shape, dtype = self._array.shape, self._array.dtype
            elif layout.fortran_order or not hasattr(os, "pread"):
                self._array = load_array(path, key, mmap=True)
                shape, dtype = layout.shape, layout.dtype
            else:
                self._layout = layout
                shape, dtype = layout.shape, layout.dtype
        if len(shape) < 2:
            raise AekitError(f"{self.name}: expected samples x features (2 or more dimensions), got shape {shape}")
        if not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
            raise AekitError(f"{self.name}: expected numbers, got dtype {dtype}")
        self._n = int(shape[0])
        self.sample_shape = tuple(int(s) for s in shape[1:])
        self._dtype = np.dtype(dtype)
        self._row_bytes = int(np.prod(self.sample_shape, dtype=np.int64)) * self._dtype.itemsize

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"ArrayStream({self.name!r}, {self._n} samples, sample_shape={self.sample_shape})"

    def _cast(self, a: np.ndarray) -> np.ndarray:
        return a if a.dtype == np.uint8 else a.astype(np.float32)

    def _read(self, fd: int, idx: np.ndarray) -> np.ndarray:
        lay, rb = self._layout, self._row_bytes
        if not len(idx):
            return np.empty((0, *self.sample_shape), self._dtype)
        buf = bytearray(len(idx) * rb)
        view = memoryview(buf)
        order = np.argsort(idx, kind="stable")
        sidx = idx[order]
        # Coalesce runs of consecutive rows into one read each (a whole batch when not shuffled); the loop
        # runs over plain ints, one syscall per run (shuffled rows: about a microsecond each)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(sidx) != 1) + 1))
        ends = np.append(starts[1:], len(sidx))
        offsets = (lay.offset + sidx[starts].astype(np.int64) * rb).tolist()
        preadv = getattr(os, "preadv", None)
        for a, b, off in zip((starts * rb).tolist(), (ends * rb).tolist(), offsets):
            got = preadv(fd, [view[a:b]], off) if preadv is not None else 0
            if got < b - a:  # a short read (or no preadv): finish it the careful way
                _read_exact(fd, view[a + got : b], off + got, self.name)
        rows = np.frombuffer(buf, dtype=self._dtype).reshape(len(idx), *self.sample_shape)
        out = np.empty_like(rows)
        out[order] = rows  # back to the requested (possibly shuffled) order
        return out

    def iter_batches(self, batch_size: int, *, shuffle: bool = False, seed=None, shard=None):
        """Yield batches ``(b, *sample_shape)``; ``shuffle`` permutes row indices with ``seed``;
        ``shard=(rank, world_size)`` reads only this rank's part of each batch (data-parallel training)."""
        if self._layout is None:
            for idx in index_batches(self._n, batch_size, shuffle, seed, shard):
                if not len(idx):
                    yield self._cast(self._array[:0])
                    continue
                a = self._array[np.sort(idx)] if shuffle else self._array[idx[0] : idx[-1] + 1]
                if shuffle:  # sorted reads are kinder to memmaps; restore the permuted order
                    a = a[np.argsort(np.argsort(idx))]
                yield self._cast(np.asarray(a))
            return
        fd = os.open(self._layout.path, os.O_RDONLY)
        try:
            for idx in index_batches(self._n, batch_size, shuffle, seed, shard):
                yield self._cast(self._read(fd, idx))
        finally:
            os.close(fd)


def _memmap_layout(a: np.ndarray):
    """Where a C-ordered ``np.memmap`` (or a row slice of one) lies in its file, or None."""
    import mmap

    mm = getattr(a, "_mmap", None)
    if not isinstance(a, np.memmap) or mm is None or not a.filename or not a.flags.c_contiguous:
        return None
    # the map starts at the offset rounded down to the allocation granularity; a slice keeps its
    # parent's offset, so the rows' place in the file comes from the pointer distance
    start = a.offset - a.offset % mmap.ALLOCATIONGRANULARITY
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    return ArrayLayout(Path(a.filename), start + (a.ctypes.data - base), a.dtype, a.shape, False)


def _read_exact(fd: int, view: memoryview, offset: int, name: str) -> None:
    """Fill ``view`` from ``offset`` (reads may return less than asked, e.g. above 2 GiB)."""
    done = 0
    while done < len(view):
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [view[done:]], offset + done)
        else:
            data = os.pread(fd, len(view) - done, offset + done)
            got = len(data)
            view[done : done + got] = data
        if got == 0:
            raise AekitError(f"{name}: the file shrank while streaming (short read)")
        done += got
