"""``vegan recipes``: the recipe book."""

from __future__ import annotations

import argparse


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "recipes",
        help="list the recipes (or the options of one)",
        description="List the recipes with one line each, or with --show RECIPE "
        "every option of a recipe with its default and meaning.",
        formatter_class=formatter,
    )
    p.add_argument("--show", metavar="RECIPE", default=None, help="list the options of RECIPE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.models.config import describe
    from vegan.models.registry import ALIASES, get_recipe, list_recipes

    if args.show:
        r = get_recipe(args.show)
        print(f"{r.name} ({r.side}, eq. {r.equation}): {r.summary}\n")
        for name, typ, default, help_ in describe(r.config):
            shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
            print(f"  {name:<18} {typ:<6} {str(shown):<14} {help_}")
        return 0
    book = list_recipes()  # loads every recipe module, which fills ALIASES
    aliases = {v: k for k, v in ALIASES.items()}
    for r in book:
        name = r.name + (f" ({aliases[r.name]})" if r.name in aliases else "")
        print(f"{name:<16} {r.side:<7} eq. {r.equation:<20} {r.summary}")
    return 0
