"""aekit detect: anomaly scores (reconstruction error, plus the code's distance for tables and series) and flags for
each sample, or each point of a series."""

import argparse

from aekit.apps.anomaly import detect, fit_threshold, metric_names
from aekit.cli.common import (
    INPUT_HELP,
    add_input_options,
    emit,
    finite_float,
    float_range,
    int_range,
    load_model,
    model_path,
    need_file,
    positive_int,
    read_for,
)
from aekit.cli.outputs import need_suffix, write_records
from aekit.datasets.timeseries import flagged_ranges, point_flags, to_file_order
from aekit.errors import AekitError

NAME = "detect"
HELP = (
    "score samples (or the points of a time series) by reconstruction error and how unusual their code "
    "is, and flag anomalies"
)
EXAMPLES = (
    "  aekit detect runs/series/model.aekit series.csv -o points.csv --json   # per timestamp + ranges\n"
    "  aekit detect runs/table/model.aekit new_rows.csv -o scores.csv\n"
    "  aekit detect model.aekit normal.npy --fit-on normal.npy --contamination 0.01 -o train_scores.csv\n"
    "  aekit detect model.aekit pictures/ --threshold 0.02 -o scores.json\n"
    "The threshold: --threshold (a fixed score), --contamination (a training-score quantile), or the one\n"
    "stored in MODEL ('aekit train' stores the 99th percentile of the training scores; --fit-on TRAIN\n"
    "refits it on normal data and saves it). -o: .csv or .json with index (or timestamp, or path),\n"
    "score, anomaly; for a time series one row per point (timestamp, value, score, anomaly), in the\n"
    "input's row order (a series out of time order is scored in time order) and, in --json, the\n"
    "flagged ranges (start, end). Scores: see --metric.\n"
    "  aekit detect --stream series.csv -o points.csv             # causal detector on a time series\n"
    "--stream SERIES.csv (timestamp,value) needs no model: a causal detector trains an autoencoder\n"
    "on the first 15% of the series (at most 750 points) and scores each later point from the window\n"
    "ending at it: its reconstruction error and its code's distance to the nearest training codes,\n"
    "each judged by a tail model of its past, combined (Fisher's method, corrected for how much the\n"
    "two move together); flags improbable points and values that leave the range seen so far by\n"
    "more than 5% of it (aekit.apps.anomaly.stream).\n"
    "The CSV has index,timestamp,value,score,anomaly; score = -log10(tail p)."
)


def add_arguments(p) -> None:
    p.add_argument("model", help="a model file or run folder, trained on normal data (with --stream: the series)")
    add_input_options(p, positional=None)
    p.add_argument("input", nargs="?", metavar="INPUT", help=INPUT_HELP)
    p.add_argument("-o", "--output", required=True, help="the scores: .csv or .json (--stream: .csv)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--contamination",
        type=float_range(0, 0.5, hi_closed=True),
        default=None,
        help="expected fraction of anomalies (0 < c <= 0.5)",
    )
    g.add_argument("--threshold", type=finite_float, default=None, help="flag scores above this value")
    p.add_argument(
        "--fit-on",
        default=None,
        metavar="TRAIN",
        help="normal data to fit the threshold on; the threshold is saved into MODEL",
    )
    p.add_argument(
        "--percentile",
        type=float_range(0, 100, closed=True),
        default=None,
        help="with --fit-on: threshold at this percentile of the training scores instead of --contamination",
    )
    p.add_argument(
        "--metric",
        default="auto",
        choices=metric_names(),
        help="score (default: the stored one: mse_tails "
        "for tables trained by 'aekit train', the error plus how far the row's values lie in their "
        "columns' tails and how rare their histogram bins are; mse_maha for series, the error or the code's "
        "Mahalanobis distance to the training codes, whichever is more unusual; else elbo for "
        "variational models and mse otherwise)",
    )
    s = p.add_argument_group("causal detection on a time series (--stream)")
    s.add_argument("--stream", action="store_true", help="score a timestamp,value CSV causally (no model)")
    s.add_argument(
        "--risk",
        type=float_range(0, 1),
        default=1e-4,
        help="flag points whose combined tail probability is below this (default 1e-4)",
    )
    s.add_argument("--stream-window", type=positive_int, default=32, help="trailing window length (points)")
    s.add_argument(
        "--train-points",
        type=positive_int,
        default=None,
        help="points at the start to train on (default 15%% of the series, at most 750)",
    )
    s.add_argument(
        "--online",
        type=int_range(0, 2**31),
        default=0,
        metavar="N",
        help="keep learning: a short update after every N scored points (default 0: off)",
    )
    s.add_argument(
        "--history",
        type=int_range(100, 2**31),
        default=4000,
        metavar="N",
        help="points of past scores the tail models judge against (default 4000, two weeks of "
        "5-minute points; shorter: more anomalies found and more false alarms)",
    )
    s.add_argument(
        "--season",
        type=_season,
        default="auto",
        metavar="auto|none|N",
        help="show each window beside the window N points earlier (auto: the period of the training "
        "part, if it repeats)",
    )
    s.add_argument(
        "--neighbours",
        type=int_range(0, 2**31),
        default=5,
        metavar="K",
        help="judge each window's code by its distance to the K nearest training codes too "
        "(default 5; 0: the reconstruction error alone)",
    )
    s.add_argument(
        "--no-range-check",
        action="store_true",
        help="do not flag values that leave the range seen so far by more than 5%% of it",
    )


