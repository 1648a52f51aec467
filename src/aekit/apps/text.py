"""Embed sentences: the TF2 chapter's sentence autoencoder over word vectors, with learned embeddings.

A :class:`TextPipeline` turns sentences into word-vector sequences: tokens (``aekit.datasets.tokenize`` +
``normalize``: lower case, numbers -> "9"), ids in a :class:`~aekit.datasets.Vocabulary` (PAD = 0, UNK = 1),
padded or cut to ``seq_len`` and looked up in an embedding matrix (V, dim). No GloVe file is needed: the
word vectors are learned offline from the training sentences by PPMI + truncated SVD of the word
co-occurrence counts (Levy & Goldberg 2014), which takes seconds.

The sentence model is the ``lstm`` family over those (T, dim) sequences (bidirectional encoder, code
repeated over T steps, LSTM decoder back to word vectors, MSE). The pipeline is stored with the model: the
vocabulary and settings as a :class:`TextSection` of the header (``ae.section(TextSection)``), the matrix in
``ae.extra_tensors['embeddings']`` (the safetensors payload), so ``aekit.load`` gives a model that embeds
raw sentences.

Examples
--------
>>> from aekit.apps.text import train_sentence_model, sentence_vectors
>>> sents = ["the cat sat on the mat .", "the dog sat on the log .", "a cat and a dog ."] * 20
>>> ae = train_sentence_model(sents, vocab_size=20, seq_len=8, dim=8, hidden=16, latent_dim=8,
...                           epochs=2, seed=0)
>>> sentence_vectors(ae, ["the cat sat ."]).shape
(1, 8)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from aekit.datasets.text import PAD, UNK, Vocabulary, normalize, split_sentences, tokenize
from aekit.errors import AekitError

TOKENIZER = "aekit.datasets.tokenize+normalize"


@dataclass
class TextSection:
    """The model-file section of a sentence model: its vocabulary and sequence settings (the word-vector
    matrix travels as the extra tensor ``embeddings``)."""

    SECTION: ClassVar[str] = "text"
    vocabulary: list
    seq_len: int
    dim: int
    tokenizer: str = TOKENIZER

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TextSection:
        return cls(list(d["vocabulary"]), int(d["seq_len"]), int(d.get("dim", 0)), d.get("tokenizer", TOKENIZER))


def is_sentence_model(model) -> bool:
    """Whether ``model`` carries a text pipeline (it then embeds sentences, not arrays)."""
    return model.section(TextSection) is not None


def words(sentence: str) -> list[str]:
    """Normalised tokens of a sentence (lower case, numbers as "9")."""
    return normalize(tokenize(sentence))


def ppmi_svd_vectors(
    token_lists: Sequence[Sequence[str]], vocab: Vocabulary, dim: int = 64, window: int = 5, seed: int = 0
) -> np.ndarray:
    """Word vectors (len(vocab), dim) float32 from PPMI + truncated SVD of windowed co-occurrences.

    Context counts are smoothed with exponent 0.75; vectors are ``U * sqrt(S)``, rows scaled to norm
    ``sqrt(dim)`` (elements of order 1, a good input scale for an LSTM); the PAD row is zero.
    """
    from sklearn.utils.extmath import randomized_svd

    v = len(vocab)
    if dim >= v:
        raise AekitError(f"word vectors: dim={dim} must be smaller than the vocabulary size {v}")
    seqs = [np.fromiter((vocab.stoi.get(t, UNK) for t in tokens), dtype=np.int64) for tokens in token_lists]
    ids = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)  # all sentences end to end
    sent = np.repeat(np.arange(len(seqs)), [len(q) for q in seqs])  # sentence of each position
    counts = np.zeros(v * v, dtype=np.float64)
    for off in range(1, window + 1):
        same = sent[:-off] == sent[off:]  # pairs inside one sentence only
        a, b = ids[:-off][same], ids[off:][same]
        w = 1.0 / off  # nearer words count more (as word2vec's dynamic window)
        counts += np.bincount(np.concatenate([a * v + b, b * v + a]), minlength=v * v) * w
    c = counts.reshape(v, v)  # (V, V) symmetric
    total = c.sum()
    if total == 0:
        raise AekitError("word vectors: no word pairs in the sentences (sentences too short or empty)")
    row = c.sum(1, keepdims=True)
    ctx = c.sum(0, keepdims=True) ** 0.75
    ctx = ctx / ctx.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(c / total) - np.log(row / total) - np.log(ctx)
    ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0).astype(np.float32)
    u, s, _ = randomized_svd(ppmi, dim, random_state=seed)
    vec = u * np.sqrt(s)  # (V, dim)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    vec = np.where(norms > 0, vec / np.maximum(norms, 1e-12), 0.0) * np.sqrt(dim)
    vec[PAD] = 0.0
    return vec.astype(np.float32)


class TextPipeline:
    """Sentences -> (N, seq_len, dim) word-vector arrays, with the vocabulary and embedding matrix.

    Examples
    --------
    >>> p = TextPipeline.fit(["the cat sat .", "the dog sat ."] * 5, vocab_size=6, seq_len=5, dim=3)
    >>> p.vectors(["the cat ."]).shape, p.vocab.itos[:2]
    ((1, 5, 3), ['<pad>', '<unk>'])
    """

    def __init__(self, vocab: Vocabulary, embeddings: np.ndarray, seq_len: int = 50):
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or len(emb) != len(vocab):
            raise AekitError(
                f"TextPipeline: embeddings of shape {emb.shape} do not match a vocabulary of "
                f"{len(vocab)} words; expected ({len(vocab)}, dim)"
            )
        if int(seq_len) < 1:
            raise AekitError(f"TextPipeline: seq_len={seq_len!r}; expected a positive length")
        self.vocab, self.embeddings, self.seq_len = vocab, emb, int(seq_len)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @classmethod
    def fit(
        cls,
        sentences: Sequence[str],
        vocab_size: int = 5000,
        seq_len: int = 50,
        dim: int = 64,
        window: int = 5,
        seed: int = 0,
    ) -> TextPipeline:
        """Build the vocabulary (most frequent words) and PPMI+SVD word vectors from ``sentences``."""
        toks = [words(s) for s in _check_sentences(sentences, "TextPipeline.fit")]
        vocab = Vocabulary.build(toks, vocab_size)
        return cls(vocab, ppmi_svd_vectors(toks, vocab, min(dim, len(vocab) - 1), window, seed), seq_len)

    def ids(self, sentences: Sequence[str]) -> np.ndarray:
        """int64 (N, seq_len) word ids, PAD-padded at the end."""
        return self.vocab.encode_many([words(s) for s in sentences], self.seq_len)

    def vectors(self, sentences: Sequence[str]) -> np.ndarray:
        """float32 (N, seq_len, dim): each word's vector, zeros at PAD positions."""
        return self.embeddings[self.ids(_check_sentences(sentences, "sentences"))]

    def mean_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (N, dim): the mean of the known words' vectors of each text (all its tokens, no
        length cut) -- the mean-of-word-vectors baseline; zeros for a text with no known word."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            ids = [self.vocab.stoi[w] for w in words(t) if w in self.vocab.stoi and self.vocab.stoi[w] > UNK]
            if ids:
                out[i] = self.embeddings[ids].mean(0)
        return out

    # --- stored with a model -------------------------------------------------------------------------------
    def attach(self, model) -> None:
        """Store this pipeline in ``model`` (a :class:`TextSection` + ``extra_tensors['embeddings']``)."""
        from aekit.datasets.description import DataDescription

        model.set_section(TextSection(list(self.vocab.itos), self.seq_len, self.dim))
        model.data = DataDescription(kind="text")
        model.extra_tensors["embeddings"] = torch.from_numpy(self.embeddings.copy())

    @classmethod
    def from_model(cls, model) -> TextPipeline:
        """The pipeline stored in a sentence model; AekitError for a model without one."""
        try:
            st = model.section(TextSection)
        except AekitError:
            raise AekitError("the model's text pipeline is malformed (expected vocabulary and seq_len)") from None
        emb = model.extra_tensors.get("embeddings")
        if st is None or emb is None:
            raise AekitError(
                "this model has no text pipeline (vocabulary and word vectors); train it with "
                "aekit.apps.text.train_sentence_model"
            )
        return cls(Vocabulary(st.vocabulary), torch.as_tensor(emb).numpy(), st.seq_len)


