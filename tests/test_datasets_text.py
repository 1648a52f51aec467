"""Reuters SGML parsing, sentence splitting, tokenising, normalising, vocabulary and word vectors."""

import numpy as np
import pytest

from aekit.datasets import (
    PAD,
    UNK,
    Document,
    Vocabulary,
    load_reuters,
    load_word_vectors,
    normalize,
    split_sentences,
    tokenize,
)
from aekit.errors import AekitError

SGML = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="5544" NEWID="1">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>cocoa</D><D>grain</D></TOPICS>
<PLACES><D>usa</D></PLACES>
<TEXT>&#2;
<TITLE>BAHIA COCOA &lt;REVIEW&gt;</TITLE>
<DATELINE>    SALVADOR, Feb 26 - </DATELINE><BODY>Showers continued in S\xe3o Paulo. Arrivals were
155,221 bags.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TEST" CGISPLIT="TRAINING-SET" OLDID="5545" NEWID="2">
<TOPICS></TOPICS>
<TEXT TYPE="BRIEF">&#2;
******<TITLE>SHORT NEWS FLASH</TITLE>
&#3;</TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="NOT-USED" CGISPLIT="TRAINING-SET" OLDID="5546" NEWID="3">
<TOPICS></TOPICS>
<TEXT TYPE="UNPROC">&#2;
unprocessed text here
&#3;</TEXT>
</REUTERS>
"""


@pytest.fixture
def reuters_dir(tmp_path):
    d = tmp_path / "reuters"
    d.mkdir()
    (d / "reut2-000.sgm").write_bytes(SGML.encode("latin-1"))
    (d / "reut2-001.sgm").write_bytes(SGML.replace('NEWID="', 'NEWID="10').encode("latin-1"))
    return d


def test_load_reuters(reuters_dir):
    docs = load_reuters(reuters_dir)
    assert len(docs) == 6 and all(isinstance(d, Document) for d in docs)
    d = docs[0]
    assert (d.id, d.title, d.topics, d.lewissplit) == (1, "BAHIA COCOA <REVIEW>", ["cocoa", "grain"], "TRAIN")
    assert d.body == "Showers continued in S\u00e3o Paulo. Arrivals were\n155,221 bags."  # Latin-1, no sign-off
    assert (docs[1].title, docs[1].body, docs[1].topics) == ("SHORT NEWS FLASH", "", [])  # no BODY
    assert docs[2].body == "unprocessed text here" and docs[2].lewissplit == "NOT-USED"
    assert [d.id for d in docs[3:]] == [101, 102, 103]
    assert len(load_reuters(reuters_dir / "reut2-000.sgm")) == 3  # a single file works too


def test_reuters_file_without_documents(tmp_path):
    (tmp_path / "reut2-000.sgm").write_text('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n')
    with pytest.raises(AekitError) as e:
        load_reuters(tmp_path)
    assert "reut2-000.sgm: no <REUTERS> documents found" in str(e.value) and "\n" not in str(e.value)


def test_reuters_folder_errors(tmp_path):
    with pytest.raises(AekitError, match="no reut2-.*sgm files"):
        load_reuters(tmp_path)
    with pytest.raises(AekitError, match="no such file or folder"):
        load_reuters(tmp_path / "nope")


def test_split_sentences():
    text = (
        "Mr. Smith paid 5.5 mln dlrs. The U.S. Treasury said no! Why? "
        "J. Doe of Acme Inc. agreed.\n\nNew paragraph without a full stop"
    )
    assert split_sentences(text) == [
        "Mr. Smith paid 5.5 mln dlrs.",
        "The U.S. Treasury said no!",
        "Why?",
        "J. Doe of Acme Inc. agreed.",
        "New paragraph without a full stop",
    ]
    assert split_sentences('He said "yes." Then left.') == ['He said "yes."', "Then left."]
    assert split_sentences("") == []


def test_tokenize_and_normalize():
    toks = tokenize("Arrivals were 155,221 bags (5.93 mln), AT&T's year-on-year U.S. rise: 7%!")
    assert toks == [
        "Arrivals",
        "were",
        "155,221",
        "bags",
        "(",
        "5.93",
        "mln",
        ")",
        ",",
        "AT&T's",
        "year-on-year",
        "U.S.",
        "rise",
        ":",
        "7%",
        "!",
    ]
    assert normalize(toks)[:6] == ["arrivals", "were", "9", "bags", "(", "9"]
    assert normalize("1987") == "9" and normalize("Cocoa") == "cocoa"
    assert tokenize("S\u00e3o Paulo") == ["S\u00e3o", "Paulo"]


def test_vocabulary_build_encode_decode():
    docs = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat"]]
    v = Vocabulary.build(docs, size=4)
    assert v.itos == ["<pad>", "<unk>", "the", "cat"] and len(v) == 4  # ties: first seen wins
    assert v.stoi["<pad>"] == PAD == 0 and v.stoi["<unk>"] == UNK == 1
    ids = v.encode(["the", "dog", "cat"], length=5)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 1, 3, 0, 0]
    assert v.encode(["the"] * 9, length=3).tolist() == [2, 2, 2]
    assert v.decode(ids) == ["the", "<unk>", "cat"]
    assert v.encode_many(docs, 2).shape == (3, 2)
    assert Vocabulary.from_dict(v.to_dict()).itos == v.itos
    big = Vocabulary.build(docs, size=100)
    assert len(big) == 2 + 4
    with pytest.raises(AekitError, match="size must be at least 3"):
        Vocabulary.build(docs, size=2)


def test_word_vectors(tmp_path):
    v = Vocabulary.build([["the", "cat", "zebra"]], size=5)
    p = tmp_path / "glove.txt"
    p.write_text("the 0.1 0.2 0.3\ncat -1 0 1\nunrelated 9 9 9\n")
    emb = load_word_vectors(p, v, dim=3, seed=1)
    assert emb.shape == (5, 3) and emb.dtype == np.float32
    assert emb[PAD].tolist() == [0, 0, 0]
    np.testing.assert_allclose(emb[v.stoi["the"]], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(emb[v.stoi["cat"]], [-1, 0, 1])
    assert np.abs(emb[UNK]).sum() > 0 and np.abs(emb[v.stoi["zebra"]]).sum() > 0  # random rows
    np.testing.assert_array_equal(emb, load_word_vectors(p, v, dim=3, seed=1))  # seeded
    assert load_word_vectors(None, v, dim=3) is None  # None: learn the embeddings


def test_word_vectors_errors(tmp_path):
    v = Vocabulary.build([["the"]], size=3)
    p = tmp_path / "g.txt"
    p.write_text("the 0.1 0.2\n")
    with pytest.raises(AekitError, match=r"g.txt: line 1 has a vector of size 2, expected dim=3"):
        load_word_vectors(p, v, dim=3)
    with pytest.raises(AekitError, match="no such file"):
        load_word_vectors(tmp_path / "missing.txt", v, dim=3)
