"""aekit embed: codes of a file or folder under a trained model, and an optional 2-D map picture.

The files and folders are read here (arrays, pictures, sentences, Reuters documents, labels); the library
calls take and return arrays (:mod:`aekit.apps.embed`, :mod:`aekit.apps.text`).
"""

import io as _io
from pathlib import Path

import numpy as np

from aekit.apps.embed import MAP_METHODS, embed, map_2d
from aekit.apps.text import is_sentence_model
from aekit.cli.common import emit, load_model, need_file, positive_int
from aekit.cli.outputs import need_suffix
from aekit.core.container import atomic_write
from aekit.errors import AekitError

NAME = "embed"
HELP = "reduce dimensions: save the codes of INPUT (.npy), optionally a 2-D map image"
EXAMPLES = """  aekit embed model.aekit digits.npy -o codes.npy
  aekit embed model.aekit digits.npy -o codes.npy --map tsne --labels labels.npy
  aekit embed model.aekit pictures/ -o codes.npy --map pca --map-image map.png   # class sub-folders colour it
  aekit embed sentences.aekit sentences.txt -o vectors.npy                        # a sentence model
  aekit embed sentences.aekit reuters21578/ -o docs.npy --map tsne               # one vector per document"""


def add_arguments(p) -> None:
    p.add_argument("model", help="a trained model file or the run folder holding it")
    p.add_argument(
        "input",
        help=".npy/.npz, a picture or a folder of them; for a sentence model a .txt "
        "(one sentence per line) or a Reuters-21578 folder",
    )
    p.add_argument("-o", "--output", required=True, help="the codes, written as .npy (N, code_size)")
    p.add_argument(
        "--map", choices=MAP_METHODS, default=None, help="also draw a 2-D map of the codes (umap needs umap-learn)"
    )
    p.add_argument("--map-image", default=None, help="where the map PNG goes (default: OUTPUT's name + _map.png)")
    p.add_argument(
        "--labels",
        default=None,
        help="labels to colour the map: .npy, or a text/CSV file with one "
        "label per line per sample (a header line above them is skipped)",
    )
    p.add_argument("--key", default=None, help="the array inside an .npz input")
    p.add_argument("--max-points", type=positive_int, default=5000, help="at most this many samples on the map")


def _read_labels(path, n: int) -> np.ndarray:
    """Labels (n,) from a .npy/.npz array or a text file with one label per line."""
    from aekit.datasets import load_array

    p = Path(path)
    if not p.exists():
        raise AekitError(f"labels {path}: no such file")
    if p.suffix.lower() in (".npy", ".npz"):
        lab = np.asarray(load_array(p))
    else:
        lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
        # a header line (a CSV column 'label') is the one line more than there are samples
        lab = np.asarray(lines[1:] if len(lines) == n + 1 else lines)
    if lab.ndim != 1 or len(lab) != n:
        raise AekitError(f"labels {path}: expected {n} labels (one per input sample), got shape {lab.shape}")
    return lab


def _read(model, path, key):
    """(x, labels or None, class_names or None) of an INPUT for ``model``; sentences/documents for text."""
    p = Path(path).expanduser()
    if not p.exists():
        raise AekitError(f"input {path}: no such file or folder")
    if is_sentence_model(model):
        from aekit.datasets import load_reuters, read_sentences

        if p.is_dir() or p.suffix.lower() == ".sgm":  # Reuters-21578: one vector per document
            docs = [d for d in load_reuters(p) if d.body]
            return (
                [d.body for d in docs],
                np.asarray([d.topics[0] if d.topics else "none" for d in docs]),
                None,
                "documents",
            )
        if p.suffix.lower() != ".txt":
            raise AekitError(
                f"input {path}: a sentence model reads a .txt file (one sentence per line) or a Reuters-21578 folder"
            )
        return read_sentences(p), None, None, "sentences"
    if p.is_dir():
        from aekit.core.pictures import image_shape
        from aekit.datasets import load_images

        shp = image_shape(model)
        if shp is None:
            raise AekitError(f"input {path}: a folder of pictures, but this model does not take images")
        s = load_images(
            p, size=(shp[1], shp[2]), color="gray" if shp[0] == 1 else "rgb", cache=False, workers=1, labels="auto"
        )
        return s.x, s.y, (list(s.class_names) if s.class_names else None), "images"
    from aekit.datasets.sources import read_input

    x, read = read_input(p, model, key=key)
    return x, None, None, "images" if read.images else "arrays"


def embed_file(
    model,
    input,
    out,
    *,
    map: str | None = None,
    map_image=None,
    labels=None,
    key: str | None = None,
    max_points: int = 5000,
    seed: int = 0,
) -> dict:
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
    res = {"codes": str(out), "n": int(len(codes)), "code_size": int(codes.shape[1]), "text_unit": kind}
    if map is not None or map_image is not None:
        method = map or "tsne"
        if method not in MAP_METHODS:
            raise AekitError(f"--map {method!r}: expected one of {', '.join(MAP_METHODS)}")
        n = min(len(codes), int(max_points))
        pts = map_2d(codes[:n], method, seed=seed)
        img = Path(map_image) if map_image else out.with_name(out.stem + "_map.png")
        from aekit.report.plots import plot_map  # matplotlib: only when a map is drawn

        plot_map(
            pts,
            lab[:n] if lab is not None else None,
            img,
            class_names=names,
            title=f"{Path(str(input)).name}: {method if codes.shape[1] != 2 else 'codes'} map of {n} samples",
        )
        res.update(
            map=method if codes.shape[1] != 2 else "codes",
            map_image=str(img),
            mapped=n,
            coloured_by_labels=lab is not None,
        )
    return res


def _documents(model, docs):
    from aekit.apps.text import document_vectors

    return document_vectors(model, docs)


def run(args) -> int:
    need_file(args.model, "model")
    need_file(args.input, "input")
    need_suffix(args.output, (".npy",), "the codes")
    if args.map_image is not None:
        need_suffix(args.map_image, (".png",), "the map", flag="--map-image")
    model = load_model(args.model, args)
    res = embed_file(
        model,
        args.input,
        args.output,
        map=args.map,
        map_image=args.map_image,
        labels=args.labels,
        key=args.key,
        max_points=args.max_points,
        seed=args.seed if args.seed is not None else 0,
    )
    text = f"{res['n']} codes of size {res['code_size']} -> {res['codes']}"
    if "map_image" in res:
        text += f"\nmap ({res['map']}) -> {res['map_image']}"
    emit(args, res, text)
    return 0
