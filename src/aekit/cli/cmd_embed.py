"""aekit embed: codes of a file or folder under a trained model, and an optional 2-D map picture."""
from ..apps.embed import MAP_METHODS, embed_file
from .common import emit, load_model, need_file

NAME = "embed"
HELP = "reduce dimensions: save the codes of INPUT (.npy), optionally a 2-D map image"
EXAMPLES = """  aekit embed model.aekit digits.npy -o codes.npy
  aekit embed model.aekit digits.npy -o codes.npy --map tsne --labels labels.npy
  aekit embed model.aekit pictures/ -o codes.npy --map pca --map-image map.png   # class sub-folders colour it
  aekit embed sentences.aekit sentences.txt -o vectors.npy                        # a sentence model
  aekit embed sentences.aekit reuters21578/ -o docs.npy --map tsne               # one vector per document"""


def add_arguments(p) -> None:
    p.add_argument("model", help="a trained model file")
    p.add_argument("input", help=".npy/.npz, a picture or a folder of them; for a sentence model a .txt "
                                 "(one sentence per line) or a Reuters-21578 folder")
    p.add_argument("-o", "--output", required=True, help="the codes, written as .npy (N, code_size)")
    p.add_argument("--map", choices=MAP_METHODS, default=None,
                   help="also draw a 2-D map of the codes (umap needs umap-learn)")
    p.add_argument("--map-image", default=None, help="where the map PNG goes (default: OUTPUT's name + _map.png)")
    p.add_argument("--labels", default=None, help="labels to colour the map: .npy or a text file, one per sample")
    p.add_argument("--key", default=None, help="the array inside an .npz input")
    p.add_argument("--max-points", type=int, default=5000, help="at most this many samples on the map")


def run(args) -> int:
    need_file(args.model, "model")
    need_file(args.input, "input")
    model = load_model(args.model, args)
    res = embed_file(model, args.input, args.output, map=args.map, map_image=args.map_image, labels=args.labels,
                     key=args.key, max_points=args.max_points, seed=args.seed if args.seed is not None else 0)
    text = f"{res['n']} codes of size {res['code_size']} -> {res['codes']}"
    if "map_image" in res:
        text += f"\nmap ({res['map']}) -> {res['map_image']}"
    emit(args, res, text)
    return 0