def _check_sentences(sentences, where: str) -> list[str]:
    if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
        raise AekitError(f"{where}: expected a list of sentences (str)")
    if len(sentences) == 0:
        raise AekitError(f"{where}: no sentences")
    return list(sentences)


def train_sentence_model(
    sentences: Sequence[str],
    *,
    vocab_size: int = 5000,
    seq_len: int = 50,
    dim: int = 64,
    window: int = 5,
    hidden: int = 128,
    latent_dim: int = 64,
    merge_mode: str = "sum",
    epochs: int = 5,
    batch_size: int = 128,
    seed: int | None = 0,
    pipeline: TextPipeline | None = None,
    **training_options,
):
    """Fit word vectors (unless ``pipeline`` is given) and a bidirectional LSTM sentence autoencoder.

    Returns the trained :class:`aekit.Autoencoder` with the pipeline attached (save it with ``.save``).
    ``training_options`` go to :meth:`Autoencoder.fit` (lr, callbacks, validation_split, verbose, ...).
    """
    from aekit.autoencoder.model import build

    sentences = _check_sentences(sentences, "train_sentence_model")
    pipe = pipeline or TextPipeline.fit(sentences, vocab_size, seq_len, dim, window, seed or 0)
    ae = build(
        "lstm",
        input_shape=(pipe.seq_len, pipe.dim),
        seed=seed,
        hidden=hidden,
        latent_dim=latent_dim,
        bidirectional=True,
        merge_mode=merge_mode,
        output_activation="linear",
        loss="mse",
    )
    pipe.attach(ae)
    training_options.setdefault("verbose", 0)
    ae.fit(pipe.vectors(sentences), epochs=epochs, batch_size=batch_size, seed=seed, **training_options)
    return ae


