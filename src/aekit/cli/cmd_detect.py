"""aekit detect: anomaly scores (reconstruction error) and flags for each input sample, as a CSV."""
import csv
import io

from ..apps.anomaly import METRICS, detect, fit_threshold
from ..errors import AekitError
from ..io import atomic_write
from ..sources import read_input
from .common import emit, finite_float, float_range, int_range, load_model, need_file, positive_int

NAME = "detect"
HELP = "score samples by reconstruction error and flag anomalies (threshold stored in the model)"
EXAMPLES = ("  aekit detect model.aekit normal.npy --fit-on normal.npy --contamination 0.01 -o train_scores.csv\n"
            "  aekit detect model.aekit new.npy -o scores.csv             # the threshold stored by --fit-on\n"
            "  aekit detect model.aekit new.npy --contamination 0.05 -o scores.csv --json\n"
            "  aekit detect model.aekit pictures/ --threshold 0.02 -o scores.csv\n"
            "  aekit detect --stream series.csv -o points.csv             # causal detector on a time series\n"
            "--fit-on TRAIN fits the threshold on normal data (the 1 - contamination quantile of its scores,\n"
            "or --percentile) and stores it in MODEL. Later runs use it; --contamination (a training-score\n"
            "quantile) or --threshold (a fixed score) override it. The CSV has index,score,anomaly\n"
            "(and path, for pictures). Scores: mse, bce, or elbo (the negative ELBO of a VAE).\n"
            "--stream SERIES.csv (timestamp,value) needs no model: a causal detector trains an autoencoder\n"
            "on the first 15% of the series (at most 750 points) and scores each later point from the window\n"
            "ending at it, flagging points whose error is improbable under a tail model of the error so far\n"
            "(aekit.apps.stream). The CSV has index,timestamp,value,score,anomaly; score = -log10(tail p).")


def add_arguments(p) -> None:
    p.add_argument("model", help="a model trained on normal data (with --stream: the series)")
    p.add_argument("input", nargs="?", help="samples to score: .npy/.npz, a picture, or a folder of pictures")
    p.add_argument("-o", "--output", required=True, help="the scores, a .csv file")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--contamination", type=float_range(0, 0.5, hi_closed=True), default=None,
                   help="expected fraction of anomalies (0 < c <= 0.5)")
    g.add_argument("--threshold", type=finite_float, default=None, help="flag scores above this value")
    p.add_argument("--fit-on", default=None, metavar="TRAIN",
                   help="normal data to fit the threshold on; the threshold is saved into MODEL")
    p.add_argument("--percentile", type=float_range(0, 100, closed=True), default=None, help="with --fit-on: threshold at this "
                   "percentile of the training scores instead of --contamination")
    p.add_argument("--metric", default="auto", choices=METRICS, help="score (default: the stored one, else "
                   "elbo for variational models and mse otherwise)")
    p.add_argument("--key", default=None, help="array name inside an .npz input")
    s = p.add_argument_group("causal detection on a time series (--stream)")
    s.add_argument("--stream", action="store_true", help="score a timestamp,value CSV causally (no model)")
    s.add_argument("--risk", type=float_range(0, 1), default=1e-4, help="flag points whose tail probability is below this")
    s.add_argument("--stream-window", type=positive_int, default=32, help="trailing window length (points)")
    s.add_argument("--train-points", type=positive_int, default=None,
                   help="points at the start to train on (default 15%% of the series, at most 750)")
    s.add_argument("--online", type=int_range(0, 2 ** 31), default=0, metavar="N",
                   help="keep learning: a short update after every N scored points (default 0: off)")


def run(args) -> int:
    if args.stream:
        return _run_stream(args)
    if args.input is None:
        raise AekitError("detect needs MODEL and INPUT (or --stream SERIES.csv)")
    need_file(args.model, "model")
    need_file(args.input, "input")
    if not args.output.lower().endswith(".csv"):
        raise AekitError(f"-o {args.output}: expected a .csv file for the scores")
    if args.fit_on and args.threshold is not None:
        raise AekitError("--fit-on fits a threshold; it cannot be combined with --threshold")
    if args.percentile is not None and not args.fit_on:
        raise AekitError("--percentile needs --fit-on TRAIN (it picks the threshold from training scores)")
    model = load_model(args.model, args)
    # every input is read before anything is written: a bad INPUT must not leave MODEL rewritten
    x_fit = read_input(need_file(args.fit_on, "--fit-on"), model, key=args.key)[0] if args.fit_on else None
    x, meta = read_input(args.input, model, key=args.key)
    contamination = args.contamination
    if x_fit is not None:
        c = contamination if contamination is not None else 0.01
        fit_threshold(model, x_fit, contamination=None if args.percentile is not None else c,
                      percentile=args.percentile, metric=args.metric)
        contamination = None  # now the stored threshold is exactly what was asked for
    res = detect(model, x, contamination=contamination, threshold=args.threshold, metric=args.metric)
    paths = meta.get("paths")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "score", "anomaly"] + (["path"] if paths else []))
    for i, (s, lab) in enumerate(zip(res.scores, res.labels)):
        w.writerow([i, f"{float(s):.8g}", int(lab)] + ([paths[i]] if paths else []))
    out = atomic_write(args.output, buf.getvalue().encode())
    if x_fit is not None:
        model.save(args.model)  # last: the scores are written, so a failure here loses nothing else
    info = {"output": str(out), "n": int(len(res.scores)), "n_anomalies": res.n_anomalies,
            "threshold": res.threshold, "fitted": bool(args.fit_on), "metric": res.metric}
    emit(args, info, f"{res.n_anomalies} of {len(res.scores)} samples flagged (threshold {res.threshold:.6g}); "
         f"wrote {out}" + ("; threshold saved in the model" if args.fit_on else ""))
    return 0


def _run_stream(args) -> int:
    from ..apps.stream import stream_detect
    from ..datasets import load_timeseries

    if args.input is not None:
        raise AekitError("--stream trains its own detector on the start of the series; give only the series CSV")
    for opt in ("fit_on", "threshold", "contamination", "percentile"):
        if getattr(args, opt) is not None:
            raise AekitError(f"--{opt.replace('_', '-')} does not apply to --stream (use --risk)")
    need_file(args.model, "series")
    if not args.output.lower().endswith(".csv"):
        raise AekitError(f"-o {args.output}: expected a .csv file for the scores")
    ts = load_timeseries(args.model)
    res = stream_detect(ts.values, window=args.stream_window, n_train=args.train_points, risk=args.risk,
                        update_every=args.online, seed=getattr(args, "seed", None) or 0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "timestamp", "value", "score", "anomaly"])
    for i, (t, v, sc, lab) in enumerate(zip(ts.timestamps, ts.values, res.scores, res.labels)):
        w.writerow([i, str(t).replace("T", " "), f"{float(v):.10g}", f"{float(sc):.6g}", int(lab)])
    out = atomic_write(args.output, buf.getvalue().encode())
    flagged = [str(ts.timestamps[i]).replace("T", " ") for i in res.labels.nonzero()[0]]
    info = {"output": str(out), "n": len(ts), "n_train": res.n_train, "n_anomalies": res.n_anomalies,
            "threshold": res.threshold, "risk": args.risk, "anomalies": flagged}
    emit(args, info, f"{res.n_anomalies} of {len(ts)} points flagged (trained on the first {res.n_train}); "
         f"wrote {out}")
    return 0
