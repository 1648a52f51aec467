"""Data-parallel training on PyTorch's own engine: torchrun, the process group and DistributedDataParallel.

``torchrun --nproc-per-node N ...`` (``python -m torch.distributed.run``) starts N copies of a program with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set. When the training loop sees ``WORLD_SIZE > 1`` it

* initialises the default process group once (gloo on CPU, NCCL on CUDA, each local rank on its own GPU
  ``cuda:LOCAL_RANK``) with a bounded timeout (``AEKIT_DIST_TIMEOUT`` seconds, default 120);
* wraps the module in :class:`torch.nn.parallel.DistributedDataParallel`, which averages the gradients
  (nothing here touches a gradient), optionally with ``torch.nn.SyncBatchNorm`` (``sync_batch_norm=True``);
* makes every rank draw the same permutation from the same seed and take its part of each *global*
  batch (``batch_size`` is the global batch, as in Keras' distribution strategies), so that N processes
  follow one process's trajectory (see :func:`loss_weight`) for models without batch statistics or
  per-sample randomness (dropout, corruption noise and VAE sampling use one stream per rank);
* averages logged and validation losses over all samples of all ranks;
* lets rank 0 alone write files (checkpoints, model, history, TensorBoard, report) while the others wait
  at a barrier, and turns a lost peer into one clear :class:`DistributedError`.

This module has no state of its own beyond the process group, which lives until the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import re
import signal
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from aekit.errors import AekitError

TIMEOUT_ENV = "AEKIT_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 120.0


class DistributedError(AekitError):
    """A process of a data-parallel run failed or could not be reached; the message is one line."""


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``rank`` of ``size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


SINGLE = World()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise AekitError(f"environment variable {name}={raw!r}: expected an integer (set by torchrun)") from None


def env_world() -> World:
    """The world torchrun describes in ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` (one process when unset)."""
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise AekitError(f"RANK={rank}, WORLD_SIZE={size}: expected 0 <= RANK < WORLD_SIZE (set by torchrun)")
    return World(rank, size, _env_int("LOCAL_RANK", 0))


def current() -> World:
    """The world of the initialised process group, else of the environment."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    return env_world()


def is_main() -> bool:
    """True in the process that writes files: rank 0, or the only process."""
    return current().is_main


def timeout_s() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        t = float(raw) if raw.strip() else DEFAULT_TIMEOUT_S
    except ValueError:
        t = -1
    if not t > 0:
        raise AekitError(f"{TIMEOUT_ENV}={raw!r}: expected a number of seconds > 0")
    return t


def setup(device_name: str, pick_device) -> tuple[World, torch.device]:
    """This process's world and device; under torchrun (``WORLD_SIZE > 1``) also the process group.

    ``auto``/``cuda`` become ``cuda:LOCAL_RANK`` so each local rank drives its own GPU; an explicit index
    (``cuda:1``) is the caller's choice. ``pick_device`` resolves names as in one process.
    """
    w = env_world()
    if not w.parallel:
        return SINGLE, pick_device(device_name)
    if device_name in ("auto", "cuda") and torch.cuda.is_available():
        if w.local_rank >= torch.cuda.device_count():
            raise AekitError(
                f"LOCAL_RANK={w.local_rank} but this machine has {torch.cuda.device_count()} "
                f"GPU(s); start at most that many processes per node"
            )
        device = torch.device("cuda", w.local_rank)
        torch.cuda.set_device(device)
    else:
        device = pick_device("cpu" if device_name == "auto" else device_name)
    if not dist.is_initialized():
        if not os.environ.get("MASTER_ADDR") or not os.environ.get("MASTER_PORT"):
            raise AekitError(
                f"WORLD_SIZE={w.size} is set but MASTER_ADDR/MASTER_PORT are not; start the "
                f"processes with torchrun (python -m torch.distributed.run)"
            )
        backend = "nccl" if device.type == "cuda" else "gloo"
        try:
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s()))
        except (RuntimeError, ValueError) as e:
            raise DistributedError(
                f"rank {w.rank}: cannot join the other {w.size - 1} process(es) ({_first_line(e)})"
            ) from None
        atexit.register(_at_exit)
    return current(), device


def shutdown() -> None:
    """Destroy the default process group if one is up."""
    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def _at_exit() -> None:
    """Registered with ``atexit`` by :func:`setup`, so it runs while other threads can still take the GIL.

    gloo's worker threads release a finished collective's tensors after the caller has moved on, and
    releasing a tensor that Python knows takes the GIL; a process that exits right after a collective (rank
    1 after the last epoch, while rank 0 writes the file) could reach interpreter shutdown first, and then
    the worker thread, refused the GIL, aborted the process ("terminate called without an active exception",
    about 1 exit in 10 on 2 CPU processes). Sleeping here gives the GIL away until they are done; then the
    group is destroyed (NCCL wants that before exit)."""
    if dist.is_available() and dist.is_initialized():
        if dist.get_backend() == "gloo":
            time.sleep(0.2)
        shutdown()


def barrier(world: World | None = None) -> None:
    """Wait until every process arrives (no-op in one process)."""
    if (world or current()).parallel:
        with lost_peer_errors(current()):
            dist.barrier()


def all_sum(t: torch.Tensor, world: World, device: torch.device) -> torch.Tensor:
    """``t`` summed over all ranks (on ``device`` for the collective: NCCL reduces CUDA tensors only)."""
    if not world.parallel:
        return t
    buf = t.to(device, torch.float64)
    dist.all_reduce(buf)
    return buf.to(t.device)


def all_reduce_sums(sums: dict, n: int, world: World, device: torch.device) -> tuple[dict, int]:
    """Sums of ``{name: scalar tensor}`` and the sample count over all ranks (one collective)."""
    if not world.parallel:
        return sums, n
    keys = sorted(sums)
    buf = all_sum(
        torch.stack(
            [sums[k].to(device, torch.float64) for k in keys]
            + [torch.tensor(float(n), dtype=torch.float64, device=device)]
        ),
        world,
        device,
    )
    return {k: buf[i] for i, k in enumerate(keys)}, int(buf[-1].item())


def same_seed(seed: int, world: World, device: torch.device) -> int:
    """Rank 0's ``seed`` on every rank (a seed drawn at random differs between processes)."""
    if not world.parallel:
        return seed
    t = torch.tensor([int(seed)], dtype=torch.int64, device=device)
    with lost_peer_errors(world):
        dist.broadcast(t, src=0)
    return int(t.item())


def per_rank_streams(state) -> None:
    """After a checkpoint (written by rank 0) is restored: give this rank dropout/sampling and corruption
    noise streams of its own, derived from the restored ones and the rank (the shuffle stays shared)."""
    g = torch.Generator()
    g.set_state(state.torch_rng)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g)) + state.world.rank
    state.torch_rng = torch.Generator().manual_seed(seed).get_state()
    state.noise_gen.manual_seed(seed + 1)


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when it is true on any (e.g. a time limit one rank reached first)."""
    if not world.parallel:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def loss_weight(n_local: int, m_global: int, world: World) -> float:
    """Factor on a rank's mean loss so that DDP's gradient average equals one process's batch mean.

    DDP averages gradients over ranks: ``(1/N) sum_r g_r``. With equal shards this is the mean over the
    global batch; when the last global batch of ``m`` samples splits unequally (``n_r`` each), weighting
    rank r's mean loss by ``n_r * N / m`` restores ``sum_r (n_r / m) g_r``, the global batch mean.
    """
    return n_local * world.size / m_global if world.parallel and m_global else 1.0


def _convert_sync_bn(module: nn.Module) -> list:
    """Replace each BatchNorm child by a SyncBatchNorm sharing its parameters and buffers; returns what
    :func:`_revert_sync_bn` needs to put the original layers back (saved files keep plain BatchNorm)."""
    swapped = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, nn.SyncBatchNorm):
                setattr(parent, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
                swapped.append((parent, name, child))
    return swapped


def _revert_sync_bn(swapped: list) -> None:
    for parent, name, original in swapped:
        setattr(parent, name, original)  # same Parameter and buffer objects: trained values are kept


@contextlib.contextmanager
def data_parallel(state):
    """Around the loop: DDP wrapper in ``state.forward_module`` (plus SyncBatchNorm when asked); on exit
    the plain module is what remains, so callbacks, checkpoints and saved files see the usual names."""
    w = state.world
    if not w.parallel:
        yield
        return
    if state.cfg.batch_size % w.size:
        raise AekitError(
            f"batch_size={state.cfg.batch_size} is the global batch and must be a multiple of the "
            f"{w.size} processes (each takes batch_size / {w.size}); e.g. batch_size="
            f"{max(w.size, state.cfg.batch_size // w.size * w.size)}"
        )
    swapped = []
    if getattr(state.cfg, "sync_batch_norm", False):
        if state.device.type != "cuda":
            raise AekitError(
                "sync_batch_norm=True needs CUDA devices (torch.nn.SyncBatchNorm does not run on "
                "CPU); leave it off on CPU, where each process normalises its own part of the batch"
            )
        swapped = _convert_sync_bn(state.module)
    try:
        with lost_peer_errors(w, state):
            ids = [state.device.index] if state.device.type == "cuda" else None
            # the constructor broadcasts rank 0's parameters and buffers, so every rank starts alike
            state.forward_module = nn.parallel.DistributedDataParallel(state.module, device_ids=ids)
            yield
    finally:
        state.forward_module = None
        _revert_sync_bn(swapped)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", text[0]) if text else type(e).__name__
    return line.split(". ")[0][:160]  # gloo's "[pair.cc:537] Read error ...: Connection reset by peer. This is..."


@contextlib.contextmanager
def lost_peer_errors(world: World, state=None):
    """Turn the errors of a failed or unreachable peer (closed connection, timeout) into one line."""
    if not world.parallel:
        yield
        return
    try:
        yield
    except AekitError:
        raise
    except (RuntimeError, dist.DistError) as e:  # gloo/NCCL report a dead peer as RuntimeError subclasses
        if not isinstance(e, dist.DistError) and not _looks_distributed(e):
            raise
        where = f" after epoch {state.epoch}" if state is not None else ""
        ckpt = getattr(getattr(state, "cfg", None), "checkpoint", None)
        tail = f"; the last complete checkpoint is {ckpt}" if ckpt else ""
        raise DistributedError(
            f"rank {world.rank}: another training process stopped or is unreachable, "
            f"training stopped{where} ({_first_line(e)}){tail}"
        ) from None


def _looks_distributed(e: BaseException) -> bool:
    text = str(e).lower()
    return any(
        s in text
        for s in (
            "gloo",
            "nccl",
            "connection",
            "timed out",
            "timeout",
            "peer",
            "socket",
            "process group",
            "broken pipe",
        )
    )


# --- launching -----------------------------------------------------------------------------------------


def launch(nproc: int, argv: list[str], *, threads: int | None = None, hint: str = "") -> int:
    """Run ``python -m aekit ARGV`` in ``nproc`` processes on this machine through torchrun
    (``torch.distributed.run --standalone``); returns 0, or raises :class:`DistributedError` naming the
    first process that failed. Each process gets ``OMP_NUM_THREADS`` (``threads`` or cores / nproc)."""
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun_main

    if nproc < 1:
        raise AekitError(f"--nproc {nproc}: expected a number of processes >= 1")
    if env_world().parallel:
        raise AekitError("--nproc: already running under torchrun; drop --nproc")
    per = threads or max(1, (os.cpu_count() or 1) // nproc)
    os.environ.setdefault("OMP_NUM_THREADS", str(per))
    # torchrun's agent logs each worker's end at WARNING/ERROR; the one line below says what matters
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    args = [
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "--max-restarts",
        "0",
        "--monitor-interval",
        "0.2",
        "--no-python",
        sys.executable,
        "-m",
        "aekit",
        *argv,
    ]
    try:
        torchrun_main(args)
    except ChildFailedError as e:
        # name the cause, not a peer: torchrun stops the survivors with SIGTERM and reports them too, and a peer
        # that lost a killed process exits with an error of its own (timestamps are whole seconds and do not
        # order them), so a process killed by another signal comes first, then the earliest, then the lowest rank
        fails = {r: f for r, f in e.failures.items() if f.exitcode != -signal.SIGTERM} or e.failures
        rank = min(fails, key=lambda r: (fails[r].exitcode >= 0, fails[r].timestamp, r))
        failure = fails[rank]
        how = f"signal {failure.signal_name()}" if failure.exitcode < 0 else f"exit status {failure.exitcode}"
        raise DistributedError(
            f"training process rank {rank} of {nproc} ended with {how}; the others were stopped{hint}"
        ) from None
    return 0


__all__ = [
    "World",
    "SINGLE",
    "DistributedError",
    "env_world",
    "current",
    "is_main",
    "setup",
    "shutdown",
    "barrier",
    "per_rank_streams",
    "all_sum",
    "all_reduce_sums",
    "same_seed",
    "any_rank",
    "loss_weight",
    "data_parallel",
    "lost_peer_errors",
    "launch",
]
