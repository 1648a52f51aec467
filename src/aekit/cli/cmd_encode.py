"""aekit encode: the codes of inputs (Autoencoder.encode)."""

from aekit.cli.common import add_input_options, emit, load_model, need_file, read_for

NAME = "encode"
HELP = "encode inputs (arrays, tables, series, pictures) to codes: .npy, .npz, .csv or .json"
EXAMPLES = """  aekit encode runs/conv/model.aekit x_test.npy -o codes.npy
  aekit encode runs/conv/model.aekit digits/ -o codes.csv      # one row per picture, with its path
  aekit encode runs/table/model.aekit new_rows.csv -o codes.csv
  python: np.save("codes.npy", aekit.load("runs/conv/model.aekit").encode(x))"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit) or the run folder holding it")
    add_input_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the codes: .npy, .npz, .csv or .json")


def run(args) -> int:
    from aekit.cli.outputs import write_output

    model = load_model(need_file(args.model, "model"), args)
    src = read_for(args, model)
    codes = model.encode(src.eval_split[0])
    out = write_output(args.output, codes, ids=src.row_ids(), what="codes")
    emit(
        args,
        {"output": str(out), "shape": list(codes.shape)},
        f"{codes.shape[0]} codes of size {codes.shape[1]} -> {out}",
    )
    return 0
