"""Embed sentences: aekit.apps.text (pipeline, sentence model, checks) and ``aekit embed`` on text."""

import json

import numpy as np
import pytest
import torch

import aekit
from aekit.apps.embed import embed
from aekit.apps.text import (
    TextPipeline,
    TextSection,
    document_vectors,
    ppmi_svd_vectors,
    reconstruction_cosine,
    sentence_vectors,
    train_sentence_model,
    words,
)
from aekit.cli.main import main
from aekit.datasets import Vocabulary, read_sentences
from aekit.errors import AekitError

CORPUS = [
    "the cat sat on the mat .",
    "the dog sat on the mat .",
    "the cat ate the fish .",
    "the dog ate the bone .",
    "prices rose 5.5 pct in march .",
    "prices fell 3 pct in april .",
    "the company said profits rose .",
    "the company said sales fell .",
] * 6

SGM = """<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="1"><TOPICS><D>earn</D></TOPICS><TEXT>
<TITLE>PROFITS UP</TITLE><BODY>The company said profits rose. Sales fell in March.
 Reuter</BODY></TEXT></REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="TEST" NEWID="2"><TOPICS><D>acq</D></TOPICS><TEXT>
<TITLE>CAT CO BUYS DOG CO</TITLE><BODY>The cat sat on the mat. The dog ate the bone.
 Reuter</BODY></TEXT></REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TEST" NEWID="3"><TOPICS></TOPICS><TEXT>
<TITLE>PRICES</TITLE><BODY>Prices rose 5 pct in April.
 Reuter</BODY></TEXT></REUTERS>
"""


@pytest.fixture(scope="module")
def sentence_model(tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    ae = train_sentence_model(
        CORPUS, vocab_size=30, seq_len=10, dim=8, hidden=24, latent_dim=12, epochs=40, batch_size=16, lr=3e-3, seed=0
    )
    torch.set_num_threads(n)
    path = tmp_path_factory.mktemp("text") / "sent.aekit"
    ae.save(path)
    return ae, path


def test_pipeline_vocabulary_and_shapes():
    p = TextPipeline.fit(CORPUS, vocab_size=12, seq_len=7, dim=4, seed=0)
    assert p.vocab.itos[:2] == ["<pad>", "<unk>"] and len(p.vocab) == 12
    assert words("Prices rose 5.5 PCT") == ["prices", "rose", "9", "pct"]
    ids = p.ids(["the zebra sat", "the cat sat on the mat . the cat sat"])
    assert ids.shape == (2, 7) and ids.dtype == np.int64
    assert ids[0, 1] == 1 and (ids[0, 3:] == 0).all()  # unknown word -> UNK, then PAD
    v = p.vectors(["the zebra sat"])
    assert v.shape == (1, 7, 4) and v.dtype == np.float32
    assert (v[0, 3:] == 0).all() and np.abs(v[0, :3]).sum(1).min() > 0  # PAD rows are zero, words are not
    assert p.mean_vectors(["the cat", "zebra"]).shape == (2, 4)
    assert (p.mean_vectors(["zebra"]) == 0).all()


def test_ppmi_vectors_put_words_of_the_same_contexts_together():
    toks = [words(s) for s in CORPUS]
    vocab = Vocabulary.build(toks, 30)
    vec = ppmi_svd_vectors(toks, vocab, dim=6, seed=0)
    assert vec.shape == (len(vocab), 6) and (vec[0] == 0).all()

    def cos(a, b):
        va, vb = vec[vocab.stoi[a]], vec[vocab.stoi[b]]
        return float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))

    assert cos("cat", "dog") > cos("cat", "pct") + 0.3
    assert cos("rose", "fell") > cos("rose", "mat") + 0.3


def test_pipeline_errors():
    with pytest.raises(AekitError, match="list of sentences"):
        TextPipeline.fit("one string")
    with pytest.raises(AekitError, match="do not match a vocabulary"):
        TextPipeline(Vocabulary.build([["a"]], 5), np.zeros((7, 2)))
    plain = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
    with pytest.raises(AekitError, match="no text pipeline"):
        sentence_vectors(plain, ["a b"])


def test_sentence_model_codes_and_reconstruction_check(sentence_model):
    ae, _ = sentence_model
    assert ae.family == "lstm" and ae.config.bidirectional and ae.config.merge_mode == "sum"
    z = sentence_vectors(ae, CORPUS[:8])
    assert z.shape == (8, 12)
    assert np.linalg.norm(z[0] - z[4]) > 1e-3  # different sentences, different codes
    np.testing.assert_allclose(embed(ae, CORPUS[:8]), z, rtol=1e-5)
    cos = reconstruction_cosine(ae, CORPUS[:8])
    assert cos.shape == (8,) and cos.mean() > 0.8, cos
    assert ae.history.history["loss"][-1] < 0.6 * ae.history.history["loss"][0]


