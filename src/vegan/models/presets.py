"""Presets: a recipe's settings for a family of data, with where each value comes from.

A recipe's defaults are the settings of its paper, and those were chosen
for the paper's data (MNIST, CelebA). On other data they can fail (a WGAN
with image settings does not learn 8 Gaussians). A *preset* is a named set
of option values for a data family, per recipe, each with its source (a
paper, reference code, or vegan's own measurement, ``bench/``).

Options are resolved in this order, each layer overriding the ones before:

1. the recipe's defaults (its config dataclass);
2. the preset of the data's family (:func:`data_family`), unless ``preset="none"``;
3. a preset named by the user (``--preset NAME``, ``preset=NAME``);
4. the ``--config`` file;
5. ``--set key=value`` (and keyword options of :func:`vegan.fit`).

:func:`resolve` returns the config with the origin of every value; the run
records both in ``run.json``. A preset that names an option a recipe does
not have is an error when the preset is defined (:func:`preset`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vegan.errors import ConfigError, closest

#: The families of data a preset can be for, with what makes data belong to them.
FAMILIES: dict[str, str] = {
    "toy": "vectors of dimension <= 16 (the 2-D toys, small Gaussians)",
    "vectors": "vectors of dimension > 16",
    "mnist": "1 x 28 x 28 images (MNIST and its kin)",
    "rgb32": "3 x 32 x 32 images (CIFAR-10 and its kin)",
    "rgb64": "3 x 64 x 64 images (CelebA at 64 x 64 and its kin)",
}

#: Vectors up to this dimension belong to the "toy" family.
TOY_MAX_DIM = 16


def data_family(sample_shape: tuple[int, ...]) -> str | None:
    """The family of data of this shape (a key of :data:`FAMILIES`), or None."""
    shape = tuple(int(s) for s in sample_shape)
    if len(shape) == 1:
        return "toy" if shape[0] <= TOY_MAX_DIM else "vectors"
    if shape == (1, 28, 28):
        return "mnist"
    if shape == (3, 32, 32):
        return "rgb32"
    if shape == (3, 64, 64):
        return "rgb64"
    return None


@dataclass(frozen=True)
class Preset:
    """Option values for a family of data, per recipe, with their sources.

    ``common`` applies to every recipe; ``recipes`` maps a recipe name to its
    own values (they win over ``common``); ``sources`` maps a recipe name to
    where its values come from when it differs from ``source``; ``steps``
    maps a recipe name to the run length (in steps) its values were measured
    at, used when the user gives no length (no ``epochs`` nor ``steps``).
    """

    name: str
    family: str | None
    summary: str
    source: str
    common: dict[str, Any] = field(default_factory=dict)
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)

    def values_for(self, recipe: str) -> dict[str, Any]:
        return {**self.common, **self.recipes.get(recipe, {})}

    def source_for(self, recipe: str) -> str:
        return self.sources.get(recipe, self.source)


PRESETS: dict[str, Preset] = {}

#: The word that turns presets off (bare recipe defaults).
NONE = "none"


def preset(
    name: str,
    family: str | None,
    summary: str,
    source: str,
    common: dict[str, Any] | None = None,
    recipes: dict[str, dict[str, Any]] | None = None,
    sources: dict[str, str] | None = None,
    steps: dict[str, int] | None = None,
) -> Preset:
    """Define and register a preset, checking every option against the recipes' configs.

    Raises :class:`ConfigError` at definition time for an unknown recipe, an
    option a recipe does not have, a value of the wrong type, or a run
    length (``steps``) that is not a positive integer.
    """
    from vegan.models.config import build_config
    from vegan.models.registry import RECIPES, _load_all, get_recipe

    if name == NONE or name in PRESETS:
        raise ConfigError(f"preset name '{name}' is taken")
    if family is not None and family not in FAMILIES:
        raise ConfigError(f"preset '{name}': unknown data family '{family}'")
    p = Preset(name, family, summary, source, dict(common or {}), dict(recipes or {}))
    p = dataclasses.replace(p, sources=dict(sources or {}), steps=dict(steps or {}))
    _load_all()  # every built-in recipe is registered (installed packages not imported)
    from vegan.models.config import Config

    unknown = sorted(set(p.common) - {f.name for f in dataclasses.fields(Config)})
    if unknown:
        raise ConfigError(
            f"preset '{name}': common option '{unknown[0]}' is not an option of every recipe; "
            "put it under the recipes that have it"
        )
    for r in (*p.recipes, *p.steps):
        if r not in RECIPES:
            raise ConfigError(f"preset '{name}' names unknown recipe '{r}'")
    for r, n in p.steps.items():
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ConfigError(f"preset '{name}': steps for '{r}' must be a positive integer")
    for r in RECIPES:
        values = p.values_for(r)
        if r not in p.recipes:  # common keys apply to the recipes that have them
            known = {f.name for f in dataclasses.fields(get_recipe(r).config)}
            values = {k: v for k, v in values.items() if k in known}
        try:
            build_config(get_recipe(r).config, values)
        except ConfigError as exc:
            raise ConfigError(f"preset '{name}', recipe '{r}': {exc}") from exc
    PRESETS[name] = p
    return p


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a one-line error listing them."""
    _load()
    if name not in PRESETS:
        names = ", ".join([*PRESETS, NONE])
        raise ConfigError(
            f"unknown preset '{name}'{closest(name, (*PRESETS, NONE))}; use one of {names}"
        )
    return PRESETS[name]


