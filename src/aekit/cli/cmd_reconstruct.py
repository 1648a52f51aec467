"""aekit reconstruct: inputs through the whole autoencoder (Autoencoder.reconstruct)."""
from .common import emit, load_model, need_file

NAME = "reconstruct"
HELP = "reconstruct inputs: .npy in, .npy out; pictures in (or OUT a folder/.png), pictures out"
EXAMPLES = """  aekit reconstruct runs/conv/model.aekit x_test.npy -o x_rec.npy
  aekit reconstruct runs/conv/model.aekit scans/ -o cleaned/     # a PNG per input picture, same names
  aekit reconstruct runs/conv/model.aekit x_test.npy -o grid.png
  python: aekit.load("runs/conv/model.aekit").reconstruct(x)"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit)")
    p.add_argument("input", metavar="INPUT", help=".npy/.npz, a picture, or a folder of pictures")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help=".npy, .png or a folder")


def run(args) -> int:
    from ..imageio import image_shape
    from ..sources import read_input, write_output

    model = load_model(need_file(args.model, "model"), args)
    x, meta = read_input(args.input, model)
    y = model.reconstruct(x)
    out = write_output(args.output, y, image_shape_=image_shape(model), names=meta.get("paths"))
    emit(args, {"output": str(out), "shape": list(y.shape)}, f"{len(y)} reconstructions -> {out}")
    return 0