def test_document_vectors_are_mean_pooled_sentence_codes(sentence_model):
    ae, _ = sentence_model
    docs = ["The cat sat on the mat. The dog ate the bone.", ""]
    d = document_vectors(ae, docs)
    s = sentence_vectors(ae, ["The cat sat on the mat.", "The dog ate the bone."])
    np.testing.assert_allclose(d[0], s.mean(0), rtol=1e-5, atol=1e-6)
    assert (d[1] == 0).all()


def test_save_load_keeps_vocabulary_and_embeddings(sentence_model):
    ae, path = sentence_model
    back = aekit.load(path)
    assert back.section(TextSection).vocabulary == ae.section(TextSection).vocabulary
    assert back.section(TextSection).seq_len == 10 and back.data.kind == "text"
    torch.testing.assert_close(back.extra_tensors["embeddings"], ae.extra_tensors["embeddings"])
    np.testing.assert_allclose(sentence_vectors(back, CORPUS[:4]), sentence_vectors(ae, CORPUS[:4]), rtol=1e-6)
    assert back.fingerprint() == ae.fingerprint()
    back.extra_tensors["embeddings"] = back.extra_tensors["embeddings"] * 2
    assert back.fingerprint() != ae.fingerprint()  # the word vectors are part of the model's identity


def test_plain_model_has_no_extra_tensors(tmp_path):
    ae = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
    ae.save(tmp_path / "m.aekit")
    assert aekit.load(tmp_path / "m.aekit").extra_tensors == {}


def test_cli_embed_sentences_and_reuters(sentence_model, tmp_path, capsys):
    ae, path = sentence_model
    (tmp_path / "s.txt").write_text("the cat sat on the mat .\n\nprices rose 5 pct .\n", encoding="utf-8")
    assert read_sentences(tmp_path / "s.txt") == ["the cat sat on the mat .", "prices rose 5 pct ."]
    rc = main(["embed", str(path), str(tmp_path / "s.txt"), "-o", str(tmp_path / "v.npy"), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["text_unit"] == "sentences" and res["n"] == 2
    np.testing.assert_allclose(
        np.load(tmp_path / "v.npy"), sentence_vectors(ae, read_sentences(tmp_path / "s.txt")), rtol=1e-5
    )
    (tmp_path / "reut").mkdir()
    (tmp_path / "reut" / "reut2-000.sgm").write_text(SGM, encoding="latin-1")
    rc = main(["embed", str(path), str(tmp_path / "reut"), "-o", str(tmp_path / "d.npy"), "--map", "pca", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["text_unit"] == "documents" and res["n"] == 3 and res["coloured_by_labels"]
    assert np.load(tmp_path / "d.npy").shape == (3, 12)
    assert (tmp_path / "d_map.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "x.npy").write_bytes(b"")
    rc = main(["embed", str(path), str(tmp_path / "x.npy"), "-o", str(tmp_path / "e.npy")])
    assert rc == 2 and "one sentence per line" in capsys.readouterr().err


def test_cli_train_text_then_embed(tmp_path, capsys):
    (tmp_path / "s.txt").write_text("\n".join(CORPUS[:8] * 3) + "\n", encoding="utf-8")
    model = tmp_path / "t.aekit"
    rc = main(
        [
            "train-text",
            str(tmp_path / "s.txt"),
            "-o",
            str(model),
            "--vocab-size",
            "20",
            "--seq-len",
            "8",
            "--dim",
            "6",
            "--hidden",
            "8",
            "--latent-dim",
            "5",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--json",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sentences"] == 24 and res["vocabulary"] == 20 and res["code_size"] == 5 and res["epochs"] == 2
    back = aekit.load(model)
    assert back.extra_tensors["embeddings"].shape == (20, 6)
    rc = main(["embed", str(model), str(tmp_path / "s.txt"), "-o", str(tmp_path / "v.npy"), "--quiet"])
    assert rc == 0 and np.load(tmp_path / "v.npy").shape == (24, 5)
    rc = main(["train-text", str(tmp_path / "s.csv"), "-o", str(model)])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    (tmp_path / "s.csv").write_text("a,b\n")
    rc = main(["train-text", str(tmp_path / "s.csv"), "-o", str(model)])
    assert rc == 2 and "expected a .txt file" in capsys.readouterr().err
