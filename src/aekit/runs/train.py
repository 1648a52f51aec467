"""Training runs: a family, a data source and options in; a run folder out. What ``aekit train`` calls.

A run folder holds ``model.aekit`` (the model file), ``checkpoint.aekit`` (written every epoch, so a killed
run continues with ``resume=True``), ``history.csv``, TensorBoard logs in ``tb/`` and ``report.html``.

Options are the fields of the family's config dataclass and of :class:`aekit.models.config.TrainConfig`, given as
one flat mapping (``{"latent_dim": 16, "epochs": 3, "corruption": "gaussian:0.5"}``, values may be strings
as typed on a command line) or read from a TOML/YAML file (:func:`read_config_file`); no option is
defined anywhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aekit.errors import AekitError, DivergenceError, FileAccessError, os_error
from aekit.models.config import TrainConfig, apply_overrides, field_types, from_dict
from aekit.models.registry import Family, get_family
from aekit.training import distributed
from aekit.training.loop import pick_device

if TYPE_CHECKING:  # imported where a run starts: `aekit train --help` needs no torch module built
    from aekit.autoencoder.model import Autoencoder

DATA_KEYS = ("image_size", "color", "window", "stride", "kind", "key", "limit", "columns", "impute")


def read_config_file(path) -> dict:
    """A flat option dict from a ``.toml`` (tomllib) or ``.yaml``/``.yml`` (PyYAML) file.

    Keys may sit at the top level or in ``[model]``, ``[train]``/``[training]`` and ``[data]`` sections;
    ``[model.corruption]`` / ``[corruption]`` tables become the nested option (``corruption = {...}``).
    """
    p = Path(path)
    if not p.is_file():
        raise AekitError(f"config {path}: no such file")
    suf = p.suffix.lower()
    if suf == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib

        try:
            d = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise AekitError(f"config {path}: not valid TOML ({e})") from None
    elif suf in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise AekitError(f"config {path}: YAML needs PyYAML (pip install pyyaml); or use a .toml file") from None
        try:
            d = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise AekitError(f"config {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    else:
        raise AekitError(f"config {path}: expected a .toml, .yaml or .yml file")
    if not isinstance(d, dict):
        raise AekitError(f"config {path}: expected keys and sections at the top level")
    flat: dict = {}
    for k, v in d.items():
        if k in ("model", "train", "training", "data") and isinstance(v, dict):
            flat.update(v)
        else:
            flat[k] = v
    return flat


def split_options(family: str | Family, options: dict) -> tuple[dict, dict, dict]:
    """(model options, training options, data options) of a flat mapping; unknown keys are refused with the
    valid ones listed. Dotted keys (``corruption.amount``) belong to the model."""
    fam = family if isinstance(family, Family) else get_family(family)
    model_fields = set(field_types(fam.config_cls)) - {"input_shape"}
    train_fields = set(field_types(TrainConfig))
    m, t, d = {}, {}, {}
    for k, v in options.items():
        head = k.split(".", 1)[0]
        if head in model_fields:
            m[k] = v
        elif head in train_fields:
            t[k] = v
        elif k in DATA_KEYS:
            d[k] = v
        else:
            valid = ", ".join(sorted(model_fields | train_fields))
            raise AekitError(f"unknown option {k!r} for {family!r}; valid options: {valid}")
    return m, t, d


def parse_sets(items) -> dict:
    """``["latent_dim=16", "epochs=3"]`` -> ``{"latent_dim": "16", "epochs": "3"}``."""
    out = {}
    for it in items or []:
        k, eq, v = str(it).partition("=")
        if not eq or not k.strip():
            raise AekitError(f"--set {it!r}: expected key=value, e.g. --set latent_dim=16")
        out[k.strip()] = v.strip()
    return out


@dataclass
class TrainRun:
    """What :func:`train_run` returns."""

    model: Autoencoder
    out_dir: Path
    model_path: Path
    history_path: Path
    report_path: Path | None
    tb_dir: Path
    seconds: float

    def summary(self) -> dict:
        """The run's facts (what ``aekit train --json`` prints), with what fit decided from the data."""
        h = self.model.history.history
        return {
            "family": self.model.family,
            "out_dir": str(self.out_dir),
            "model": str(self.model_path),
            "history": str(self.history_path),
            "report": str(self.report_path) if self.report_path else None,
            "tensorboard": str(self.tb_dir),
            "epochs": len(self.model.history.epoch),
            "final_loss": h["loss"][-1] if h.get("loss") else None,
            "final_val_loss": h["val_loss"][-1] if h.get("val_loss") else None,
            "seconds": round(self.seconds, 2),
            "decided": self.model.fit_info,
            "anomaly": self._anomaly(),
        }

    def _anomaly(self) -> dict | None:
        """The anomaly score and threshold stored for ``aekit detect`` (None for a model without one)."""
        from aekit.apps.anomaly import AnomalyThreshold

        t = self.model.section(AnomalyThreshold)
        return None if t is None else t.brief()


