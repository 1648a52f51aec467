"""Benchmark: embed sentences (Reuters-21578) -- the TF2 chapter's sentence autoencoder vs mean word vectors.

Word vectors: PPMI + SVD learned from the Reuters training sentences (no GloVe file offline); both the
autoencoder and the baseline use the same vectors. The autoencoder: bidirectional LSTM encoder (merge 'sum'),
code repeated over 50 steps, LSTM decoder to word vectors, vocabulary 5,000.

1. The chapter's check: cosine(code(sentence), code(reconstruction)) on held-out sentences (the chapter
   reports about 0.98), next to the cosine between codes of two unrelated sentences (what 'similar' means).
2. Topic classification of the Lewis-split test documents (earn / acq / other) by logistic regression on
   mean-pooled sentence codes per document vs the mean of the document's word vectors.

    python bench/text_embed.py          # writes bench/results/text_embed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.apps.text import (
    TextPipeline,
    document_vectors,
    reconstruction_cosine,
    sentence_vectors,
    train_sentence_model,
    words,
)
from aekit.datasets import load_reuters, split_sentences
from aekit.training import LearningRateScheduler, TimeLimit

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "reuters21578"


def topic(doc) -> str:
    return "earn" if "earn" in doc.topics else "acq" if "acq" in doc.topics else "other"


def classify(z_train, y_train, z_test, y_test) -> dict:
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    clf.fit(z_train, y_train)
    pred = clf.predict(z_test)
    return {"accuracy": float(accuracy_score(y_test, pred)), "macro_f1": float(f1_score(y_test, pred, average="macro"))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-sentences", type=int, default=8000, help="sentences the autoencoder trains on")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--budget", type=float, default=330.0, help="wall seconds for the autoencoder's training")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--gamma", type=float, default=0.9)
    p.add_argument("--max-train-docs", type=int, default=3000, help="training documents for the classifier")
    p.add_argument("--check-sentences", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-out", default="", help="also save the sentence model here")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "text_embed.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    t_start = time.perf_counter()

    docs = [d for d in load_reuters(DATA) if d.body]
    train_docs = [d for d in docs if d.lewissplit == "TRAIN"]
    test_docs = [d for d in docs if d.lewissplit == "TEST"]
    train_sents = [s for d in train_docs for s in split_sentences(d.body) if len(words(s)) >= 3]
    test_sents = [s for d in test_docs for s in split_sentences(d.body) if len(words(s)) >= 3]

    t0 = time.perf_counter()
    pipe = TextPipeline.fit(train_sents, vocab_size=5000, seq_len=50, dim=args.dim, seed=args.seed)
    t_vectors = time.perf_counter() - t0
    sub = [train_sents[i] for i in rng.permutation(len(train_sents))[: args.train_sentences]]
    t0 = time.perf_counter()
    ae = train_sentence_model(
        sub,
        pipeline=pipe,
        hidden=args.hidden,
        latent_dim=args.latent,
        merge_mode="sum",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        callbacks=[
            LearningRateScheduler(lambda epoch, lr: args.lr * args.gamma**epoch),
            TimeLimit(args.budget, from_creation=True),
        ],
    )
    t_train = time.perf_counter() - t0
    if args.model_out:
        ae.save(args.model_out)
    hist = ae.history.history

    # 1. the chapter's check, on held-out sentences
    t0 = time.perf_counter()
    check = [test_sents[i] for i in rng.permutation(len(test_sents))[: args.check_sentences]]
    cos_rec = reconstruction_cosine(ae, check)
    z = sentence_vectors(ae, check)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    cos_other = (zn * np.roll(zn, 1, axis=0)).sum(1)  # each sentence vs another, unrelated one
    t_check = time.perf_counter() - t0

    # 2. topic classification: mean-pooled sentence codes vs mean word vectors
    t0 = time.perf_counter()
    tr = [train_docs[i] for i in rng.permutation(len(train_docs))[: args.max_train_docs] if train_docs[i].topics]
    te = [d for d in test_docs if d.topics]
    y_tr, y_te = [topic(d) for d in tr], [topic(d) for d in te]
    ae_tr, ae_te = document_vectors(ae, [d.body for d in tr]), document_vectors(ae, [d.body for d in te])
    mw_tr, mw_te = pipe.mean_vectors([d.body for d in tr]), pipe.mean_vectors([d.body for d in te])
    cls = {
        "aekit_lstm_mean_sentence_codes": classify(ae_tr, y_tr, ae_te, y_te),
        "baseline_mean_word_vectors": classify(mw_tr, y_tr, mw_te, y_te),
        "concat_both": classify(np.hstack([ae_tr, mw_tr]), y_tr, np.hstack([ae_te, mw_te]), y_te),
        "majority_class": {"accuracy": float(max(y_te.count(c) for c in set(y_te)) / len(y_te))},
    }
    t_cls = time.perf_counter() - t0

    res = {
        "bench": "text_embed",
        "data": {
            "documents_with_body": len(docs),
            "train_docs": len(train_docs),
            "test_docs": len(test_docs),
            "train_sentences_all": len(train_sents),
            "ae_train_sentences": len(sub),
            "test_sentences": len(test_sents),
            "check_sentences": len(check),
            "classifier_train_docs": len(tr),
            "classifier_test_docs": len(te),
            "test_label_counts": {c: y_te.count(c) for c in sorted(set(y_te))},
            "split": "LEWISSPLIT TRAIN / TEST, documents with a body; labels: earn, acq, other",
        },
        "published": {"tf2_chapter_reconstruction_cosine": 0.98},
        "word_vectors": {
            "method": "PPMI (context smoothing 0.75, window 5, 1/distance weights) + truncated SVD",
            "vocab": len(pipe.vocab),
            "dim": pipe.dim,
            "wall_s": round(t_vectors, 1),
        },
        "model": {
            "family": "lstm",
            "bidirectional": True,
            "merge_mode": "sum",
            "hidden": args.hidden,
            "latent_dim": args.latent,
            "seq_len": 50,
            "params": ae.n_params(),
            "epochs_run": len(hist["loss"]),
            "loss_first": hist["loss"][0],
            "loss_last": hist["loss"][-1],
            "train_wall_s": round(t_train, 1),
        },
        "reconstruction_cosine": {
            "mean": float(cos_rec.mean()),
            "median": float(np.median(cos_rec)),
            "unrelated_pair_cosine_mean": float(cos_other.mean()),
            "wall_s": round(t_check, 1),
        },
        "classification": cls,
        "classification_wall_s": round(t_cls, 1),
        "hardware": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "threads": args.threads,
        },
        "settings": vars(args),
        "total_wall_s": round(time.perf_counter() - t_start, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    aekit.core.container.atomic_write(args.out, (json.dumps(res, indent=2) + "\n").encode())
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
