"""Every public function and class has a docstring (the API reference is built from them).

"Public" means: defined in a module of ``vegan.ot``, ``vegan.data``,
``vegan.nets``, ``vegan.models``, ``vegan.train`` or ``vegan.eval`` (or one
of the top-level modules in ``MODULES``) whose name does not start with an
underscore, under a name without one. A dataclass whose only docstring is
the one ``dataclasses`` writes (``Name(field: type, ...)``) counts as missing.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

PACKAGES = (
    "vegan.ot",
    "vegan.data",
    "vegan.nets",
    "vegan.models",
    "vegan.train",
    "vegan.track",
    "vegan.eval",
)
MODULES = ("vegan.api", "vegan.parallel", "vegan.resources", "vegan.io", "vegan.plots")


def _modules() -> list[str]:
    out = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        out.append(name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                out.append(f"{name}.{info.name}")
    return [*out, *MODULES]


def _has_docstring(obj) -> bool:
    doc = (obj.__doc__ or "").strip()
    if not doc:
        return False
    if (
        inspect.isclass(obj)
        and dataclasses.is_dataclass(obj)
        and doc.startswith(obj.__name__ + "(")
    ):
        return False  # written by dataclasses, says nothing
    return True


def public_objects():
    """(qualified name, object) of every public function and class, by defining module."""
    for modname in _modules():
        module = importlib.import_module(modname)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != modname:
                continue  # imported from elsewhere: checked where it is defined
            yield f"{modname}.{name}", obj


def missing_docstrings() -> list[str]:
    return sorted(q for q, obj in public_objects() if not _has_docstring(obj))


def test_every_module_has_a_docstring():
    bare = [m for m in _modules() if not (importlib.import_module(m).__doc__ or "").strip()]
    assert not bare, f"modules without a docstring: {bare}"


def test_every_public_name_has_a_docstring():
    bare = missing_docstrings()
    assert not bare, (
        "public functions/classes without a docstring (say what it computes and cite the "
        f"equation): {bare}"
    )


def test_public_api_shortcuts_are_documented():
    """The names users meet first: the top-level shortcuts and each package's ``__all__``."""
    import vegan

    bare = []
    for name in ("fit", "load", "build", "recipes", "wasserstein", "load_dataset"):
        if not _has_docstring(getattr(vegan, name)):
            bare.append(f"vegan.{name}")
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not _has_docstring(obj):
                bare.append(f"{package}.{name}")
    assert not bare, f"public API without a docstring: {bare}"


def test_recipes_name_their_equation():
    from vegan.models import list_recipes

    for r in list_recipes():
        assert r.equation.strip(), f"recipe {r.name} does not name its equation"
        assert r.summary.strip(), f"recipe {r.name} has no summary"
