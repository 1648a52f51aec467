"""Reduce dimensions and visualise: codes from any trained autoencoder, a 2-D map of them, and its picture.

The autoencoder does the dimension reduction (``embed``: the encoder's codes, (N, code_size)); a 2-D map
for the eye is then either the codes themselves (a model with ``latent_dim=2``) or t-SNE / PCA / UMAP of
the codes (``map_2d``); ``plot_map`` draws it, one colour per label.

Examples
--------
>>> import numpy as np, aekit
>>> from aekit.apps.embed import embed, map_2d
>>> x = np.random.default_rng(0).random((60, 16), dtype=np.float32)
>>> ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=4, seed=0)
>>> codes = embed(ae, x)
>>> codes.shape, map_2d(codes, "pca").shape
((60, 4), (60, 2))
"""
from __future__ import annotations

import io as _io
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import AekitError
from ..io import atomic_write

MAP_METHODS = ("tsne", "pca", "umap")


def embed(model, x, batch_size: int = 1024) -> np.ndarray:
    """The codes (N, code_size) of ``x`` under ``model``.

    ``x`` is an array in any layout the model accepts; for a sentence model (one with a text pipeline, see
    :mod:`aekit.apps.text`) it is a list of sentences (str) and the codes are the sentence vectors.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> ae = aekit.build("dense", input_shape=(8,), hidden=[], latent_dim=3, seed=0)
    >>> embed(ae, np.zeros((5, 8), np.float32)).shape
    (5, 3)
    """
    from .text import is_sentence_model, sentence_vectors

    if is_sentence_model(model):
        if isinstance(x, str) or not all(isinstance(s, str) for s in x):
            raise AekitError("embed: this is a sentence model; expected a list of sentences (str)")
        return sentence_vectors(model, list(x), batch_size=batch_size)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], str):
        raise AekitError("embed: got sentences, but this model has no text vocabulary (train it with "
                         "aekit.apps.text.train_sentence_model)")
    codes = model.encode(x, batch_size=batch_size)
    return np.asarray(codes, dtype=np.float32).reshape(len(codes), -1)  # (N, code_size)


def map_2d(codes, method: str = "tsne", seed: Optional[int] = 0, perplexity: float = 30.0,
           threads: Optional[int] = None) -> np.ndarray:
    """A 2-D map (N, 2) of ``codes`` (N, D) by t-SNE, PCA or UMAP (UMAP needs ``umap-learn``): the one
    wrapper of these methods in aekit (the report's latent maps use it too).

    Codes that already are 2-D are returned as they are (a ``latent_dim=2`` model is its own map).
    t-SNE's perplexity is lowered for small N (it must stay below N); ``threads`` caps its CPU threads.

    Examples
    --------
    >>> import numpy as np
    >>> map_2d(np.random.default_rng(0).normal(size=(40, 5)), "pca").shape
    (40, 2)
    """
    if method not in MAP_METHODS:
        raise AekitError(f"map: method={method!r}; expected one of {', '.join(MAP_METHODS)}")
    z = np.asarray(codes, dtype=np.float32)
    if z.ndim != 2 or len(z) < 3:
        raise AekitError(f"map: expected codes of shape (N, D) with N >= 3, got {z.shape}")
    if not np.isfinite(z).all():
        raise AekitError("map: the codes contain NaN or infinite values")
    if z.shape[1] == 2:
        return z.copy()
    if z.shape[1] == 1:
        return np.concatenate([z, np.zeros_like(z)], axis=1)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(z).astype(np.float32)
    if method == "umap":
        try:
            import umap  # optional dependency
        except ImportError:
            raise AekitError("map: method='umap' needs the umap-learn package (pip install umap-learn); "
                             "use 'tsne' or 'pca'") from None
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(z).astype(np.float32)
    from sklearn.manifold import TSNE

    perp = float(min(perplexity, max(1.0, (len(z) - 1) / 3)))
    tsne = TSNE(2, perplexity=perp, init="pca", random_state=seed, n_jobs=threads)
    if threads is None:
        return tsne.fit_transform(z).astype(np.float32)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        return tsne.fit_transform(z).astype(np.float32)


def plot_map(points, labels: Optional[Sequence] = None, path: str | os.PathLike = "map.png", *,
             title: Optional[str] = None, class_names: Optional[Sequence[str]] = None,
             point_size: float = 4.0) -> Path:
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
    from ..report.plots import figure_png, map_figure

    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise AekitError(f"plot_map: expected points of shape (N, 2), got {pts.shape}")
    if labels is not None and len(labels) != len(pts):
        raise AekitError(f"plot_map: {len(labels)} labels for {len(pts)} points")
    fig = map_figure(pts, labels, title, class_names=class_names, point_size=point_size)
    return atomic_write(path, figure_png(fig, dpi=110))


