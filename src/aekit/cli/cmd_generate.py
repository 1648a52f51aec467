"""aekit generate: samples, a latent interpolation or the 2-D manifold of a trained model, as a PNG grid."""

from pathlib import Path

from aekit.apps.generate import interpolate, manifold, sample_grid, save_grid_png
from aekit.cli.common import emit, int_range, load_model, need_file, positive_int
from aekit.cli.outputs import write_output
from aekit.datasets.sources import read_input
from aekit.errors import AekitError

NAME = "generate"
HELP = "draw samples, interpolate between two inputs, or map the 2-D latent manifold of a model"
EXAMPLES = (
    "  aekit generate vae.aekit -n 64 -o samples.png\n"
    "  aekit generate vae.aekit --manifold --grid 20 -o manifold.png\n"
    "  aekit generate vae.aekit --interpolate 3 17 --input digits.npy --steps 10 -o morph.png\n"
    "  aekit generate vae.aekit --interpolate a.png b.png -o morph.png --json\n"
    "A and B of --interpolate are picture/.npy files (their first sample), or integer indices\n"
    "into the array given by --input. Samples and the manifold need a variational model\n"
    "(vae, conv_vae); interpolation works with any family. -o .npy writes the raw array."
)


def add_arguments(p) -> None:
    p.add_argument("model", help="a trained model file or the run folder holding it")
    p.add_argument("-o", "--output", required=True, help=".png (one grid) or .npy (the pictures)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--manifold",
        action="store_true",
        help="the Keras blog's grid over the prior's quantiles in latent dimensions 0 and 1",
    )
    mode.add_argument(
        "--interpolate", nargs=2, metavar=("A", "B"), help="decode the straight line between the codes of A and B"
    )
    p.add_argument("-n", type=positive_int, default=64, help="number of random samples (default: 64)")
    p.add_argument("--grid", type=positive_int, default=20, help="manifold grid size n (n x n pictures; default: 20)")
    p.add_argument(
        "--steps", type=int_range(2, 10000), default=10, help="interpolation steps, endpoints included (default: 10)"
    )
    p.add_argument("--input", default=None, help="the array (.npy/.npz/folder) that integer A/B index into")


def _endpoint(token: str, model, pool, name: str):
    if token.lstrip("-").isdigit():
        if pool is None:
            raise AekitError(f"--interpolate {name}={token}: an index needs --input ARRAY to index into")
        i = int(token)
        if not -len(pool) <= i < len(pool):
            raise AekitError(f"--interpolate {name}={token}: index out of range for {len(pool)} inputs")
        return pool[i]
    need_file(token, f"--interpolate {name}")
    return read_input(token, model)[0][0]


def run(args) -> int:
    need_file(args.model, "model")
    model = load_model(args.model, args)
    if args.interpolate:
        pool = read_input(args.input, model)[0] if args.input else None
        a, b = (_endpoint(t, model, pool, n) for t, n in zip(args.interpolate, "AB"))
        imgs, cols, what = interpolate(model, a, b, steps=args.steps), args.steps, "interpolation"
    elif args.manifold:
        imgs, cols, what = manifold(model, n=args.grid), args.grid, "manifold"
    else:
        imgs, cols, what = sample_grid(model, args.n, seed=args.seed), None, "samples"
    if Path(args.output).suffix.lower() == ".png":
        out = save_grid_png(imgs, args.output, ncols=cols)
    else:
        out = write_output(args.output, imgs, images=True)
    emit(
        args,
        {"output": str(out), "mode": what, "n": len(imgs), "shape": list(imgs.shape)},
        f"wrote {out}: {len(imgs)} pictures ({what}) of {imgs.shape[1]}x{imgs.shape[2]}",
    )
    return 0
