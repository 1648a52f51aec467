"""Where training batches come from: :class:`ArraySource` (data in memory, gathered by slicing one
permutation into reused buffers) and :class:`StreamSource` (bounded-memory streams), each yielding this
process's part of every global batch under data parallelism.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch

from aekit.core.arrays import shard_bounds, to_model
from aekit.training.device import fits_on_device
from aekit.training.distributed import SINGLE, World


class ArraySource:
    """In-memory data: ``x`` (N, ...) float32 inputs and optional targets ``y`` (default: ``x``).

    A shuffled epoch draws one permutation and gathers the rows chunk by chunk (``index_select(out=)``)
    into buffers reused across epochs, then yields contiguous slices of them: no per-step allocation, and
    at most ``GATHER_BYTES`` of extra memory (so a batch is valid until the next one is drawn: copy it to
    keep it). An unshuffled pass yields views of the data itself.
    :meth:`place` decides once where the data lives for a device (see ``device.fits_on_device``).
    """

    # small enough that a fresh buffer's page faults (each fit call makes one) cost ~0.5 ms, not ~6 ms as
    # with 32 MiB, and a chunk stays in cache; large rows still gather one batch at a time
    GATHER_BYTES = 4 * 2**20

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None):
        self.x, self.y = x, y
        self._bufs: dict[int, torch.Tensor] = {}
        self._pinned = False

    def __len__(self) -> int:
        return len(self.x)

    def place(self, device: torch.device) -> None:
        """Copy the data to ``device`` when it fits there; otherwise gather into pinned host memory so
        that batches go to the GPU with non-blocking copies."""
        if self.x.device == device or device.type == "cpu":
            return
        nbytes = self.x.nbytes + (self.y.nbytes if self.y is not None else 0)
        if fits_on_device(nbytes, device):
            self.x = self.x.to(device)
            self.y = self.y.to(device) if self.y is not None else None
            self._bufs.clear()
        elif device.type == "cuda":
            self._pinned = True

    def _gather(self, slot: int, src: torch.Tensor, idx: torch.Tensor, rows: int) -> torch.Tensor:
        buf = self._bufs.get(slot)
        if buf is None or len(buf) < rows:
            buf = torch.empty((rows, *src.shape[1:]), dtype=src.dtype, device=src.device, pin_memory=self._pinned)
            self._bufs[slot] = buf
        out = buf[: len(idx)]
        torch.index_select(src, 0, idx, out=out)
        return out

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator,
        drop_single: bool = False,
        world: World = SINGLE,
    ):
        """Batches of ``batch_size`` (the global batch); under data parallelism each rank yields its part of
        every global batch (see :func:`aekit.core.arrays.shard_bounds`), all ranks drawing the same permutation."""
        n = len(self.x)
        parts = []  # (start, end) of this rank's part of each global batch, in positions of the permutation
        for i in range(0, n, batch_size):
            m = min(batch_size, n - i)
            if drop_single and _drop_last(i, m, n, world):
                break
            a, b = shard_bounds(m, world.rank, world.size)
            if a < b:  # else (evaluation): this rank has no part of a final batch smaller than the world
                parts.append((i + a, i + b))
        if not parts:
            return
        if not shuffle:
            for a, b in parts:
                xb = self.x[a:b]
                yield xb, (self.y[a:b] if self.y is not None else xb)
            return
        order = torch.randperm(n, generator=generator)
        if world.size > 1:  # this rank's rows, batch after batch: local positions are cumulative
            order = torch.cat([order[a:b] for a, b in parts])
            ends = np.cumsum([b - a for a, b in parts]).tolist()
            parts = list(zip([0, *ends[:-1]], ends))
        order = order.to(self.x.device)
        row_bytes = max(1, self.x[:1].nbytes + (self.y[:1].nbytes if self.y is not None else 0))
        budget = min(len(order), max(batch_size, self.GATHER_BYTES // row_bytes))  # rows per gather
        k = 0
        while k < len(parts):  # one chunk: whole batches up to the gather budget
            c0, j = parts[k][0], k
            while j + 1 < len(parts) and parts[j + 1][1] - c0 <= budget:
                j += 1
            if self._pinned and k:  # the previous chunk's non-blocking copies must finish before reuse
                torch.cuda.current_stream().synchronize()
            idx = order[c0 : parts[j][1]]
            bx = self._gather(0, self.x, idx, budget)
            by = self._gather(1, self.y, idx, budget) if self.y is not None else bx
            for a, b in parts[k : j + 1]:
                xb = bx[a - c0 : b - c0]
                yield xb, (by[a - c0 : b - c0] if self.y is not None else xb)
            k = j + 1


class StreamSource:
    """A bounded-memory stream (``aekit.datasets.ImageStream`` / ``ArrayStream``): anything with
    ``__len__`` and ``iter_batches(batch_size, shuffle=, seed=)`` yielding numpy batches in a user layout."""

    def __init__(self, stream, input_shape: tuple, transform: Callable | None = None):
        self.stream, self.input_shape = stream, input_shape
        self.transform = transform  # e.g. the model's scaler, applied to each batch in the model's layout

    def __len__(self) -> int:
        return len(self.stream)

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator,
        drop_single: bool = False,
        world: World = SINGLE,
    ):
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        n = len(self.stream)
        if world.parallel and _takes_shard(self.stream):  # the stream reads only this rank's rows
            batches = self.stream.iter_batches(batch_size, shuffle=shuffle, seed=seed, shard=(world.rank, world.size))
        else:
            batches = (
                b[slice(*shard_bounds(len(b), world.rank, world.size))]
                for b in self.stream.iter_batches(batch_size, shuffle=shuffle, seed=seed)
            )
        for k, b in enumerate(batches):
            if drop_single and _drop_last(k * batch_size, min(batch_size, n - k * batch_size), n, world):
                break
            if not len(b):
                continue
            arr = to_model(np.asarray(b), self.input_shape, "stream batch")[0]
            xb = torch.from_numpy(self.transform(arr) if self.transform is not None else arr)
            yield xb, xb


def _drop_last(start: int, m: int, n: int, world: World) -> bool:
    """Skip the final training batch (``m`` samples from ``start``) when it is smaller than the number of
    processes (some rank would have nothing to step on); in one process, a final batch of one (it breaks
    BatchNorm)."""
    return start + m >= n > 1 and m < max(2, world.size)


def _takes_shard(stream) -> bool:
    try:
        return "shard" in inspect.signature(stream.iter_batches).parameters
    except (TypeError, ValueError):
        return False


def is_stream(x) -> bool:
    return hasattr(x, "iter_batches") and not isinstance(x, (np.ndarray, torch.Tensor))


__all__ = ["ArraySource", "StreamSource", "is_stream"]
