"""``aekit`` entry point: global options, subcommand discovery, and the error contract.

Every subcommand lives in a module ``aekit/cli/cmd_<name>.py`` that defines ``NAME``, ``HELP`` (one line),
``EXAMPLES`` (shown in ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``; ``run`` calls one
library function and prints through :func:`aekit.cli.common.emit`.

The error contract: a user-caused failure (an :class:`aekit.AekitError`, or an ``OSError`` on a file the
user named: missing, unreadable, unwritable, a file in the way of a folder) prints one line
``aekit: error: ...`` and exits 2; anything else is a bug in aekit and prints one line
``aekit: internal error: ... (run with --debug for the traceback)`` and exits 1. ``--debug`` shows the
traceback instead. A closed output pipe (``aekit info model | head -2``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from contextlib import contextmanager

from aekit.errors import AekitError, describe_os_error


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are the one-line ``aekit: error: ...`` of every other user mistake."""

    def error(self, message: str):
        sys.stderr.write(f"aekit: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _device(text: str) -> str:
    """--device: the name is checked here, its availability when the command picks the device."""
    from aekit.training.device import check_device_name

    try:
        return check_device_name(text)
    except AekitError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_common(p: argparse.ArgumentParser, suppress: bool) -> None:
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = p.add_argument_group("global options")
    g.add_argument("--quiet", "-q", action="store_true", default=d(False), help="print nothing but errors and warnings")
    g.add_argument("--json", action="store_true", default=d(False), help="machine-readable output on stdout")
    g.add_argument("--device", default=d("auto"), type=_device, help="cpu, cuda, cuda:1, mps or auto (default: auto)")
    g.add_argument("--seed", type=int, default=d(None), help="random seed for reproducible runs")
    g.add_argument(
        "--threads",
        type=_threads,
        default=d(None),
        metavar="N",
        help="CPU threads for torch (default: auto, the cores other programs leave free; also AEKIT_NUM_THREADS)",
    )
    g.add_argument("--debug", action="store_true", default=d(False), help="show tracebacks")


def _threads(text: str) -> str:
    from aekit.training.threads import requested_threads

    try:
        requested_threads(text)
    except AekitError:
        raise argparse.ArgumentTypeError(
            f"invalid thread count {text!r}; expected a positive number or 'auto'"
        ) from None
    return text


def commands() -> dict:
    """name -> command module, discovered from the ``cmd_*`` modules of this package."""
    from aekit.cli import __path__ as pkg_path

    found = {}
    for info in pkgutil.iter_modules(pkg_path):
        if info.name.startswith("cmd_"):
            mod = importlib.import_module(f"{__package__}.{info.name}")
            found[mod.NAME] = mod
    return dict(sorted(found.items()))


def build_parser() -> argparse.ArgumentParser:
    from aekit.core.version import __version__

    parser = _Parser(
        prog="aekit",
        description="aekit: the autoencoder toolkit. Run 'aekit COMMAND --help' for a command's options and examples.",
        epilog="Start with: aekit demo --quick",
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    _add_common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, mod in commands().items():
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.HELP,
            epilog=f"examples:\n{mod.EXAMPLES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        _add_common(p, suppress=True)
        p.set_defaults(run_command=mod.run)
    return parser


def _quiet_broken_pipe() -> int:
    """The reader of our output went away (``| head``): stop without a traceback or a second error when
    Python flushes stdout at exit (the recipe of the ``signal`` module's documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


def _family_help(argv: list[str]) -> str | None:
    """``aekit train FAMILY --help``: the family's options and their defaults, added to the help text."""
    from aekit.models.registry import list_models

    if len(argv) >= 3 and argv[0] == "train" and ("-h" in argv or "--help" in argv) and argv[1] in list_models():
        from aekit.cli.cmd_models import options_text

        return options_text(argv[1])
    return None


@contextmanager
def _one_line_warnings(debug: bool):
    """Warnings (a skipped unreadable picture, a library's numerical note) as one ``aekit: warning:`` line on
    stderr, not Python's two lines of file, line number and source; ``--debug`` keeps Python's form."""
    if debug:
        yield
        return
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(f"aekit: warning: {_one_line(str(message))}\n")

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    extra = _family_help(argv)
    if extra:
        # argparse's private _subparsers: build_parser made them, and choices maps each name to its parser
        train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr,index]
        train.epilog = f"{train.epilog}\n\n{extra}"
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a launcher (train --nproc) passes on
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if getattr(args, "threads", None) is not None:
        # every library call of this command (training and inference) reads it; child processes inherit it
        from aekit.training.threads import ENV

        os.environ[ENV] = args.threads
    try:
        with _one_line_warnings(args.debug):
            rc = int(args.run_command(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not in Python's exit handler
        return rc
    except BrokenPipeError:
        if args.debug:
            raise
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        sys.stderr.write("aekit: interrupted\n")
        return 130
    except (AekitError, OSError) as e:
        # OSError: a file the user named cannot be read or written (permissions, a file where a folder
        # should be, a full disk); aekit's own files never raise it
        if args.debug:
            raise
        msg = str(e) if isinstance(e, AekitError) else describe_os_error(e)
        sys.stderr.write(f"aekit: error: {_one_line(msg)}\n")
        return 2
    except Exception as e:  # a bug in aekit: one line, the traceback with --debug
        if args.debug:
            raise
        sys.stderr.write(
            f"aekit: internal error: {type(e).__name__}: {_one_line(str(e))} (run with --debug for the traceback)\n"
        )
        return 1


def _one_line(msg: str) -> str:
    return " ".join(msg.split()) or "(no message)"


if __name__ == "__main__":
    sys.exit(main())