def family_preset(sample_shape: tuple[int, ...]) -> Preset | None:
    """The preset registered for the family of data of this shape, if any."""
    _load()
    fam = data_family(sample_shape)
    return next((p for p in PRESETS.values() if p.family == fam and fam is not None), None)


def list_presets() -> list[Preset]:
    """Every registered preset."""
    _load()
    return list(PRESETS.values())


@dataclass
class Resolved:
    """A resolved config, the origin of each option, and the presets that were applied."""

    config: Any
    origins: dict[str, str]
    presets: list[str]
    sources: dict[str, str] = field(default_factory=dict)
    #: The run length (steps) of the last applied preset that gives one for the recipe,
    #: and that preset's name; used when the user gives no length.
    steps: int | None = None
    steps_from: str | None = None

    def record(self) -> dict[str, Any]:
        """What run.json keeps: the presets applied, their sources, every non-default origin."""
        return {
            "applied": list(self.presets),
            "sources": dict(self.sources),
            "origins": {k: v for k, v in self.origins.items() if v != "default"},
        }


def resolve(
    recipe: str,
    sample_shape: tuple[int, ...],
    preset_name: str | None = None,
    *sources: tuple[str, dict[str, Any]],
) -> Resolved:
    """Resolve the options of ``recipe`` for data of ``sample_shape``.

    ``preset_name``: None (or "auto") for the data family's preset, "none" for
    bare recipe defaults, or a preset's name (applied over the family's).
    ``sources``: (label, values) pairs applied in order after the presets,
    e.g. ``("config file", {...}), ("--set", {...})``.
    """
    from vegan.models.registry import get_recipe, make_config

    r = get_recipe(recipe)
    layers: list[tuple[str, dict[str, Any]]] = []
    applied: list[str] = []
    sources_: dict[str, str] = {}
    steps: int | None = None
    steps_from: str | None = None
    if preset_name not in (None, "auto", NONE):
        named = get_preset(str(preset_name))
    else:
        named = None
    if preset_name != NONE:
        fam = family_preset(sample_shape)
        for p in (fam, named):
            if p is not None and p.name not in applied:
                layers.append((f"preset {p.name}", _for(p, r)))
                applied.append(p.name)
                sources_[p.name] = p.source_for(r.name)
                if r.name in p.steps:
                    steps, steps_from = p.steps[r.name], f"preset {p.name}"
    layers.extend((label, dict(values)) for label, values in sources)
    cfg = make_config(r.name, tuple(sample_shape), *(values for _, values in layers))
    origins = {f.name: "default" for f in dataclasses.fields(cfg)}
    for label, values in layers:
        for key in values:
            origins[key.replace("-", "_")] = label
    return Resolved(cfg, origins, applied, sources_, steps, steps_from)


def _for(p: Preset, r) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(r.config)}
    return {k: v for k, v in p.values_for(r.name).items() if k in known}


def _load() -> None:
    from vegan.models import preset_book  # noqa: F401  (defines the built-in presets)
