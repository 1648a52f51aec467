"""aekit models: the registered families, or one family's options with their defaults."""

from aekit.cli.common import emit
from aekit.models.registry import describe_models

NAME = "models"
HELP = "list the registered autoencoder families, or every option of one with its default"
EXAMPLES = (
    "  aekit models\n  aekit models dense          # every model and training option, with defaults\n"
    "  aekit models --json"
)

# what an 'auto' / None default means, for the options the data decides (aekit.training.defaults)
AUTO_RULES = {
    "latent_dim": "auto: ceil(input width / 4), 1 to 32, below the width",
    "activation": "auto: relu for pictures in [0, 1], elu for standardised data",
    "output_activation": "auto: sigmoid for pictures in [0, 1] (after scaling), else linear",
    "loss": "auto: bce with a sigmoid output, mse with a linear one",
    "epochs": "None: a budget of ~6,000 steps and 192,000 samples (2 to 1,000 epochs) with early stopping",
    "batch_size": "None: N/64 as a power of two, 16 to 256",
    "validation_split": "None: 0.1 when epochs are automatic (N >= 50), else 0",
    "patience": "None: with automatic epochs, a tenth of them (5 to 100; 5 to 20 for a model that starts as PCA)",
    "lr": "None: the optimizer's usual one (adam 1e-3, sgd 1e-2, adadelta 1.0)",
    "scale": "auto: none for pictures in [0, 1], /255 for 0-255 pictures, else standard (tables whatever "
    "their range; series: per channel)",
    "linear_path": "auto: on for standardised data (a linear path beside the hidden layers), else off",
    "init": "auto: pca for a model with a linear path trained in memory, else random",
}


def option_rows(family: str) -> list:
    """(section, name, default, note) for every model option of ``family`` and every training option."""
    from aekit.models.config import TrainConfig, field_help
    from aekit.models.registry import get_family

    rows = []
    for section, cls in (("model", get_family(family).config_cls), ("training", TrainConfig)):
        for name, _, default in field_help(cls):
            if name != "input_shape":
                rows.append((section, name, default, AUTO_RULES.get(name, "")))
    return rows


def options_text(family: str) -> str:
    lines = [f"options of {family!r} (--set KEY=VALUE), with defaults:"]
    for section, name, default, note in option_rows(family):
        lines.append(f"  {section:8s} {name:22s} {str(default):12s} {note}")
    return "\n".join(lines)


def add_arguments(p) -> None:
    p.add_argument("family", nargs="?", metavar="FAMILY", help="show this family's options and defaults")


def run(args) -> int:
    if args.family:
        rows = option_rows(args.family)
        emit(
            args,
            {
                "family": args.family,
                "options": [{"section": s, "name": n, "default": d, "auto": a} for s, n, d, a in rows],
            },
            options_text(args.family),
        )
        return 0
    models = describe_models()
    emit(args, {"models": models}, "\n".join(f"{k:10s} {v}" for k, v in models.items()))
    return 0