def run(args) -> int:
    if args.stream:
        return _run_stream(args)
    if args.input is None:
        raise AekitError("detect needs MODEL and INPUT (or --stream SERIES.csv)")
    need_file(args.model, "model")
    need_suffix(args.output, (".csv", ".json"), "the scores")
    if args.fit_on and args.threshold is not None:
        raise AekitError("--fit-on fits a threshold; it cannot be combined with --threshold")
    if args.percentile is not None and not args.fit_on:
        raise AekitError("--percentile needs --fit-on TRAIN (it picks the threshold from training scores)")
    model = load_model(args.model, args)
    src = read_for(args, model)  # read every input before anything is written
    fit_src = read_for(args, model, args.fit_on) if args.fit_on else None
    contamination = args.contamination
    if fit_src is not None:
        c = contamination if contamination is not None else 0.01
        fit_threshold(
            model,
            fit_src.eval_split[0],
            contamination=None if args.percentile is not None else c,
            percentile=args.percentile,
            metric=args.metric,
        )
        contamination = None  # now the stored threshold is exactly what was asked for
    res = detect(model, src.eval_split[0], contamination=contamination, threshold=args.threshold, metric=args.metric)
    info = {
        "n": int(len(res.scores)),
        "n_anomalies": res.n_anomalies,
        "threshold": res.threshold,
        "fitted": bool(args.fit_on),
        "metric": res.metric,
    }
    d = src.description
    if src.kind == "series" and src.timestamps is not None:
        # one score per point: the highest score of the windows that cover it, against the same threshold
        points, flags = point_flags(res.scores, len(src.timestamps), d.window, d.stride, res.threshold)
        values = src.values.reshape(len(points), -1)  # (T, F): one output column per value column
        names = d.columns if values.shape[1] > 1 else ["value"]
        rows = src.file_rows  # scored in time order, written in the input's row order
        cols = {
            "timestamp": [str(t) for t in to_file_order(src.timestamps, rows)],
            **{n: to_file_order(values[:, j], rows) for j, n in enumerate(names)},
            "score": to_file_order(points, rows),
            "anomaly": to_file_order(flags, rows),
        }
        ranges = flagged_ranges(flags, src.timestamps)  # in time
        info.update(
            n_points=int(len(points)),
            n_points_flagged=int(flags.sum()),
            ranges=[{"start": a, "end": b} for a, b in ranges],
        )
        what = f"{int(flags.sum())} of {len(points)} points in {len(ranges)} ranges flagged"
    else:
        id_name, ids = src.row_ids()
        cols = {id_name: ids, "score": res.scores, "anomaly": res.labels}
        what = f"{res.n_anomalies} of {len(res.scores)} samples flagged"
    out = write_records(args.output, cols, extra=info, what="scores")
    if fit_src is not None:
        model.save(model_path(args.model))  # last: the scores are written, so a failure here loses nothing else
    info["output"] = str(out)
    emit(
        args,
        info,
        f"{what} (threshold {res.threshold:.6g}); wrote {out}"
        + ("; threshold saved in the model" if args.fit_on else ""),
    )
    return 0


def _season(text: str):
    """--season: 'auto', 'none' or a positive number of points."""
    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected auto, none or a period in points (an integer >= 1)"
        ) from None


def _run_stream(args) -> int:
    from aekit.apps.anomaly.stream import stream_detect
    from aekit.datasets import load_timeseries
    from aekit.datasets.reader import parse_columns

    if args.input is not None:
        raise AekitError("--stream trains its own detector on the start of the series; give only the series CSV")
    for opt in ("fit_on", "threshold", "contamination", "percentile"):
        if getattr(args, opt) is not None:
            raise AekitError(f"--{opt.replace('_', '-')} does not apply to --stream (use --risk)")
    need_file(args.model, "series")
    need_suffix(args.output, (".csv",), "the scores")
    ts = load_timeseries(args.model, parse_columns(getattr(args, "columns", None)))
    if ts.values.ndim != 1:
        raise AekitError(
            f"{args.model}: --stream scores a series with one value column; this one has "
            f"{ts.values.shape[1]} ({', '.join(ts.columns or [])}): pick one with --columns"
        )
    res = stream_detect(
        ts.values,
        window=args.stream_window,
        n_train=args.train_points,
        risk=args.risk,
        update_every=args.online,
        history=args.history,
        season=args.season,
        neighbours=args.neighbours,
        range_tolerance=None if args.no_range_check else 0.05,
        seed=getattr(args, "seed", None) or 0,
    )
    rows = ts.file_rows  # scored in time order, written in the input's row order
    cols = {
        "index": range(len(ts)),  # the input's row
        "timestamp": [str(t).replace("T", " ") for t in to_file_order(ts.timestamps, rows)],
        "value": to_file_order(ts.values, rows),
        "score": to_file_order(res.scores, rows),
        "anomaly": to_file_order(res.labels, rows),
    }
    out = write_records(args.output, cols, what="scores")
    flagged = [str(ts.timestamps[i]).replace("T", " ") for i in res.labels.nonzero()[0]]
    info = {
        "output": str(out),
        "n": len(ts),
        "n_train": res.n_train,
        "n_anomalies": res.n_anomalies,
        "threshold": res.threshold,
        "risk": args.risk,
        "season": res.season,
        "neighbours": args.neighbours,
        "anomalies": flagged,
    }
    season = f"; each window beside the one {res.season} points earlier" if res.season else ""
    emit(
        args,
        info,
        f"{res.n_anomalies} of {len(ts)} points flagged (trained on the first {res.n_train}{season}); wrote {out}",
    )
    return 0
