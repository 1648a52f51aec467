"""aekit decompress: an .aekz file back to arrays or pictures, with the model that made it."""

from aekit.apps.codec import decompress_file, locate_model
from aekit.cli.common import emit, model_path, need_file
from aekit.cli.outputs import write_output
from aekit.core.pictures import image_shape
from aekit.training.loop import pick_device

NAME = "decompress"
HELP = "decompress an .aekz file to a .npy, a .png grid or a folder of PNGs (needs the same model)"
EXAMPLES = (
    "  aekit decompress digits.aekz -o digits.npy\n  aekit decompress photos.aekz -o photos/ --model model.aekit --json"
)


def add_arguments(p) -> None:
    p.add_argument("file", help="an .aekz file written by 'aekit compress'")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=".npy (the array), .npz, .csv, .json; pictures also .png (one grid) or a folder",
    )
    p.add_argument(
        "--model",
        default=None,
        help="the model (file or run folder) it was compressed with "
        "(default: the path stored in the file); its fingerprint must match",
    )


def run(args) -> int:
    need_file(args.file, ".aekz file")
    model = locate_model(args.file, model_path(args.model) if args.model else None)
    model = model.to(pick_device(getattr(args, "device", "auto")))
    x, header = decompress_file(args.file, model)
    shp = image_shape(model)
    out = write_output(
        args.output, x, images=shp is not None, image_shape_=shp, names=header.get("names"), columns=model.data.columns
    )
    shapes = sorted({tuple(a.shape) for a in x})  # pictures of a codec model may differ in size
    what = f"shape {shapes[0]}" if len(shapes) == 1 else f"{len(shapes)} sizes"
    emit(
        args,
        {
            "output": str(out),
            "n": int(header["n"]),
            "shape": [len(x), *shapes[0]] if len(shapes) == 1 else None,
            "dtype": str(x[0].dtype),
            "bits": header.get("bits"),
            "code_size": header.get("code_size"),
        },
        f"wrote {out}: {header['n']} samples of {what} ({x[0].dtype})",
    )
    return 0
