"""One readable training loop for every family, extended by callbacks.

Events, in order: ``on_train_begin``, then per epoch ``on_epoch_begin``, ``on_batch_end`` (per step),
``on_epoch_end`` (after validation, with the epoch's logs), and ``on_train_end``. Callbacks may set
``state.stop = True`` to end training (early stopping).

Fast path: data that fits in memory is one float32 tensor; each epoch draws one permutation and batches
are gathered by slicing it, never through per-sample ``Dataset.__getitem__`` calls.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

import torch
from torch import nn

from aekit.errors import AekitError
from aekit.models.config import CorruptionConfig, TrainConfig, optimizer_classes, scheduler_classes
from aekit.models.corruption import corrupt
from aekit.models.losses import LossSpec, objective
from aekit.training import distributed
from aekit.training.device import (  # noqa: F401
    AmpPlan,
    amp_plan,
    batch_format,
    fused_ok,
    pick_device,
    to_memory_format,
    use_channels_last,
    warn_amp,
)
from aekit.training.distributed import SINGLE, World
from aekit.training.inference import map_batches

# learning rates aekit has always used where they differ from torch's own defaults (others: torch's)
_LR = {"adam": 1e-3, "adamw": 1e-3, "adadelta": 1.0, "rmsprop": 1e-3, "sgd": 1e-2}


class History:
    """Per-epoch logs like Keras' ``History``: ``history['loss']``, ``history['val_loss']``, ... and
    ``epoch`` (0-based epoch numbers)."""

    def __init__(self, history: dict | None = None, epoch: list | None = None):
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}
        self.epoch: list[int] = list(epoch or [])

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))

    def to_dict(self) -> dict:
        return {"history": self.history, "epoch": self.epoch}

    def to_csv(self) -> bytes:
        """The per-epoch logs as CSV bytes: ``epoch`` (1-based) then one column per log key."""
        keys = list(self.history)
        lines = [",".join(["epoch", *keys])]
        for i, ep in enumerate(self.epoch):
            vals = [f"{self.history[k][i]:.6g}" if i < len(self.history[k]) else "" for k in keys]
            lines.append(",".join([str(ep + 1), *vals]))
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def from_dict(cls, d: dict | None) -> History:
        d = d or {}
        return cls(d.get("history"), d.get("epoch"))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


@dataclass
class LoopState:
    """What callbacks see: the module, optimizer, config and progress. The loop owns it."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    cfg: TrainConfig
    loss_fn: Callable  # (module, inputs, targets) -> (scalar loss, {term: scalar})
    device: torch.device
    shuffle_gen: torch.Generator
    noise_gen: torch.Generator
    amp: AmpPlan = field(default_factory=lambda: AmpPlan("cpu"))
    scaler: torch.amp.GradScaler | None = None  # for float16 autocast
    channels_last: bool = False  # 4-D weights and batches in NHWC memory
    train_module: nn.Module | None = None  # what the training step calls: torch.compile(module) or module
    history: History = field(default_factory=History)
    epoch: int = 0  # epochs completed
    steps_per_epoch: int = 0
    stop: bool = False
    seed: int = 0
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # stepped once per epoch
    # torch's global generator as this run left it (dropout and the VAE's sampling draw from it); training
    # runs on a forked copy (see _own_rng), so the caller's generator is never reseeded
    torch_rng: torch.Tensor | None = None
    cuda_rng: torch.Tensor | None = None
    world: World = SINGLE  # this process's rank among the data-parallel processes (torchrun)
    forward_module: nn.Module | None = None  # the DistributedDataParallel wrapper while training in parallel
    stop_reason: str | None = None  # why a callback stopped training early (one line)
    diverged: str | None = None  # set by DivergenceGuard: the message fit raises


def _construct(cls, first, options: dict, what: str):
    try:
        return cls(first, **options)
    except (TypeError, ValueError, KeyError) as e:
        raise AekitError(
            f"training: {what} {cls.__name__}({', '.join(f'{k}={v!r}' for k, v in options.items())}) is not valid: {e}"
        ) from None


