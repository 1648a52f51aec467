"""The report's figures: each function returns a matplotlib :class:`~matplotlib.figure.Figure`.

Figures are made with ``matplotlib.figure.Figure`` directly (rendered by the Agg canvas), never through
pyplot, so no GUI backend is touched and nothing global changes (:func:`figure_png` renders one). Image
arguments are float arrays in [0, 1] shaped (N, C, H, W) or uint8 (N, H, W, C); see
:func:`aekit.core.pictures.to_uint8_images`.

Examples
--------
>>> import numpy as np
>>> from aekit.report.plots import image_rows
>>> fig = image_rows([np.zeros((4, 1, 8, 8))], ["zeros"])
>>> len(fig.axes) > 0
True
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aekit.core.container import atomic_write
from aekit.core.pictures import grid, to_uint8_images
from aekit.errors import AekitError


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """PNG bytes of a Figure, rendered by the Agg canvas (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _show(ax, img: np.ndarray) -> None:
    """One uint8 (H, W, C) picture on ``ax`` without ticks; gray for one channel."""
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(img[..., :3], interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _colour(values: np.ndarray, cmap: str, lo: float, hi: float) -> np.ndarray:
    """Float maps (N, H, W) -> uint8 RGB pictures (N, H, W, 3) through a colormap over [lo, hi]."""
    from matplotlib import colormaps

    t = np.clip((values - lo) / ((hi - lo) or 1.0), 0, 1)
    return (colormaps[cmap](t)[..., :3] * 255 + 0.5).astype(np.uint8)


def image_rows(rows: Sequence[np.ndarray], labels: Sequence[str], image_shape=None) -> Figure:
    """Rows of pictures, one row per array (e.g. inputs over reconstructions), labelled on the left.

    Each row is tiled into one picture (one axes per row: a subplot per picture is ~10x slower)."""
    rows = [to_uint8_images(r, image_shape) for r in rows]
    n = max(len(r) for r in rows)
    fig = Figure(figsize=(0.9 * n + 1.2, 1.0 * len(rows)))
    for i, (r, lab) in enumerate(zip(rows, labels)):
        ax = fig.add_subplot(len(rows), 1, i + 1)
        _show(ax, grid(r, cols=n))
        ax.set_ylabel(lab, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(left=0.1, right=0.99, top=0.98, bottom=0.02, hspace=0.05)
    return fig


def loss_curves(history: dict) -> Figure:
    """Training (and validation) curves of the loss and of each loss term, one panel per term."""
    terms = sorted((k for k in history if not k.startswith("val_")), key=lambda k: (k != "loss", k))  # loss first
    fig = Figure(figsize=(4.2 * max(1, len(terms)), 3.2))
    for i, k in enumerate(terms):
        ax = fig.add_subplot(1, len(terms), i + 1)
        ep = np.arange(1, len(history[k]) + 1)
        ax.plot(ep, history[k], "o-", ms=3, label="train")
        if f"val_{k}" in history:
            ax.plot(ep[: len(history[f"val_{k}"])], history[f"val_{k}"], "s--", ms=3, label="validation")
        ax.set_title(k)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rate_distortion(curves: dict, x_label: str = "bits per pixel") -> Figure:
    """PSNR over rate for each named curve: ``{name: [(rate, psnr), ...]}``, points joined in rate order."""
    fig = Figure(figsize=(5.2, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for name, pts in curves.items():
        pts = sorted(pts)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=4, label=name)
    ax.set_xlabel(x_label)
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def code_images(codes: np.ndarray, n: int = 10) -> Figure:
    """The codes of ``n`` samples as pictures, as the Keras blog shows the 128 conv codes as 4 x 32."""
    codes = np.asarray(codes[:n], np.float32)
    d = codes.shape[1]
    rows = next((r for r in (4, 8, 2, 3, 5, 6, 7) if d % r == 0 and d // r >= r), 1)  # 128 -> 4 x 32
    maps = codes.reshape(len(codes), rows, d // rows).transpose(0, 2, 1)  # (n, d/rows, rows): tall strips
    tiles = _colour(maps, "viridis", float(codes.min()), float(codes.max()))
    fig = Figure(figsize=(1.0 * len(codes) + 0.5, 2.0))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid(tiles, cols=len(codes), pad=1))
    ax.set_aspect("auto")
    ax.set_title(f"codes of {len(codes)} inputs ({d} values shown as {d // rows} x {rows})", fontsize=9)
    fig.tight_layout()
    return fig


def scatter(
    ax,
    pts: np.ndarray,
    labels: Sequence | np.ndarray | None = None,
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    point_size: float = 4.0,
) -> None:
    """2-D points (N, 2) on ``ax``, one colour and legend entry per label (ints or strings); integer labels
    are named by ``class_names`` when given."""
    from matplotlib import colormaps

    pts = np.asarray(pts)
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=point_size, alpha=0.7, linewidths=0)
    else:
        lab = np.asarray(labels)
        classes = np.unique(lab)
        cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        named = class_names is not None and np.issubdtype(lab.dtype, np.integer)
        for i, c in enumerate(classes):
            m = lab == c
            # (the ignore: named means class_names is given)
            name = class_names[int(c)] if named and 0 <= int(c) < len(class_names) else str(c)  # type: ignore[index,arg-type]
            ax.scatter(pts[m, 0], pts[m, 1], s=point_size, alpha=0.7, linewidths=0, color=cmap(i % cmap.N), label=name)
        if len(classes) <= 20:
            ax.legend(markerscale=3, fontsize=8, loc="best", frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def map_figure(
    points: np.ndarray,
    labels: Sequence | None = None,
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    point_size: float = 4.0,
) -> Figure:
    """One 2-D map (N, 2) as a scatter plot, coloured by label (what ``aekit embed --map`` draws)."""
    fig = Figure(figsize=(7, 6), dpi=110)
    scatter(fig.add_subplot(1, 1, 1), points, labels, title, class_names=class_names, point_size=point_size)
    fig.tight_layout()
    return fig


def latent_map(codes: np.ndarray, labels: np.ndarray | None = None, *, max_tsne: int = 500, seed: int = 0) -> Figure:
    """Codes coloured by label: the codes themselves when 2-D, else t-SNE (on at most ``max_tsne`` points,
    500 gradient steps) and PCA side by side (both by :func:`aekit.apps.embed.map_2d`).

    Why 500 and 500: t-SNE of 1,000 codes for 1,000 steps took 7.3 s of the 22.9 s of ``aekit train`` on a
    2,114-row table (ADBench's Cardiotocography, 2-core CPU), more than the training; a quarter of the work
    shows the same clusters in a report."""
    from aekit.apps.embed import map_2d

    codes = np.asarray(codes, np.float64)
    labels = None if labels is None else np.asarray(labels)
    if codes.shape[1] <= 2:
        pts = codes if codes.shape[1] == 2 else np.column_stack([codes[:, 0], np.zeros(len(codes))])
        fig = Figure(figsize=(5.5, 4.6))
        scatter(fig.add_subplot(1, 1, 1), pts, labels, "the 2-D codes")
        fig.tight_layout()
        return fig
    fig = Figure(figsize=(11, 4.6))
    idx = np.random.default_rng(seed).permutation(len(codes))[:max_tsne]
    sub, sub_lab = codes[idx], (labels[idx] if labels is not None else None)
    # one thread: t-SNE on ~1,000 points is quick, and spinning threads on a busy machine made it ten
    # times slower in our measurements
    tsne = map_2d(sub, "tsne", seed=seed, threads=1, iterations=500)
    scatter(fig.add_subplot(1, 2, 1), tsne, sub_lab, f"t-SNE of {len(sub)} codes")
    scatter(fig.add_subplot(1, 2, 2), map_2d(codes, "pca", seed=seed), labels, f"PCA of {len(codes)} codes")
    fig.tight_layout()
    return fig


def manifold_grid(model, n: int = 15) -> Figure:
    """A 2-D VAE's decoded latent grid (:func:`aekit.apps.generate.manifold`: ``n`` x ``n`` points at the
    prior's quantiles, as in the Keras blog)."""
    from aekit.apps.generate import manifold

    fig = Figure(figsize=(7, 7))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid(to_uint8_images(manifold(model, n)), cols=n, pad=0))
    ax.set_title("latent manifold (z1 left to right, z2 bottom to top)", fontsize=10)
    fig.tight_layout()
    return fig


def samples(model, n: int = 16, seed: int = 0) -> Figure:
    """``n`` pictures decoded from random draws of the prior N(0, I) (:func:`aekit.apps.generate.sample_grid`)."""
    from aekit.apps.generate import sample_grid

    imgs = to_uint8_images(sample_grid(model, n, seed=seed))
    fig = Figure(figsize=(6, 6 * math.ceil(n / math.ceil(math.sqrt(n))) / math.ceil(math.sqrt(n))))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid(imgs))
    ax.set_title("random samples from the prior", fontsize=10)
    fig.tight_layout()
    return fig


def first_layer_filters(model, image_shape, max_filters: int = 32) -> Figure | None:
    """First-layer encoder weights as pictures: the first Linear's rows reshaped to the picture (dense), or
    the first conv's kernels (conv, channels averaged). None when the first layer is neither."""
    import torch

    first = next((m for m in model.module.encoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))), None)
    if first is None:
        return None
    w = first.weight.detach().cpu().float().numpy()
    c, h, wd = image_shape
    if isinstance(first, torch.nn.Linear):
        if w.shape[1] != c * h * wd:
            return None
        filt = w[:max_filters].reshape(-1, c, h, wd).mean(1)  # (F, H, W)
    else:
        filt = w[:max_filters].mean(1)  # (F, k, k)
    m = np.abs(filt).reshape(len(filt), -1).max(1)[:, None, None]  # each filter on its own scale
    tiles = _colour(filt / np.where(m > 0, m, 1.0), "RdBu_r", -1.0, 1.0)
    cols = min(8, len(filt))
    fig = Figure(figsize=(1.0 * cols, 1.0 * math.ceil(len(filt) / cols) + 0.4))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid(tiles, cols=cols, pad=1))
    ax.set_title(f"first {type(first).__name__} layer: {len(filt)} filters (red +, blue -)", fontsize=9)
    fig.tight_layout()
    return fig


def error_histogram(err: np.ndarray, metric: str = "mse") -> Figure:
    """Histogram of per-sample reconstruction errors, with the 95th and 99th percentiles marked."""
    err = np.asarray(err, np.float64)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(err, bins=min(60, max(10, len(err) // 10)), color="#4c72b0")
    for q, style in ((95, "--"), (99, ":")):
        ax.axvline(np.percentile(err, q), color="k", ls=style, label=f"p{q}")
    ax.set_xlabel(f"per-sample reconstruction error ({metric})")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def series_reconstructions(x: np.ndarray, x_hat: np.ndarray, n: int = 4, xlabel: str = "step") -> Figure:
    """A few series (N, T) or (N, T, F; first feature), or table rows (N, D), with their reconstructions."""
    x, x_hat = np.asarray(x), np.asarray(x_hat)
    x, x_hat = (x[..., 0], x_hat[..., 0]) if x.ndim == 3 else (x, x_hat)
    n = min(n, len(x))
    fig = Figure(figsize=(10, 1.9 * n))
    for i in range(n):
        ax = fig.add_subplot(n, 1, i + 1)
        ax.plot(x[i], label="input", lw=1.2)
        ax.plot(x_hat[i], label="reconstruction", lw=1.2, ls="--")
        if i == 0:
            ax.legend(fontsize=8, loc="upper right")
    fig.axes[-1].set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def series_anomalies(
    values: np.ndarray, flags: np.ndarray, scores: np.ndarray | None = None, names: list | None = None
) -> Figure:
    """A whole series (T,) or (T, F) (one line per value column, labelled by ``names``) with its flagged
    points shaded as ranges, and the per-point score below."""
    values, flags = np.asarray(values, np.float64), np.asarray(flags, bool)
    fig = Figure(figsize=(10, 3.6 if scores is not None else 2.4))
    ax = fig.add_subplot(2 if scores is not None else 1, 1, 1)
    if values.ndim == 1:
        ax.plot(values, lw=0.8, color="#4c72b0")
    else:
        for j in range(values.shape[1]):
            ax.plot(values[:, j], lw=0.8, label=str(names[j]) if names and j < len(names) else f"column {j}")
        ax.legend(fontsize=8, loc="upper right")
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        # (the ignore: numpy integer positions, which matplotlib takes as any real number)
        ax.axvspan(a, b - 1 if b - 1 > a else a + 0.5, color="#c44e52", alpha=0.3, lw=0)  # type: ignore[arg-type]
    ax.set_ylabel("value")
    if scores is not None:
        ax2 = fig.add_subplot(2, 1, 2, sharex=ax)
        ax2.plot(np.asarray(scores, np.float64), lw=0.8, color="#555555")
        ax2.set_ylabel("score")
    fig.axes[-1].set_xlabel("point")
    fig.tight_layout()
    return fig


def plot_map(
    points,
    labels: Sequence | None = None,
    path: str | os.PathLike = "map.png",
    *,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    point_size: float = 4.0,
) -> Path:
    """Draw a 2-D map (N, 2) as a PNG scatter plot, one colour per label; written atomically.

    ``labels`` (N,) may be ints or strings; ``class_names`` names integer labels in the legend.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = plot_map(np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 3,
    ...              os.path.join(tempfile.mkdtemp(), "m.png"))
    >>> p.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise AekitError(f"plot_map: expected points of shape (N, 2), got {pts.shape}")
    if labels is not None and len(labels) != len(pts):
        raise AekitError(f"plot_map: {len(labels)} labels for {len(pts)} points")
    fig = map_figure(pts, labels, title, class_names=class_names, point_size=point_size)
    return atomic_write(path, figure_png(fig, dpi=110))
