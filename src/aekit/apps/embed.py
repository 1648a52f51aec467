"""Reduce dimensions and visualise: codes from any trained autoencoder, a 2-D map of them, and its picture.

The autoencoder does the dimension reduction (``embed``: the encoder's codes, (N, code_size)); a 2-D map
for the eye is then either the codes themselves (a model with ``latent_dim=2``) or t-SNE / PCA / UMAP of
the codes (``map_2d``); ``aekit.report.plots.plot_map`` draws it, one colour per label.

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

import numpy as np

from aekit.errors import AekitError

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
    from aekit.apps.text import is_sentence_model, sentence_vectors

    if is_sentence_model(model):
        if isinstance(x, str) or not all(isinstance(s, str) for s in x):
            raise AekitError("embed: this is a sentence model; expected a list of sentences (str)")
        return sentence_vectors(model, list(x), batch_size=batch_size)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], str):
        raise AekitError(
            "embed: got sentences, but this model has no text vocabulary (train it with "
            "aekit.apps.text.train_sentence_model)"
        )
    codes = model.encode(x, batch_size=batch_size)
    return np.asarray(codes, dtype=np.float32).reshape(len(codes), -1)  # (N, code_size)


def map_2d(
    codes,
    method: str = "tsne",
    seed: int | None = 0,
    perplexity: float = 30.0,
    threads: int | None = None,
    iterations: int = 1000,
) -> np.ndarray:
    """A 2-D map (N, 2) of ``codes`` (N, D) by t-SNE, PCA or UMAP (UMAP needs ``umap-learn``): the one
    wrapper of these methods in aekit (the report's latent maps use it too).

    Codes that already are 2-D are returned as they are (a ``latent_dim=2`` model is its own map).
    t-SNE's perplexity is lowered for small N (it must stay below N); ``threads`` caps its CPU threads;
    ``iterations`` are its gradient steps (scikit-learn's default 1,000; at least 250).

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
    if not np.ptp(z, axis=0).any():
        # identical codes (a constant input, a collapsed model): the map is one point; t-SNE's PCA start
        # divides by the spread and its Barnes-Hut tree crashes the process on the NaN that gives
        return np.zeros((len(z), 2), np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(z).astype(np.float32)
    if method == "umap":
        try:
            import umap  # optional dependency
        except ImportError:
            raise AekitError(
                "map: method='umap' needs the umap-learn package (pip install umap-learn); use 'tsne' or 'pca'"
            ) from None
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(z).astype(np.float32)
    from sklearn.manifold import TSNE

    # t-SNE's affinities and its normalised PCA start ignore a global shift and scale, so remove them in
    # float64 first: codes that differ only in their last float32 bits still give a PCA start with spread
    # (without it that start divides by zero and the Barnes-Hut tree crashes the process on the NaN)
    z64 = z.astype(np.float64) - z.mean(axis=0, dtype=np.float64)
    z = (z64 / z64.std()).astype(np.float32)
    perp = float(min(perplexity, max(1.0, (len(z) - 1) / 3)))
    tsne = TSNE(2, perplexity=perp, init="pca", random_state=seed, n_jobs=threads, max_iter=max(250, int(iterations)))
    if threads is None:
        return tsne.fit_transform(z).astype(np.float32)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        return tsne.fit_transform(z).astype(np.float32)


__all__ = ["embed", "map_2d", "MAP_METHODS"]
