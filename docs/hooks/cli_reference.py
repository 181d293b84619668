"""The CLI reference, generated from the parser the ``vegan`` command itself uses.

As an MkDocs hook (``hooks:`` in mkdocs.yml) it replaces the line
``<!-- vegan-cli-reference -->`` of ``docs/cli.md`` with one section per
command: its one-line summary, a table of its options and the full
``vegan COMMAND --help`` text, all taken from ``vegan.cli.build_parser()``.
Nothing is written to disk, so the reference cannot drift from the code.

As a script it prints the same Markdown::

    python docs/hooks/cli_reference.py > /tmp/cli.md
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager

MARKER = "<!-- vegan-cli-reference -->"
WIDTH = "88"  # columns of the --help text, fixed so the page is reproducible


@contextmanager
def _columns(width: str):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _subparsers(parser: argparse.ArgumentParser):
    """(name, summary, subparser) for each subcommand, in ``vegan --help`` order."""
    for action in parser._actions:  # argparse has no public accessor for these
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name, ""), sub


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | meaning |", "| --- | --- | --- |"]
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        if a.option_strings:
            name = ", ".join(f"`{s}`" for s in a.option_strings)
            if a.nargs != 0:
                name += f" `{a.metavar or a.dest.upper()}`"
        else:
            name = f"`{a.metavar or a.dest}`"
        if a.required or not a.option_strings:
            default = "required"
        elif a.default in (None, argparse.SUPPRESS) or a.nargs == 0:
            default = ""
        else:
            default = f"`{a.default}`" if a.default != [] else ""
        helptext = (a.help or "") % {"default": a.default} if a.help else ""
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            helptext += f" (one of: {', '.join(map(str, a.choices))})"
        rows.append(f"| {name} | {default} | {_cell(helptext)} |")
    return rows


def render() -> str:
    """The Markdown of the whole CLI reference."""
    from vegan.cli import build_parser

    with _columns(WIDTH):
        parser = build_parser()
        out = ["## vegan", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, summary, sub in _subparsers(parser):
            out += [f"## vegan {name}", ""]
            if summary:
                out += [summary[0].upper() + summary[1:] + ".", ""]
            out += _options_table(sub) + [""]
            out += ["```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:  # MkDocs hook
    if MARKER in markdown:
        return markdown.replace(MARKER, render())
    return markdown


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
