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
    name: str, config: type, side: str, equation: str, summary: str, aliases: tuple[str, ...] = ()
) -> Callable:
    """Register the decorated builder as recipe ``name``."""

    def register(build: Callable) -> Callable:
        RECIPES[name] = Recipe(name, config, build, side, equation, summary)
        for alias in aliases:
            ALIASES[alias] = name
        return build

    return register


def _load_all() -> None:
    # Importing the recipe modules fills the registry.
    import importlib

    from vegan.models import primal  # noqa: F401

    for name in ("adversarial", "dual"):  # model family II
        try:
            importlib.import_module(f"vegan.models.{name}")
        except ModuleNotFoundError as exc:  # pragma: no cover - until those modules land
            if exc.name != f"vegan.models.{name}":
                raise


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (or one of its aliases, e.g. ``pot`` for ``wae-gan``)."""
    _load_all()
    key = ALIASES.get(name, name)
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
    cfg = build_config(r.config, *sources)
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
