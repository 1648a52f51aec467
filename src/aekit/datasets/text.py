"""Text: Reuters-21578 SGML, sentence splitting, tokenising (regex, no NLTK, no network), vocabulary, GloVe.

The normalisation follows the sentence-autoencoder chapter of the TensorFlow 2 tutorials: tokens are lower
case and every number becomes the single token ``"9"``, so the vocabulary is spent on words.
"""

from __future__ import annotations

import html
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aekit.errors import AekitError, FormatError

PAD, UNK = 0, 1
PAD_TOKEN, UNK_TOKEN = "<pad>", "<unk>"


@dataclass
class Document:
    """One Reuters-21578 article.

    ``id`` is the NEWID attribute; ``body`` is "" for articles without a BODY (their TEXT, when present
    as unstructured text, is used instead), without the closing "Reuter" sign-off; ``lewissplit`` is
    "TRAIN", "TEST" or "NOT-USED".
    """

    id: int
    title: str
    body: str
    topics: list = field(default_factory=list)
    lewissplit: str = ""


_ATTR = re.compile(r'(\w+)="([^"]*)"')
_ATTR_NEWID = re.compile(r'NEWID="([^"]*)"')
_OPEN = re.compile(r"<REUTERS[\s>]")
_CTRL = {c: None for c in [*range(0, 9), *range(11, 32), 127]}


# Plain str.find instead of lazy regexes: the files are 1.3 MB each and this is several times faster.


def _tag(name: str, text: str):
    i = text.find("<" + name)
    if i < 0:
        return None
    i = text.find(">", i) + 1
    j = text.find("</" + name + ">", i)
    return text[i:j] if i > 0 and j >= 0 else None


def _strip_signature(body: str) -> str:
    # Nearly every body ends with the agency's sign-off "Reuter"; it is not part of the article.
    if body[-6:].lower() == "reuter" and (len(body) == 6 or not body[-7].isalnum()):
        body = body[:-6].rstrip()
    return body


def _clean(s: str | None) -> str:
    # The SGML escapes &lt; &amp; and writes control characters as &#3; etc.: unescape, then drop those.
    return html.unescape(s).translate(_CTRL).strip() if s else ""


def parse_reuters_sgml(text: str, name: str = "<text>") -> list[Document]:
    """Parse the text of one ``reut2-*.sgm`` file; error if it holds no document."""
    docs = []
    pieces = text.split("</REUTERS>")
    for n_piece, piece in enumerate(pieces):
        starts = [m.start() for m in _OPEN.finditer(piece)]
        if not starts:
            continue
        # more than one opening tag before a closing one, or an opening tag after the last closing one:
        # a document was not closed; cut at the next opening tag so it does not swallow the next one
        closed = n_piece < len(pieces) - 1
        for k, start in enumerate(starts):
            last = k == len(starts) - 1
            chunk = piece[start : starts[k + 1]] if not last else piece[start:]
            if not (last and closed):
                newid = _ATTR_NEWID.search(chunk[: chunk.find(">") + 1] if ">" in chunk else chunk)
                warnings.warn(
                    f"{name}: <REUTERS{' NEWID=' + newid.group(1) if newid else ''}> is not closed "
                    f"by </REUTERS>; read up to the next document",
                    stacklevel=2,
                )
            doc = _document(chunk, name)
            if doc is not None:
                docs.append(doc)
    if not docs:
        raise AekitError(f"{name}: no <REUTERS> documents found; is it a Reuters-21578 .sgm file?")
    return docs


def _document(chunk: str, name: str):
    """One Document from the text of a <REUTERS ...> element (from its opening tag, no closing tag)."""
    head_end = chunk.find(">")
    if head_end < 0:
        return None
    attrs, inner = dict(_ATTR.findall(chunk[:head_end])), chunk[head_end + 1 :]
    topics = re.findall(r"<D>(.*?)</D>", _tag("TOPICS", inner) or "", re.S)
    body = _tag("BODY", inner)
    if body is None:
        # Articles of TYPE="UNPROC" keep their text directly in <TEXT>; "BRIEF" ones only have a title.
        txt = _tag("TEXT", inner) or ""
        body = "" if re.search(r"<TITLE>", txt) else txt
    try:
        doc_id = int(attrs.get("NEWID", "0"))
    except ValueError:
        raise FormatError(f"{name}: document with a non-numeric NEWID {attrs.get('NEWID')!r}") from None
    body = _strip_signature(_clean(body))
    return Document(
        id=doc_id,
        title=_clean(_tag("TITLE", inner)),
        body=body,
        topics=[_clean(t) for t in topics],
        lewissplit=attrs.get("LEWISSPLIT", ""),
    )