@contextlib.contextmanager
def _new_folder(out: Path, keep: Path):
    """Create the run folder ``out``; if the body fails before ``keep`` (the checkpoint, what ``--resume``
    needs) exists, remove the folders this call created, so a failed run leaves no empty run folder."""
    if out.exists() and not out.is_dir():
        raise FileAccessError(f"run folder {out}: is a file, expected a folder")
    created = None
    for p in (out, *out.parents):
        if p.exists():
            break
        created = p
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise os_error(e, "run folder") from None
    try:
        yield out
    except BaseException:
        if created is not None and not keep.exists():
            shutil.rmtree(created, ignore_errors=True)
        raise


def _input_shape(family, src) -> tuple:
    shp = src.description.image_shape
    if shp and family.input_layout != "sequence":
        return tuple(shp)  # (C, H, W); dense families flatten it
    return tuple(src.x.shape[1:])


DEFAULT_CONTAMINATION = 0.01  # the anomaly threshold a run stores: the 99th percentile of training scores


def series_view(model, src) -> dict | None:
    """For a time series: its values, per-point scores and flags at the model's threshold (for the report)."""
    from aekit.apps.anomaly import AnomalyThreshold, detect

    if src.kind != "series" or src.values is None or model.section(AnomalyThreshold) is None:
        return None
    from aekit.datasets.timeseries import point_flags

    d = src.description
    res = detect(model, src.x)
    scores, flags = point_flags(res.scores, len(src.values), d.window, d.stride, res.threshold)
    return {"values": src.values, "columns": d.columns, "scores": scores, "flags": flags, "threshold": res.threshold}


RUN_FILES = ("model.aekit", "checkpoint.aekit", "history.csv", "report.html")


def check_out_dir(out: Path, resume: bool, force: bool) -> None:
    """Refuse an ``out`` folder that holds another run unless resuming it or replacing it (``force``), and
    with ``force`` remove that run's files (only the ones a run writes) so that two runs never mix."""
    if out.exists() and not out.is_dir():
        return  # the run folder's own check says what is wrong (see _new_folder)
    found = [n for n in RUN_FILES if (out / n).exists()] + (["tb/"] if (out / "tb").is_dir() else [])
    if not found or resume:
        return
    if not force:
        raise AekitError(
            f"--out {out} holds another run ({', '.join(found)}); use --resume to continue it, "
            f"--force to replace it, or another folder"
        )
    import shutil

    for n in RUN_FILES:
        (out / n).unlink(missing_ok=True)
    shutil.rmtree(out / "tb", ignore_errors=True)


