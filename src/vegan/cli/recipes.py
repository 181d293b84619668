"""``vegan recipes``: the recipe book, its options, and the presets."""

from __future__ import annotations

import argparse

HELP = """\
List the recipes with one line each; with --show RECIPE every option of the
recipe with its default and meaning; with --show RECIPE --data DATA the value
each option will have on that data and where it comes from (recipe default,
the data family's preset, --preset, --config, --set); with --presets the
presets and their sources.

examples:
  vegan recipes
  vegan recipes --show wgan-gp --data toy:8gaussians
  vegan recipes --show wae-mmd --data mnist --set lam=5
  vegan recipes --presets
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "recipes",
        help="list the recipes (or the options of one, or the presets)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("--show", metavar="RECIPE", default=None, help="list the options of RECIPE")
    p.add_argument(
        "--data",
        default=None,
        help="with --show: resolve the options for this dataset (its family's preset applies)",
    )
    p.add_argument("--preset", metavar="NAME", default=None, help="with --show: apply preset NAME")
    p.add_argument("--config", metavar="FILE.toml", default=None, help="with --show: options file")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --show: set an option (repeatable)",
    )
    p.add_argument("--presets", action="store_true", help="list the presets and their sources")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.errors import ConfigError
    from vegan.models.config import describe
    from vegan.models.registry import ALIASES, get_recipe, list_recipes
    from vegan.train.options import RunOptions

    if args.presets:
        return _presets()
    if not args.show and (args.data or args.preset or args.config or args.sets):
        raise ConfigError("--data, --preset, --config and --set go with --show RECIPE")
    if args.show:
        r = get_recipe(args.show)
        print(f"{r.name} ({r.side}, eq. {r.equation}): {r.summary}\n")
        if args.data or args.preset or args.config or args.sets:
            return _resolved(r, args)
        for name, typ, default, help_ in describe(r.config):
            print(f"  {name:<18} {typ:<6} {_shown(default):<14} {help_}")
        print("\n  the run's options (every recipe; a resumed run may change them):")
        for name, typ, default, help_ in describe(RunOptions):
            print(f"  {name:<18} {typ:<6} {_shown(default):<14} {help_}")
        return 0
    book = list_recipes()  # loads every recipe module, which fills ALIASES
    aliases = {v: k for k, v in ALIASES.items()}
    for r in book:
        name = r.name + (f" ({aliases[r.name]})" if r.name in aliases else "")
        print(f"{name:<16} {r.side:<7} eq. {r.equation:<20} {r.summary}")
    return 0


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _resolved(r, args: argparse.Namespace) -> int:
    """Each option's value on the data, and where it comes from."""
    from vegan.errors import ConfigError
    from vegan.models.config import build_config, describe, load_toml, parse_sets
    from vegan.models.presets import data_family, resolve
    from vegan.train.api import one_length, with_preset_length
    from vegan.train.options import RunOptions, split_options

    if args.data:
        from vegan.data import load_dataset

        shape = tuple(load_dataset(args.data, "train").sample_shape)
    else:
        raise ConfigError("--show with --preset, --config or --set needs --data DATA")
    sources = []
    if args.config:
        sources.append((f"config file {args.config}", load_toml(args.config)))
    if args.sets:
        sources.append(("--set", parse_sets(args.sets)))
    split = [(label, *split_options(r.config, values)) for label, values in sources]
    res = resolve(r.name, shape, args.preset, *[(label, m) for label, m, _ in split])
    user_run = with_preset_length({k: v for _, _, ru in split for k, v in ru.items()}, res)
    run = one_length(build_config(RunOptions, user_run), user_run)
    origins = {k: label for label, _, ru in split for k in ru}
    if "steps" in user_run and "steps" not in origins:
        origins["steps"] = res.origins["steps"]
    fam = data_family(shape)
    print(f"data {args.data}: samples of shape {shape}, family {fam or '(none)'}")
    for name in res.presets:
        print(f"preset {name}: {res.sources[name]}")
    if not res.presets:
        print("no preset: the recipe's defaults")
    print()
    for name, _, _, _ in describe(r.config):
        value = getattr(res.config, name)
        print(f"  {name:<18} {_shown(value):<14} {res.origins.get(name, 'default')}")
    print("\n  the run's options:")
    for name, _, _, _ in describe(RunOptions):
        value = getattr(run, name)
        origin = origins.get(name, "default")
        if name == "epochs" and run.steps > 0 and "epochs" not in origins:
            origin = "(the length is in steps)"
        print(f"  {name:<18} {_shown(value):<14} {origin}")
    return 0


def _presets() -> int:
    from vegan.models.presets import FAMILIES, list_presets

    for p in list_presets():
        fam = f"default for {FAMILIES[p.family]}" if p.family else "by name only"
        print(f"{p.name:<10} {p.summary}\n{'':<10} {fam}\n{'':<10} source: {p.source}")
        for recipe, values in p.recipes.items():
            shown = ", ".join(f"{k}={_shown(v)}" for k, v in values.items())
            print(f"{'':<12}{recipe}: {shown}")
        if p.common:
            shown = ", ".join(f"{k}={_shown(v)}" for k, v in p.common.items())
            print(f"{'':<12}every recipe: {shown}")
    print("none       the bare recipe defaults (no preset)")
    return 0