def load_reuters(folder) -> list[Document]:
    """Load Reuters-21578 from a folder of ``reut2-*.sgm`` files (or one such file).

    Files are read as Latin-1 (they contain a few bytes that are not UTF-8).

    Returns
    -------
    list of Document
        In file order; the full collection's 22 files hold 21,578 documents, the usual 20 files 20,000.

    Raises
    ------
    aekit.errors.AekitError
        No ``reut2-*.sgm`` files, or a file with no documents.

    Examples
    --------
    >>> docs = load_reuters("reuters21578/")                          # doctest: +SKIP
    >>> len(docs), docs[0].title, docs[0].topics                       # doctest: +SKIP
    (20000, 'BAHIA COCOA REVIEW', ['cocoa'])
    """
    p = Path(folder).expanduser()
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(p.glob("reut2-*.sgm")) or sorted(p.glob("*.sgm"))
        if not files:
            raise AekitError(f"{p}: no reut2-*.sgm files in this folder")
    else:
        raise AekitError(f"{p}: no such file or folder")
    docs = []
    for f in files:
        try:
            text = f.read_text(encoding="latin-1")
        except OSError as e:
            raise AekitError(f"{f}: cannot read ({e.strerror or e})") from None
        docs += parse_reuters_sgml(text, str(f))
    return docs