def make_optimizer(
    params: Iterable[torch.Tensor], cfg: TrainConfig, device: torch.device | None = None
) -> torch.optim.Optimizer:
    """``torch.optim`` optimizer ``cfg.optimizer`` (by lower-case name) with ``lr``, and ``weight_decay`` and
    ``momentum`` where it takes them, then ``cfg.optimizer_options`` (e.g. ``{"betas": [0.9, 0.99]}``).
    On CPU and CUDA, optimizers with a fused kernel (Adam, AdamW, SGD) use it: one kernel for all parameters
    instead of a chain of ops per parameter, the same arithmetic."""
    cls = optimizer_classes()[cfg.optimizer]
    accepts = inspect.signature(cls).parameters
    opts: dict = {}
    lr = cfg.lr if cfg.lr is not None else _LR.get(cfg.optimizer)
    if lr is not None:
        opts["lr"] = lr
    if "weight_decay" in accepts:
        opts["weight_decay"] = cfg.weight_decay
    if "momentum" in accepts:
        opts["momentum"] = cfg.momentum
    if "fused" in accepts and device is not None and fused_ok(device) and cfg.optimizer in ("adam", "adamw"):
        opts["fused"] = True
    opts.update({k: tuple(v) if isinstance(v, list) else v for k, v in cfg.optimizer_options.items()})
    return _construct(cls, params, opts, "optimizer")


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig):
    """``torch.optim.lr_scheduler`` ``cfg.scheduler`` (by lower-case name) with ``cfg.scheduler_options``,
    stepped once per epoch (``ReduceLROnPlateau`` on the monitored loss); ``cosineannealinglr`` defaults
    ``T_max`` to the epochs. None without a scheduler."""
    if cfg.scheduler is None:
        return None
    cls = scheduler_classes()[cfg.scheduler]
    opts = dict(cfg.scheduler_options)
    if cfg.scheduler == "cosineannealinglr":
        assert cfg.epochs is not None  # decided before the loop (training.defaults.plan_training)
        opts.setdefault("T_max", max(cfg.epochs, 1))
    return _construct(cls, optimizer, opts, "scheduler")


def fresh_seed() -> int:
    """A seed for a run given none: drawn from torch's global generator (so ``torch.manual_seed`` before
    ``fit`` makes it reproducible), which is advanced but never reseeded."""
    return int(torch.randint(0, 2**31 - 1, (1,)))


def reconstruction_loss(spec: LossSpec) -> Callable:
    """The loop's default objective: an autoencoder's reconstruction loss and its terms (see ``losses.py``)."""

    def loss_fn(module: nn.Module, inp: torch.Tensor, target: torch.Tensor):
        return objective(module(inp), target, spec)

    return loss_fn


def new_state(module: nn.Module, cfg: TrainConfig, loss: LossSpec | Callable) -> LoopState:
    """A fresh loop state; ``loss`` is a :class:`LossSpec` (reconstruction objective) or any
    ``loss_fn(module, inputs, targets) -> (loss, terms)``, e.g. cross-entropy for a fine-tuned classifier."""
    world, device = distributed.setup(cfg.device, pick_device)
    module.to(device)
    seed = cfg.seed if cfg.seed is not None else fresh_seed()
    seed = distributed.same_seed(seed, world, device)  # every rank must draw the same permutations
    shuffle_gen = torch.Generator().manual_seed(seed)
    noise_gen = torch.Generator(device=device).manual_seed(seed + 1 + world.rank)
    loss_fn = reconstruction_loss(loss) if isinstance(loss, LossSpec) else loss
    channels_last = use_channels_last(cfg.channels_last, module, device)
    to_memory_format(module, channels_last)  # before the optimizer sees the parameters
    plan = amp_plan(cfg.amp, device)
    warn_amp(plan)
    # a compiled wrapper shares the module's parameters; the module itself stays eager for inference and files
    # (torch.compile of a module is an OptimizedModule, a Module; its annotation says Callable)
    train_module = cast(nn.Module, torch.compile(module)) if cfg.compile else module
    optimizer = make_optimizer(module.parameters(), cfg, device)
    return LoopState(
        module,
        optimizer,
        cfg,
        loss_fn,
        device,
        shuffle_gen,
        noise_gen,
        seed=seed,
        scheduler=make_scheduler(optimizer, cfg),
        world=world,
        amp=plan,
        scaler=plan.scaler(),
        channels_last=channels_last,
        train_module=train_module,
    )


