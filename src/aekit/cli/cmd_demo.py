"""aekit demo: three autoencoders on the embedded digits and one HTML report (aekit.runs.demo.run_demo)."""

from aekit.cli.common import emit, verbose

NAME = "demo"
HELP = "train a conv, a denoising and a 2-D variational autoencoder on the embedded digits; write a report"
EXAMPLES = """  aekit demo                       # about 5 minutes on 2 cores; writes aekit-demo/report.html
  aekit demo --quick --out /tmp/d  # under a minute: fewer digits and epochs, rougher pictures
  python: from aekit.runs.demo import run_demo; run_demo("aekit-demo", quick=True)"""


def add_arguments(p) -> None:
    p.add_argument("--out", default="aekit-demo", metavar="DIR", help="output folder (default: aekit-demo)")
    p.add_argument("--quick", action="store_true", help="the fast version (CI smoke run)")


def run(args) -> int:
    from aekit.runs.demo import run_demo

    seed = args.seed if args.seed is not None else 0
    report = run_demo(args.out, quick=args.quick, seed=seed, verbose=verbose(args), device=args.device)
    emit(args, {"report": str(report), "out": str(report.parent)}, f"report: {report}")
    return 0
