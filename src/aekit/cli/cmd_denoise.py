"""aekit denoise: clean noisy pictures or arrays with a denoising autoencoder."""

import numpy as np

from aekit.apps.denoise import denoise, psnr
from aekit.cli.common import add_input_options, emit, load_model, need_file, positive_int, read_for
from aekit.cli.outputs import write_output
from aekit.core.pictures import image_shape
from aekit.errors import AekitError

NAME = "denoise"
HELP = "denoise pictures or arrays with a (denoising) autoencoder"
EXAMPLES = (
    "  aekit denoise denoiser.aekit noisy/ -o clean/          # a folder of pictures -> PNGs\n"
    "  aekit denoise denoiser.aekit noisy.npy -o clean.npy\n"
    "  aekit denoise denoiser.aekit noisy.npy -o clean.png --reference truth.npy --json\n"
    "Train a denoiser with: aekit train ... --set corruption=gaussian:0.5 (or build(...,\n"
    "corruption='gaussian:0.5') in Python). -o: .npy/.npz (the array), .png (one grid), or a folder\n"
    "(one PNG per input). --reference CLEAN reports the PSNR of the input and of the output."
)


def add_arguments(p) -> None:
    p.add_argument("model", help="a trained model file or the run folder holding it")
    add_input_options(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=".npy, .npz, .csv, .json; for pictures also .png (grid) or a folder (PNGs)",
    )
    p.add_argument("--reference", default=None, help="the clean .npy/.npz to measure PSNR against")
    p.add_argument("--batch-size", type=positive_int, default=256, help="inference batch size (default: 256)")


def run(args) -> int:
    need_file(args.model, "model")
    if args.batch_size < 1:
        raise AekitError(f"--batch-size={args.batch_size}; expected a positive number")
    model = load_model(args.model, args)
    src = read_for(args, model)
    x = src.eval_split[0]
    out = denoise(model, x, batch_size=args.batch_size)
    info = {"input": args.input, "n": int(len(out)), "shape": list(out.shape)}
    text = f"denoised {len(out)} samples"
    if args.reference:
        need_file(args.reference, "--reference")
        ref = read_for(args, model, args.reference).eval_split[0]
        if ref.shape != x.shape:
            raise AekitError(f"--reference {args.reference}: shape {ref.shape} differs from the input's {x.shape}")
        p_in = float(np.mean(psnr(ref, x)))
        p_out = float(np.mean(psnr(ref, out.reshape(ref.shape))))
        info.update(psnr_input_db=round(p_in, 3), psnr_output_db=round(p_out, 3))
        text += f"; PSNR {p_in:.2f} dB -> {p_out:.2f} dB"
    path = write_output(
        args.output,
        out,
        images=src.kind == "image",
        image_shape_=image_shape(model),
        names=src.paths,
        ids=src.row_ids(),
        columns=src.description.columns,
        what="denoised samples",
    )
    info["output"] = str(path)
    emit(args, info, f"{text}; wrote {path}")
    return 0