# Abbreviations after which a full stop does not end a sentence (frequent in newswire).
_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "jr",
    "sr",
    "co",
    "corp",
    "inc",
    "ltd",
    "bros",
    "vs",
    "no",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "e.g",
    "i.e",
    "etc",
    "approx",
    "gov",
    "sen",
    "rep",
}
_BOUNDARY = re.compile(r"([.!?]+)([\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with a regex (no NLTK).

    A sentence ends at ``.``, ``!`` or ``?`` followed by blanks and a capital letter or digit, unless
    the word before the full stop is a known abbreviation (Mr., Inc., U.S., ...) or a single letter.
    Blank lines also end a sentence.

    Examples
    --------
    >>> split_sentences("Mr. Smith paid 5.5 mln dlrs. The U.S. Treasury said no! Why?")
    ['Mr. Smith paid 5.5 mln dlrs.', 'The U.S. Treasury said no!', 'Why?']
    """
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        start = 0
        for m in _BOUNDARY.finditer(para):
            if m.group(1) == ".":
                word = para[start : m.start()].rsplit(" ", 1)[-1].lower().strip("\"'([")
                if word.rstrip(".") in _ABBREV or len(word.rstrip(".")) == 1:
                    continue
            out.append(para[start : m.end(2)].strip())
            start = m.end()
        tail = para[start:].strip()
        if tail:
            out.append(tail)
    return out


_TOKEN = re.compile(
    r"\d+(?:[.,/:]\d+)*%?"  # 5.93  155,221  1/2  10:30  7%
    r"|(?:[^\W\d_]\.){2,}"  # U.S.  U.K.
    r"|[^\W\d_]+(?:['&-][^\W\d_]+)*"  # words, don't, year-on-year, AT&T
    r"|[^\s\w]|_"
)  # each punctuation mark
_NUMBER = re.compile(r"[+-]?\d[\d.,/:]*%?")
_NUMBER_START = frozenset("0123456789+-")


def tokenize(text: str) -> list[str]:
    """Split text into word, number and punctuation tokens with a regex.

    Numbers keep their decimal point and thousands separators (``5.93``, ``155,221``), words keep inner
    apostrophes and hyphens (``don't``, ``year-on-year``), each punctuation mark is its own token.

    Examples
    --------
    >>> tokenize("Arrivals were 155,221 bags, don't worry.")
    ['Arrivals', 'were', '155,221', 'bags', ',', "don't", 'worry', '.']
    """
    return _TOKEN.findall(text)


def normalize(tokens):
    """Lower-case tokens and replace every number by ``"9"`` (a list of tokens, or a single token).

    Examples
    --------
    >>> normalize(["Cocoa", "5.93", "MLN", "1987"])
    ['cocoa', '9', 'mln', '9']
    """
    if isinstance(tokens, str):
        return _normalize_one(tokens)
    return [_normalize_one(t) for t in tokens]


def _normalize_one(t: str) -> str:
    # Only tokens starting with a digit or sign can be numbers: skip the regex for the others (most).
    return "9" if t[:1] in _NUMBER_START and _NUMBER.fullmatch(t) else t.lower()


class Vocabulary:
    """Word <-> id mapping: ``PAD = 0``, ``UNK = 1``, then the most frequent words.

    Examples
    --------
    >>> v = Vocabulary.build([["the", "cat"], ["the", "dog"]], size=4)
    >>> len(v), v.itos
    (4, ['<pad>', '<unk>', 'the', 'cat'])
    >>> v.encode(["the", "dog"], length=4).tolist()
    [2, 1, 0, 0]
    >>> v.decode([2, 1, 0, 0])
    ['the', '<unk>']
    """

    def __init__(self, itos):
        itos = list(itos)
        if itos[:2] != [PAD_TOKEN, UNK_TOKEN]:
            raise AekitError(f"Vocabulary: the first two words must be {PAD_TOKEN!r} and {UNK_TOKEN!r}")
        self.itos = itos
        self.stoi = {w: i for i, w in enumerate(itos)}

    @classmethod
    def build(cls, token_lists, size: int = 5000) -> Vocabulary:
        """The ``size - 2`` most frequent tokens (ties by first appearance) plus PAD and UNK."""
        if int(size) < 3:
            raise AekitError(f"Vocabulary.build: size must be at least 3 (PAD, UNK and one word), got {size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        counts.pop(PAD_TOKEN, None)
        counts.pop(UNK_TOKEN, None)
        return cls([PAD_TOKEN, UNK_TOKEN] + [w for w, _ in counts.most_common(int(size) - 2)])

    def __len__(self):
        return len(self.itos)

    def __contains__(self, word):
        return word in self.stoi

    def encode(self, tokens, length: int) -> np.ndarray:
        """int64 ids of ``tokens``, unknown words as UNK, truncated or PAD-padded at the end to ``length``."""
        ids = np.full(int(length), PAD, dtype=np.int64)
        seq = [self.stoi.get(t, UNK) for t in tokens[: int(length)]]
        ids[: len(seq)] = seq
        return ids

    def encode_many(self, token_lists, length: int) -> np.ndarray:
        """int64 (n, length) array of :meth:`encode` for each token list."""
        return (
            np.stack([self.encode(t, length) for t in token_lists])
            if token_lists
            else np.zeros((0, int(length)), dtype=np.int64)
        )

    def decode(self, ids) -> list[str]:
        """Tokens of ``ids`` with the PAD ids left out (unknown ids read as UNK)."""
        n = len(self.itos)
        return [self.itos[i] if 0 <= i < n else UNK_TOKEN for i in (int(j) for j in ids) if i != PAD]

    def to_dict(self) -> dict:
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        try:
            return cls(d["itos"])
        except (KeyError, TypeError):
            raise AekitError("Vocabulary: malformed vocabulary state (expected {'itos': [...]})") from None


def read_sentences(path) -> list[str]:
    """Sentences of a UTF-8 text file, one per non-blank line."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise AekitError(f"{p}: cannot read ({e.strerror or e})") from None
    out = [ln.strip() for ln in lines if ln.strip()]
    if not out:
        raise AekitError(f"{p}: no sentences (expected one sentence per line)")
    return out


def load_sentences(path, split: str | None = "TRAIN", min_words: int = 3) -> list[str]:
    """Training sentences of a ``.txt`` file (one per line) or of Reuters-21578 (a folder or ``.sgm``
    file: the bodies of the documents of LEWISSPLIT ``split``, all when None, split into sentences);
    sentences with fewer than ``min_words`` tokens are left out for Reuters."""
    p = Path(path)
    if p.is_dir() or p.suffix.lower() == ".sgm":
        docs = [d for d in load_reuters(p) if d.body and (split is None or d.lewissplit == split)]
        out = [s for d in docs for s in split_sentences(d.body) if len(tokenize(s)) >= min_words]
        if not out:
            raise AekitError(f"{p}: no sentences in the documents of split {split!r}")
        return out
    if p.suffix.lower() != ".txt":
        raise AekitError(f"{p}: expected a .txt file (one sentence per line) or a Reuters-21578 folder")
    return read_sentences(p)


def load_word_vectors(path, vocab: Vocabulary, dim: int, seed: int = 0):
    """Embedding matrix for ``vocab`` from a GloVe-format text file, or None for learned embeddings.

    Parameters
    ----------
    path : path-like or None
        ``word v1 v2 ... v_dim`` per line (GloVe ``.txt``; a word2vec text header line is skipped).
        None returns None: the model then learns its embeddings from scratch.
    vocab : Vocabulary
    dim : int
        Vector size; lines of another size are an error.
    seed : int
        Seed of the random rows.

    Returns
    -------
    numpy.ndarray float32 (len(vocab), dim) or None
        Row PAD is zeros; UNK and words missing from the file are random normal with the standard
        deviation of the vectors found (0.1 if none), so they look like real vectors.

    Examples
    --------
    >>> v = Vocabulary.build([["the", "cat"]], size=4)
    >>> load_word_vectors(None, v, 50) is None
    True
    """
    if path is None:
        return None
    p = Path(path).expanduser()
    found = {}
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                parts = line.rstrip("\n").rstrip().split(" ")
                if n == 1 and len(parts) == 2 and all(s.isdigit() for s in parts):
                    continue  # word2vec header "count dim"
                if len(parts) < 2:
                    continue
                word = parts[0]
                if word not in vocab.stoi or word in found:
                    continue
                if len(parts) - 1 != dim:
                    raise AekitError(f"{p}: line {n} has a vector of size {len(parts) - 1}, expected dim={dim}")
                try:
                    found[word] = np.array(parts[1:], dtype=np.float32)
                except ValueError:
                    raise FormatError(f"{p}: line {n} is not 'word number number ...'") from None
    except FileNotFoundError:
        raise AekitError(f"{p}: no such file (pass path=None to learn the embeddings instead)") from None
    except OSError as e:
        raise AekitError(f"{p}: cannot read ({e.strerror or e})") from None
    rng = np.random.default_rng(seed)
    scale = float(np.std(np.stack(list(found.values())))) if found else 0.1
    emb = rng.normal(0.0, scale or 0.1, size=(len(vocab), int(dim))).astype(np.float32)
    for w, vec in found.items():
        emb[vocab.stoi[w]] = vec
    emb[PAD] = 0.0
    return emb
