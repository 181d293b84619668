"""The recipe book: named combinations of ingredients with the papers' defaults.

A recipe is a config dataclass plus a ``build(cfg, sample_shape, nets)``
function returning a :class:`~vegan.models.model.GenerativeModel` with its
players. ``nets`` maps part names ("encoder", "decoder", "critic"...) to
user modules that replace the default backbones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from vegan.errors import ConfigError, closest
from vegan.models.config import build_config


@dataclass(frozen=True)
class Recipe:
    """A named recipe: what it is (side, equation), its options and its builder."""

    name: str
    config: type
    build: Callable[..., Any]
    side: str
    equation: str
    summary: str


RECIPES: dict[str, Recipe] = {}
ALIASES: dict[str, str] = {}


def recipe(
    name: str,
    config: type,
    side: str,
    equation: str,
    summary: str,
    aliases: tuple[str, ...] = (),
    replace: bool = False,
) -> Callable:
    """Register the decorated builder ``build(cfg, shape, nets)`` as recipe ``name``.

    The registry names the model it builds (``model.recipe``): a builder
    does not pass its name again. A built-in recipe's name (or alias) is
    refused unless ``replace=True``; a user's recipe may be registered again
    under its own name (re-running a notebook cell).
    """

    def register(build: Callable) -> Callable:
        key = name.lower()
        built_in = build.__module__.startswith("vegan.models.")
        if not built_in:
            _load_all()  # the built-in names are known before a user's recipe takes one
        if not replace and not built_in and (key in _BUILT_IN or ALIASES.get(key) in _BUILT_IN):
            raise ConfigError(
                f"recipe name '{name}' is taken by a built-in recipe; choose another name "
                "(or pass replace=True to @recipe to replace it on purpose)"
            )
        RECIPES[key] = Recipe(key, config, build, side, equation, summary)
        for alias in aliases:
            ALIASES[alias] = key
        if built_in:
            _BUILT_IN.add(key)
        return build

    return register


#: Names of the recipes vegan itself defines.
_BUILT_IN: set[str] = set()


_LOADED = False


def _load_all() -> None:
    """Import every module of :mod:`vegan.models`: the built-in recipes register themselves.

    Re-entrant: a module imported on the way may ask for the registry again
    (the presets check their options against it) and gets every recipe.
    """
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil

    import vegan.models

    for info in pkgutil.iter_modules(vegan.models.__path__):
        importlib.import_module(f"vegan.models.{info.name}")
    _LOADED = True


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (or one of its aliases, e.g. ``pot`` for ``wae-gan``).

    Names are case-insensitive (``WAE-MMD`` is ``wae-mmd``).
    """
    _load_all()
    key = ALIASES.get(name.lower(), name.lower())
    if key not in RECIPES:
        names = tuple(RECIPES) + tuple(ALIASES)
        raise ConfigError(
            f"unknown recipe '{name}'{closest(name, names)}; 'vegan recipes' lists them"
        )
    return RECIPES[key]


def list_recipes() -> list[Recipe]:
    """Every registered recipe, in registration order."""
    _load_all()
    return list(RECIPES.values())


def auto_latent_dim(sample_shape: tuple[int, ...]) -> int:
    """The default latent dimension for data of this shape.

    8 for 28x28 images (the WAE paper's MNIST setting), 64 for larger images
    (its CelebA setting), 2 for 2-D data, otherwise min(d, 16).
    """
    if len(sample_shape) == 3:
        return 8 if sample_shape[1] <= 28 else 64
    d = int(sample_shape[0]) if sample_shape else 1
    return 2 if d <= 2 else min(d, 16)


def make_config(name: str, sample_shape: tuple[int, ...], *sources: dict[str, Any]) -> Any:
    """The resolved config of recipe ``name`` for data of ``sample_shape``."""
    r = get_recipe(name)
    cfg = build_config(r.config, *sources)  # a config validates itself
    if getattr(cfg, "latent_dim", 1) == 0:
        cfg = dataclasses.replace(cfg, latent_dim=auto_latent_dim(tuple(sample_shape)))
    return cfg


def build(
    name: str,
    sample_shape: tuple[int, ...],
    config: Any = None,
    nets: dict[str, nn.Module] | None = None,
    **overrides: Any,
):
    """Build recipe ``name`` for samples of ``sample_shape``.

    ``config`` is a config instance (or None for the defaults); keyword
    ``overrides`` set options by name; ``nets`` replaces default backbones.
    """
    r = get_recipe(name)
    if config is None:
        config = make_config(r.name, sample_shape, overrides)
    elif overrides:
        config = make_config(r.name, sample_shape, _asdict(config), overrides)
    model = r.build(config, tuple(sample_shape), dict(nets or {}))
    model.recipe = r.name
    return model


def _asdict(cfg: Any) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
