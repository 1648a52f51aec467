"""One self-contained HTML report for a trained autoencoder.

Every figure is a PNG embedded as a base64 ``data:`` URI, styles are inline, and nothing is fetched from
the network, so the file can be mailed or archived as is. A tiny inline script counts, on load, the
pictures that decoded (``naturalWidth > 0``) and writes the count into ``<body data-images-loaded=...>``
(the browser test reads it). Files are written atomically.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aekit.apps.learned_codec import is_codec, psnr_report
from aekit.core.container import atomic_write
from aekit.core.metrics import db
from aekit.core.pictures import image_shape as model_image_shape
from aekit.errors import AekitError
from aekit.report import plots

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;
color:#222;line-height:1.45;padding:0 1em}h1{margin-bottom:.1em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:2.2em}h3{margin-bottom:.3em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;
padding:.25em .6em;text-align:left;font-size:.92em}th{background:#f5f5f5}img{max-width:100%;height:auto;display:block;
margin:.3em 0}.note{color:#666;font-size:.9em}details{margin:.5em 0}code{background:#f3f3f3;padding:0 .2em}"""

_SCRIPT = """window.addEventListener('load',function(){var im=document.images,n=0;for(var i=0;i<im.length;i++)
{if(im[i].complete&&im[i].naturalWidth>0)n++;}document.body.setAttribute('data-images-loaded',String(n));
document.body.setAttribute('data-images-total',String(im.length));});"""


def figure_uri(fig, dpi: int = 80) -> str:
    """A ``data:image/png;base64,...`` URI of a matplotlib Figure (rendered with the Agg canvas)."""
    return "data:image/png;base64," + base64.b64encode(plots.figure_png(fig, dpi)).decode("ascii")