def train_run(
    family: str,
    data,
    out_dir,
    *,
    options: dict | None = None,
    config_file=None,
    resume: bool = False,
    force: bool = False,
    seed: int | None = None,
    device: str | None = None,
    verbose: int = 0,
    report: bool = True,
    callbacks: list | None = None,
) -> TrainRun:
    """Train ``family`` on ``data`` (a SRC string for :func:`aekit.datasets.sources.load_source`, or a Source) and
    write the run folder ``out_dir``.

    ``options`` (flat, see the module docstring) override those of ``config_file``. When the source has a
    test split it is the validation data.
    ``resume=True`` continues from ``out_dir/checkpoint.aekit`` up to ``epochs`` in total; the model's
    options then come from the checkpoint (training options such as ``epochs`` still apply). A folder that
    holds another run is refused unless ``resume`` or ``force`` (which replaces it). Loss, output, scaling,
    code size, batch size and length left unset are decided from the data (:mod:`aekit.training.defaults`); a run
    that diverges keeps its last finite weights in ``model.aekit`` and raises
    :class:`aekit.errors.DivergenceError`.

    Under torchrun every process calls this; they train one model together and rank 0 alone writes the
    run folder while the others wait at a barrier (``out_dir`` must be on a filesystem all nodes share
    for ``resume`` on several machines).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from aekit.runs.train import train_run
    >>> d = tempfile.mkdtemp(); np.save(d + "/x.npy", np.random.default_rng(0).random((64, 10)))
    >>> run = train_run("dense", d + "/x.npy", d + "/run", options={"hidden": "8", "latent_dim": "2",
    ...                 "epochs": "2"}, report=False)
    >>> run.summary()["epochs"], run.model_path.name
    (2, 'model.aekit')
    """
    from aekit.autoencoder.model import build, load
    from aekit.datasets.reader import Source
    from aekit.datasets.reader import read_source as load_source

    family_ = get_family(family)
    opts = {**(read_config_file(config_file) if config_file else {}), **(options or {})}
    m_opts, t_opts, d_opts = split_options(family_, opts)  # the registry is asked once, above
    src = data if isinstance(data, Source) else load_source(data, **d_opts)
    out = Path(out_dir)
    ckpt = out / "checkpoint.aekit"
    check_out_dir(out, resume, force)

    tcfg = apply_overrides(TrainConfig(), t_opts)
    if tcfg.epochs is not None and tcfg.epochs < 1:
        raise AekitError(f"epochs={tcfg.epochs}: a training run needs at least 1 epoch")
    fit_opts = dataclasses.asdict(tcfg)
    # the run's files are written as training goes by the loop's callbacks: a checkpoint, the history CSV
    # and TensorBoard logs after every epoch (a killed run keeps all three); the model and report at the end
    fit_opts.update(
        checkpoint=str(ckpt),
        resume=bool(resume),
        log_dir=str(out / "tb"),
        csv_log=str(out / "history.csv"),
        verbose=verbose,
    )
    if seed is not None:
        fit_opts["seed"] = seed
    if device is not None:
        fit_opts["device"] = device
    if resume:
        if not ckpt.exists():
            raise AekitError(f"--resume: {ckpt} does not exist; nothing to resume (run without --resume)")
        model = load(ckpt)  # the interrupted run's config; weights and optimizer come back in fit()
    else:
        base = from_dict(family_.config_cls, {"input_shape": _input_shape(family_, src)}, owner=family_.name)
        cfg = apply_overrides(base, m_opts)
        kwargs = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "input_shape"}
        model = build(family_, input_shape=cfg.input_shape, seed=fit_opts["seed"], **kwargs)
    model.data = dataclasses.replace(src.description)  # its source is what `aekit report RUN_DIR` reads
    val = src.x_test if (src.x_test is not None and not tcfg.validation_split) else None
    pick_device(fit_opts["device"])  # a device this machine lacks fails here, before the folder exists
    with _new_folder(out, keep=ckpt):
        t0 = time.perf_counter()
        try:
            model.fit(src.x, validation_data=val, callbacks=callbacks, **fit_opts)
        except DivergenceError as e:  # keep what was good, then say so
            if distributed.current().is_main:  # history.csv is already written, epoch by epoch
                model.save(out / "model.aekit")
            raise DivergenceError(f"{e}; {out / 'model.aekit'} holds those weights") from None
        seconds = time.perf_counter() - t0
    from aekit.apps.anomaly import AnomalyThreshold, default_score, fit_threshold

    if model.section(AnomalyThreshold) is None:  # so that `aekit detect MODEL DATA` works with no option
        # the score registered for the data's kind: the error plus how unusual the code is, for tables its
        # distance (and the row's) to the nearest training codes (rows), for series windows its Mahalanobis
        # distance (each measured stronger than the error alone on its kind of data; see
        # aekit.apps.anomaly.knn and .maha); else the error (the negative ELBO for variational models)
        metric = default_score(model, src.kind, len(src.x))
        fit_threshold(model, src.x, contamination=DEFAULT_CONTAMINATION, metric=metric)
    world = distributed.current()
    model_path, history_path, report_path = out / "model.aekit", out / "history.csv", None
    if world.is_main:
        _write_outputs(model, src, family_.name, out, report)
        report_path = out / "report.html" if report else None
    with distributed.lost_peer_errors(world):
        distributed.barrier(world)  # the others end once the run folder is complete
    return TrainRun(model, out, model_path, history_path, report_path, out / "tb", seconds)


def _write_outputs(model, src, family: str, out: Path, report: bool) -> None:
    """model.aekit and (with ``report``) report.html; history.csv is written as training goes (CSVLogger)."""
    model.save(out / "model.aekit")
    if report:
        from aekit.report import write_report

        x_eval, y_eval = src.eval_split
        split = (
            "the test split"
            if src.x_test is not None
            else "the training data: no test split"
            + (", the last 10% were the validation data" if model.fit_info.get("validation") else "")
        )
        write_report(
            model,
            x_eval[:2000],
            None if y_eval is None else y_eval[:2000],
            out / "report.html",
            title=f"aekit train {family} --data {src.name}",
            subtitle=f"evaluated on {split}",
            split=split,
            series=series_view(model, src),
        )


__all__ = ["train_run", "read_config_file", "split_options", "parse_sets", "TrainRun"]
