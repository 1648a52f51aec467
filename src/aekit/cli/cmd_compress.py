"""aekit compress: pictures or arrays to an .aekz file through a trained model's codes."""

from aekit.apps.codec import MAX_BITS, compress_file
from aekit.apps.learned_codec import is_codec
from aekit.cli.common import emit, int_range, load_model, model_path, need_file
from aekit.cli.outputs import need_suffix
from aekit.datasets.sources import read_input

NAME = "compress"
HELP = "compress pictures or arrays to an .aekz file (the model's codes, quantised and entropy-coded)"
EXAMPLES = (
    "  aekit compress model.aekit digits.npy -o digits.aekz\n"
    "  aekit compress model.aekit photos/ -o photos.aekz --bits 6 --json\n"
    "  aekit compress codec.aekit photos/ -o photos.aekz   # a codec model: each photo at its own size"
)


def add_arguments(p) -> None:
    p.add_argument(
        "model", help="a trained model file or run folder (any family; a 'codec' model codes with its own tables)"
    )
    p.add_argument("input", help="a .npy/.npz array, one picture, or a folder of pictures")
    p.add_argument("-o", "--output", required=True, help="the .aekz file to write")
    p.add_argument(
        "--bits",
        type=int_range(1, MAX_BITS),
        default=8,
        help=f"quantisation bits per code value, 1-{MAX_BITS} "
        "(default: 8; fewer bits: smaller file, lower quality; a codec model ignores it: "
        "its quality is set when it is trained)",
    )
    p.add_argument(
        "--refine",
        type=int_range(0, 10_000),
        default=0,
        metavar="STEPS",
        help="codec models: search each picture's code for STEPS optimisation steps before coding "
        "(default: 0, the encoder's own code; 100 steps: about 0.5 dB more at the same size, "
        "encoding over 100x slower; decoding is unchanged)",
    )
    p.add_argument("--key", default=None, help="the array inside an .npz input")
    p.add_argument(
        "--no-psnr", action="store_true", help="do not decode the file again to measure the round trip's PSNR (faster)"
    )


def run(args) -> int:
    need_file(args.model, "model")
    need_suffix(args.output, (".aekz",), "the compressed file")
    model = load_model(args.model, args)
    learned = is_codec(model)
    x, read = read_input(args.input, model, key=args.key, native_size=learned)
    info = compress_file(
        model,
        x,
        args.output,
        bits=args.bits,
        model_path=model_path(args.model),
        names=read.paths if learned else None,
        psnr=not args.no_psnr,
        refine=args.refine,
    )
    how = "the model's own tables" if learned else f"{info['code_size']} codes x {info['bits']} bits"
    text = (
        f"wrote {info['output']}: {info['n']} samples, {info['bytes']:,} bytes "
        f"({info['bytes_per_sample']:.1f} per sample, {info['ratio']:.1f}x smaller), {how}"
    )
    if "bpp" in info:
        text += f"\n  {info['bpp']:.3f} bits per pixel"
    if "psnr" in info:
        chans = info.get("psnr_channels")
        text += f", round trip PSNR {info['psnr']:.2f} dB" + (
            f" (per channel {' / '.join(f'{c:.2f}' for c in chans)})" if chans else ""
        )
    emit(args, info, text)
    return 0