@contextlib.contextmanager
def _own_rng(state: LoopState):
    """Run the block on a fork of torch's global generators, seeded with the run's seed (or set to the state
    a checkpoint restored), and keep where the run left them in ``state``; the caller's are untouched."""
    cuda = state.device.type == "cuda"
    with torch.random.fork_rng(devices=[state.device.index or 0] if cuda else []):
        seed = state.seed + state.world.rank  # dropout and VAE sampling differ per rank
        if state.device.type == "cpu":  # torch.manual_seed would also queue a seed (and a stack trace) per
            torch.default_generator.manual_seed(seed)  # accelerator kind, ~1 ms a fit, for generators unused here
        else:
            torch.manual_seed(seed)
        if state.torch_rng is not None:
            torch.set_rng_state(state.torch_rng)
        if cuda and state.cuda_rng is not None:
            torch.cuda.set_rng_state(state.cuda_rng, state.device)
        try:
            yield
        finally:
            state.torch_rng = torch.get_rng_state()
            state.cuda_rng = torch.cuda.get_rng_state(state.device) if cuda else None


def mean_loss(
    module: nn.Module,
    source,
    loss_fn: Callable,
    batch_size: int,
    device: torch.device,
    world: World = SINGLE,
    channels_last: bool = False,
) -> dict[str, float]:
    """Mean loss and loss terms over ``source`` in evaluation mode (no corruption, no gradients); in a
    data-parallel run each rank evaluates its part and the means are over every rank's samples.
    ``channels_last``: the module's weights are in NHWC (validation inside the loop), so are the batches."""
    names: list[str] = []

    def batch_sums(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        if channels_last:  # NCHW batches against NHWC weights would run the whole net through reorders
            same = yb is xb
            xb = batch_format(xb, True)
            yb = xb if same else batch_format(yb, True)
        loss, terms = loss_fn(m, xb, yb)
        names[:] = ["loss", *terms]
        # (1, 1 + terms): the batch size, then each term's batch mean times the batch size
        return torch.stack(
            [torch.tensor(float(len(xb)), device=xb.device), *(v.float() * len(xb) for v in (loss, *terms.values()))]
        ).unsqueeze(0)

    if world.parallel and len(source) < world.size:  # a rank without rows would wait for the others forever
        raise AekitError(
            f"validation data: {len(source)} samples for {world.size} processes; expected at least one per process"
        )
    data = _Sharded(source, world) if world.parallel else source
    rows = map_batches(
        module, data, batch_sums, batch_size=batch_size, device=device, dtype=torch.float64, numpy=False
    )  # (batches, 1 + terms)
    if not names:
        return {}
    sums = distributed.all_sum(rows.sum(0), world, device)
    n = max(float(sums[0]), 1.0)
    return {k: float(v) / n for k, v in zip(names, sums[1:])}


class _Sharded:
    """This rank's part of every batch of ``source`` (evaluation in a data-parallel run)."""

    def __init__(self, source, world: World):
        self.source, self.world = source, world

    def iter_batches(self, batch_size: int, shuffle: bool, generator: torch.Generator, drop_single: bool = False):
        return self.source.iter_batches(batch_size, shuffle, generator, drop_single, world=self.world)


def _train_epoch(state: LoopState, source, corruption: CorruptionConfig | None, callbacks) -> dict[str, float]:
    module, opt, cfg = state.module, state.optimizer, state.cfg
    assert cfg.batch_size is not None  # decided before the loop (training.defaults.plan_training)
    module.train()
    sums: dict[str, torch.Tensor] = {}
    n = 0
    n_all, world = len(source), state.world
    # DDP's wrapper averages the gradients across processes; else the compiled module when compile=True
    fwd = state.forward_module or (module if state.train_module is None else state.train_module)
    batches = source.iter_batches(cfg.batch_size, cfg.shuffle, state.shuffle_gen, drop_single=True, world=world)
    scaler = state.scaler
    for step, (xb, yb) in enumerate(batches):
        same = yb is None or yb is xb  # an autoencoder's target is its input: move it once
        xb = batch_format(xb.to(state.device, non_blocking=True), state.channels_last)
        yb = xb if same else yb.to(state.device, non_blocking=True)
        if corruption is not None:  # the noise comes out in NCHW strides: back to the batch's format
            inp = batch_format(corrupt(xb, corruption, state.noise_gen), state.channels_last)
        else:
            inp = xb
        with state.amp.autocast():
            loss, terms = state.loss_fn(fwd, inp, yb)
        opt.zero_grad(set_to_none=True)
        w = distributed.loss_weight(len(xb), min(cfg.batch_size, n_all - step * cfg.batch_size), world)
        loss_w = loss * w if w != 1.0 else loss
        if scaler is not None:  # float16: scale the loss so small gradients do not underflow
            scaler.scale(loss_w).backward()
            if cfg.clip_grad_norm:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(module.parameters(), cfg.clip_grad_norm)
            scaler.step(opt)
            scaler.update()
        else:
            loss_w.backward()
            if cfg.clip_grad_norm:
                nn.utils.clip_grad_norm_(module.parameters(), cfg.clip_grad_norm)
            opt.step()
        b = len(xb)
        # running sums stay on the device (one in-place op per term); .item() once per epoch and when the
        # progress bar redraws, so the loop never waits on the device mid-epoch
        if not sums:  # a term that is the loss itself (a plain autoencoder's reconstruction) shares its sum
            sums = {"loss": torch.zeros((), device=state.device)}
            sums.update(
                {k: sums["loss"] if v is loss else torch.zeros((), device=state.device) for k, v in terms.items()}
            )
        sums["loss"].add_(loss.detach(), alpha=b)
        for k, v in terms.items():
            if v is not loss:
                sums[k].add_(v.detach(), alpha=b)
        n += b
        for cb in callbacks:
            cb.on_batch_end(state, step, sums, n)
    sums, n = distributed.all_reduce_sums(sums, n, world, state.device)  # logs: means over every rank's samples
    return {k: float(v) / max(n, 1) for k, v in sums.items()}


def _check_batch_norm(module: nn.Module, n: int, batch_size: int) -> None:
    """BatchNorm needs batches of at least two samples in training (a batch statistic of one value); say so
    before training instead of failing (or silently skipping every batch) in the first step."""
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()):
        return
    if n < 2:
        raise AekitError(f"batch_norm: training needs at least 2 samples, got {n}")
    if batch_size < 2:
        raise AekitError(
            f"batch_norm: batch_size={batch_size}; batch normalisation needs batches of at least 2 samples"
        )


