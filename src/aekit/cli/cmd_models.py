"""aekit models: the registered families."""
from ..registry import describe_models
from .common import emit

NAME = "models"
HELP = "list the registered autoencoder families"
EXAMPLES = "  aekit models\n  aekit models --json"


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    models = describe_models()
    emit(args, {"models": models}, "\n".join(f"{k:10s} {v}" for k, v in models.items()))
    return 0