def _img(fig, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="{figure_uri(fig)}">'


def _table(rows: Sequence[tuple], head: Sequence[str] | None = None) -> str:
    h = "<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in head) + "</tr>" if head else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{h}{body}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _noisy(model, x: np.ndarray, seed: int) -> np.ndarray:
    """Corrupt model-layout inputs (N, *input_shape) with the model's own training corruption."""
    import torch

    from aekit.models.corruption import corrupt

    gen = torch.Generator().manual_seed(seed)
    return corrupt(torch.from_numpy(np.ascontiguousarray(x)), model.config.corruption, gen).numpy()


def model_section(
    model,
    x_test,
    y_test=None,
    *,
    x_noisy=None,
    heading: str | None = None,
    n_show: int = 10,
    max_points: int = 2000,
    max_tsne: int = 500,
    seed: int = 0,
    split: str = "",
    series: dict | None = None,
) -> str:
    """The HTML of one model's section: summary, metrics and the figures that apply (see :func:`write_report`)."""
    from aekit.autoencoder.metrics import model_metrics
    from aekit.core.arrays import to_model

    x_model, _ = to_model(x_test, model.input_shape, "x_test")  # (N, *input_shape) float32
    n = min(len(x_model), max_points)
    x_model = x_model[:n]
    y = None if y_test is None else np.asarray(y_test)[:n]
    ishape = model_image_shape(model)
    code = model.code_size
    n_in = math.prod(model.input_shape)
    parts = [f"<h2>{html.escape(heading or model.family + ' autoencoder')}</h2>"]

    # summary: family, shapes, code size, compression factor and the layer table
    summary = [
        ("family", model.family),
        ("input shape", str(tuple(model.input_shape))),
        ("code size", code),
        ("compression factor", f"{n_in / code:.1f} ({n_in} / {code})"),
        ("parameters", model.n_params()),
    ]
    if model.config.corruption is not None:
        c = model.config.corruption
        summary.append(("denoising", f"{c.kind} corruption, amount {c.amount}"))
    if model.train_config is not None:
        summary.append(
            (
                "trained",
                f"{len(model.history.epoch)} epochs, batch {model.train_config.batch_size}, "
                f"{model.train_config.optimizer}",
            )
        )
    layers = _table([(nm or "(module)", cls, p) for nm, cls, p in model.layers()], ("layer", "class", "parameters"))
    parts += ["<h3>Model</h3>", _table(summary), f"<details><summary>layers</summary>{layers}</details>"]

    err = model.reconstruction_error(x_model, metric="mse")  # (n,)
    metrics = model_metrics(model, x_model, errors=err)
    kind = metrics.get("loss_kind", "")
    names = {
        "loss": f"loss (the training objective: {kind}" + (" + KL" if model.variational else "") + ")",
        "reconstruction": f"reconstruction ({kind})",
        "kl": "kl (KL divergence, nats)",
        "sparsity": "sparsity (penalty)",
        "mean_code_activation": "mean code activation",
    }
    mrows = [(names[k], metrics[k]) for k in names if metrics.get(k) is not None]
    mrows += [(f"per-sample error {k} (mse, scaled space)", v) for k, v in metrics["error"].items()]
    where = f" ({split})" if split else ""
    parts += [f"<h3>Metrics on {n} samples{html.escape(where)}</h3>", _table(mrows, ("metric", "value"))]

    if model.history.history:
        parts += ["<h3>Loss curves</h3>", _img(plots.loss_curves(model.history.history), "loss curves")]

    if is_codec(model):
        parts += rate_distortion_section(model, x_model)

    k = min(n_show, n)
    if ishape is not None:
        rec = model.reconstruct(x_model[:k])
        parts += [
            "<h3>Reconstructions</h3>",
            "<p class='note'>top: test inputs; bottom: reconstructions</p>",
            _img(plots.image_rows([x_model[:k], rec], ["input", "output"], ishape), "reconstructions"),
        ]
        if model.config.corruption is not None or x_noisy is not None:
            noisy = (
                to_model(x_noisy, model.input_shape, "x_noisy")[0][:k]
                if x_noisy is not None
                else _noisy(model, x_model[:k], seed)
            )
            parts += [
                "<h3>Denoising</h3>",
                "<p class='note'>noisy inputs, the model's output, the clean images</p>",
                _img(
                    plots.image_rows(
                        [noisy, model.reconstruct(noisy), x_model[:k]], ["noisy", "denoised", "clean"], ishape
                    ),
                    "denoising",
                ),
            ]
        if not model.variational or code > 2:
            parts += ["<h3>Codes</h3>", _img(plots.code_images(model.encode(x_model[:k])), "codes")]
    else:  # tables and windows of a series: lines, never pictures
        is_series = len(model.input_shape) == 2 or bool(model.data.window)
        # windows as (k, T) or (k, T, F): a conv model holds a window as a (1, T, F) picture, so drop unit axes
        steps = [d for d in model.input_shape if d != 1] or [1]
        rows = x_model[:4].reshape(min(4, n), *(steps if is_series else [-1]))
        rec = model.reconstruct(x_model[:4]).reshape(rows.shape)
        parts += [
            "<h3>Reconstructions</h3>",
            "<p class='note'>inputs (solid) and reconstructions (dashed), "
            + ("as series" if is_series else "one line per row over its columns")
            + "</p>",
            _img(plots.series_reconstructions(rows, rec, xlabel="step" if is_series else "column"), "lines"),
        ]
    if series is not None:
        parts += [
            "<h3>The series and its flagged ranges</h3>",
            f"<p class='note'>{int(np.sum(series['flags']))} of {len(series['flags'])} points above the "
            f"threshold {series['threshold']:.4g}, shaded</p>",
            _img(
                plots.series_anomalies(series["values"], series["flags"], series.get("scores"), series.get("columns")),
                "series",
            ),
        ]

    codes = model.encode(x_model)
    if code >= 2 or y is not None:
        how = (
            "the 2-D codes themselves"
            if code <= 2
            else f"t-SNE of at most {max_tsne} codes (left) and PCA of all {n} (right)"
        )
        parts += [
            "<h3>Latent space</h3>",
            f"<p class='note'>{how}" + (", coloured by label" if y is not None else "") + "</p>",
            _img(plots.latent_map(codes, y, max_tsne=max_tsne, seed=seed), "latent map"),
        ]
    if ishape is not None and model.variational and code == 2:
        parts += [
            "<h3>Latent manifold</h3>",
            _img(plots.manifold_grid(model, 15), "latent manifold"),
            "<h3>Samples</h3>",
            _img(plots.samples(model, 16, seed), "samples"),
        ]
    if ishape is not None:
        filt = plots.first_layer_filters(model, ishape)
        if filt is not None:
            parts += ["<h3>First-layer filters</h3>", _img(filt, "filters")]
    parts += ["<h3>Reconstruction error</h3>", _img(plots.error_histogram(err), "error histogram")]
    return "\n".join(parts)


def rate_distortion_section(model, x_model: np.ndarray) -> list[str]:
    """A codec model's coded rate and quality on the test pictures, and the rate-distortion path its training
    took (per epoch: training bpp and the PSNR of the training MSE)."""
    from aekit.apps.codec import compress, decompress

    pics = np.clip(x_model, 0, 1)  # (N, C, H, W) in [0, 1]
    blob = compress(model, pics)
    rec = decompress(blob, model)
    rep = psnr_report(np.moveaxis(pics, 1, -1), np.moveaxis(rec, 1, -1))
    bpp = 8 * len(blob) / (len(pics) * pics.shape[-2] * pics.shape[-1])
    rows = [
        ("quality / lambda", f"{model.config.quality} / {model.config.rate_lambda:g}"),
        ("bytes per picture (whole .aekz / N)", f"{len(blob) / len(pics):.1f}"),
        ("bits per pixel", f"{bpp:.3f}"),
        ("PSNR (dB)", rep["psnr"]),
    ]
    if "psnr_channels" in rep:
        rows.append(("PSNR per channel (dB)", " / ".join(f"{v:.2f}" for v in rep["psnr_channels"])))
    curves = {"coded test pictures": [(bpp, rep["psnr"])]}
    h = model.history.history
    if h.get("bpp") and h.get("reconstruction"):
        curves["training, per epoch"] = [(b, db(max(m, 1e-12))) for b, m in zip(h["bpp"], h["reconstruction"])]
    return [
        "<h3>Rate and distortion</h3>",
        _table(rows, ("", "value")),
        _img(plots.rate_distortion(curves), "rate-distortion"),
    ]


def render_page(title: str, sections: Sequence[str], subtitle: str = "") -> str:
    """A complete HTML document around ``sections`` (from :func:`model_section`)."""
    from aekit.core.version import __version__

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sub = f"<p class='note'>{html.escape(subtitle)}</p>" if subtitle else ""
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head>\n<body data-images-loaded='pending'>"
        f"<h1>{html.escape(title)}</h1>{sub}<p class='note'>aekit {__version__}, {now}</p>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_report(
    model,
    x_test,
    y_test=None,
    out_path: str | os.PathLike = "report.html",
    *,
    x_noisy=None,
    title: str | None = None,
    subtitle: str = "",
    split: str = "",
    series: dict | None = None,
) -> Path:
    """Write one self-contained HTML report of ``model`` evaluated on ``x_test``.

    Shown when they apply: the model summary (layers, parameters, code size, compression factor), metrics
    (:func:`aekit.autoencoder.metrics.model_metrics`), loss curves (train/validation, each loss term), test inputs over
    their reconstructions, noisy / denoised / clean rows for denoising models (``x_noisy``, or the model's
    own corruption), the codes as pictures, a 2-D map of the codes coloured by ``y_test`` (t-SNE and PCA
    when the code is wider than 2), for a 2-D VAE the latent manifold and random samples, the first-layer
    filters, and a histogram of per-sample errors. Tables and time series get line plots instead of
    pictures; ``series`` (``values``, ``flags``, ``scores`` per point and ``threshold``) draws a whole series
    with its flagged ranges. ``split`` says which samples ``x_test`` holds (shown with the metrics).

    Examples
    --------
    >>> import numpy as np, aekit, tempfile, os
    >>> from aekit.report import write_report
    >>> ae = aekit.build("dense", input_shape=(8, 8), hidden=[16], latent_dim=4, seed=0)
    >>> x = np.random.default_rng(0).random((40, 8, 8), dtype=np.float32)
    >>> p = write_report(ae, x, out_path=os.path.join(tempfile.mkdtemp(), "r.html"))
    >>> p.read_text().count("<img") > 3
    True
    """
    if x_test is None or len(x_test) == 0:
        raise AekitError("write_report: x_test holds no samples")
    section = model_section(model, x_test, y_test, x_noisy=x_noisy, split=split, series=series)
    page = render_page(title or f"aekit report: {model.family}", [section], subtitle)
    return atomic_write(out_path, page.encode("utf-8"))


__all__ = ["write_report", "model_section", "render_page", "figure_uri"]
