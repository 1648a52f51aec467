"""aekit encode: the codes of inputs (Autoencoder.encode)."""
from .common import emit, load_model, need_file

NAME = "encode"
HELP = "encode inputs (.npy/.npz, a picture or a folder of pictures) to codes in a .npy file"
EXAMPLES = """  aekit encode runs/conv/model.aekit x_test.npy -o codes.npy
  aekit encode runs/conv/model.aekit digits/ -o codes.npy
  python: np.save("codes.npy", aekit.load("runs/conv/model.aekit").encode(x))"""


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.aekit)")
    p.add_argument("input", metavar="INPUT", help=".npy/.npz, a picture, or a folder of pictures")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npy", help="where to write the codes")


def run(args) -> int:
    from ..sources import read_input, write_output

    model = load_model(need_file(args.model, "model"), args)
    x, _ = read_input(args.input, model)
    codes = model.encode(x)
    out = write_output(args.output, codes)
    emit(args, {"output": str(out), "shape": list(codes.shape)},
         f"{codes.shape[0]} codes of size {codes.shape[1]} -> {out}")
    return 0
