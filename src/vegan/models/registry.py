"""The recipe book: named combinations of ingredients with the papers' defaults.

A recipe is a config dataclass plus a ``build(cfg, sample_shape, nets)``
function returning a :class:`~vegan.models.model.GenerativeModel` with its
players. ``nets`` maps part names ("encoder", "decoder", "critic"...) to
user modules that replace the default backbones.

Recipes come from three places: vegan's own modules (:mod:`vegan.models`),
installed packages that declare an entry point in the group
``vegan.recipes`` (its name is the recipe's name, its value the module that
registers it; loaded when that recipe is asked for, or when the book is
listed), and modules the user names (:func:`import_user_module`: ``vegan
--import MODULE``, ``VEGAN_IMPORT``, or a plain ``import`` in Python). A run
records the module of a user's recipe; :func:`run_recipe` finds it again,
importing nothing the user did not name or install.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from vegan.errors import ConfigError, VeganError, closest, words
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
    module: str = ""  # the module that defines the builder (recorded in run.json)

    @property
    def built_in(self) -> bool:
        """Whether vegan itself defines this recipe (not a user's replacement of one)."""
        return self.name in _BUILT_IN and self.module.startswith("vegan.models.")


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
        if not built_in and not replace:
            for taken in (key, *(a.lower() for a in aliases)):
                if taken in _BUILT_IN or ALIASES.get(taken) in _BUILT_IN:
                    raise ConfigError(
                        f"recipe name '{taken}' is taken by a built-in recipe; choose another "
                        "name (or pass replace=True to @recipe to replace it on purpose)"
                    )
        RECIPES[key] = Recipe(key, config, build, side, equation, summary, build.__module__)
        if not built_in:
            ALIASES.pop(key, None)  # a name replaced on purpose is no longer an alias
        for alias in aliases:
            ALIASES[alias.lower()] = key
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

    Names are case-insensitive (``WAE-MMD`` is ``wae-mmd``). A name that no
    loaded module registers is looked up among the installed packages'
    ``vegan.recipes`` entry points (only the entry point of that name is
    loaded).
    """
    _load_all()
    key = ALIASES.get(name.lower(), name.lower())
    if key not in RECIPES:
        for ep in _entry_points():
            if ep.name.lower() == key:
                _load_entry_point(ep)
        key = ALIASES.get(name.lower(), name.lower())
    if key not in RECIPES:
        names = tuple(RECIPES) + tuple(ALIASES)
        raise ConfigError(
            f"unknown recipe '{name}'{closest(name.lower(), names)}; "
            + words(
                "'vegan recipes' lists them (your own: --import MODULE)",
                "vegan.recipes() lists them (your own: import their module first)",
            )
        )
    return RECIPES[key]


#: The entry-point group through which installed packages provide recipes.
ENTRY_POINT_GROUP = "vegan.recipes"


def _entry_points() -> list:
    """The installed ``vegan.recipes`` entry points (nothing is imported)."""
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_point(ep) -> None:
    """Import the module of an installed recipe entry point (it registers its recipes)."""
    try:
        ep.load()
    except VeganError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"the installed recipe entry point '{ep.name} = {ep.value}' (group "
            f"{ENTRY_POINT_GROUP}) failed to load ({type(exc).__name__}: {exc}); fix or "
            "reinstall the package that declares it"
        ) from exc


def import_user_module(spec: str, named_by: str = "--import") -> str:
    """Import the module or ``.py`` file ``spec`` that the user named; returns its module name.

    A path ending in ``.py`` (or holding a path separator) is imported from
    that file under its stem's name; anything else is a module name, looked
    up in the current folder first, then on the Python path (as ``python -m``
    does). Recipes the module registers (``@recipe``) become known to every
    command. A missing module, or one that raises while it is imported, is a
    one-line :class:`ConfigError` that names ``named_by``.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError(f"{named_by} needs a module name or a .py file")
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"no file '{spec}' to import (named by {named_by}); give an existing .py file "
                "or a module name"
            )
        name = path.stem
        done = sys.modules.get(name)
        if done is not None and Path(getattr(done, "__file__", "") or "").resolve() == (
            path.resolve()
        ):
            return name
        loader = importlib.util.spec_from_file_location(name, path)
        if loader is None or not name.isidentifier():
            raise ConfigError(
                f"'{spec}' (named by {named_by}) is not importable: its name must be a Python "
                "identifier (letters, digits, underscores)"
            )
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module  # dataclasses look their module up while it runs
        try:
            loader.loader.exec_module(module)
        except BaseException as exc:
            sys.modules.pop(name, None)
            _import_failed(spec, named_by, exc)
        return name
    if not all(part.isidentifier() for part in spec.split(".")):
        raise ConfigError(f"'{spec}' (named by {named_by}) is neither a module name nor a .py file")
    here = os.getcwd()
    sys.path.insert(0, here)
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and (spec == exc.name or spec.startswith(exc.name + ".")):
            raise ConfigError(
                f"no module '{spec}' (named by {named_by}) in the current folder or on the "
                "Python path; give its .py file, or install the package that holds it"
            ) from exc
        _import_failed(spec, named_by, exc)
    except BaseException as exc:
        _import_failed(spec, named_by, exc)
    finally:
        if sys.path and sys.path[0] == here:
            del sys.path[0]
    return spec


def _import_failed(spec: str, named_by: str, exc: BaseException) -> None:
    if isinstance(exc, VeganError):
        raise exc  # e.g. a recipe name taken by a built-in: already one clear line
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    raise ConfigError(
        f"importing '{spec}' (named by {named_by}) raised {type(exc).__name__}"
        f"{': ' + first if first else ''}; fix that module (--debug shows the traceback)"
    ) from exc


def run_recipe(info: dict[str, Any], where: str | Path) -> Recipe:
    """The recipe of the run described by ``info`` (its run.json), in the folder ``where``.

    A built-in recipe, a recipe already registered (its module imported by
    the user) or one an installed package provides (``vegan.recipes`` entry
    point, by name or by the module the run records) is found; nothing else
    is imported. Otherwise a one-line :class:`ConfigError` names the module
    that defined the recipe (``recipe_module`` in run.json) and how to import
    it.
    """
    name = str(info["recipe"])
    module = info.get("recipe_module")
    try:
        return get_recipe(name)
    except ConfigError:
        pass
    if isinstance(module, str) and module:
        for ep in _entry_points():
            if ep.module == module or ep.module.startswith(module + "."):
                _load_entry_point(ep)
        key = ALIASES.get(name.lower(), name.lower())
        if key in RECIPES:
            return RECIPES[key]
    head = f"unknown recipe '{name}' of run '{where}'"
    if module in ("__main__", "__docs_page__"):
        raise ConfigError(
            f"{head}: it was defined in the script that trained the run; put the recipe in "
            "a module and "
            + words("name it with --import MODULE", "import it before loading the run")
        )
    if isinstance(module, str) and module:
        raise ConfigError(
            f"{head}: it is defined in module '{module}', which is not imported; "
            + words(
                f"add --import {module} (its module name or .py file; or set "
                f"VEGAN_IMPORT={module})",
                f"import {module} before loading the run",
            )
        )
    raise ConfigError(
        f"{head}{closest(name.lower(), tuple(RECIPES))}: it is neither built in nor "
        "registered; if it is your own recipe, "
        + words("name its module with --import MODULE", "import its module first")
    )


def list_recipes() -> list[Recipe]:
    """Every registered recipe, in registration order (installed packages' recipes included)."""
    _load_all()
    for ep in _entry_points():
        _load_entry_point(ep)
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
