"""aekit train-text: train a sentence autoencoder (word vectors + bidirectional LSTM) on sentences."""

from aekit.cli.common import emit, need_file, positive_float, positive_int, verbose

NAME = "train-text"
HELP = "train a sentence autoencoder on a .txt (one sentence per line) or a Reuters-21578 folder"
EXAMPLES = """  aekit train-text sentences.txt -o sentences.aekit --epochs 10
  aekit train-text reuters21578/ -o reuters.aekit --max-sentences 8000 --epochs 13 --lr 2e-3
  aekit embed reuters.aekit reuters21578/ -o docs.npy --map tsne     # then: one vector per document"""


def add_arguments(p) -> None:
    p.add_argument("input", help="a .txt file (one sentence per line) or a Reuters-21578 folder (TRAIN split)")
    p.add_argument("-o", "--output", required=True, help="the model file to write")
    p.add_argument("--vocab-size", type=positive_int, default=5000)
    p.add_argument("--seq-len", type=positive_int, default=50, help="words per sentence (padded or cut)")
    p.add_argument("--dim", type=positive_int, default=64, help="word-vector size (PPMI + SVD)")
    p.add_argument("--hidden", type=positive_int, default=64, help="LSTM units per direction")
    p.add_argument("--latent-dim", type=positive_int, default=64, help="sentence-vector size")
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=None)
    p.add_argument("--max-sentences", type=positive_int, default=None, help="train on a random subset of this size")


def run(args) -> int:
    import numpy as np

    from aekit.apps.text import TextSection, train_sentence_model
    from aekit.datasets import load_sentences

    need_file(args.input, "input")
    seed = args.seed if args.seed is not None else 0
    sents = load_sentences(args.input, "TRAIN")
    if args.max_sentences and len(sents) > args.max_sentences:  # a random subset
        sents = [sents[i] for i in np.random.default_rng(seed).permutation(len(sents))[: args.max_sentences]]
    ae = train_sentence_model(
        sents,
        seed=seed,
        vocab_size=args.vocab_size,
        seq_len=args.seq_len,
        dim=args.dim,
        hidden=args.hidden,
        latent_dim=args.latent_dim,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        verbose=verbose(args),
    )
    saved = ae.save(args.output)
    hist, text = ae.history.history.get("loss", []), ae.section(TextSection)
    res = {
        "model": str(saved),
        "sentences": len(sents),
        "vocabulary": len(text.vocabulary),
        "seq_len": text.seq_len,
        "code_size": ae.code_size,
        "epochs": len(hist),
        "loss": hist[-1] if hist else None,
    }
    emit(
        args,
        res,
        f"trained on {res['sentences']} sentences ({res['epochs']} epochs, loss {res['loss']:.4g}) -> {res['model']}",
    )
    return 0
