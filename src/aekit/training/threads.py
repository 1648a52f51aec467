"""How many CPU threads torch uses while aekit trains or infers: a policy that survives a busy machine.

Why a policy: torch's intra-op pool (OpenMP) splits every operation over all cores and meets at a barrier
after each one. When another program holds one of those cores, the thread that lost its core reaches the
barrier a scheduler time slice late, every operation, and a small model's epoch becomes 10-30x slower
(measured on a 2-core machine: 0.3 s idle, 8-9 s with one busy process at 2 threads, 0.6-0.8 s at 1).
Fewer threads than free cores never collapses; it only loses the parallel speed-up.

The choice, in order: ``threads=N`` (``fit``, ``aekit --threads N``) > the environment variable
``AEKIT_NUM_THREADS`` > automatic. Automatic uses the cores other programs leave free, measured from
``/proc/stat`` (Linux): at the start, and again about every second while training, so a program that starts
or stops mid-run is followed. It never uses more threads than the caller's ``torch.get_num_threads()``.
Without ``/proc/stat`` it leaves one core to the rest of the machine. The caller's setting is restored
afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import cast

import torch

from aekit.errors import AekitError
from aekit.training.events import Callback

ENV = "AEKIT_NUM_THREADS"
_STAT = "/proc/stat"
_RECHECK_S = 1.0  # seconds between measurements while training
_PROBE_S = 0.05  # length of the first measurement of a process
_MIN_WINDOW_S = 0.02  # shorter windows are noise: keep the previous estimate
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def requested_threads(threads=None) -> int | None:
    """An explicit thread count from ``threads`` or ``AEKIT_NUM_THREADS``; None means automatic.

    ``threads`` may be a positive int, None or ``'auto'``; the variable a positive integer or ``auto``.
    """
    name = "threads"
    if threads is None or threads == "auto":
        threads, name = os.environ.get(ENV, "auto"), ENV
        if str(threads).strip().lower() in ("", "auto"):
            return None
    try:
        n = int(threads)
        ok = n >= 1 and not isinstance(threads, bool) and float(threads) == n
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise AekitError(f"{name}={threads!r}; expected a positive number of threads or 'auto'")
    return n


class CpuMeter:
    """How many cores *other* programs kept busy since the last reading (Linux ``/proc/stat``).

    busy cores of the machine minus this process's own CPU time (all its threads), per second of wall time.
    """

    def __init__(self):
        self.available = os.path.exists(_STAT)
        self._last = self._read() if self.available else None
        self._estimate: float | None = None

    @staticmethod
    def _read() -> tuple[float, float, float]:
        with open(_STAT, "rb") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        busy = sum(vals[:8]) - idle  # user nice system idle iowait irq softirq steal; guest is inside user
        return time.perf_counter(), busy / _HZ, time.process_time()

    def others(self) -> float | None:
        """Cores busy with other programs since the previous reading (None without /proc/stat).

        The first reading of a process waits ``_PROBE_S``; a window shorter than ``_MIN_WINDOW_S`` returns
        the previous estimate, so many quick calls (a grid search) cost nothing.
        """
        if not self.available:
            return None
        if self._estimate is None and time.perf_counter() - self._last[0] < _PROBE_S:
            time.sleep(_PROBE_S)
        now = self._read()
        t0, busy0, own0 = self._last
        wall = now[0] - t0
        if wall >= _MIN_WINDOW_S:
            self._last = now
            self._estimate = max(0.0, ((now[1] - busy0) - (now[2] - own0)) / wall)
        return self._estimate


_METER: CpuMeter | None = None


def meter() -> CpuMeter:
    """The process's one meter (readings are deltas since the previous one)."""
    global _METER
    if _METER is None:
        _METER = CpuMeter()
    return _METER


def auto_threads(cap: int, others: float | None, cores: int | None = None) -> int:
    """Threads for ``others`` cores busy elsewhere: the free cores, rounded down (a thread that shares a
    core is the one that makes every barrier late), at least 1 and at most ``cap``."""
    cores = cores or os.cpu_count() or 1
    if others is None:  # no measurement: leave one core to the rest of the machine
        return max(1, min(cap, cores - 1))
    return max(1, min(cap, int(cores - others + 0.3)))


class ThreadPolicy(Callback):
    """Sets torch's thread count for the loop and, when automatic, follows the machine's load.

    ``explicit``: a fixed count, or None for automatic (at most ``cap`` threads). Use :func:`thread_scope`
    rather than building one: it restores the caller's setting however training ends.
    """

    def __init__(self, explicit: int | None, cap: int):
        self.explicit, self.cap = explicit, max(1, cap)
        self.meter = meter() if explicit is None else None
        self._next = 0.0

    def start(self) -> int:
        # (no explicit count: __init__ made the meter)
        n = self.explicit if self.explicit is not None else auto_threads(self.cap, cast(CpuMeter, self.meter).others())
        self._set(n)
        self._next = time.perf_counter() + _RECHECK_S
        return n

    def _set(self, n: int) -> None:
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)

    def on_batch_end(self, state, step, sums, n):
        if self.meter is None or time.perf_counter() < self._next:
            return
        self._set(auto_threads(self.cap, self.meter.others()))
        self._next = time.perf_counter() + _RECHECK_S


_ACTIVE: list[ThreadPolicy] = []  # the scopes now open; a nested automatic scope leaves the outer in charge


@contextlib.contextmanager
def thread_scope(threads=None) -> Iterator[ThreadPolicy]:
    """Run a block under the thread policy and restore the caller's thread count afterwards.

    Yields the :class:`ThreadPolicy`; pass it to the loop as a callback to follow the load while training.
    Inside another scope (validation inside ``fit``), an automatic scope changes nothing.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with thread_scope(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    explicit = requested_threads(threads) if threads is not None or not _ACTIVE else None
    if _ACTIVE and explicit is None:
        yield _ACTIVE[-1]
        return
    old = torch.get_num_threads()
    policy = ThreadPolicy(explicit, cap=old)
    _ACTIVE.append(policy)
    try:
        policy.start()
        yield policy
    finally:
        _ACTIVE.pop()
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)
