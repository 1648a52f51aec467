"""aekit report: the HTML report of a run folder or a model file (aekit.report.write_report)."""

from pathlib import Path

from aekit.cli.common import emit, load_model, model_path, need_file
from aekit.cli.outputs import need_suffix

NAME = "report"
HELP = "write the self-contained HTML report of a model (or of a run folder) evaluated on data"
EXAMPLES = """  aekit report runs/conv -o report.html                    # data: the one the run trained on
  aekit report model.aekit --data digits -o report.html
  python: from aekit.report import write_report; write_report(model, x_test, y_test, "report.html")"""


def add_arguments(p) -> None:
    p.add_argument("target", metavar="RUN_DIR|MODEL", help="a run folder (with model.aekit) or a model file")
    p.add_argument("--data", metavar="SRC", help="evaluation data (default: the data the run was trained on)")
    p.add_argument("-o", "--output", required=True, metavar="report.html", help="where to write the report")


def run(args) -> int:
    from aekit.datasets.sources import read_for_model
    from aekit.errors import AekitError
    from aekit.report import write_report
    from aekit.runs.train import series_view

    target = need_file(args.target, "model or run folder")
    need_suffix(args.output, (".html", ".htm"), "the report")
    path = model_path(target)
    if path.is_dir():
        raise AekitError(f"{target}: a folder without model.aekit; pass a run folder or a model file")
    model = load_model(path, args)
    src = args.data or model.data.source
    if not src:
        raise AekitError(f"{path}: the model does not record its data; pass --data SRC")
    source = read_for_model(src, model)
    x, y = source.eval_split
    split = f"{source.split_name} of {src}"
    out = write_report(
        model,
        x[:2000],
        None if y is None else y[:2000],
        args.output,
        title=f"aekit report: {Path(path).name}",
        subtitle=f"evaluated on {split}",
        split=split,
        series=series_view(model, source),
    )
    emit(args, {"report": str(out)}, f"report: {out}")
    return 0