def _read_labels(path, n: int) -> np.ndarray:
    """Labels (n,) from a .npy/.npz array or a text file with one label per line."""
    from ..datasets import load_array

    p = Path(path)
    if not p.exists():
        raise AekitError(f"labels {path}: no such file")
    if p.suffix.lower() in (".npy", ".npz"):
        lab = np.asarray(load_array(p))
    else:
        lab = np.asarray([ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()])
    if lab.ndim != 1 or len(lab) != n:
        raise AekitError(f"labels {path}: expected {n} labels (one per input sample), got shape {lab.shape}")
    return lab


def _read(model, path, key):
    """(x, labels or None, class_names or None) of an INPUT for ``model``; sentences/documents for text."""
    p = Path(path).expanduser()
    if not p.exists():
        raise AekitError(f"input {path}: no such file or folder")
    from .text import is_sentence_model

    if is_sentence_model(model):
        from ..datasets import load_reuters
        from .text import read_sentences

        if p.is_dir() or p.suffix.lower() == ".sgm":  # Reuters-21578: one vector per document
            docs = [d for d in load_reuters(p) if d.body]
            return [d.body for d in docs], np.asarray([d.topics[0] if d.topics else "none" for d in docs]), \
                None, "documents"
        if p.suffix.lower() != ".txt":
            raise AekitError(f"input {path}: a sentence model reads a .txt file (one sentence per line) "
                             f"or a Reuters-21578 folder")
        return read_sentences(p), None, None, "sentences"
    if p.is_dir():
        from ..datasets import load_images
        from ..sources import image_shape

        shp = image_shape(model)
        if shp is None:
            raise AekitError(f"input {path}: a folder of pictures, but this model does not take images")
        s = load_images(p, size=(shp[1], shp[2]), color="gray" if shp[0] == 1 else "rgb", cache=False,
                        workers=1, labels="auto")
        return s.x, s.y, (list(s.class_names) if s.class_names else None), "images"
    from ..sources import read_input

    x, meta = read_input(p, model, key=key)
    return x, None, None, "images" if meta.get("images") else "arrays"


def embed_file(model, input, out, *, map: Optional[str] = None, map_image=None, labels=None,
               key: Optional[str] = None, max_points: int = 5000, seed: int = 0) -> dict:
    """What ``aekit embed`` does: codes of a file or folder saved as ``.npy``, optionally a 2-D map image.

    ``map`` ('tsne', 'pca', 'umap') or ``map_image`` asks for the picture (default path: next to the codes,
    ``<codes>_map.png``); at most ``max_points`` samples (the first ones) are mapped. Points are coloured by
    ``labels`` (a .npy or a text file with one label per line), else by the class sub-folders of an image
    folder or the first topic of Reuters documents. Returns a summary dict.
    """
    x, lab, names, kind = _read(model, input, key)
    codes = embed(model, x) if kind != "documents" else _documents(model, x)
    if labels is not None:
        lab, names = _read_labels(labels, len(codes)), None
    buf = _io.BytesIO()
    np.save(buf, codes.astype(np.float32), allow_pickle=False)
    out = atomic_write(out, buf.getvalue())
    res = {"codes": str(out), "n": int(len(codes)), "code_size": int(codes.shape[1]), "input_kind": kind}
    if map is not None or map_image is not None:
        method = map or "tsne"
        if method not in MAP_METHODS:
            raise AekitError(f"--map {method!r}: expected one of {', '.join(MAP_METHODS)}")
        n = min(len(codes), int(max_points))
        pts = map_2d(codes[:n], method, seed=seed)
        img = Path(map_image) if map_image else out.with_name(out.stem + "_map.png")
        plot_map(pts, lab[:n] if lab is not None else None, img, class_names=names,
                 title=f"{Path(str(input)).name}: {method if codes.shape[1] != 2 else 'codes'} map of {n} samples")
        res.update(map=method if codes.shape[1] != 2 else "codes", map_image=str(img), mapped=n,
                   coloured_by_labels=lab is not None)
    return res


def _documents(model, docs):
    from .text import document_vectors

    return document_vectors(model, docs)


__all__ = ["embed", "map_2d", "plot_map", "embed_file", "MAP_METHODS"]