def fit_loop(
    state: LoopState, source, *, val_source=None, corruption: CorruptionConfig | None = None, callbacks: Iterable = ()
) -> History:
    """Train ``state.module`` from epoch ``state.epoch`` to ``state.cfg.epochs``; returns the history."""
    callbacks = list(callbacks)
    cfg = state.cfg
    assert cfg.epochs is not None and cfg.batch_size is not None  # decided before the loop (plan_training)
    _check_batch_norm(state.module, len(source), cfg.batch_size)
    state.steps_per_epoch = -(-len(source) // cfg.batch_size)
    for src in (source, val_source):
        if hasattr(src, "place"):
            src.place(state.device)
    to_memory_format(state.module, state.channels_last, state.optimizer)
    with _own_rng(state), _layout(state), distributed.data_parallel(state):
        for cb in callbacks:
            cb.on_train_begin(state)
        while state.epoch < cfg.epochs and not state.stop:
            for cb in callbacks:
                cb.on_epoch_begin(state)
            logs = _train_epoch(state, source, corruption, callbacks)
            if val_source is not None:
                logs.update(
                    {
                        f"val_{k}": v
                        for k, v in mean_loss(
                            state.module,
                            val_source,
                            state.loss_fn,
                            cfg.batch_size,
                            state.device,
                            state.world,
                            state.channels_last,
                        ).items()
                    }
                )
            if state.scheduler is not None:
                _step_scheduler(state.scheduler, logs)
            state.history.append(state.epoch, logs)
            state.epoch += 1
            for cb in callbacks:
                cb.on_epoch_end(state, logs)
            state.stop = distributed.any_rank(state.stop, state.world, state.device)  # all ranks stop together
        for cb in callbacks:
            cb.on_train_end(state)
    return state.history


@contextlib.contextmanager
def _layout(state: LoopState):
    """The module leaves the loop in the usual memory layout (inference, export), however training ends."""
    try:
        yield
    finally:
        if state.channels_last:
            to_memory_format(state.module, False, state.optimizer)


def _step_scheduler(scheduler, logs: dict) -> None:
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(logs.get("val_loss", logs["loss"]))
    else:
        scheduler.step()
