"""aekit train: train a family on a data source and write a run folder (aekit.runs.train_run)."""

from aekit.cli.common import IMPUTE_CHOICES, emit, positive_int, verbose

NAME = "train"
HELP = "train an autoencoder; writes model.aekit, history.csv, TensorBoard logs and report.html to --out"
EXAMPLES = """  aekit train conv --data digits --out runs/conv --set epochs=5
  aekit train dense --data mnist --set hidden=128,64 --set latent_dim=32 --out runs/deep
  aekit train conv --data mnist --set filters=32,32 --set corruption=gaussian:0.5 --out runs/denoise
  aekit train vae --data fashion --config vae.toml --out runs/vae       # [model] / [train] sections
  aekit train conv --data photos/ --image-size 48x48 --color rgb --out runs/photos
  aekit train lstm --data series.csv --window 64 --set latent_dim=8 --out runs/series
  aekit train conv --data digits --out runs/conv --set epochs=20 --resume   # continue a killed run
  aekit train dense --data big.npy --out runs/ddp --nproc 2 --set batch_size=256   # 2 processes (DDP)
  torchrun --nproc-per-node 2 -m aekit train dense --data big.npy --out runs/ddp   # the same, by hand
processes (--nproc N, or torchrun): one model trained by N processes with DistributedDataParallel
(gloo on CPU, NCCL with --device cuda, one GPU per process); batch_size is the global batch, a multiple
of N; rank 0 writes the run folder; a process that dies stops the others; --resume works with any N.
options (--set KEY=VALUE): any field of the family's config (aekit models; e.g. latent_dim, filters,
hidden, corruption, sparsity) or of TrainConfig (epochs, batch_size, lr, optimizer, validation_split,
scale, patience, ...). Python: aekit.runs.train_run("conv", "digits", "runs/conv", options={...})"""


def add_arguments(p) -> None:
    p.add_argument("family", metavar="FAMILY", help="a registered family (see 'aekit models')")
    p.add_argument(
        "--data",
        required=True,
        metavar="SRC",
        help="digits, mnist, fashion, a folder of images, an .npy/.npz/.csv file or a time-series CSV",
    )
    p.add_argument("--out", "-o", required=True, metavar="RUN_DIR", help="run folder to write")
    p.add_argument("--config", metavar="FILE", help="options from a .toml or .yaml file (--set wins)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="sets",
        help="a model or training option; repeatable",
    )
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.aekit")
    p.add_argument("--force", action="store_true", help="replace the run already in RUN_DIR")
    p.add_argument(
        "--image-size",
        metavar="HxW",
        help="picture size for a folder of images (default: the folder's median size, longer side at most 64)",
    )
    p.add_argument(
        "--color",
        choices=("gray", "rgb"),
        help="pictures in gray or rgb (default: rgb when the folder holds colour pictures)",
    )
    p.add_argument(
        "--columns",
        metavar="A,B,...",
        help="the table columns to train on (default: all); for a "
        "series CSV its value columns (default: 'value', else all but the time)",
    )
    p.add_argument(
        "--impute",
        choices=IMPUTE_CHOICES,
        help="fill a table's missing values with each column's "
        "mean, median or 0 (default: refuse a table with missing values); the model remembers it",
    )
    p.add_argument(
        "--window",
        type=positive_int,
        help="window length for a time-series CSV (default: points/20, "
        "8 to 64; a CSV whose first column holds timestamps is a time series)",
    )
    p.add_argument("--stride", type=positive_int, help="window step for a time-series CSV (default window/4)")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument(
        "--nproc",
        type=positive_int,
        metavar="N",
        help="train in N processes on this machine (torchrun --standalone, DistributedDataParallel)",
    )


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def run(args) -> int:
    from aekit.apps.anomaly import AnomalyThreshold
    from aekit.runs.train import parse_sets, train_run
    from aekit.training import distributed

    if args.nproc is not None and args.nproc != 1:
        hint = f"; continue with --resume from {args.out}/checkpoint.aekit" if not args.resume else ""
        return distributed.launch(args.nproc, _without_nproc(args.argv), hint=hint)

    options = parse_sets(args.sets)
    for key, val in (
        ("image_size", args.image_size),
        ("color", args.color),
        ("window", args.window),
        ("columns", args.columns),
        ("impute", args.impute),
        ("stride", args.stride),
    ):
        if val is not None:
            options[key] = val
    res = train_run(
        args.family,
        args.data,
        args.out,
        options=options,
        config_file=args.config,
        resume=args.resume,
        force=args.force,
        seed=args.seed,
        device=args.device,
        verbose=verbose(args),
        report=not args.no_report,
    )
    if not distributed.is_main():
        return 0  # rank 0 reports for the run
    s = res.summary()
    loss = "n/a" if s["final_loss"] is None else f"{s['final_loss']:.4g}"
    note = "".join(f"\n{s['decided'][k]}" for k in ("resume",) if s["decided"].get(k))
    stored = res.model.section(AnomalyThreshold)
    if stored is not None:  # what `aekit detect` will use with no option
        note += f"\nanomaly: {stored.describe()}; 'aekit detect' uses both"
    emit(
        args,
        s,
        f"trained {s['family']} for {s['epochs']} epochs in {s['seconds']:.1f} s, final loss "
        f"{loss}{note}\nmodel: {s['model']}\nreport: {s['report']}",
    )
    return 0
