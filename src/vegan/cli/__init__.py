"""The ``vegan`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called
with the parsed arguments, returning the exit status). Errors a user can
cause are :class:`vegan.errors.VeganError`: they print one line and exit 2;
``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from vegan import __version__
from vegan.errors import VeganError

#: Subcommand modules, in the order ``vegan --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "train",
    "sample",
    "reconstruct",
    "encode",
    "recipes",
    "eval",
    "report",
    "zoo",
    "experiment",
    "distance",
    "data",
)

DESCRIPTION = """\
vegan: the VEGAN cookbook as software. Train latent-variable generative models
(VAE, AVB, AAE, WAE-MMD, SWAE, Sinkhorn-WAE, WAE-GAN/POT, GAN, WGAN, WGAN-GP)
from one set of ingredients,
and measure them with optimal transport.

Run 'vegan COMMAND --help' for the options of a command."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults (when there is one to show) and keep the line breaks of descriptions."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "(default" in text:
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser (also used to generate the CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="vegan", description=DESCRIPTION, formatter_class=_Formatter
    )
    parser.add_argument("--version", action="version", version=f"vegan {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"vegan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"vegan.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub, _Formatter)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vegan`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if not argv or argv == ["--debug"] else 2
    try:
        code = int(args.func(args) or 0)
    except VeganError as exc:
        if args.debug:
            raise
        msg = " ".join(str(exc).split())
        print(f"vegan: error: {msg}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("vegan: interrupted", file=sys.stderr)
        code = 130
    dist = sys.modules.get("vegan.parallel")  # not imported: no process group
    if dist is not None:
        # A dead peer, or a group whose worker threads outlived it: gloo could
        # abort the interpreter's shutdown (SIGABRT) after the status is decided.
        dist.exit_if_broken(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
