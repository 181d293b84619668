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
from vegan.errors import VeganError, command_line

#: Subcommand modules, in the order ``vegan --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "train",
    "sample",
    "reconstruct",
    "encode",
    "recipes",
    "eval",
    "report",
    "export",
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
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=None,
        metavar="MODULE",
        help=IMPORT_HELP,
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
        if name in USES_RECIPES:
            sub.choices[name].add_argument(
                "--import",
                dest="imports_here",
                action="append",
                default=argparse.SUPPRESS,
                metavar="MODULE",
                help=IMPORT_HELP,
            )
    return parser


#: Commands that take a recipe or a run folder: they accept --import (user recipes).
USES_RECIPES = (
    "train",
    "sample",
    "reconstruct",
    "encode",
    "recipes",
    "eval",
    "report",
    "zoo",
    "export",
)

IMPORT_HELP = (
    "import a Python module or .py file first, e.g. one that registers your own recipes "
    "with @recipe (repeatable; also VEGAN_IMPORT=MOD1:MOD2). Installed packages provide "
    "recipes through the 'vegan.recipes' entry-point group instead"
)


def import_named_modules(args: argparse.Namespace) -> None:
    """Import the modules the user named: ``VEGAN_IMPORT``, then every ``--import``.

    Nothing else is imported but installed packages' ``vegan.recipes`` entry
    points: a run folder's ``run.json`` names the module of its recipe, and
    the error for a missing recipe repeats that name, but vegan does not
    import a module on a run folder's word
    (:func:`vegan.models.registry.run_recipe`).
    """
    import os

    from vegan.models.registry import import_user_module

    env = os.environ.get("VEGAN_IMPORT", "")
    for spec in [s for s in env.split(os.pathsep) if s.strip()]:
        import_user_module(spec, "VEGAN_IMPORT")
    for spec in [*(getattr(args, "imports", None) or []), *getattr(args, "imports_here", [])]:
        import_user_module(spec, "--import")


def calm_openmp() -> None:
    """Idle OpenMP workers sleep instead of spinning, unless the user chose otherwise.

    Set before torch is imported (the OpenMP runtime reads it once, at load).
    With spinning workers (OpenMP's default) two runs of two threads each on
    2 cores were 3x to 30x slower than alone; sleeping workers cost a run that
    has the machine to itself about 10% (BENCHMARKS.md, "Threads"). Set
    ``OMP_WAIT_POLICY=ACTIVE`` for a machine dedicated to one run.
    """
    import os

    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vegan`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    calm_openmp()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if not argv or argv == ["--debug"] else 2
    try:
        with command_line():  # messages name flags (--resume), not arguments (resume=True)
            import_named_modules(args)
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
