"""aekit decode: outputs from codes (Autoencoder.decode)."""

from aekit.cli.common import emit, load_model, need_file

NAME = "decode"
HELP = (
    "decode codes (.npy, .npz, .csv or .json, as encode writes them) to outputs: a .npy, a .png grid or a "
    "folder of PNGs"
)
EXAMPLES = """  aekit decode runs/vae/model.aekit codes.npy -o decoded.npy
  aekit decode runs/vae/model.aekit codes.npy -o decoded.png     # one grid picture
  aekit decode runs/vae/model.aekit codes.npy -o decoded/        # one PNG per code
  aekit decode runs/table/model.aekit codes.csv -o rows.csv      # codes that 'aekit encode' wrote as CSV
  python: aekit.load("runs/vae/model.aekit").decode(np.load("codes.npy"))"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit) or the run folder holding it")
    p.add_argument(
        "codes",
        metavar="CODES",
        help="codes (N, code_size): .npy, .npz, or the .csv/.json that "
        "'aekit encode' writes (its id column is dropped)",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help=".npy, .npz, .csv, .json; pictures also .png or a folder"
    )


def run(args) -> int:
    from aekit.cli.outputs import read_array, write_output
    from aekit.core.pictures import image_shape

    model = load_model(need_file(args.model, "model"), args)
    z = read_array(need_file(args.codes, "codes"))
    y = model.decode(z)
    out = write_output(args.output, y, image_shape_=image_shape(model), columns=model.data.columns, what="outputs")
    emit(args, {"output": str(out), "shape": list(y.shape)}, f"{len(y)} outputs -> {out}")
    return 0
