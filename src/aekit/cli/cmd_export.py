"""aekit export: a trained model file to ONNX."""

from aekit.autoencoder.onnx import DEFAULT_OPSET, PARTS, export_onnx
from aekit.cli.common import emit, load_model, need_file, positive_int
from aekit.cli.outputs import need_suffix

NAME = "export"
HELP = "export a trained model (encoder, decoder or full) to ONNX with a dynamic batch size"
EXAMPLES = (
    "  aekit export model.aekit -o model.onnx\n"
    "  aekit export model.aekit -o encoder.onnx --part encoder\n"
    "  aekit export model.aekit -o decoder.onnx --part decoder --opset 18 --json"
)


def add_arguments(p) -> None:
    p.add_argument("model", help="a model file written by 'aekit train' (or its run folder) or Autoencoder.save")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument(
        "--part",
        choices=PARTS,
        default="full",
        help="encoder (x -> z), decoder (z -> x_hat) or full (x -> x_hat); default: full",
    )
    p.add_argument("--opset", type=positive_int, default=DEFAULT_OPSET, help=f"ONNX opset (default: {DEFAULT_OPSET})")


def run(args) -> int:
    need_file(args.model, "model")
    need_suffix(args.output, (".onnx",), "the ONNX model")
    model = load_model(args.model)  # a file or a run folder; export_onnx works on a CPU copy
    path = export_onnx(model, args.output, part=args.part, opset=args.opset)
    inp = "z (N, code_size)" if args.part == "decoder" else f"x (N, {', '.join(map(str, model.input_shape))})"
    emit(
        args,
        {
            "output": str(path),
            "part": args.part,
            "opset": args.opset,
            "family": model.family,
            "input": inp,
            "bytes": path.stat().st_size,
        },
        f"wrote {path} ({args.part} of {model.family}; input {inp}, opset {args.opset}, dynamic batch)",
    )
    return 0
