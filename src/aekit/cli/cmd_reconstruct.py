"""aekit reconstruct: inputs through the whole autoencoder (Autoencoder.reconstruct)."""

from aekit.cli.common import add_input_options, emit, load_model, need_file, read_for

NAME = "reconstruct"
HELP = "reconstruct inputs: arrays/tables/series to .npy/.csv/.json; pictures also to a .png grid or a folder"
EXAMPLES = """  aekit reconstruct runs/conv/model.aekit x_test.npy -o x_rec.npy
  aekit reconstruct runs/conv/model.aekit scans/ -o cleaned/     # a PNG per input picture, same names
  aekit reconstruct runs/conv/model.aekit x_test.npy -o grid.png
  aekit reconstruct runs/table/model.aekit rows.csv -o rows_rec.csv   # in the table's own units
  python: aekit.load("runs/conv/model.aekit").reconstruct(x)"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit) or the run folder holding it")
    add_input_options(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=".npy, .npz, .csv, .json; for pictures also .png (a grid) or a folder",
    )


def run(args) -> int:
    from aekit.cli.outputs import write_output
    from aekit.core.pictures import image_shape

    model = load_model(need_file(args.model, "model"), args)
    src = read_for(args, model)
    y = model.reconstruct(src.eval_split[0])
    out = write_output(
        args.output,
        y,
        images=src.kind == "image",
        image_shape_=image_shape(model),
        names=src.paths,
        ids=src.row_ids(),
        columns=src.description.columns,
        what="reconstructions",
    )
    emit(args, {"output": str(out), "shape": list(y.shape)}, f"{len(y)} reconstructions -> {out}")
    return 0
