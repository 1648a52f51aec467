"""aekit info: what a model file holds (family, config, layers, training summary)."""

from aekit.cli.common import emit, load_model, need_file

NAME = "info"
HELP = "show a model file's family, config, parameters per layer and training summary"
EXAMPLES = """  aekit info runs/conv/model.aekit
  aekit info runs/conv/model.aekit --json
  python: m = aekit.load("runs/conv/model.aekit"); m.config, m.summary(print_fn=None), m.history.history"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit) or the run folder holding it")


def run(args) -> int:
    from aekit.apps.anomaly import AnomalyThreshold
    from aekit.models.config import to_dict

    model = load_model(need_file(args.model, "model"), args)
    h = model.history.history
    data = {
        "family": model.family,
        "config": to_dict(model.config),
        "code_size": model.code_size,
        "n_params": model.n_params(),
        "layers": [{"name": n, "class": c, "params": p} for n, c, p in model.layers()],
        "training": {
            "epochs": len(model.history.epoch),
            "final_loss": h["loss"][-1] if h.get("loss") else None,
            "final_val_loss": h["val_loss"][-1] if h.get("val_loss") else None,
            "train_config": to_dict(model.train_config) if model.train_config else None,
            "parallel": model.parallel.to_dict(),
        },
        "preprocessing": model.preprocessing.to_dict(),
        "data": {k: v for k, v in model.data.to_dict().items() if k != "class_names" and v is not None},
        "apps": sorted(model.sections.apps),
    }
    cfg = ", ".join(f"{k}={v}" for k, v in data["config"].items())
    lines = [
        f"family      {model.family}",
        f"config      {cfg}",
        f"code size   {model.code_size}",
        f"parameters  {model.n_params():,}",
        "layers:",
    ]
    lines += [f"  {n or '(module)':32s} {c:18s} {p:>10,}" for n, c, p in model.layers()]
    t = data["training"]
    lines.append(
        f"training    {t['epochs']} epochs"
        + (f", final loss {t['final_loss']:.6g}" if t["final_loss"] is not None else " (untrained)")
        + (
            f", {model.parallel.world_size} processes, global batch {model.parallel.global_batch_size}"
            if model.parallel.world_size > 1
            else ""
        )
    )
    if data["data"]:
        lines.append("data        " + ", ".join(f"{k}={v}" for k, v in data["data"].items()))
    stored = model.section(AnomalyThreshold)
    if stored is not None:
        data["anomaly"] = stored.brief()
        lines.append(f"anomaly     {stored.describe()}")
    emit(args, data, "\n".join(lines))
    return 0
