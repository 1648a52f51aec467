"""aekit compress: pictures or arrays to an .aekz file through a trained model's codes."""
from ..apps.codec import MAX_BITS, compress_file
from ..sources import read_input
from .common import emit, load_model, need_file

NAME = "compress"
HELP = "compress pictures or arrays to an .aekz file (the model's codes, quantised and entropy-coded)"
EXAMPLES = ("  aekit compress model.aekit digits.npy -o digits.aekz\n"
            "  aekit compress model.aekit photos/ -o photos.aekz --bits 6 --json")


def add_arguments(p) -> None:
    p.add_argument("model", help="a trained model file (any family)")
    p.add_argument("input", help="a .npy/.npz array, one picture, or a folder of pictures")
    p.add_argument("-o", "--output", required=True, help="the .aekz file to write")
    p.add_argument("--bits", type=int, default=8, help=f"quantisation bits per code value, 1-{MAX_BITS} "
                   "(default: 8; fewer bits: smaller file, lower quality)")
    p.add_argument("--key", default=None, help="the array inside an .npz input")


def run(args) -> int:
    need_file(args.model, "model")
    model = load_model(args.model, args)
    x, _ = read_input(args.input, model, key=args.key)
    info = compress_file(model, x, args.output, bits=args.bits, model_path=args.model)
    emit(args, info, f"wrote {info['output']}: {info['n']} samples, {info['bytes']:,} bytes "
                     f"({info['bytes_per_sample']:.1f} per sample, {info['ratio']:.1f}x smaller), "
                     f"{info['code_size']} codes x {info['bits']} bits")
    return 0
