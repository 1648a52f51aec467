"""Data sets: from files on disk to the arrays and streams the core trains on.

Every loader raises :class:`aekit.errors.AekitError` with one line naming the file and the problem.

==============================  =====================================================================
pictures                        :func:`load_images` -> :class:`ImageSet`, :class:`ImageStream`
MNIST / Fashion-MNIST           :func:`load_mnist`, :func:`read_idx`, :func:`load_digits_sample`
NumPy files                     :func:`load_array`, :class:`ArrayStream`
tables (CSV, TSV, Parquet)      :func:`load_table` -> :class:`Table`
time series                     :func:`load_timeseries`, :func:`sliding_windows`,
                                :func:`window_scores_to_points`, :func:`load_nab_windows`,
                                :func:`nab_labels`, :func:`nab_score`, :func:`nab_best` (the NAB score)
text                            :func:`load_reuters` -> :class:`Document`, :func:`read_sentences`,
                                :func:`load_sentences`, :func:`split_sentences`,
                                :func:`tokenize`, :func:`normalize`, :class:`Vocabulary`,
                                :func:`load_word_vectors`
splits and scaling              :func:`train_test_split`, :func:`fit_scaler`
==============================  =====================================================================

Downloads and decoded-picture caches live in :func:`cache_dir` (``$AEKIT_DATA``, else the user cache
directory such as ``~/.cache/aekit``).

The embedded sample (``load_digits_sample``) is the MNIST test set (10,000 digits and labels) by
Y. LeCun, C. Cortes and C. J. C. Burges, redistributed under CC BY-SA 3.0; see ``data/README.txt``.

Examples
--------
>>> from aekit.datasets import load_digits_sample, train_test_split, fit_scaler
>>> x, y = load_digits_sample()
>>> x_train, x_test = train_test_split(x.reshape(len(x), -1), test_size=0.2, seed=0)
>>> scaler = fit_scaler(x_train, "minmax")          # training statistics only
"""

from aekit.datasets._cache import cache_dir
from aekit.datasets.arrays import load_array
from aekit.datasets.idx import read_idx
from aekit.datasets.images import ImageSet, load_images
from aekit.datasets.mnist import FASHION_CLASSES, load_digits_sample, load_mnist
from aekit.datasets.nab import nab_best, nab_score, window_indices
from aekit.datasets.splits import fit_scaler, train_test_split
from aekit.datasets.streams import ArrayStream, ImageStream
from aekit.datasets.tables import Table, load_table
from aekit.datasets.text import (
    PAD,
    UNK,
    Document,
    Vocabulary,
    load_reuters,
    load_sentences,
    load_word_vectors,
    normalize,
    read_sentences,
    split_sentences,
    tokenize,
)
from aekit.datasets.timeseries import (
    TimeSeries,
    load_nab_windows,
    load_timeseries,
    nab_labels,
    sliding_windows,
    window_scores_to_points,
)

__all__ = [
    "cache_dir",
    "read_idx",
    "load_mnist",
    "load_digits_sample",
    "FASHION_CLASSES",
    "load_images",
    "ImageSet",
    "ImageStream",
    "load_array",
    "ArrayStream",
    "load_table",
    "Table",
    "load_timeseries",
    "TimeSeries",
    "sliding_windows",
    "window_scores_to_points",
    "load_nab_windows",
    "nab_labels",
    "nab_best",
    "nab_score",
    "window_indices",
    "load_reuters",
    "Document",
    "read_sentences",
    "load_sentences",
    "split_sentences",
    "tokenize",
    "normalize",
    "Vocabulary",
    "load_word_vectors",
    "PAD",
    "UNK",
    "train_test_split",
    "fit_scaler",
]
