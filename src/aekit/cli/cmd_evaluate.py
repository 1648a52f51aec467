"""aekit evaluate: loss, per-sample error statistics and family metrics (aekit.autoencoder.metrics.model_metrics)."""

from aekit.cli.common import emit, load_model, need_file

NAME = "evaluate"
HELP = "evaluate a model on data: loss, per-sample error statistics, KL / code activation"
EXAMPLES = """  aekit evaluate runs/conv/model.aekit --data digits      # the test split when the source has one
  aekit evaluate runs/conv/model.aekit --data x_test.npy --json
  python: from aekit.autoencoder.metrics import model_metrics
          model_metrics(aekit.load("runs/conv/model.aekit"), x_test)"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit) or the run folder holding it")
    p.add_argument("--data", required=True, metavar="SRC", help="as for 'aekit train --data'")


def _text(m: dict) -> str:
    lines = [f"{m['family']} on {m['n']} samples", f"loss            {m['loss']:.6g}"]
    for k in ("reconstruction", "kl", "sparsity", "mean_code_activation", "fraction_inactive"):
        if m.get(k) is not None:
            lines.append(f"{k:15s} {m[k]:.6g}")
    lines.append(f"per-sample {m['error_metric']}: " + ", ".join(f"{k} {v:.4g}" for k, v in m["error"].items()))
    return "\n".join(lines)


def run(args) -> int:
    from aekit.autoencoder.metrics import model_metrics
    from aekit.datasets.sources import load_for_model

    model = load_model(need_file(args.model, "model"), args)
    x, _ = load_for_model(args.data, model)
    m = model_metrics(model, x)
    emit(args, m, _text(m))
    return 0