def sentence_vectors(model, sentences: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """The codes (N, code_size) of ``sentences`` under a sentence model."""
    return model.encode(TextPipeline.from_model(model).vectors(sentences), batch_size=batch_size)


def document_vectors(model, documents: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """(D, code_size): the mean of each document's sentence vectors (sentences by ``split_sentences``);
    zeros for a document without text."""
    sents, owner = [], []
    for i, doc in enumerate(documents):
        for s in split_sentences(doc):
            sents.append(s)
            owner.append(i)
    out = np.zeros((len(documents), model.code_size), np.float32)
    if not sents:
        return out
    codes = sentence_vectors(model, sents, batch_size)  # (S, code)
    rows = np.asarray(owner)
    np.add.at(out, rows, codes)
    counts = np.bincount(rows, minlength=len(documents))[:, None]
    return out / np.maximum(counts, 1)


def reconstruction_cosine(model, sentences: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """The chapter's check, (N,): cosine similarity between the code of each sentence and the code of its
    reconstruction (the decoder's word-vector sequence encoded again)."""
    x = TextPipeline.from_model(model).vectors(sentences)  # (N, T, dim)
    z = model.encode(x, batch_size=batch_size)
    z_rec = model.encode(model.reconstruct(x, batch_size=batch_size), batch_size=batch_size)
    num = (z * z_rec).sum(1)
    den = np.linalg.norm(z, axis=1) * np.linalg.norm(z_rec, axis=1)
    return num / np.maximum(den, 1e-12)


__all__ = [
    "TextPipeline",
    "TextSection",
    "is_sentence_model",
    "ppmi_svd_vectors",
    "train_sentence_model",
    "sentence_vectors",
    "document_vectors",
    "reconstruction_cosine",
    "words",
]
