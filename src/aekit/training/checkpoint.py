"""Resumable checkpoints: the model file format plus optimizer state, epoch, history and RNG states.

Optimizer tensors go into the safetensors payload under ``__optim__.<param>.<name>``, RNG states under
``__rng__.<name>``; everything else in the optimizer state is plain JSON in the header. Nothing is pickled.
"""

from __future__ import annotations

import torch

from aekit.core import container
from aekit.errors import FormatError, first_line
from aekit.training.loop import History, LoopState

_RNG_KEYS = ("__rng__.torch", "__rng__.shuffle", "__rng__.noise")


def _split_optimizer(sd: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    tensors: dict[str, torch.Tensor] = {}
    state_json: dict[str, dict] = {}
    for pid, st in sd["state"].items():
        state_json[str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"__optim__.{pid}.{k}"] = v
            else:
                state_json[str(pid)][k] = v
    return {"state": state_json, "param_groups": sd["param_groups"]}, tensors


def _join_optimizer(js: dict, tensors: dict[str, torch.Tensor]) -> dict:
    if not isinstance(js.get("param_groups"), list):
        raise ValueError("optimizer param_groups is not a list")
    state = {int(pid): dict(st) for pid, st in js["state"].items()}
    for key, v in tensors.items():
        if key.startswith("__optim__."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": js["param_groups"]}


def _same_kind(a, b) -> bool:
    """``a`` (from the file) is the same kind of JSON value as ``b`` (what the optimizer or scheduler holds):
    numbers for numbers, lists of the same length, objects with the same keys, ..."""
    if isinstance(b, bool) or b is None or isinstance(b, str):
        return type(a) is type(b)
    if isinstance(b, (int, float)):
        return isinstance(a, (int, float)) and not isinstance(a, bool)
    if isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(map(_same_kind, a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and set(a) == set(b) and all(_same_kind(a[k], b[k]) for k in b)
    return False


def _check_optimizer_state(sd: dict, optimizer: torch.optim.Optimizer) -> None:
    """The stored optimizer state must be one this optimizer can step with, so a forged state cannot fail
    later, in the middle of a training step: the same hyper-parameters (of the same kinds), and for each
    parameter either no state or exactly the entries a step of this optimizer keeps, each tensor shaped
    like its parameter (the step counter: one number)."""
    groups, params = sd["param_groups"], [p for g in optimizer.param_groups for p in g["params"]]
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(f"{len(groups)} optimizer parameter groups, the model has {len(optimizer.param_groups)}")
    for g, cur in zip(groups, optimizer.param_groups):
        if not isinstance(g, dict) or set(g) != set(cur):
            raise ValueError("optimizer parameter groups of another optimizer")
        for k, v in g.items():
            if k != "params" and not _same_kind(v, cur[k]):
                raise ValueError(f"optimizer {k}={v!r}")
    # what one step keeps per parameter, with the file's hyper-parameters (e.g. amsgrad adds an entry)
    probe_p = torch.zeros(2, requires_grad=True)  # entries shaped (2,) are per-element: the parameter's shape
    probe_p.grad = torch.zeros(2)
    try:
        probe = type(optimizer)([probe_p], **{k: v for k, v in groups[0].items() if k in optimizer.defaults})
        probe.step()
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"optimizer options ({e})") from None
    want = probe.state[probe_p]
    for pid, st in sd["state"].items():
        if not 0 <= pid < len(params):
            raise ValueError(f"optimizer state for parameter {pid}, the model has {len(params)}")
        if st and set(st) != set(want):
            raise ValueError(f"optimizer state of parameter {pid} has {sorted(st)}, expected {sorted(want)}")
        for name, v in st.items():
            if torch.is_tensor(v) != torch.is_tensor(want[name]):
                raise ValueError(f"optimizer {name} of parameter {pid} is {type(v).__name__}")
            if not torch.is_tensor(v):
                continue
            shape = tuple(params[pid].shape) if tuple(want[name].shape) == (2,) else tuple(want[name].shape)
            if tuple(v.shape) != shape:
                raise ValueError(f"optimizer {name} of parameter {pid} has shape {tuple(v.shape)}, expected {shape}")


def save_checkpoint(path, state: LoopState, model_header: dict) -> None:
    opt_json, opt_tensors = _split_optimizer(state.optimizer.state_dict())
    rng = {
        "__rng__.torch": torch.get_rng_state(),
        "__rng__.shuffle": state.shuffle_gen.get_state(),
        "__rng__.noise": state.noise_gen.get_state().cpu(),
    }
    if torch.cuda.is_available():
        rng["__rng__.cuda"] = torch.cuda.get_rng_state()
    header = {
        **model_header,
        "history": state.history.to_dict(),
        "training_state": {
            "epoch": state.epoch,
            "optimizer": opt_json,
            "seed": state.seed,
            "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
        },
    }
    tensors = {**state.module.state_dict(), **opt_tensors, **rng}
    container.write_file(path, header, tensors)


def restore_checkpoint(path, state: LoopState) -> None:
    """Load weights, optimizer, epoch, history and RNG states from ``path`` into ``state``.

    Everything is checked before ``state`` changes: a checkpoint of another model, or one whose training
    state does not parse, raises :class:`~aekit.errors.FormatError` naming the file.
    """
    header, tensors = container.read_file(path)
    ts = header.get("training_state")
    if ts is None:
        raise FormatError(f"{path}: a model file, not a training checkpoint; cannot resume from it")
    try:
        if not isinstance(ts, dict) or not isinstance(ts.get("optimizer"), dict):
            raise ValueError("training_state is not an object with an optimizer")
        epoch, seed = ts["epoch"], ts.get("seed", state.seed)
        for key, v in (("epoch", epoch), ("seed", seed)):
            if (v is not None or key == "epoch") and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ValueError(f"{key}={v!r}")
        history = History.from_dict(header.get("history"))
        missing = [k for k in _RNG_KEYS if k not in tensors]
        if missing:
            raise ValueError(f"no {missing[0]} tensor")
        weights = {k: v for k, v in tensors.items() if not k.startswith("__")}
        module_sd = {k: v.clone() for k, v in state.module.state_dict().items()}  # to undo a half-applied load
        optim_sd = _join_optimizer(ts["optimizer"], tensors)
        _check_optimizer_state(optim_sd, state.optimizer)
        sched = ts.get("scheduler") if state.scheduler is not None else None
        if sched and state.scheduler is not None and not _same_kind(sched, state.scheduler.state_dict()):
            raise ValueError("scheduler state of another scheduler")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise FormatError(f"{path}: corrupt training checkpoint ({e})") from None
    try:
        torch.Generator().set_state(tensors["__rng__.torch"])  # a valid generator state (set when training resumes)
        state.module.load_state_dict(weights)
        optim_before = state.optimizer.state_dict()
        state.optimizer.load_state_dict(optim_sd)
        shuffle = state.shuffle_gen.get_state()
        try:
            state.shuffle_gen.set_state(tensors["__rng__.shuffle"])
            state.noise_gen.set_state(tensors["__rng__.noise"])  # generator states are CPU byte tensors
            if sched and state.scheduler is not None:  # (sched is None without a scheduler)
                state.scheduler.load_state_dict(sched)
        except (RuntimeError, TypeError, ValueError, KeyError):
            state.shuffle_gen.set_state(shuffle)
            state.optimizer.load_state_dict(optim_before)
            raise
    except (RuntimeError, TypeError, ValueError, KeyError, IndexError) as e:
        state.module.load_state_dict(module_sd)
        raise FormatError(f"{path}: the checkpoint does not fit this model ({first_line(e)})") from None
    state.epoch, state.history = epoch, history
    state.seed = int(seed) if seed is not None else state.seed
    state.torch_rng = tensors["__rng__.torch"]  # the loop's own generator state, set when training resumes
    if "__rng__.cuda" in tensors and torch.cuda.is_available():
        state.cuda_rng = tensors["__rng__.cuda"]
    if state.world.rank:  # rank 0 saved its own streams; the others derive theirs from it
        from aekit.training.distributed import per_rank_streams

        per_rank_streams(state)
