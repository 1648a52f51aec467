"""Resumable checkpoints: the model file format plus optimizer state, epoch, history and RNG states.

Optimizer tensors go into the safetensors payload under ``__optim__.<param>.<name>``, RNG states under
``__rng__.<name>``; everything else in the optimizer state is plain JSON in the header. Nothing is pickled.
"""
from __future__ import annotations

import torch

from .. import io
from ..errors import FormatError
from .loop import History, LoopState


def _split_optimizer(sd: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    tensors, state_json = {}, {}
    for pid, st in sd["state"].items():
        state_json[str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"__optim__.{pid}.{k}"] = v
            else:
                state_json[str(pid)][k] = v
    return {"state": state_json, "param_groups": sd["param_groups"]}, tensors


def _join_optimizer(js: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state = {int(pid): dict(st) for pid, st in js["state"].items()}
    for key, v in tensors.items():
        if key.startswith("__optim__."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": js["param_groups"]}


def save_checkpoint(path, state: LoopState, model_header: dict) -> None:
    opt_json, opt_tensors = _split_optimizer(state.optimizer.state_dict())
    rng = {"__rng__.torch": torch.get_rng_state(), "__rng__.shuffle": state.shuffle_gen.get_state(),
           "__rng__.noise": state.noise_gen.get_state().cpu()}
    if torch.cuda.is_available():
        rng["__rng__.cuda"] = torch.cuda.get_rng_state()
    header = {**model_header, "history": state.history.to_dict(),
              "training_state": {"epoch": state.epoch, "optimizer": opt_json, "seed": state.seed,
                                 "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None}}
    tensors = {**state.module.state_dict(), **opt_tensors, **rng}
    io.write_file(path, header, tensors)


def restore_checkpoint(path, state: LoopState) -> None:
    """Load weights, optimizer, epoch, history and RNG states from ``path`` into ``state``."""
    header, tensors = io.read_file(path)
    ts = header.get("training_state")
    if ts is None:
        raise FormatError(f"{path}: a model file, not a training checkpoint; cannot resume from it")
    weights = {k: v for k, v in tensors.items() if not k.startswith("__")}
    state.module.load_state_dict(weights)
    state.optimizer.load_state_dict(_join_optimizer(ts["optimizer"], tensors))
    state.epoch = int(ts["epoch"])
    state.history = History.from_dict(header.get("history"))
    if state.scheduler is not None and ts.get("scheduler"):
        state.scheduler.load_state_dict(ts["scheduler"])
    state.seed = int(ts.get("seed", state.seed))
    state.torch_rng = tensors["__rng__.torch"]  # the loop's own generator state, set when training resumes
    state.shuffle_gen.set_state(tensors["__rng__.shuffle"])
    state.noise_gen.set_state(tensors["__rng__.noise"])  # generator states are CPU byte tensors
    if "__rng__.cuda" in tensors and torch.cuda.is_available():
        state.cuda_rng = tensors["__rng__.cuda"]
    if state.world.rank:  # rank 0 saved its own streams; the others derive theirs from it
        from .distributed import per_rank_streams

        per_rank_streams(state)
